using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Health;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Alerts;
using Fleet.Actors.Devices.Scripting;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.Devices.Tests.Alerts;

/// <summary>
/// The alerts actor in virtual time: Akka's <see cref="TestScheduler"/> for its timers and a
/// <see cref="VirtualClock"/> for "now", moved together by the test. A probe stands in for the log,
/// another for the vehicle agent (its parent) and another for the script engine its outputs write through.
/// </summary>
public sealed class AlertsActorTests : TestKit
{
    private const string VehicleId = "truck-alerts";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static readonly Config Hocon = ConfigurationFactory.ParseString("""akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit" """);

    private readonly AgentMetrics _metrics = new();
    private readonly VirtualClock _clock = new(Start);
    private readonly TestProbe _log;
    private readonly TestProbe _agent;
    private readonly TestProbe _writes;

    public AlertsActorTests(ITestOutputHelper output) : base(Hocon, "alerts-tests", output)
    {
        _log = CreateTestProbe("log");
        _agent = CreateTestProbe("agent");
        _writes = CreateTestProbe("scripts");
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private void Advance(TimeSpan by)
    {
        _clock.Advance(by);
        Scheduler.Advance(by);
    }

    private static AlertsSettings Settings(params AlertRule[] rules) => new() { Rules = rules.ToValueArray() };

    /// <summary>Starts the actor as the agent's child; returns once it has subscribed (it tells the agent whether it wants readings last in PreStart).</summary>
    private IActorRef StartAlerts(AlertsSettings settings, bool wantsReadings = false)
    {
        var alerts = _agent.ChildActorOf(AlertsActor.Props(VehicleId, settings, _log.Ref, _writes.Ref, _metrics, _clock), "alerts");
        Assert.Equal(wantsReadings, _agent.ExpectMsg<AlertsProtocol.WantsReadings>(Wait).Wanted);
        return alerts;
    }

    private AlertValue NextAlert()
    {
        var logged = _log.ExpectMsg<WalProtocol.LogReadings>(Wait);
        var reading = Assert.Single(logged.Readings);
        Assert.Equal(AlertsActor.DeviceId, reading.DeviceId);
        Assert.Equal(_clock.GetUtcNow().ToUnixTimeMilliseconds(), reading.TimestampMs);
        return Assert.IsType<AlertValue>(reading.Value);
    }

    /// <summary>Returns once the actor has handled everything sent to it before (timers it starts then count from the scheduler's present).</summary>
    private static void Sync(IActorRef alerts) => alerts.Ask<AlertsProtocol.Status>(AlertsProtocol.GetStatus.Instance, Wait).Wait(Wait);

    /// <summary>Nothing more was journaled: deterministic after the actor answered a message sent after the ones under test.</summary>
    private void NoMoreAlerts(IActorRef alerts)
    {
        Sync(alerts);
        _log.ExpectNoMsg(TimeSpan.Zero);
    }

    private double Metric(string name, string type, string severity) =>
        MetricValues.Read(_metrics, name, (AgentMetrics.VehicleLabel, VehicleId), (AlertMetrics.TypeLabel, type), (AlertMetrics.SeverityLabel, severity)) ?? 0;

    private static HarshDrivingDetected Brake(double magnitude, string vehicle = VehicleId) =>
        new(vehicle, "imu", Start.ToUnixTimeMilliseconds(), new DrivingEventValue("harsh_brake", magnitude, TimeSpan.FromMilliseconds(700)));

    [Fact]
    public void Harsh_brakes_within_the_debounce_should_give_one_alert_and_count_the_others_in_the_next()
    {
        var alerts = StartAlerts(Settings(new DrivingEventRule { Id = "brakes", Type = "harsh-brake", Event = "harsh_brake", MinMagnitude = 4 }));

        Sys.EventStream.Publish(Brake(5.5));
        var first = NextAlert();
        Assert.Equal(("harsh-brake", AlertSeverity.Warning, "rule:brakes", AlertState.Event, "imu", 0),
            (first.Name, first.Severity, first.Source, first.State, first.DeviceId, first.Suppressed));
        Advance(TimeSpan.FromSeconds(3));
        Sys.EventStream.Publish(Brake(6));
        Advance(TimeSpan.FromSeconds(3));
        Sys.EventStream.Publish(Brake(6.5));
        // Another vehicle's brake (one event stream serves every vehicle of a simulation node) and a gentle one do not count.
        Sys.EventStream.Publish(Brake(7, vehicle: "other-truck"));
        Sys.EventStream.Publish(Brake(3));
        NoMoreAlerts(alerts);
        Assert.Equal(1, Metric("alerts_triggered_total", "harsh-brake", "warning"));
        Assert.Equal(2, Metric("alerts_suppressed_total", "harsh-brake", "warning"));

        Advance(TimeSpan.FromSeconds(4));
        Sys.EventStream.Publish(Brake(5));
        var next = NextAlert();
        Assert.Equal(2, next.Suppressed);
        Assert.Equal(2, Metric("alerts_triggered_total", "harsh-brake", "warning"));
    }

    [Fact]
    public void A_reading_rule_should_want_readings_raise_after_its_duration_and_clear_with_its_causes()
    {
        var alerts = StartAlerts(Settings(new ReadingRule
        {
            Id = "coolant", Type = "engine-overheat", Severity = AlertSeverity.Critical, Device = "obd", Measurement = "coolant_temp",
            Threshold = new Threshold(ThresholdDirection.Above, 105, 5), For = TimeSpan.FromSeconds(2), Message = "engine too hot",
        }), wantsReadings: true);
        var t = Start.ToUnixTimeMilliseconds();
        WalProtocol.ReadingsAccepted Accepted(long first, params (string Device, long At, double Value)[] readings) =>
            new(readings.Select(r => new Reading(r.Device, r.At, new MeasurementValue("coolant_temp", r.Value, "°C"))).ToList())
            {
                Sequences = [new WalProtocol.SequenceRun(0, first)],
            };

        alerts.Tell(Accepted(10, ("obd", t, 106), ("gps", t, 200), ("obd", t + 1000, 107)));
        NoMoreAlerts(alerts);
        alerts.Tell(Accepted(20, ("obd", t + 2000, 107.5)));
        var raised = NextAlert();
        Assert.Equal((AlertState.Raised, AlertSeverity.Critical, "obd"), (raised.State, raised.Severity, raised.DeviceId));
        Assert.Equal("engine too hot: coolant_temp on obd at 107.5, > 105 (clears below 100) for 2s", raised.Message);
        Assert.Equal([10L, 20L], raised.Causes.Select(c => c.Sequence!.Value));

        alerts.Tell(Accepted(30, ("obd", t + 3000, 99)));
        var cleared = NextAlert();
        Assert.Equal((AlertState.Cleared, "engine-overheat", "rule:coolant", AlertSeverity.Critical), (cleared.State, cleared.Name, cleared.Source, cleared.Severity));
        Assert.Equal(30, Assert.Single(cleared.Causes).Sequence);
        Assert.Equal(1, MetricValues.Read(_metrics, "alerts_cleared_total", (AlertMetrics.TypeLabel, "engine-overheat")));
    }

    [Fact]
    public void A_device_down_for_longer_than_its_time_should_raise_and_its_return_clear()
    {
        var alerts = StartAlerts(Settings(new DeviceDownRule { Id = "down", Type = "device-down", For = TimeSpan.FromSeconds(30) }));
        var at = Start.ToUnixTimeMilliseconds();

        Sys.EventStream.Publish(new DeviceStatusChanged(VehicleId, "sensors", "gps", false, "no fix data for 10 s", at));
        Sync(alerts);
        Advance(TimeSpan.FromSeconds(29));
        NoMoreAlerts(alerts);
        Advance(TimeSpan.FromSeconds(1));
        var raised = NextAlert();
        Assert.Equal((AlertState.Raised, "gps", "sensors device gps down for more than 30s: no fix data for 10 s"), (raised.State, raised.DeviceId, raised.Message));
        Assert.Equal(new AlertCause("gps", "down", TimestampMs: at, Detail: "no fix data for 10 s"), Assert.Single(raised.Causes));

        Sys.EventStream.Publish(new DeviceStatusChanged(VehicleId, "sensors", "gps", true, "", at + 45_000));
        var cleared = NextAlert();
        Assert.Equal((AlertState.Cleared, "gps"), (cleared.State, cleared.DeviceId));

        // Down and up again within the time: nothing.
        Sys.EventStream.Publish(new DeviceStatusChanged(VehicleId, "sensors", "obd", false, "timeout", at));
        Sync(alerts);
        Advance(TimeSpan.FromSeconds(10));
        Sys.EventStream.Publish(new DeviceStatusChanged(VehicleId, "sensors", "obd", true, "", at));
        Sync(alerts);
        Advance(TimeSpan.FromSeconds(30));
        NoMoreAlerts(alerts);
    }

    [Fact]
    public void A_health_rule_should_raise_from_samples_of_this_vehicle_only()
    {
        var alerts = StartAlerts(Settings(new HealthRule
        {
            Id = "disk", Type = "disk-full", Field = HealthFields.DiskUsage, Threshold = new Threshold(ThresholdDirection.Above, 90, 5),
        }));
        HealthSampled Sample(string vehicle, double disk) => new(vehicle, new HealthSample(Start.ToUnixTimeMilliseconds(),
            new Dictionary<string, double> { [HealthFields.DiskUsage] = disk }, new Dictionary<string, string>(), new Dictionary<string, bool>()));

        Sys.EventStream.Publish(Sample("other-truck", 99));
        NoMoreAlerts(alerts);
        Sys.EventStream.Publish(Sample(VehicleId, 93));
        var raised = NextAlert();
        Assert.Equal(("disk-full", AlertState.Raised, (string?)null), (raised.Name, raised.State, raised.DeviceId));
        Sys.EventStream.Publish(Sample(VehicleId, 84));
        Assert.Equal(AlertState.Cleared, NextAlert().State);
    }

    [Fact]
    public void Raise_and_clear_from_another_actor_should_be_debounced_like_the_rules_but_a_clear_never()
    {
        var alerts = StartAlerts(Settings());
        var stalled = new AlertsProtocol.Raise("uplink-stalled", AlertSeverity.Warning, "stall-detector", Message: "no acknowledgement for 60 s with 1200 unsent");
        var recovered = new AlertsProtocol.Clear("uplink-stalled", "stall-detector", Message: "acknowledgements again");

        alerts.Tell(stalled);
        Assert.Equal(AlertState.Raised, NextAlert().State);
        alerts.Tell(stalled);
        NoMoreAlerts(alerts);
        Advance(TimeSpan.FromSeconds(1));
        alerts.Tell(recovered);
        var cleared = NextAlert();
        Assert.Equal((AlertState.Cleared, "acknowledgements again"), (cleared.State, cleared.Message));

        // Stalled again 2 s after the last raise went out: held back until the window ends, then sent (it still holds).
        Advance(TimeSpan.FromSeconds(1));
        alerts.Tell(stalled);
        NoMoreAlerts(alerts);
        Assert.Equal(1, alerts.Ask<AlertsProtocol.Status>(AlertsProtocol.GetStatus.Instance, Wait).Result.Held);
        Advance(TimeSpan.FromSeconds(8));
        var late = NextAlert();
        Assert.Equal(AlertState.Raised, late.State);
        Assert.EndsWith("(held back 8 s by the debounce)", late.Message);
        Assert.Equal(2, Metric("alerts_triggered_total", "uplink-stalled", "warning"));
    }

    [Fact]
    public void An_invalid_raise_should_be_refused_with_a_warning_and_a_long_message_cut()
    {
        var alerts = StartAlerts(Settings());
        EventFilter.Warning(contains: "Alert raise from someone ignored: the alert type").ExpectOne(() =>
            alerts.Tell(new AlertsProtocol.Raise("", AlertSeverity.Info, "someone")));
        alerts.Tell(new AlertsProtocol.Raise("chatty", AlertSeverity.Info, "someone", Message: new string('x', 5000)));
        Assert.Equal(ReadingValidator.MaxTextLength, NextAlert().Message.Length);
    }

    [Fact]
    public void A_configuration_change_should_clear_the_alerts_of_a_removed_rule_and_keep_the_others()
    {
        var coolant = new ReadingRule
        {
            Id = "coolant", Type = "engine-overheat", Measurement = "coolant_temp", Threshold = new Threshold(ThresholdDirection.Above, 105),
        };
        var oil = coolant with { Id = "oil", Type = "oil-hot", Measurement = "oil_temp" };
        var alerts = StartAlerts(Settings(coolant, oil), wantsReadings: true);
        var t = Start.ToUnixTimeMilliseconds();
        alerts.Tell(new WalProtocol.ReadingsAccepted([new Reading("obd", t, new MeasurementValue("coolant_temp", 110, "°C"))]));
        alerts.Tell(new WalProtocol.ReadingsAccepted([new Reading("obd", t, new MeasurementValue("oil_temp", 120, "°C"))]));
        Assert.Equal(["engine-overheat", "oil-hot"], new[] { NextAlert().Name, NextAlert().Name });

        alerts.Tell(new AlertsProtocol.Apply(Settings(oil)));
        var cleared = NextAlert();
        Assert.Equal(("engine-overheat", AlertState.Cleared, "rule coolant was changed or removed by a configuration change"), (cleared.Name, cleared.State, cleared.Message));
        NoMoreAlerts(alerts);
        Assert.Equal(["oil-hot/obd/rule:oil"], alerts.Ask<AlertsProtocol.Status>(AlertsProtocol.GetStatus.Instance, Wait).Result.Active);

        // No rule on readings any more: the agent stops handing them over.
        alerts.Tell(new AlertsProtocol.Apply(Settings(new DrivingEventRule { Id = "brakes", Type = "harsh-brake", Event = "harsh_brake" })));
        Assert.False(_agent.ExpectMsg<AlertsProtocol.WantsReadings>(Wait).Wanted);
        Assert.Equal(("oil-hot", AlertState.Cleared), (NextAlert().Name, AlertState.Cleared));
        Sys.EventStream.Publish(Brake(5));
        Assert.Equal("harsh-brake", NextAlert().Name);
    }

    [Fact]
    public void A_critical_alert_should_run_the_blink_pattern_through_the_arbitration_and_rest_at_0()
    {
        var settings = Settings() with
        {
            Actuation = ValueArray.Of(
                new ActuationSettings { Line = "buzzer", Pin = 27, Pattern = ActuationPattern.Blink, On = TimeSpan.FromMilliseconds(200), Off = TimeSpan.FromMilliseconds(300), Duration = TimeSpan.FromMilliseconds(1100) },
                new ActuationSettings { Line = "led", Pin = 22, MinSeverity = AlertSeverity.Warning, Types = ValueArray.Of("door-open") }),
        };
        var alerts = StartAlerts(settings);
        void ExpectLevel(int level)
        {
            var hold = _writes.ExpectMsg<ScriptProtocol.Hold>(Wait);
            var write = Assert.Single(hold.Writes);
            Assert.Equal(("alert:buzzer", "alert:buzzer", new GpioLineTarget(27), 100), (hold.Holder, write.RequestedBy, write.Target, write.Priority));
            Assert.Equal(level, write.Value);
            _writes.Reply(new ScriptProtocol.WriteDone("write", null));
        }

        alerts.Tell(new AlertsProtocol.Raise("engine-fire", AlertSeverity.Critical, "test"));
        Assert.Equal("engine-fire", NextAlert().Name);
        ExpectLevel(1);
        Advance(TimeSpan.FromMilliseconds(200));
        ExpectLevel(0);
        Advance(TimeSpan.FromMilliseconds(300));
        ExpectLevel(1);
        Advance(TimeSpan.FromMilliseconds(200));
        ExpectLevel(0);
        Advance(TimeSpan.FromMilliseconds(300));
        ExpectLevel(1);
        // At 1.1 s: the end, which writes 0 and frees the line.
        Advance(TimeSpan.FromMilliseconds(100));
        ExpectLevel(0);
        Assert.Equal("alert:buzzer", _writes.ExpectMsg<ScriptProtocol.Release>(Wait).Holder);
        Advance(TimeSpan.FromSeconds(5));
        _writes.ExpectNoMsg(TimeSpan.Zero);
        // A warning of another type drives neither output (the LED is for door-open only).
        alerts.Tell(new AlertsProtocol.Raise("engine-warm", AlertSeverity.Warning, "test"));
        NextAlert();
        NoMoreAlerts(alerts);
        _writes.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void A_failing_output_should_be_counted_and_logged_while_the_alert_goes_out()
    {
        var settings = Settings() with { Actuation = ValueArray.Of(new ActuationSettings { Line = "buzzer", Pin = 27, Duration = TimeSpan.FromSeconds(1) }) };
        var alerts = StartAlerts(settings);
        _writes.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is ScriptProtocol.Hold) sender.Tell(new ScriptProtocol.WriteDone("failed", "GPIO line buzzer is down and reopening"));
            return AutoPilot.KeepRunning;
        }));

        EventFilter.Warning(contains: "Alert output buzzer could not be set to 1: failed: GPIO line buzzer is down and reopening").ExpectOne(() =>
        {
            alerts.Tell(new AlertsProtocol.Raise("engine-fire", AlertSeverity.Critical, "test"));
            Assert.Equal("engine-fire", NextAlert().Name);
        });
        AwaitAssert(() => Assert.Equal(1, MetricValues.Read(_metrics, "alert_actuation_errors_total", ("line", "buzzer"))), Wait);
        // The next failure within 10 s is counted, not logged.
        EventFilter.Warning(contains: "Alert output buzzer").Expect(0, () =>
        {
            Advance(TimeSpan.FromSeconds(1));
            AwaitAssert(() => Assert.Equal(2, MetricValues.Read(_metrics, "alert_actuation_errors_total", ("line", "buzzer"))), Wait);
        });
    }
}
