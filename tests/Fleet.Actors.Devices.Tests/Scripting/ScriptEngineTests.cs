using System.Device.Gpio;
using Akka.Actor;
using Akka.Pattern;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Alerts;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Plc;
using Fleet.Actors.Devices.Scripting;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.Devices.Tests.Scripting;

/// <summary>
/// The script engine with its persisted store on temporary SQLite files (the production wiring),
/// real GPIO lines on the simulated chip, and probes for the write-ahead log and the PLC supervisor.
/// Readings reach it as the log would hand them over (<see cref="WalProtocol.ReadingsAccepted"/>).
/// </summary>
public sealed class ScriptEngineTests : TestKit
{
    private const string VehicleId = "truck-scripts";
    private const int HornPin = 27;
    private const int LedPin = 22;
    private const int DoorPin = 17;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly WalFiles _files;
    private readonly AgentMetrics _metrics = new();
    private readonly SimulatedGpioDriver _driver = new();
    private readonly TestProbe _log;
    private readonly EngineRecords _records;
    private readonly TestProbe _plcs;
    private readonly GpioSettings _gpioSettings;
    private readonly IActorRef _gpio;
    private int _engines;

    public ScriptEngineTests(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private ScriptEngineTests(WalFiles files, ITestOutputHelper output) : base(files.Setup(), "script-tests", output)
    {
        _files = files;
        _log = CreateTestProbe("log");
        _records = new EngineRecords(_log, Wait);
        _plcs = CreateTestProbe("plcs");
        _gpioSettings = new GpioSettings
        {
            Lines =
            [
                new GpioLineSettings { Id = "horn", Pin = HornPin, Direction = GpioDirection.Output },
                new GpioLineSettings { Id = "led", Pin = LedPin, Direction = GpioDirection.Output },
                new GpioLineSettings { Id = "door", Pin = DoorPin, Direction = GpioDirection.Input, Publish = GpioPublish.Level },
            ],
        };
        // The lines log their levels to a probe of their own: this test watches the engine's records.
        _gpio = Sys.ActorOf(GpioSupervisor.Props(VehicleId, _gpioSettings, CreateTestProbe("gpio-log").Ref, _metrics, _ => _driver), "gpio");
        AwaitCondition(() => _driver.IsOpen(HornPin) && _driver.IsOpen(LedPin) && _driver.IsOpen(DoorPin), Wait);
    }

    private ScriptMetrics Metrics => new(_metrics, VehicleId);

    private static ScriptDocument Parse(string hocon)
    {
        var parsed = ScriptParser.ParseHocon(hocon);
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors));
        return parsed.Document!;
    }

    /// <summary>Starts an engine on the configured scripts of <paramref name="hocon"/> and waits until the store holds them.</summary>
    private IActorRef StartEngine(string hocon, string vehicleId = VehicleId, TimeSpan? cycle = null)
    {
        var document = Parse(hocon);
        var settings = new ScriptingSettings { Document = document, Cycle = cycle ?? TimeSpan.FromSeconds(1), WriteTimeout = TimeSpan.FromSeconds(2) };
        var engine = Sys.ActorOf(ScriptEngine.Props(vehicleId, settings, _log.Ref, _gpio, _gpioSettings, _plcs.Ref, _metrics), "scripts-" + ++_engines);
        AwaitAssert(() => Assert.Equal(document.Scripts.Count, Status(engine).Installed), Wait);
        return engine;
    }

    private ScriptProtocol.Status Status(IActorRef engine) => engine.Ask<ScriptProtocol.Status>(ScriptProtocol.GetStatus.Instance, Wait).Result;

    private static WalProtocol.ReadingsAccepted Accepted(params (string Device, string Name, double Value)[] readings) =>
        new(readings.Select(r => new Reading(r.Device, 1_700_000_000_000, new MeasurementValue(r.Name, r.Value, ""))).ToList());

    /// <summary>Level readings of a GPIO input, as its line actor logs them.</summary>
    private static WalProtocol.ReadingsAccepted Levels(string line, params int[] levels) =>
        new(levels.Select(l => new Reading(line, 1_700_000_000_000, new MeasurementValue(line, l, "bool"))).ToList());

    /// <summary>The next record of type <typeparamref name="T"/> that satisfies <paramref name="wanted"/> (see <see cref="EngineRecords"/>).</summary>
    private T NextRecord<T>(Func<T, bool>? wanted = null) where T : ReadingValue => _records.Next(wanted);

    /// <summary>
    /// Write-ahead: a command's write reaches the device only after the log confirmed its record
    /// durable, in the order the records were logged whatever the order of the confirmations; a
    /// write whose record the log refused, or did not confirm within the write timeout, is never sent
    /// and fails with the reason. (Found by the kill -9 loop: a command answered SUCCEEDED whose write
    /// record had not reached the journal when the agent died.)
    /// </summary>
    [Fact]
    public void A_write_should_reach_the_device_only_after_the_log_confirmed_its_record()
    {
        var log = CreateTestProbe("unconfirmed-log");
        var gpio = CreateTestProbe("gpio-lines");
        var settings = new ScriptingSettings { Document = Parse("scripts = []"), WriteTimeout = TimeSpan.FromSeconds(1) };
        var engine = Sys.ActorOf(ScriptEngine.Props(VehicleId, settings, log.Ref, gpio.Ref, _gpioSettings, _plcs.Ref, _metrics), "scripts-write-ahead");
        long Logged(string requestedBy)
        {
            var told = log.FishForMessage<WalProtocol.LogReadings>(m => m.Readings.Any(r => r.Value is ScriptWriteValue w && w.ScriptId == requestedBy), Wait);
            Assert.NotEqual(0, told.ConfirmId);
            return told.ConfirmId;
        }
        void NothingSent()
        {
            Status(engine); // the engine sends a write while it handles a message, before it answers the next one
            gpio.ExpectNoMsg(TimeSpan.Zero);
        }

        engine.Tell(new ScriptProtocol.Write("command:a", new GpioLineTarget(HornPin), 1, 200));
        var first = Logged("command:a");
        engine.Tell(new ScriptProtocol.Write("command:b", new GpioLineTarget(LedPin), 1, 200));
        var second = Logged("command:b");
        NothingSent();

        // The second is confirmed first: it still waits for the first.
        engine.Tell(new WalProtocol.Logged(second), log.Ref);
        NothingSent();
        engine.Tell(new WalProtocol.Logged(first), log.Ref);
        HornThenLedWritten(gpio);

        // Already there, nothing to send: the answer still waits for the record (found by the kill -9
        // loop: a command answered SUCCEEDED with "duplicate" had no record after the kill).
        engine.Tell(new ScriptProtocol.Write("command:e", new GpioLineTarget(HornPin), 1, 200));
        var duplicate = Logged("command:e");
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        engine.Tell(new WalProtocol.Logged(duplicate), log.Ref);
        Assert.Equal(new ScriptProtocol.WriteDone("duplicate", null), ExpectMsg<ScriptProtocol.WriteDone>(Wait));
        NothingSent();

        // Refused by the log: never sent.
        engine.Tell(new ScriptProtocol.Write("command:c", new GpioLineTarget(HornPin), 0, 200));
        engine.Tell(new WalProtocol.NotLogged(Logged("command:c"), "the log is behind (5000 readings waiting for the disk)"), log.Ref);
        var refused = ExpectMsg<ScriptProtocol.WriteDone>(Wait);
        Assert.Equal("failed", refused.Outcome);
        Assert.Equal("not sent: the log did not record it (the log is behind (5000 readings waiting for the disk))", refused.Error);
        NothingSent();

        // Not confirmed at all (the log died with it): given up after the write timeout, never sent.
        engine.Tell(new ScriptProtocol.Write("command:d", new GpioLineTarget(LedPin), 0, 200));
        Logged("command:d");
        var unconfirmed = ExpectMsg<ScriptProtocol.WriteDone>(Wait);
        Assert.Equal("not sent: the log did not record it (no confirmation within 1 s)", unconfirmed.Error);
        NothingSent();
    }

    /// <summary>
    /// The writes waiting for the log's confirmation are bounded: with the log far behind, one more
    /// fails at once, unsent and counted, while those already waiting still go out once confirmed.
    /// </summary>
    [Fact]
    public void Writes_awaiting_the_log_should_be_bounded_and_one_more_should_fail_unsent()
    {
        var log = CreateTestProbe("slow-log");
        var gpio = CreateTestProbe("bounded-gpio");
        var settings = new ScriptingSettings { Document = Parse("scripts = []"), WriteTimeout = TimeSpan.FromSeconds(30), MaxWritesAwaitingLog = 2 };
        var engine = Sys.ActorOf(ScriptEngine.Props("bounded", settings, log.Ref, gpio.Ref, _gpioSettings, _plcs.Ref, _metrics), "scripts-bounded");
        var metrics = new ScriptMetrics(_metrics, "bounded");
        long Logged(string requestedBy) =>
            log.FishForMessage<WalProtocol.LogReadings>(m => m.Readings.Any(r => r.Value is ScriptWriteValue w && w.ScriptId == requestedBy), Wait).ConfirmId;

        engine.Tell(new ScriptProtocol.Write("command:a", new GpioLineTarget(HornPin), 1, 200));
        var first = Logged("command:a");
        engine.Tell(new ScriptProtocol.Write("command:b", new GpioLineTarget(LedPin), 1, 200));
        var second = Logged("command:b");
        Assert.Equal(2, metrics.AwaitingLog.Value);

        // A new arbitration cycle (100 ms), so that the third write is one to send, not a conflict of this cycle.
        ExpectNoMsg(TimeSpan.FromMilliseconds(250));
        engine.Tell(new ScriptProtocol.Write("command:c", new GpioLineTarget(LedPin), 1, 200));
        var refused = ExpectMsg<ScriptProtocol.WriteDone>(Wait);
        Assert.Equal("failed", refused.Outcome);
        Assert.Equal("not sent: 2 writes already wait for the log to record theirs (fleet.scripting.max-writes-awaiting-log)", refused.Error);
        Assert.Equal(1, metrics.AwaitingLogFull.Value);
        Status(engine);
        gpio.ExpectNoMsg(TimeSpan.Zero);

        engine.Tell(new WalProtocol.Logged(first), log.Ref);
        engine.Tell(new WalProtocol.Logged(second), log.Ref);
        HornThenLedWritten(gpio);
        AwaitAssert(() => Assert.Equal(0, metrics.AwaitingLog.Value), Wait);
    }

    /// <summary>The horn's write, then the led's, reach the lines (answered done), and both requesters hear "write".</summary>
    private void HornThenLedWritten(Akka.TestKit.TestProbe gpio)
    {
        foreach (var line in new[] { "horn", "led" })
        {
            Assert.Equal(line, gpio.ExpectMsg<GpioProtocol.Write>(Wait).LineId);
            gpio.Reply(new GpioProtocol.Written(line, true));
        }
        Assert.Equal(new ScriptProtocol.WriteDone("write", null), ExpectMsg<ScriptProtocol.WriteDone>(Wait));
        Assert.Equal(new ScriptProtocol.WriteDone("write", null), ExpectMsg<ScriptProtocol.WriteDone>(Wait));
    }

    [Fact]
    public void Threshold_trigger_should_write_the_output_once_per_crossing_with_hysteresis()
    {
        var engine = StartEngine("""
            scripts = [ {
              id = hot, priority = high
              triggers = [ { type = threshold, reading = water_temp, op = ">", value = 28.5, hysteresis = 0.5 } ]
              actions = [ { type = gpio-write, line = 27, level = 1 } ]
            } ]
            """);

        engine.Tell(Accepted(("plc1", "water_temp", 27.0), ("plc1", "water_temp", 29.0), ("plc1", "water_temp", 28.4)));
        var write = NextRecord<ScriptWriteValue>();
        Assert.Equal(("gpio:27", 1L, "write", "hot", 100), (write.Target, write.Value, write.Outcome, write.ScriptId, write.Priority));
        var run = NextRecord<ScriptRunValue>();
        Assert.Equal(("hot", "completed", 1), (run.ScriptId, run.Outcome, run.Actions));
        Assert.StartsWith("threshold water_temp > 28.5", run.Trigger);
        AwaitCondition(() => _driver.LevelOf(HornPin) == PinValue.High, Wait);

        // Above again without having cooled below 28.0: no new run. Below 28.0 re-arms; above fires again.
        engine.Tell(Accepted(("plc1", "water_temp", 29.5)));
        Status(engine);
        _records.NoneMore();
        engine.Tell(Accepted(("plc1", "water_temp", 27.9), ("plc1", "water_temp", 28.6)));
        Assert.Equal("completed", NextRecord<ScriptRunValue>().Outcome);
        Assert.Equal(2, Metrics.Runs(RunOutcomeKind.Completed).Value);
    }

    [Fact]
    public void Higher_priority_write_should_hold_the_pin_and_the_lower_one_should_be_lost_within_a_cycle()
    {
        var engine = StartEngine("""
            scripts = [
              { id = cooling, name = "Cooling", priority = normal, triggers = [ { type = alert, alert = too-hot } ], actions = [ { type = gpio-write, line = 22, level = 1 } ] }
              { id = shutdown, name = "Emergency stop", priority = emergency, triggers = [ { type = alert, alert = too-hot } ], actions = [ { type = gpio-write, line = 22, level = 0 } ] }
            ]
            """, cycle: TimeSpan.FromSeconds(5));
        _driver.Drive(LedPin, PinValue.High);

        engine.Tell(new WalProtocol.ReadingsAccepted([new Reading("rules", 1, new AlertValue("too-hot", AlertSeverity.Critical, "rule", ""))]));

        // The emergency script starts first and holds the pin; the normal one is blocked.
        var first = NextRecord<ScriptWriteValue>();
        Assert.Equal(("shutdown", "write"), (first.ScriptId, first.Outcome));
        var lost = NextRecord<ScriptWriteValue>();
        Assert.Equal(("cooling", "lost", "shutdown", 255, 0L), (lost.ScriptId, lost.Outcome, lost.OtherScriptId, lost.OtherPriority, lost.OtherValue));
        AwaitCondition(() => _driver.LevelOf(LedPin) == PinValue.Low, Wait);
        // The engine sends a batch's writes while it handles the batch, before it answers anything after
        // it, and the line takes requests in order: its answer to a read comes after every write sent.
        Status(engine);
        Assert.Equal(new GpioProtocol.LevelRead("led", false), _gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Read("led"), Wait).Result);
        Assert.Equal(1, new GpioLineMetrics(_metrics, VehicleId, "led").Writes.Value);
        Assert.Equal(1, Metrics.Writes("lost").Value);
        AwaitAssert(() => Assert.Equal(1, Metrics.Writes("done").Value), Wait);
    }

    [Fact]
    public void Equal_priority_should_let_the_last_write_win_and_a_same_value_write_should_be_skipped()
    {
        var engine = StartEngine("""
            scripts = [
              { id = a, actions = [ { type = gpio-write, line = 27, level = 1 } ] }
              { id = b, actions = [ { type = gpio-write, line = 27, level = 0 } ] }
              { id = c, actions = [ { type = gpio-write, line = 27, level = 0 } ] }
            ]
            """, cycle: TimeSpan.FromSeconds(5));

        engine.Tell(new ScriptProtocol.RunNow("a"));
        ExpectMsg<ScriptProtocol.RunRequested>(r => r.Outcome == "completed");
        Assert.Equal("write", NextRecord<ScriptWriteValue>().Outcome);
        AwaitCondition(() => _driver.LevelOf(HornPin) == PinValue.High, Wait);

        engine.Tell(new ScriptProtocol.RunNow("b"));
        var won = NextRecord<ScriptWriteValue>();
        Assert.Equal(("b", "won", "a", 1L), (won.ScriptId, won.Outcome, won.OtherScriptId, won.OtherValue));
        var overridden = NextRecord<ScriptWriteValue>();
        Assert.Equal(("a", "overridden", "b"), (overridden.ScriptId, overridden.Outcome, overridden.OtherScriptId));
        AwaitCondition(() => _driver.LevelOf(HornPin) == PinValue.Low, Wait);

        engine.Tell(new ScriptProtocol.RunNow("c"));
        var duplicate = NextRecord<ScriptWriteValue>();
        Assert.Equal(("c", "duplicate", "b"), (duplicate.ScriptId, duplicate.Outcome, duplicate.OtherScriptId));
        AwaitAssert(() => Assert.Equal(2, Metrics.Writes("done").Value), Wait);
    }

    [Fact]
    public void Limits_should_stop_recursion_long_delays_and_too_many_runs_and_record_each_outcome()
    {
        var engine = StartEngine("""
            limits { max-runs-per-minute = 2, max-call-depth = 3 }
            scripts = [
              { id = forever, actions = [ { type = call-script, script = forever } ] }
              { id = sleepy, actions = [ { type = delay, duration = 90s } ] }
              { id = busy, actions = [ { type = publish, topic = busy, payload = x } ] }
            ]
            """);

        engine.Tell(new ScriptProtocol.RunNow("forever"));
        Assert.Equal("stopped_call_depth", ExpectMsg<ScriptProtocol.RunRequested>(Wait).Outcome);
        var depth = NextRecord<ScriptRunValue>();
        Assert.Equal(("forever", "stopped_call_depth", 4), (depth.ScriptId, depth.Outcome, depth.Actions));

        engine.Tell(new ScriptProtocol.RunNow("sleepy"));
        Assert.Equal("stopped_delay_too_long", ExpectMsg<ScriptProtocol.RunRequested>(Wait).Outcome);
        Assert.Contains("limit 00:01:00", NextRecord<ScriptRunValue>(r => r.ScriptId == "sleepy").Reason);

        var outcomes = Enumerable.Range(0, 4).Select(_ => engine.Ask<ScriptProtocol.RunRequested>(new ScriptProtocol.RunNow("busy"), Wait).Result.Outcome).ToList();
        Assert.Equal(["completed", "completed", "rate_limited", "rate_limited"], outcomes);
        Assert.Equal("busy", NextRecord<MessageValue>().Topic);
        Assert.Equal(2, Metrics.Runs(RunOutcomeKind.RateLimited).Value);
    }

    [Fact]
    public void Delay_should_resume_the_run_later_and_shutdown_should_cancel_a_waiting_run()
    {
        var engine = StartEngine("""
            scripts = [
              { id = blink, actions = [ { type = gpio-write, line = 22, level = 1 }, { type = delay, duration = 300ms }, { type = gpio-write, line = 22, level = 0 } ] }
              { id = long, actions = [ { type = delay, duration = 20s }, { type = raise-alert, name = never } ] }
            ]
            """, cycle: TimeSpan.FromMilliseconds(50));

        engine.Tell(new ScriptProtocol.RunNow("blink"));
        Assert.Equal("waiting", ExpectMsg<ScriptProtocol.RunRequested>(Wait).Outcome);
        AwaitCondition(() => _driver.LevelOf(LedPin) == PinValue.High, Wait);
        var run = NextRecord<ScriptRunValue>();
        Assert.Equal(("blink", "completed", 3), (run.ScriptId, run.Outcome, run.Actions));
        Assert.InRange(run.DurationMs, 250, 5_000);
        AwaitCondition(() => _driver.LevelOf(LedPin) == PinValue.Low, Wait);

        engine.Tell(new ScriptProtocol.RunNow("long"));
        Assert.Equal("waiting", ExpectMsg<ScriptProtocol.RunRequested>(Wait).Outcome);
        AwaitAssert(() => Assert.Equal(1, Status(engine).WaitingRuns), Wait);
        engine.Tell(SensorProtocol.StopIntake.Instance);
        ExpectMsg<SensorProtocol.IntakeStopped>(m => true);
        var cancelled = NextRecord<ScriptRunValue>(r => r.ScriptId == "long");
        Assert.Equal(("cancelled", "the agent is shutting down"), (cancelled.Outcome, cancelled.Reason));
        Assert.True(Status(engine).Stopped);
        Assert.Equal("cancelled", engine.Ask<ScriptProtocol.RunRequested>(new ScriptProtocol.RunNow("blink"), Wait).Result.Outcome);
    }

    [Fact]
    public void Raised_alert_should_be_journaled_and_start_alert_scripts_once_the_log_accepted_it()
    {
        var engine = StartEngine("""
            scripts = [
              { id = watch, triggers = [ { type = threshold, reading = oxygen, op = "<", value = 5 } ], actions = [ { type = raise-alert, name = oxygen-low, severity = critical } ] }
              { id = react, priority = critical, triggers = [ { type = alert, alert = oxygen-low } ], actions = [ { type = modbus-write-coil, device = plc1, address = 3, value = false } ] }
            ]
            """);

        engine.Tell(Accepted(("probe", "oxygen", 4.2)));
        var alert = NextRecord<AlertValue>();
        Assert.Equal(("oxygen-low", AlertSeverity.Critical, "script:watch"), (alert.Name, alert.Severity, alert.Source));
        // Not before the log has it: the engine would have asked the PLC while it handled the readings.
        Status(engine);
        _plcs.ExpectNoMsg(TimeSpan.Zero);

        // The log hands the alert back once it is durable.
        engine.Tell(new WalProtocol.ReadingsAccepted([new Reading(ScriptEngine.DeviceId, 1, alert)]));
        var write = _plcs.ExpectMsg<PlcProtocol.WriteCoil>(Wait);
        Assert.Equal(("plc1", (ushort)3, false), (write.PlcId, write.Address, write.Value));
        _plcs.Reply(new PlcProtocol.Written("plc1"));
        Assert.Equal("alert oxygen-low", NextRecord<ScriptRunValue>(r => r.ScriptId == "react").Trigger);
        AwaitAssert(() => Assert.Equal(1, Metrics.Writes("done").Value), Wait);
    }

    [Fact]
    public void Failed_device_write_should_be_journaled_with_the_reason()
    {
        var engine = StartEngine("""
            scripts = [ { id = set, actions = [ { type = modbus-write-register, device = plc1, address = 40, value = 1200 }, { type = gpio-write, line = 5, level = 1 } ] } ]
            """);

        engine.Tell(new ScriptProtocol.RunNow("set"));
        var write = _plcs.ExpectMsg<PlcProtocol.WriteRegister>(Wait);
        Assert.Equal(("plc1", (ushort)40, (ushort)1200), (write.PlcId, write.Address, write.Value));
        _plcs.Reply(new PlcProtocol.Failed("plc1", "circuit open"));

        var records = new List<ScriptWriteValue>();
        while (records.Count(r => r.Error is not null) < 2) records.Add(NextRecord<ScriptWriteValue>());
        Assert.Contains(records, r => r is { Target: "modbus:plc1:register:40", Outcome: "failed", Error: "circuit open" });
        Assert.Contains(records, r => r is { Target: "gpio:5", Outcome: "refused", Error: "no GPIO output line on pin 5" });
    }

    [Fact]
    public void Gpio_edge_trigger_should_fire_on_level_changes_of_an_input_line()
    {
        var engine = StartEngine("""
            scripts = [ { id = door-open, triggers = [ { type = gpio-edge, line = 17, edge = falling } ], actions = [ { type = gpio-write, line = 27, level = 1 } ] } ]
            """);

        // The first level only tells the engine where the line is; then 1 -> 0 is a falling edge, 0 -> 1 is not.
        engine.Tell(Levels("door", 1));
        engine.Tell(Levels("door", 1));
        Status(engine);
        _records.NoneMore();
        engine.Tell(Levels("door", 0, 1));
        var run = NextRecord<ScriptRunValue>();
        Assert.Equal(("door-open", "gpio-edge pin 17 (door) falling"), (run.ScriptId, run.Trigger));
        Status(engine);
        _records.NoneMore();
    }

    [Fact]
    public void Conditions_should_read_the_latest_accepted_values_and_skip_runs_without_a_record()
    {
        var engine = StartEngine("""
            scripts = [ {
              id = pump, triggers = [ { type = threshold, reading = level, op = ">", value = 80 } ]
              conditions = [ { reading = "plc1.pump_ok", op = "==", value = 1 } ]
              actions = [ { type = publish, topic = pump, payload = start } ]
            } ]
            """);

        engine.Tell(Accepted(("plc1", "pump_ok", 0), ("plc1", "level", 90)));
        Status(engine);
        _records.NoneMore();
        Assert.Equal(1, Metrics.Runs(RunOutcomeKind.ConditionsNotMet).Value);

        engine.Tell(Accepted(("plc1", "level", 70), ("plc1", "pump_ok", 1), ("plc1", "level", 85)));
        Assert.Equal("start", NextRecord<MessageValue>().Payload);
    }

    [Fact]
    public void Interval_trigger_should_run_the_script_repeatedly()
    {
        var engine = StartEngine("""
            scripts = [ { id = tick, triggers = [ { type = interval, every = 200ms } ], actions = [ { type = publish, topic = heartbeat } ] } ]
            """);
        NextRecord<ScriptRunValue>(r => r.Trigger == "interval 200ms");
        NextRecord<ScriptRunValue>(r => r.Trigger == "interval 200ms");
        Watch(engine);
        Sys.Stop(engine);
        ExpectTerminated(engine);
    }

    [Fact]
    public void Installed_scripts_should_survive_a_restart_and_configuration_should_not_undo_a_remote_disable()
    {
        const string config = """
            scripts = [ { id = cfg, actions = [ { type = publish, topic = cfg } ] } ]
            """;
        var engine = StartEngine(config, "truck-restart");
        var remote = Parse("""scripts = [ { id = remote, actions = [ { type = publish, topic = remote } ] } ]""").Scripts[0];
        Assert.IsType<ScriptStoreProtocol.CommandAccepted>(engine.Ask<object>(new ScriptStoreProtocol.Execute(new InstallScript(remote)), Wait).Result);
        Assert.IsType<ScriptStoreProtocol.CommandAccepted>(engine.Ask<object>(new ScriptStoreProtocol.Execute(new DisableScript("cfg")), Wait).Result);
        Assert.IsType<ScriptStoreProtocol.CommandRefused>(engine.Ask<object>(new ScriptStoreProtocol.Execute(new InstallScript(remote)), Wait).Result);
        Watch(engine);
        Sys.Stop(engine);
        ExpectTerminated(engine);

        // Same vehicle, same configuration: both scripts are back, "cfg" still disabled.
        var again = Sys.ActorOf(ScriptEngine.Props("truck-restart", new ScriptingSettings { Document = Parse(config) }, _log.Ref, _gpio, _gpioSettings, _plcs.Ref, _metrics), "scripts-again");
        AwaitAssert(() => Assert.Equal((2, 1), Status(again) is var s ? (s.Installed, s.Enabled) : default), Wait);
        Assert.Equal("completed", again.Ask<ScriptProtocol.RunRequested>(new ScriptProtocol.RunNow("remote"), Wait).Result.Outcome);
        Assert.Equal("failed", again.Ask<ScriptProtocol.RunRequested>(new ScriptProtocol.RunNow("cfg"), Wait).Result.Outcome);
    }

    [Fact]
    public void Changed_configuration_should_replace_the_stored_script_and_cancel_its_waiting_run()
    {
        var engine = StartEngine("""scripts = [ { id = s, actions = [ { type = delay, duration = 20s } ] } ]""", "truck-replace");
        engine.Tell(new ScriptProtocol.RunNow("s"));
        AwaitAssert(() => Assert.Equal(1, Status(engine).WaitingRuns), Wait);
        var replacement = Parse("""scripts = [ { id = s, actions = [ { type = publish, topic = new } ] } ]""").Scripts[0];
        engine.Tell(new ScriptStoreProtocol.Execute(new ReplaceScript(replacement)));
        var cancelled = NextRecord<ScriptRunValue>(r => r.Outcome == "cancelled");
        Assert.Equal("script \"s\" was replaced or disabled", cancelled.Reason);
        Assert.Equal("completed", engine.Ask<ScriptProtocol.RunRequested>(new ScriptProtocol.RunNow("s"), Wait).Result.Outcome);
        Assert.Equal("new", NextRecord<MessageValue>().Topic);
    }

    /// <summary>
    /// The store repairs a corrupt latest snapshot by deleting it and stopping; under the engine, its
    /// backoff supervisor starts the next store, which recovers from the snapshot before and the rows since.
    /// </summary>
    [Fact]
    public void A_corrupt_latest_snapshot_should_be_repaired_by_the_next_store_its_supervisor_starts()
    {
        const string vehicle = "truck-repair";
        const string persistenceId = "scripts-" + vehicle;
        var settings = new ScriptingSettings { Document = Parse("scripts = []"), SnapshotEvery = 2 };
        var engine = Sys.ActorOf(ScriptEngine.Props(vehicle, settings, _log.Ref, _gpio, _gpioSettings, _plcs.Ref, _metrics), "scripts-repair");
        for (var i = 0; i < 4; i++)
        {
            var script = Parse($$"""scripts = [ { id = s{{i}}, actions = [ { type = publish, topic = t{{i}} } ] } ]""").Scripts[0];
            Assert.IsType<ScriptStoreProtocol.CommandAccepted>(engine.Ask<object>(new ScriptStoreProtocol.Execute(new InstallScript(script)), Wait).Result);
        }
        Assert.IsType<ScriptStoreProtocol.CommandAccepted>(engine.Ask<object>(new ScriptStoreProtocol.Execute(new DisableScript("s1")), Wait).Result);
        string Snapshots(string what) => $"SELECT {what} FROM snapshot WHERE persistence_id = '{persistenceId}'";
        AwaitAssert(() => Assert.Equal(2, WalFiles.Scalar(_files.SnapshotPath, Snapshots("COUNT(*)"))), Wait);
        var latest = WalFiles.Scalar(_files.SnapshotPath, Snapshots("MAX(sequence_number)"));
        Watch(engine);
        Sys.Stop(engine);
        ExpectTerminated(engine);
        Assert.Equal(1, WalFiles.ExecuteSql(_files.SnapshotPath,
            $"UPDATE snapshot SET snapshot = X'7B227363' WHERE persistence_id = '{persistenceId}' AND sequence_number = {latest}"));

        var again = EventFilter.Warning(contains: $"Deleted corrupt snapshot {latest}").ExpectOne(Wait, () =>
            Sys.ActorOf(ScriptEngine.Props(vehicle, settings, _log.Ref, _gpio, _gpioSettings, _plcs.Ref, _metrics), "scripts-repaired"));
        AwaitAssert(() => Assert.Equal((4, 3), Status(again) is var s ? (s.Installed, s.Enabled) : default), TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(200));
        Assert.Equal(1, WalFiles.Scalar(_files.SnapshotPath, Snapshots("COUNT(*)")));
        Assert.Equal("failed", again.Ask<ScriptProtocol.RunRequested>(new ScriptProtocol.RunNow("s1"), Wait).Result.Outcome);
    }

    /// <summary>
    /// A power cut damaged the pages that hold the script store's rows (issue 7). The store meets
    /// the damage in its own recovery: instead of failing it forever, it has the file quarantined
    /// (moved aside, a fresh one in its place), the next store starts on the fresh file with the
    /// configured scripts installed as at a first start (what was changed by command is gone with
    /// the rows), and the operator gets an alert.
    /// </summary>
    [Fact]
    public void A_store_whose_rows_are_damaged_should_start_over_on_a_fresh_journal_with_the_configured_scripts_and_raise_an_alert()
    {
        const string vehicle = "truck-damaged";
        const string config = """scripts = [ { id = cfg, actions = [ { type = publish, topic = cfg } ] } ]""";
        var engine = StartEngine(config, vehicle);
        var remote = Parse("""scripts = [ { id = remote, actions = [ { type = publish, topic = remote } ] } ]""").Scripts[0];
        Assert.IsType<ScriptStoreProtocol.CommandAccepted>(engine.Ask<object>(new ScriptStoreProtocol.Execute(new InstallScript(remote)), Wait).Result);
        Assert.IsType<ScriptStoreProtocol.CommandAccepted>(engine.Ask<object>(new ScriptStoreProtocol.Execute(new DisableScript("cfg")), Wait).Result);
        Watch(engine);
        Sys.Stop(engine);
        ExpectTerminated(engine);
        Assert.True(WalFiles.DamagePagesHolding(_files.JournalPath, "scripts-" + vehicle) > 0, "no page holds the store's rows");

        var alerts = CreateTestProbe("alerts");
        var settings = new ScriptingSettings { Document = Parse(config) };
        var again = EventFilter.Error(start: $"Script store scripts-{vehicle} (recovery) met a damaged file (SQLite Error 11").ExpectOne(Wait, () =>
            Sys.ActorOf(ScriptEngine.Props(vehicle, settings, _log.Ref, _gpio, _gpioSettings, _plcs.Ref, _metrics, alerts: alerts.Ref), "scripts-damaged"));

        var raised = alerts.ExpectMsg<AlertsProtocol.Raise>(Wait);
        Assert.Equal(("script-store-damaged", AlertSeverity.Critical, true), (raised.Type, raised.Severity, raised.OneShot));
        Assert.Contains("malformed", raised.Message);
        var quarantined = Assert.Single(Directory.GetDirectories(Path.Combine(_files.Directory, "quarantine")));
        Assert.True(File.Exists(Path.Combine(quarantined, "journal.db")), "the damaged journal was not kept");
        // The configured script, enabled as configured; the one installed by command is gone.
        AwaitAssert(() => Assert.Equal((1, 1), Status(again) is var s ? (s.Installed, s.Enabled) : default), TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(200));
        Assert.Equal("failed", again.Ask<ScriptProtocol.RunRequested>(new ScriptProtocol.RunNow("remote"), Wait).Result.Outcome);
        // And the store goes on writing into the fresh journal.
        Assert.IsType<ScriptStoreProtocol.CommandAccepted>(again.Ask<object>(new ScriptStoreProtocol.Execute(new DisableScript("cfg")), Wait).Result);
        Assert.Equal(2, WalFiles.Scalar(_files.JournalPath, $"SELECT COUNT(*) FROM journal WHERE persistence_id = 'scripts-{vehicle}'"));
    }

    [Fact]
    public void Stopped_store_should_be_restarted_and_scripts_should_keep_running_meanwhile()
    {
        var engine = StartEngine("""scripts = [ { id = keep, actions = [ { type = publish, topic = t } ] } ]""", "truck-store");
        // The store runs under its backoff supervisor (child "store"), which answers for it while it is down.
        var supervisor = Sys.ActorSelection(engine.Path / "store").ResolveOne(Wait).Result;
        var store = Sys.ActorSelection(engine.Path / "store" / "scripts").ResolveOne(Wait).Result;
        Watch(store);
        store.Tell(PoisonPill.Instance);
        ExpectTerminated(store);
        AwaitAssert(() => Assert.Null(supervisor.Ask<BackoffSupervisor.CurrentChild>(BackoffSupervisor.GetCurrentChild.Instance, Wait).Result.Ref), Wait);

        // While it is down: the scripts run from the last known state, and changes are refused with a reason.
        Assert.Equal("completed", engine.Ask<ScriptProtocol.RunRequested>(new ScriptProtocol.RunNow("keep"), Wait).Result.Outcome);
        var refused = engine.Ask<object>(new ScriptStoreProtocol.Execute(new DisableScript("keep")), Wait).Result;
        Assert.Contains("restarting", Assert.IsType<ScriptStoreProtocol.CommandRefused>(refused).Reason);

        AwaitAssert(() => Assert.IsType<ScriptStoreProtocol.CommandAccepted>(
            engine.Ask<object>(new ScriptStoreProtocol.Execute(new DisableScript("keep")), Wait).Result), TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(200));
        AwaitAssert(() => Assert.Equal((1, 0), Status(engine) is var s ? (s.Installed, s.Enabled) : default), Wait);
    }
}
