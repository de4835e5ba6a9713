using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Host.Cli;
using Xunit.Abstractions;

namespace Fleet.Actors.Host.Tests.Cli;

public sealed class ReadingJsonPrint(ITestOutputHelper output)
{
    [Fact]
    public void Print()
    {
        foreach (var row in ReadingJsonTests.Kinds()) output.WriteLine("GOLD\t" + ((ReadingValue)row[1]).GetType().Name + "\t" + ReadingJsonOld.Format((ReadingValue)row[1]));
        output.WriteLine("GOLD\theartbeat\t" + ReadingJsonOld.Format(new DiagnosticsValue(12.5, 40, 55, null, null, new AgentHealth(0.8, 95_000_000, 6_000_000, 8_000_000_000, 3600, 60, 0.25, 2, 1, ["sensors/obd"], 0, ["temperature"]))));
        output.WriteLine("GOLD\traised\t" + ReadingJsonOld.Format(new AlertValue("engine-overheat", AlertSeverity.Critical, "rule:coolant", "hot <&> é", AlertState.Raised, "obd", 2, [new AlertCause("obd", "coolant_temp", 106.5, 4711, 1_790_000_000_000, "detail")]), j => { j.WriteNumber("line", 3); j.WriteNumber("t", 120); }));
    }
}
