using Fleet.Actors.Core.Scripting;
using Xunit.Abstractions;

namespace Fleet.Actors.Core.Tests.Scripting;

public sealed class ScriptJsonPrint(ITestOutputHelper output)
{
    [Fact]
    public void Print()
    {
        var parsed = ScriptParser.ParseHocon("""
            limits { max-actions-per-run = 20, max-delay = 90s }
            scripts = [
              { id = cooling, name = "Cooling control", priority = 77, enabled = false
                triggers = [ { type = gpio-edge, line = 4, edge = rising }, { type = alert, alert = oxygen-low } ]
                conditions = [ { any = [ { reading = a, op = ">=", other = b }, { all = [ { reading = c, op = "!=", value = -1e-7 } ] } ] } ]
                actions = [
                  { type = modbus-write-register, device = plc1, address = 40, value = 1200 }
                  { type = modbus-write-coil, device = plc1, address = 3, value = false }
                  { type = publish, topic = "fleet/x", payload = "" }
                  { type = call-script, script = shutdown }
                ] }
              { id = shutdown, actions = [ { type = delay, duration = 2.5ms } ] }
            ]
            """);
        output.WriteLine("GOLD\t" + ScriptJsonOld.Write(parsed.Document!));
        output.WriteLine("GOLD\t" + System.Text.Encoding.UTF8.GetString(ScriptJsonOld.WriteScripts(parsed.Document!.Scripts)));
    }
}
