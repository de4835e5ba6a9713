using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Plc;
using Fleet.Actors.Devices.Scripting;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.PeerTests.Modbus;
using Fleet.Actors.PeerTests.Support;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.PeerTests.Scripting;

/// <summary>
/// Scripts against a real PLC: a whole vehicle agent (log on SQLite, uplink to an in-process
/// broker) polls the libmodbus server; two scripts react to the same accepted reading and write the
/// same holding register at different priorities. The emergency script's value reaches the device
/// (checked with mbpoll, an independent client), the other write is blocked, and every decision
/// travels to the broker.
/// </summary>
public sealed class ScriptPlcTests : TestKit, IAsyncLifetime
{
    private const string VehicleId = "truck-script-plc";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    private readonly WalFiles _files;
    private readonly AgentMetrics _metrics = new();
    private readonly RecordingBroker _broker = new() { KeepRecords = true };
    private ModbusServerPeer _server = null!;

    public ScriptPlcTests(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private ScriptPlcTests(WalFiles files, ITestOutputHelper output) : base(files.Setup(), "script-plc-tests", output)
    {
        _files = files;
    }

    public async Task InitializeAsync()
    {
        _server = await ModbusServerPeer.StartTcpAsync();
        await _broker.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _server.DisposeAsync();
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _files.Dispose();
    }

    [Fact]
    public async Task Emergency_write_should_reach_the_PLC_and_the_normal_one_should_be_blocked_and_both_journaled()
    {
        var scripts = ScriptParser.ParseHocon("""
            scripts = [
              { id = dose, name = "Dosing", priority = normal
                triggers = [ { type = threshold, reading = "plc1.inflow", op = ">", value = 500 } ]
                actions = [ { type = modbus-write-register, device = plc1, address = 5, value = 77 } ] }
              { id = flush, name = "Emergency flush", priority = emergency
                triggers = [ { type = threshold, reading = "plc1.inflow", op = ">", value = 500 } ]
                actions = [ { type = modbus-write-register, device = plc1, address = 5, value = 99 }, { type = raise-alert, name = flushing, severity = critical } ] }
            ]
            """);
        Assert.True(scripts.IsValid, string.Join("; ", scripts.Errors));
        var settings = PeerAgentSettings.For(VehicleId, _files.JournalPath, _broker.Port) with
        {
            Plcs =
            [
                new PlcSettings
                {
                    Id = "plc1",
                    Host = "127.0.0.1",
                    Port = _server.Port,
                    PollInterval = TimeSpan.FromMilliseconds(200),
                    Map = new RegisterMap(
                    [
                        new ModbusPoint { Name = "inflow", Address = 0, RegisterType = ModbusRegisterType.Input, Interval = TimeSpan.FromMilliseconds(200) },
                        new ModbusPoint { Name = "setpoint", Address = 5, DataType = ModbusDataType.I16, Writable = true, Interval = TimeSpan.FromMilliseconds(200) },
                    ]),
                },
            ],
            Scripting = new ScriptingSettings { Document = scripts.Document!, Cycle = TimeSpan.FromSeconds(2) },
        };
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, _metrics), VehicleAgent.ActorName(VehicleId));

        // The PLC's inflow (input register 0 = 1000) crosses the threshold once it is journaled;
        // the emergency script's 99 is what the device holds, and what the PLC actor polls back.
        AwaitCondition(() => Values<MeasurementValue>().Any(m => m.Name == "setpoint" && m.Value == 99), Generous, TimeSpan.FromMilliseconds(100));

        var outcome = await VehicleShutdown.RunAsync(agent, settings.DrainTimeout);
        Assert.True(outcome.Drained, $"not drained: {outcome}");
        // The server takes one connection at a time: mbpoll reads once the agent has let go of it.
        Sys.Stop(agent);
        await AwaitAssertAsync(async () => Assert.Matches(@"\[6\]:\s+99\b", await _server.MbpollAsync("-t", "4", "-r", "6", "-c", "1")),
            Generous, TimeSpan.FromMilliseconds(500));
        var writes = Values<ScriptWriteValue>().ToList();
        Assert.Contains(writes, w => w is { ScriptId: "flush", Outcome: "write", Target: "modbus:plc1:register:5", Value: 99 });
        Assert.Contains(writes, w => w is { ScriptId: "dose", Outcome: "lost", OtherScriptId: "flush", OtherPriority: 255, OtherValue: 99 });
        Assert.DoesNotContain(writes, w => w.Error is not null);
        Assert.Contains(Values<AlertValue>(), a => a is { Name: "flushing", Severity: AlertSeverity.Critical, Source: "script:flush" });
        Assert.Equal(2, Values<ScriptRunValue>().Count(r => r.Outcome == "completed"));
        Assert.Equal(0, _broker.Verifier.Report().Vehicles.Single().Missing);
    }

    private IEnumerable<T> Values<T>() where T : ReadingValue => _broker.Records.Select(r => r.Value).OfType<T>();
}
