using System.Diagnostics;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Testing;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;
using Fleet.Actors.Devices.Tests.Support;
using Xunit.Abstractions;

namespace Fleet.Actors.Devices.Tests.Sensors;

/// <summary>
/// Sensor actors under their supervisor, as the vehicle agent wires them, with fake drivers whose
/// devices the tests unplug, silence and garble. A TestProbe stands in for the write-ahead log.
/// </summary>
public sealed class SensorSupervisorTests : TestKit
{
    private const string VehicleId = "truck-sensors";
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(10);

    // The restart is scheduled at least MinBackoff after the failure; allow for clock granularity only.
    private static readonly TimeSpan ClockSlack = TimeSpan.FromMilliseconds(10);

    private readonly AgentMetrics _metrics = new();
    private readonly FakeDriverFactory _fakes = new();
    private readonly TestProbe _log;
    private readonly ITestOutputHelper _output;

    public SensorSupervisorTests(ITestOutputHelper output) : base("akka.loglevel = INFO", output)
    {
        _output = output;
        _log = CreateTestProbe("log");
    }

    private static SensorSettings Fake(string id, TimeSpan? stallTimeout = null) => new()
    {
        Id = id,
        Type = FakeDriverFactory.TypeName,
        MinBackoff = MinBackoff,
        MaxBackoff = TimeSpan.FromSeconds(3),
        RandomFactor = 0.2,
        StallTimeout = stallTimeout ?? TimeSpan.FromSeconds(10),
        InvalidLogInterval = TimeSpan.FromSeconds(10),
    };

    private IActorRef StartSensors(params SensorSettings[] sensors)
    {
        var simulation = SimulationContext.For(VehicleId, new SimulationSettings(), TimeProvider.System);
        var registry = new SensorDriverRegistry().Register(_fakes);
        var context = new DriverContext(VehicleId, TimeProvider.System, simulation);
        return Sys.ActorOf(SensorSupervisor.Props(VehicleId, sensors, registry, context, _log.Ref, _metrics), "sensors");
    }

    // NaN while a metric does not exist yet: no condition holds and no equality passes.
    private double Sensor(string name, string sensorId) =>
        MetricValues.Read(_metrics, name, (AgentMetrics.VehicleLabel, VehicleId), ("sensor", sensorId)) ?? double.NaN;

    private double Down(string sensorId) => Sensor("sensor_down", sensorId);

    private double ReadSuccess(string sensorId) => Sensor("read_success", sensorId);

    private double ReadError(string sensorId) => Sensor("read_error", sensorId);

    private double Active => MetricValues.Read(_metrics, "active_sensors_count", (AgentMetrics.VehicleLabel, VehicleId)) ?? double.NaN;

    private double? Restarts => MetricValues.Read(_metrics, "restarts_total", (AgentMetrics.VehicleLabel, VehicleId), ("supervisor", "sensors"));

    /// <summary>Waits until every named sensor is up (its metrics exist once the supervisor has started).</summary>
    private void AwaitUp(params string[] sensorIds) => AwaitCondition(
        () => Active == sensorIds.Length && sensorIds.All(id => Down(id) == 0),
        TimeSpan.FromSeconds(10), Interval);

    private static SensorRead Read(params ReadingValue[] values) => Read(values, []);

    private static SensorRead Read(ReadingValue[] values, MalformedFrame[] malformed, long missed = 0) =>
        new(values.Select((v, i) => new TimedValue(1_740_000_000_000 + i * 100, v)).ToList(), malformed, missed);

    private static MeasurementValue Rpm(double rpm) => new("engine_rpm", rpm, "rpm");

    private static TimeSpan Since(long from, long to) => Stopwatch.GetElapsedTime(from, to);

    /// <summary>
    /// What the health monitor and alert rules build on: every sensor going up or down is published
    /// with the real cause (a silent device as "stalled"), and the supervisor reports each sensor's
    /// state, readings and last reading.
    /// </summary>
    [Fact]
    public void Sensors_should_publish_when_they_go_up_and_down_with_the_cause_and_report_their_activity()
    {
        var changes = CreateTestProbe();
        Sys.EventStream.Subscribe(changes.Ref, typeof(Fleet.Actors.Core.Health.DeviceStatusChanged));
        var sensors = StartSensors(Fake("obd-1", stallTimeout: TimeSpan.FromMilliseconds(400)), Fake("gps-1"));
        var ups = new[] { changes.ExpectMsg<Fleet.Actors.Core.Health.DeviceStatusChanged>(), changes.ExpectMsg<Fleet.Actors.Core.Health.DeviceStatusChanged>() };
        Assert.Equal(["gps-1", "obd-1"], ups.Select(u => u.DeviceId).Order());
        Assert.All(ups, u => Assert.Equal((VehicleId, "sensors", true, ""), (u.VehicleId, u.Domain, u.Up, u.Reason)));

        _fakes.Device("gps-1").Feed(Read(Rpm(700), Rpm(710)));
        _log.ExpectMsg<WalProtocol.LogReadings>();
        var report = sensors.Ask<Supervision.DeviceReport>(Supervision.GetDevices.Instance, TimeSpan.FromSeconds(3)).Result;
        var gps = report.Devices.Single(d => d.Id == "gps-1");
        Assert.Equal(("sensors", FakeDriverFactory.TypeName, true, 2L, 1_740_000_000_100L), (gps.Domain, gps.Type, gps.Up, gps.Count, gps.LastSeenMs!.Value));

        // obd-1 delivers nothing: its stall timeout stops it, and it says so.
        var down = changes.FishForMessage<Fleet.Actors.Core.Health.DeviceStatusChanged>(c => !c.Up, TimeSpan.FromSeconds(5));
        Assert.Equal("obd-1", down.DeviceId);
        Assert.StartsWith("stalled: no answer while reading for", down.Reason);
        AwaitCondition(() => sensors.Ask<Supervision.DeviceReport>(Supervision.GetDevices.Instance, TimeSpan.FromSeconds(3)).Result
            .Devices.Single(d => d.Id == "obd-1").Up == false, TimeSpan.FromSeconds(3), Interval);

        // Unplugged: down with the driver's own words, and up again after the backoff.
        _fakes.Device("gps-1").Disconnected = true;
        // Its waiting read gets this; the next read finds the device gone.
        _fakes.Device("gps-1").Feed(Read(Rpm(720)));
        var unplugged = changes.FishForMessage<Fleet.Actors.Core.Health.DeviceStatusChanged>(c => c.DeviceId == "gps-1" && !c.Up, TimeSpan.FromSeconds(5));
        Assert.Equal("read failed: fake device disconnected", unplugged.Reason);
        _fakes.Device("gps-1").Disconnected = false;
        changes.FishForMessage<Fleet.Actors.Core.Health.DeviceStatusChanged>(c => c.DeviceId == "gps-1" && c.Up, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_sensor_whose_device_never_opens_should_publish_that_it_is_down_and_why()
    {
        var changes = CreateTestProbe();
        Sys.EventStream.Subscribe(changes.Ref, typeof(Fleet.Actors.Core.Health.DeviceStatusChanged));
        _fakes.Device("can-1").FailNextOpens(1);
        StartSensors(Fake("can-1"));

        var down = changes.ExpectMsg<Fleet.Actors.Core.Health.DeviceStatusChanged>();
        Assert.Equal(("can-1", false, "open failed: fake device not present"), (down.DeviceId, down.Up, down.Reason));
        Assert.True(changes.ExpectMsg<Fleet.Actors.Core.Health.DeviceStatusChanged>(TimeSpan.FromSeconds(5)).Up);
    }

    [Fact]
    public void SensorActor_should_tell_valid_readings_to_the_log_with_the_sensor_id_as_device_id()
    {
        StartSensors(Fake("obd-1"));
        AwaitUp("obd-1");

        var values = new ReadingValue[] { Rpm(812.5), new PositionValue(53.54, 9.96, 271.5, 12, 8.2, 2.1) };
        _fakes.Device("obd-1").Feed(Read(values));

        var logged = _log.ExpectMsg<WalProtocol.LogReadings>(TimeSpan.FromSeconds(5));
        Assert.Equal(
            [new Reading("obd-1", 1_740_000_000_000, values[0]), new Reading("obd-1", 1_740_000_000_100, values[1])],
            logged.Readings);
        // The metrics are updated just after the tell.
        AwaitCondition(() => ReadSuccess("obd-1") == 2 && Math.Abs(Sensor("last_seen", "obd-1") - 1_740_000_000.1) < 1e-3,
            TimeSpan.FromSeconds(5), Interval);
        Assert.Equal(0, ReadError("obd-1"));
    }

    [Fact]
    public void SensorActor_should_drop_and_count_invalid_values_and_malformed_frames()
    {
        StartSensors(Fake("imu-1"));
        AwaitUp("imu-1");
        var device = _fakes.Device("imu-1");

        device.Feed(Read(
            [Rpm(700), Rpm(double.NaN), new PositionValue(123.4, 9.96, 0), new MotionValue(412, 0, 9.8), Rpm(710)],
            [new MalformedFrame("checksum mismatch", "\u00A5\u0000\u0013"), new MalformedFrame("truncated", "41 0C")]));

        var logged = _log.ExpectMsg<WalProtocol.LogReadings>(TimeSpan.FromSeconds(5));
        Assert.Equal([Rpm(700), Rpm(710)], logged.Readings.Select(r => r.Value));
        AwaitCondition(() => ReadError("imu-1") == 5, TimeSpan.FromSeconds(5), Interval);

        // A read with nothing valid in it tells the log nothing at all...
        device.Feed(Read([Rpm(double.PositiveInfinity), new MotionValue(0, 0, double.NaN)], [new MalformedFrame("garbage", "$GP\u0001")]));
        // ...so the next thing the log hears is the next valid reading (messages from one actor keep their order).
        device.Feed(Read(Rpm(720)));
        var next = _log.ExpectMsg<WalProtocol.LogReadings>(TimeSpan.FromSeconds(5));
        Assert.Equal([Rpm(720)], next.Readings.Select(r => r.Value));
        Assert.Equal(8, ReadError("imu-1"));
        AwaitCondition(() => ReadSuccess("imu-1") == 3, TimeSpan.FromSeconds(5), Interval);
        // Bad data is the device's problem, not a failure: the sensor stayed up.
        Assert.Equal(0, Down("imu-1"));
        Assert.Equal(1, _fakes.Device("imu-1").Opens);
    }

    [Fact]
    public void SensorActor_should_count_samples_its_driver_missed()
    {
        StartSensors(Fake("gps-1"));
        AwaitUp("gps-1");

        _fakes.Device("gps-1").Feed(Read([Rpm(650)], [], missed: 37));

        _log.ExpectMsg<WalProtocol.LogReadings>(TimeSpan.FromSeconds(5));
        AwaitCondition(() => Sensor("sensor_missed_samples_total", "gps-1") == 37, TimeSpan.FromSeconds(5), Interval);
    }

    [Fact]
    public void SensorActor_should_go_down_on_a_disconnect_and_come_back_after_the_backoff()
    {
        _fakes.Device("gps-1").StreamEvery = TimeSpan.FromMilliseconds(20);
        _fakes.Device("obd-1").StreamEvery = TimeSpan.FromMilliseconds(20);
        StartSensors(Fake("gps-1"), Fake("obd-1"));
        AwaitUp("gps-1", "obd-1");
        var gps = _fakes.Device("gps-1");

        gps.Disconnected = true;
        AwaitCondition(() => Down("gps-1") == 1 && Active == 1, TimeSpan.FromSeconds(5), Interval);
        var failedAt = gps.FailureTimes.Min();
        var healthyBefore = ReadSuccess("obd-1");
        Assert.Equal(0, Down("obd-1"));
        gps.Disconnected = false;

        AwaitCondition(() => Down("gps-1") == 0 && Active == 2, TimeSpan.FromSeconds(5), Interval);
        var backAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var reopenedAt = gps.OpenTimes.Where(t => t > failedAt).Min();
        _output.WriteLine($"reopened {Since(failedAt, reopenedAt).TotalMilliseconds:F0} ms after the disconnect");
        Assert.True(Since(failedAt, reopenedAt) >= MinBackoff - ClockSlack,
            $"reopened {Since(failedAt, reopenedAt).TotalMilliseconds:F0} ms after the failure, before the {MinBackoff.TotalMilliseconds} ms backoff");
        // Every failed driver was disposed; one (the live one) is open.
        Assert.Equal(gps.DriversCreated - 1, gps.DriversDisposed);
        Assert.True(Restarts >= 1, "the restart was not counted");

        // The other sensor never noticed, and the reconnected one delivers to the log again.
        Assert.True(ReadSuccess("obd-1") > healthyBefore, "the healthy sensor stopped delivering during the outage");
        Assert.Equal(1, _fakes.Device("obd-1").Opens);
        _log.FishForMessage<WalProtocol.LogReadings>(
            m => m.Readings[0].DeviceId == "gps-1" && m.Readings[0].TimestampMs >= backAt, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void SensorActor_should_retry_a_failing_open_with_a_growing_backoff()
    {
        var device = _fakes.Device("can-1");
        device.StreamEvery = TimeSpan.FromMilliseconds(20);
        device.FailNextOpens(2);

        // One warning per failed open naming the sensor and the cause; no error, no stack trace.
        EventFilter.Error().Expect(0, () =>
            EventFilter.Warning(start: "Sensor can-1 down (open failed)").Expect(2, TimeSpan.FromSeconds(15), () =>
            {
                StartSensors(Fake("can-1"));
                AwaitUp("can-1");
            }));

        var opens = device.OpenTimes.ToArray();
        Assert.Equal(3, opens.Length);
        _output.WriteLine($"retries after {Since(opens[0], opens[1]).TotalMilliseconds:F0} and {Since(opens[1], opens[2]).TotalMilliseconds:F0} ms");
        // First retry after MinBackoff (+ up to 20% jitter), the second after twice that.
        Assert.True(Since(opens[0], opens[1]) >= MinBackoff - ClockSlack, $"first retry after {Since(opens[0], opens[1]).TotalMilliseconds:F0} ms");
        Assert.True(Since(opens[1], opens[2]) >= 2 * MinBackoff - ClockSlack, $"second retry after {Since(opens[1], opens[2]).TotalMilliseconds:F0} ms");
        // A device that cannot be opened is down, not a source of bad readings; the retries are restarts.
        Assert.Equal(0, ReadError("can-1"));
        Assert.Equal(2, MetricValues.Read(_metrics, "restarts_total", (AgentMetrics.VehicleLabel, VehicleId), ("supervisor", "sensors")));
        _log.ExpectMsg<WalProtocol.LogReadings>(r => r.Readings[0].DeviceId == "can-1", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void SensorActor_should_restart_a_stalled_device_after_the_stall_timeout()
    {
        var stallTimeout = TimeSpan.FromMilliseconds(400);
        var device = _fakes.Device("imu-1");
        device.StreamEvery = TimeSpan.FromMilliseconds(20);
        StartSensors(Fake("imu-1", stallTimeout));
        AwaitUp("imu-1");

        device.Stalled = true;
        AwaitCondition(() => Volatile.Read(ref device.StallCancelledAt) != 0, TimeSpan.FromSeconds(15), Interval);
        device.Stalled = false;
        var stalledFor = Since(Volatile.Read(ref device.StalledSince), Volatile.Read(ref device.StallCancelledAt));
        _output.WriteLine($"stall noticed after {stalledFor.TotalMilliseconds:F0} ms");
        Assert.True(stalledFor >= stallTimeout - ClockSlack, $"gave up on the device after {stalledFor.TotalMilliseconds:F0} ms");
        // Generous: the check runs on a timer, and timers run late on a loaded two-core machine.
        Assert.True(stalledFor < stallTimeout + TimeSpan.FromSeconds(10), $"noticed the stall only after {stalledFor.TotalMilliseconds:F0} ms");

        // Reopened after the backoff with a fresh driver, and delivering again.
        AwaitCondition(() => device.SuccessfulOpens == 2 && Down("imu-1") == 0, TimeSpan.FromSeconds(15), Interval);
        var reopenedAt = device.OpenTimes.Last();
        Assert.True(Since(device.StallCancelledAt, reopenedAt) >= MinBackoff - ClockSlack, "reopened before the backoff");
        Assert.Equal(1, device.DriversDisposed);
        var delivered = ReadSuccess("imu-1");
        AwaitCondition(() => ReadSuccess("imu-1") > delivered, TimeSpan.FromSeconds(5), Interval);
    }

    [Fact]
    public void Commands_should_be_refused_for_an_unknown_sensor_and_for_drivers_that_take_none()
    {
        _fakes.Device("gps-1").StreamEvery = TimeSpan.FromMilliseconds(20);
        var sensors = StartSensors(Fake("gps-1"));
        AwaitUp("gps-1");

        sensors.Tell(new SensorProtocol.Execute("nope", "anything"));
        Assert.Equal(new SensorCommandResult(false, "no sensor 'nope'"), ExpectMsg<SensorCommandResult>(TimeSpan.FromSeconds(5)));
        sensors.Tell(new SensorProtocol.Execute("gps-1", "anything"));
        Assert.Contains("takes no commands", ExpectMsg<SensorCommandResult>(TimeSpan.FromSeconds(5)).Detail);
    }

    [Fact]
    public void StopIntake_should_stop_every_sensor_and_answer_IntakeStopped()
    {
        // One sensor streams, one waits for data (its read is always pending), one is unplugged and sits in its backoff.
        _fakes.Device("gps-1").StreamEvery = TimeSpan.FromMilliseconds(20);
        _fakes.Device("cam-1").Disconnected = true;
        var sensors = StartSensors(Fake("gps-1"), Fake("obd-1"), Fake("cam-1"));
        AwaitCondition(() => Active == 2 && _fakes.Device("cam-1").Opens >= 1 && Down("gps-1") == 0 && Down("obd-1") == 0,
            TimeSpan.FromSeconds(10), Interval);

        sensors.Tell(SensorProtocol.StopIntake.Instance, TestActor);
        ExpectMsg<SensorProtocol.IntakeStopped>(TimeSpan.FromSeconds(5));

        Assert.Equal(0, Active);
        Assert.All(new[] { "gps-1", "obd-1", "cam-1" }, id => Assert.Equal(1, Down(id)));
        AwaitCondition(() => new[] { "gps-1", "obd-1", "cam-1" }.All(id => _fakes.Device(id).DriversDisposed == _fakes.Device(id).DriversCreated),
            TimeSpan.FromSeconds(5), Interval);
        // The pending read was cancelled, not left hanging on the device.
        AwaitCondition(() => _fakes.Device("obd-1").CancelledReads == 1, TimeSpan.FromSeconds(5), Interval);

        // Nothing reaches the log any more: drain what was sent before the stop, then silence.
        _log.ReceiveWhile(TimeSpan.FromMilliseconds(200), m => m);
        _log.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        var opens = _fakes.Device("cam-1").Opens;
        _fakes.Device("cam-1").Disconnected = false;
        _log.ExpectNoMsg(TimeSpan.FromMilliseconds(2 * MinBackoff.TotalMilliseconds));
        Assert.Equal(opens, _fakes.Device("cam-1").Opens);

        // Asking again (a second shutdown hook) is answered at once.
        sensors.Tell(SensorProtocol.StopIntake.Instance, TestActor);
        ExpectMsg<SensorProtocol.IntakeStopped>(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void SensorSupervisor_should_refuse_an_unknown_driver_type()
    {
        var simulation = SimulationContext.For(VehicleId, new SimulationSettings(), TimeProvider.System);
        var context = new DriverContext(VehicleId, TimeProvider.System, simulation);
        var props = SensorSupervisor.Props(VehicleId, [new SensorSettings { Id = "x", Type = "no-such-driver" }],
            new SensorDriverRegistry(), context, _log.Ref, _metrics);

        // The actor system wraps the constructor's exception; the innermost one says what is wrong.
        EventFilter.Custom(e => e is Akka.Event.Error { Cause: { } cause }
                                && cause.GetBaseException() is ArgumentException { Message: var message }
                                && message.Contains("unknown driver type 'no-such-driver'", StringComparison.Ordinal)).ExpectOne(() =>
        {
            var supervisor = Sys.ActorOf(props, "sensors-unknown");
            Watch(supervisor);
            ExpectTerminated(supervisor, TimeSpan.FromSeconds(5));
        });
    }

    [Fact]
    public void SensorSettings_should_default_to_a_five_second_minimum_backoff()
    {
        var settings = new SensorSettings { Id = "gps-1", Type = SimulatedGpsDriver.TypeName };

        Assert.Equal(TimeSpan.FromSeconds(5), settings.MinBackoff);
        Assert.True(settings.MaxBackoff >= settings.MinBackoff);
        Assert.True(settings.StallTimeout > TimeSpan.Zero);
    }
}
