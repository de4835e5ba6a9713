using System.Device.Gpio;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Alerts;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Scripting;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.Devices.Tests.Alerts;

/// <summary>
/// The alerts actor with the real script engine (its store on temporary SQLite files) and real GPIO
/// lines on the simulated chip: scripts' alerts take the alerts' path (debounce, counters) and still
/// start alert-triggered scripts once journaled; alert outputs are written through the engine's
/// arbitration, so they drive the buzzer and lose against an emergency stop's hold.
/// </summary>
public sealed class AlertOutputsAndScriptsTests : TestKit
{
    private const string VehicleId = "truck-outputs";
    private const int BuzzerPin = 27;
    private const int HornPin = 22;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly WalFiles _files;
    private readonly AgentMetrics _metrics = new();
    private readonly SimulatedGpioDriver _driver = new();
    private readonly GpioSettings _gpioSettings = new()
    {
        Lines =
        [
            new GpioLineSettings { Id = "buzzer", Pin = BuzzerPin, Direction = GpioDirection.Output },
            new GpioLineSettings { Id = "horn", Pin = HornPin, Direction = GpioDirection.Output },
        ],
    };
    private readonly IActorRef _gpio;
    private readonly TestProbe _scriptLog;
    private readonly TestProbe _alertLog;

    public AlertOutputsAndScriptsTests(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private AlertOutputsAndScriptsTests(WalFiles files, ITestOutputHelper output) : base(files.Setup(), "alert-outputs-tests", output)
    {
        _files = files;
        _scriptLog = CreateTestProbe("script-log");
        Scripting.EngineRecords.ConfirmWrites(_scriptLog);
        _alertLog = CreateTestProbe("alert-log");
        _gpio = Sys.ActorOf(GpioSupervisor.Props(VehicleId, _gpioSettings, CreateTestProbe("gpio-log").Ref, _metrics, _ => _driver), "gpio");
        AwaitCondition(() => _driver.IsOpen(BuzzerPin) && _driver.IsOpen(HornPin), Wait);
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _files.Dispose();
    }

    private IActorRef StartEngine(string hocon, IActorRef? alerts)
    {
        var parsed = ScriptParser.ParseHocon(hocon);
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors));
        var settings = new ScriptingSettings { Document = parsed.Document!, Cycle = TimeSpan.FromMilliseconds(100) };
        var engine = Sys.ActorOf(ScriptEngine.Props(VehicleId, settings, _scriptLog.Ref, _gpio, _gpioSettings, null, _metrics, alerts: alerts), "scripts");
        AwaitAssert(() => Assert.Equal(parsed.Document!.Scripts.Count,
            engine.Ask<ScriptProtocol.Status>(ScriptProtocol.GetStatus.Instance, Wait).Result.Installed), Wait);
        return engine;
    }

    /// <summary>
    /// The alerts actor with the buzzer driven for <paramref name="duration"/> on critical alerts, and an
    /// engine without scripts; a probe passes the outputs' writes on to the engine, as the vehicle agent does.
    /// </summary>
    private (IActorRef Alerts, IActorRef Engine) StartWithBuzzer(TimeSpan duration)
    {
        var forwarder = CreateTestProbe("agent");
        var settings = new AlertsSettings
        {
            Actuation = ValueArray.Of(new ActuationSettings { Line = "buzzer", Pin = BuzzerPin, Duration = duration }),
        };
        var alerts = Sys.ActorOf(AlertsActor.Props(VehicleId, settings, _alertLog.Ref, forwarder.Ref, _metrics), "alerts");
        var engine = StartEngine("scripts = []", alerts);
        forwarder.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is ScriptProtocol.Hold or ScriptProtocol.Release) engine.Tell(message, sender);
            return AutoPilot.KeepRunning;
        }));
        return (alerts, engine);
    }

    /// <summary>
    /// Every record the engine has told its log so far: deterministic, since the engine tells the log
    /// while it handles a message, before it answers the status question sent after it.
    /// </summary>
    private List<ReadingValue> EngineRecords(IActorRef engine)
    {
        engine.Ask<ScriptProtocol.Status>(ScriptProtocol.GetStatus.Instance, Wait).Wait(Wait);
        var records = new List<ReadingValue>();
        while (_scriptLog.HasMessages) records.AddRange(_scriptLog.ExpectMsg<WalProtocol.LogReadings>(TimeSpan.Zero).Readings.Select(r => r.Value));
        return records;
    }

    private AlertValue NextAlert()
    {
        var reading = Assert.Single(_alertLog.ExpectMsg<WalProtocol.LogReadings>(Wait).Readings);
        Assert.Equal(AlertsActor.DeviceId, reading.DeviceId);
        return Assert.IsType<AlertValue>(reading.Value);
    }

    private static WalProtocol.ReadingsAccepted Oxygen(double value) =>
        new([new Reading("probe", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), new MeasurementValue("oxygen", value, "mg/l"))]);

    [Fact]
    public void Script_alerts_should_take_the_alerts_path_and_still_start_alert_scripts_once_journaled()
    {
        // A forwarder stands in for the vehicle agent: the alerts' outputs write through the engine created after them.
        var alerts = Sys.ActorOf(AlertsActor.Props(VehicleId, new AlertsSettings(), _alertLog.Ref, CreateTestProbe().Ref, _metrics), "alerts");
        var engine = StartEngine("""
            scripts = [
              { id = watch, triggers = [ { type = threshold, reading = oxygen, op = "<", value = 5 } ], actions = [ { type = raise-alert, name = oxygen-low, severity = critical } ] }
              { id = react, priority = critical, triggers = [ { type = alert, alert = oxygen-low } ], actions = [ { type = gpio-write, line = 22, level = 1 } ] }
            ]
            """, alerts);

        engine.Tell(Oxygen(4.2));
        var alert = NextAlert();
        Assert.Equal(("oxygen-low", AlertSeverity.Critical, "script:watch", AlertState.Event), (alert.Name, alert.Severity, alert.Source, alert.State));
        Assert.StartsWith("raised by script \"watch\" (run started by threshold oxygen < 5", alert.Message);
        // The engine journals no alert of its own any more.
        Assert.DoesNotContain(EngineRecords(engine), r => r is AlertValue);

        // Again within the debounce: suppressed and counted, like any alert.
        engine.Tell(Oxygen(6));
        engine.Tell(Oxygen(4));
        AwaitAssert(() => Assert.Equal(1, MetricValues.Read(_metrics, "alerts_suppressed_total", (AlertMetrics.TypeLabel, "oxygen-low"), (AlertMetrics.SeverityLabel, "critical"))), Wait);
        Assert.Equal(1, MetricValues.Read(_metrics, "alerts_triggered_total", (AlertMetrics.TypeLabel, "oxygen-low")));
        // Suppressed (counted above), so nothing was journaled.
        _alertLog.ExpectNoMsg(TimeSpan.Zero);

        // The end of a condition of that name starts nothing; the alert, once the log hands it back durable, does.
        EngineRecords(engine);
        engine.Tell(new WalProtocol.ReadingsAccepted([new Reading(AlertsActor.DeviceId, 1, alert with { State = AlertState.Cleared })]));
        Assert.DoesNotContain(EngineRecords(engine), r => r is ScriptRunValue { ScriptId: "react" });
        Assert.Equal(PinValue.Low, _driver.LevelOf(HornPin));
        engine.Tell(new WalProtocol.ReadingsAccepted([new Reading(AlertsActor.DeviceId, 1, alert)]));
        AwaitCondition(() => _driver.LevelOf(HornPin) == PinValue.High, Wait);
    }

    [Fact]
    public void A_critical_alert_should_sound_the_buzzer_through_the_arbitration_and_yield_to_an_emergency_hold()
    {
        var (alerts, engine) = StartWithBuzzer(TimeSpan.FromMilliseconds(600));

        var before = _driver.WrittenLevels(BuzzerPin).Count;
        alerts.Tell(new AlertsProtocol.Raise("engine-fire", AlertSeverity.Critical, "test"));
        NextAlert();
        // On, then off at the end (every level written, however briefly it held).
        AwaitCondition(() => _driver.WrittenLevels(BuzzerPin).Skip(before).SequenceEqual([PinValue.High, PinValue.Low]), Wait);
        // Every level was a write of the holder alert:buzzer, journaled by the engine like a script's.
        var writes = EngineRecords(engine).OfType<ScriptWriteValue>().ToList();
        Assert.Equal([("gpio:27", 1L, "write"), ("gpio:27", 0L, "write")],
            writes.Where(w => w.ScriptId == "alert:buzzer").Select(w => (w.Target, w.Value, w.Outcome)));

        // An emergency stop holds the buzzer off at 255: the alert's write at 100 loses, and that is no error.
        engine.Tell(new ScriptProtocol.Hold("emergency-stop", [new ScriptProtocol.Write("emergency-stop", new GpioLineTarget(BuzzerPin), 0, 255)]));
        ExpectMsg<ScriptProtocol.WriteDone>(Wait);
        alerts.Tell(new AlertsProtocol.Raise("engine-fire-2", AlertSeverity.Critical, "test"));
        NextAlert();
        var lost = _scriptLog.FishForMessage<WalProtocol.LogReadings>(l => l.Readings.Any(r => r.Value is ScriptWriteValue { ScriptId: "alert:buzzer", Outcome: "lost" }), Wait);
        Assert.NotNull(lost);
        Assert.Equal(PinValue.Low, _driver.LevelOf(BuzzerPin));
        Assert.Null(MetricValues.Read(_metrics, "alert_actuation_errors_total", ("line", "buzzer")));
    }

    [Fact]
    public void A_failing_buzzer_line_should_be_counted_and_the_alert_still_journaled()
    {
        var (alerts, _) = StartWithBuzzer(TimeSpan.FromSeconds(30));
        _driver.FailIo(BuzzerPin, true);

        EventFilter.Warning(contains: "Alert output buzzer could not be set to 1").ExpectOne(Wait, () =>
        {
            alerts.Tell(new AlertsProtocol.Raise("engine-fire", AlertSeverity.Critical, "test"));
            Assert.Equal("engine-fire", NextAlert().Name);
        });
        AwaitAssert(() => Assert.Equal(1, MetricValues.Read(_metrics, "alert_actuation_errors_total", ("line", "buzzer"))), Wait);
    }
}
