using System.Buffers;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Scripting;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;
using Fleet.Actors.Devices.Tests.Support;
using Fleet.Actors.Testing;
using Fleet.Actors.Devices.Vehicle;
using Xunit.Abstractions;

namespace Fleet.Actors.Devices.Tests.Vehicle;

/// <summary>
/// A whole vehicle agent end to end: simulated sensors, the write-ahead log on temporary SQLite files
/// (the production wiring) and the uplink to a real in-process MQTT broker; then the orderly shutdown.
/// </summary>
public sealed class VehicleAgentTests : TestKit, IAsyncLifetime
{
    private const string VehicleId = "truck-e2e";
    private const string Tenant = "acme";
    private static readonly string[] SensorIds = ["gps", "imu", "obd"];
    private readonly WalFiles _files;
    private readonly AgentMetrics _metrics = new();
    private readonly RecordingBroker _broker = new();

    public VehicleAgentTests(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private VehicleAgentTests(WalFiles files, ITestOutputHelper output) : base(files.Setup(), "vehicle-tests", output)
    {
        _files = files;
    }

    public Task InitializeAsync() => _broker.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    private VehicleSettings Settings() => new()
    {
        VehicleId = VehicleId,
        Tenant = Tenant,
        Sensors =
        [
            new SensorSettings { Id = "gps", Type = SimulatedGpsDriver.TypeName, RateHz = 50, MinBackoff = TimeSpan.FromMilliseconds(300) },
            new SensorSettings { Id = "imu", Type = SimulatedImuDriver.TypeName, RateHz = 50, MinBackoff = TimeSpan.FromMilliseconds(300) },
            new SensorSettings { Id = "obd", Type = SimulatedObdDriver.TypeName, RateHz = 10, MinBackoff = TimeSpan.FromMilliseconds(300) },
        ],
        Wal = new WalSettings { JournalPath = _files.JournalPath },
        Uplink = new UplinkSettings
        {
            Broker = new BrokerSettings
            {
                Host = "127.0.0.1",
                Port = _broker.Port,
                KeepAlive = TimeSpan.FromSeconds(5),
                ConnectTimeout = TimeSpan.FromSeconds(2),
                PublishTimeout = TimeSpan.FromSeconds(5),
            },
            ReconnectMinBackoff = TimeSpan.FromMilliseconds(100),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(800),
        },
        SummaryInterval = TimeSpan.FromMilliseconds(500),
        DrainTimeout = TimeSpan.FromSeconds(15),
    };

    private string StatusTopic => $"fleet/{Tenant}/{VehicleId}/status";

    private async Task<JsonElement?> RetainedStatusAsync()
    {
        var retained = await _broker.RetainedAsync(StatusTopic);
        return retained is null ? null : JsonDocument.Parse(retained.Payload.ToArray()).RootElement.Clone();
    }

    /// <summary>
    /// While the log restarts, its backoff supervisor has no child and what the sensors send ends in
    /// dead letters. Those readings are lost; they must be counted, so that every reading a sensor
    /// sent is either accepted or counted as never accepted.
    /// </summary>
    [Fact]
    public async Task Readings_sent_while_the_log_restarts_should_be_counted_as_never_accepted()
    {
        var settings = Settings();
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, _metrics), VehicleAgent.ActorName(VehicleId));
        var wal = new WalMetrics(_metrics, VehicleId);
        AwaitCondition(() => wal.Accepted.Value >= 200, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(20));

        // The log stops as after a failed write; its supervisor starts it again after 1 s or more.
        var components = await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, TimeSpan.FromSeconds(5));
        var log = await Sys.ActorSelection(components.Log.Path / "log").ResolveOne(TimeSpan.FromSeconds(5));
        var accepted = wal.Accepted.Value;
        Sys.Stop(log);
        AwaitCondition(() => wal.Lost.Value > 0, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        AwaitCondition(() => wal.Accepted.Value > accepted + 100, TimeSpan.FromSeconds(40), TimeSpan.FromMilliseconds(50));

        var outcome = await VehicleShutdown.RunAsync(agent, settings.DrainTimeout);
        var sent = SensorIds.Sum(id => new SensorMetrics(_metrics, VehicleId, id).ReadSuccess.Value);
        Assert.Equal(sent, wal.Accepted.Value + wal.NeverAccepted);
        Assert.True(outcome.Drained, outcome.ToString());
        Assert.Equal(0, _broker.Verifier.Report().Missing);
    }

    /// <summary>
    /// The agent listens to dead letters (to count readings lost on the way to its log). Any other
    /// dead letter must be handled quietly: left unhandled it would be published again as an
    /// UnhandledMessage, itself a dead letter, and come back to the agent without end.
    /// </summary>
    [Fact]
    public async Task Dead_letters_other_than_readings_should_be_handled_without_feeding_back()
    {
        var agent = Sys.ActorOf(VehicleAgent.Props(Settings(), _metrics), VehicleAgent.ActorName(VehicleId));
        await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, TimeSpan.FromSeconds(5));
        var unhandled = CreateTestProbe();
        Sys.EventStream.Subscribe(unhandled.Ref, typeof(Akka.Event.UnhandledMessage));

        Sys.EventStream.Publish(new Akka.Event.DeadLetter("something else", TestActor, TestActor));
        // The agent has handled what was published before it answers this.
        await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, TimeSpan.FromSeconds(5));
        unhandled.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    /// <summary>
    /// The broker takes the publishes but stops acknowledging them, while the connection stays up
    /// and no timeout of the client fires (long publish timeout and keep-alive): only the stall
    /// detector notices. It restarts the uplink, reports the stall until batches are acknowledged
    /// again, and nothing is lost. The heartbeat's health records and the retained status's health
    /// reach the broker too.
    /// </summary>
    [Fact]
    public async Task A_stalled_uplink_should_be_restarted_by_the_stall_detector_and_every_reading_still_delivered()
    {
        var baseline = Settings();
        var settings = baseline with
        {
            Uplink = baseline.Uplink with
            {
                Broker = baseline.Uplink.Broker with { KeepAlive = TimeSpan.FromMinutes(2), PublishTimeout = TimeSpan.FromMinutes(2) },
            },
            Health = new Devices.Health.HealthSettings
            {
                SampleInterval = TimeSpan.FromMilliseconds(200),
                HeartbeatInterval = TimeSpan.FromMilliseconds(500),
                UplinkStallTimeout = TimeSpan.FromMilliseconds(1500),
            },
        };
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, _metrics), VehicleAgent.ActorName(VehicleId));
        var components = await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, TimeSpan.FromSeconds(5));
        AwaitCondition(() => _broker.Verifier.Report().Received >= 200 && _broker.RecordsByDevice.GetValueOrDefault(Devices.Health.HealthMonitor.DeviceId) >= 1,
            TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(20));
        AwaitCondition(() => RetainedStatusAsync().Result is { } s && s.TryGetProperty("health", out var h) && h.TryGetProperty("devices_up", out _),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));

        _broker.AckDelay = TimeSpan.FromMinutes(10);
        AwaitCondition(() => MetricValues.Vehicle(_metrics, "stalls_detected_total", VehicleId) >= 1, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(50));
        var stalled = await components.Health!.Ask<Devices.Health.HealthProtocol.HealthReport>(Devices.Health.HealthProtocol.GetHealth.Instance, TimeSpan.FromSeconds(5));
        Assert.Contains("nothing acknowledged", stalled.Stalls["uplink"]);

        _broker.AckDelay = TimeSpan.Zero;
        AwaitCondition(() => components.Health!.Ask<Devices.Health.HealthProtocol.HealthReport>(Devices.Health.HealthProtocol.GetHealth.Instance, TimeSpan.FromSeconds(5))
            .Result.Stalls.Count == 0, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(50));
        // The uplink-stalled alert, raised and then cleared, reached the broker.
        AwaitCondition(() => _broker.RecordsByDevice.GetValueOrDefault(Devices.Alerts.AlertsActor.DeviceId) >= 2, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(50));

        var outcome = await VehicleShutdown.RunAsync(agent, settings.DrainTimeout);
        Assert.True(outcome.Drained, outcome.ToString());
        var report = _broker.Verifier.Report();
        Assert.Equal(0, report.Missing);
        Assert.Equal(outcome.LastSequence, report.Vehicles.Single().HighestReceived);
    }

    /// <summary>
    /// The whole chain of a health threshold: a sampler whose CPU the test drives, the health
    /// monitor, a health rule with a duration and hysteresis, the alert journaled and at the broker,
    /// and its clear once the CPU is back below the threshold minus the hysteresis.
    /// </summary>
    [Fact]
    public async Task A_health_threshold_held_for_its_duration_should_raise_an_alert_at_the_broker_and_clear_after_recovery()
    {
        var sampler = new DrivenSampler(cpu: 20);
        var settings = Settings() with
        {
            Health = new Devices.Health.HealthSettings
            {
                SampleInterval = TimeSpan.FromMilliseconds(200),
                HeartbeatInterval = TimeSpan.FromSeconds(10),
            },
            Alerts = new Devices.Alerts.AlertsSettings
            {
                Rules = new Fleet.Actors.Core.Scripting.ValueArray<Devices.Alerts.AlertRule>([
                    new Devices.Alerts.HealthRule
                    {
                        Id = "cpu-high", Type = "cpu-high", Field = "cpu_usage", For = TimeSpan.FromSeconds(1),
                        Threshold = new Devices.Alerts.Threshold(Devices.Alerts.ThresholdDirection.Above, 90, 10),
                    },
                ]),
            },
        };
        _broker.KeepRecords = true;
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, _metrics, healthSampler: _ => sampler), VehicleAgent.ActorName(VehicleId));
        AwaitCondition(() => _broker.Verifier.Report().Received >= 50, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(20));

        sampler.Cpu = 95;
        AwaitCondition(() => Alerts().Any(), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(50));
        var raised = Alerts().Single();
        Assert.Equal(("cpu-high", Fleet.Actors.Core.Telemetry.AlertSeverity.Warning, "rule:cpu-high", Fleet.Actors.Core.Telemetry.AlertState.Raised),
            (raised.Name, raised.Severity, raised.Source, raised.State));
        // 85 is below the threshold but not by the hysteresis: still raised after several samples of it.
        var samples = CreateTestProbe();
        Sys.EventStream.Subscribe(samples.Ref, typeof(Fleet.Actors.Core.Health.HealthSampled));
        sampler.Cpu = 85;
        samples.FishForMessage<Fleet.Actors.Core.Health.HealthSampled>(h => h.Sample[Fleet.Actors.Core.Health.HealthFields.CpuUsage] == 85, TimeSpan.FromSeconds(5));
        for (var i = 0; i < 6; i++) samples.ExpectMsg<Fleet.Actors.Core.Health.HealthSampled>(TimeSpan.FromSeconds(5));
        Assert.Single(Alerts());
        sampler.Cpu = 50;
        AwaitCondition(() => Alerts().Count() == 2, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(50));
        Assert.Equal(("cpu-high", Fleet.Actors.Core.Telemetry.AlertState.Cleared), (Alerts().Last().Name, Alerts().Last().State));

        var outcome = await VehicleShutdown.RunAsync(agent, settings.DrainTimeout);
        Assert.True(outcome.Drained, outcome.ToString());
        Assert.Equal(2, Alerts().Count());
    }

    private IEnumerable<Fleet.Actors.Core.Telemetry.AlertValue> Alerts() =>
        _broker.Records.Select(r => r.Value).OfType<Fleet.Actors.Core.Telemetry.AlertValue>();

    private sealed class DrivenSampler(double cpu) : Devices.Health.IHealthSampler
    {
        public volatile object Current = cpu;

        public double Cpu
        {
            set => Current = value;
        }

        public Devices.Health.MachineSample Sample() => new(
            new Dictionary<string, double> { [Fleet.Actors.Core.Health.HealthFields.CpuUsage] = (double)Current },
            new Dictionary<string, string>(), []);
    }

    [Fact]
    public async Task VehicleAgent_should_deliver_every_reading_and_shut_down_drained_with_an_offline_status()
    {
        var settings = Settings();
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, _metrics), VehicleAgent.ActorName(VehicleId));

        // Readings of every sensor reach the broker, and the vehicle says it is online.
        AwaitCondition(() => SensorIds.All(id => _broker.RecordsByDevice.GetValueOrDefault(id) >= 50)
                             && _broker.Verifier.Report().Received >= 500,
            TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(20));
        Assert.Equal("online", (await RetainedStatusAsync())?.GetProperty("state").GetString());
        Assert.Equal(3, MetricValues.Vehicle(_metrics, "active_sensors_count", VehicleId));
        var components = await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, TimeSpan.FromSeconds(5));
        var sensors = new List<IActorRef>();
        foreach (var id in SensorIds)
            sensors.Add(Watch(await Sys.ActorSelection(components.Sensors.Path / ("sensor-" + id)).ResolveOne(TimeSpan.FromSeconds(5))));

        var outcome = await VehicleShutdown.RunAsync(agent, settings.DrainTimeout);

        Assert.True(outcome.Drained, $"not drained: {outcome}");
        Assert.True(outcome.SaidGoodbye, "no clean goodbye");
        Assert.Equal(outcome.LastSequence, outcome.DeliveredSequence);
        Assert.True(outcome.LastSequence >= 500, $"only {outcome.LastSequence} readings logged");

        // The broker holds every sequence from 1 to the last, and the retained status says where the vehicle stopped.
        var report = _broker.Verifier.Report().Vehicles.Single();
        Assert.Equal(VehicleId, report.VehicleId);
        Assert.Equal(0, report.Missing);
        Assert.Equal(outcome.LastSequence, report.Received);
        Assert.Equal(outcome.LastSequence, report.HighestReceived);
        Assert.Equal(0, report.GapRecords);
        Assert.Equal(0, _broker.Verifier.Report().DecodeErrors);
        Assert.Equal(["gps", "imu", "obd"], _broker.RecordsByDevice.Keys.Order());

        var status = await RetainedStatusAsync();
        Assert.NotNull(status);
        Assert.Equal("offline", status.Value.GetProperty("state").GetString());
        Assert.Equal("shutdown", status.Value.GetProperty("reason").GetString());
        Assert.Equal(VehicleId, status.Value.GetProperty("vehicle_id").GetString());
        Assert.Equal(outcome.LastSequence, status.Value.GetProperty("last_sequence").GetInt64());
        Assert.Equal(outcome.LastSequence, status.Value.GetProperty("delivered_sequence").GetInt64());
        Assert.Equal(("offline", outcome.LastSequence), (report.Status, report.StatusLastSequence));

        // Intake stayed stopped: every sensor (with its backoff supervisor) has stopped, so whatever one
        // sent reached the log before shutdown flushed it, and nothing can send more; the log has nothing
        // after what shutdown flushed.
        Assert.Equal(0, MetricValues.Vehicle(_metrics, "active_sensors_count", VehicleId));
        var stopped = ReceiveN(sensors.Count, TimeSpan.FromSeconds(5)).Select(m => Assert.IsType<Terminated>(m).ActorRef);
        Assert.Equal(sensors.ToHashSet(), stopped.ToHashSet());
        var wal = await components.Log.Ask<WalProtocol.WalStatus>(WalProtocol.GetStatus.Instance, TimeSpan.FromSeconds(5));
        Assert.Equal(outcome.LastSequence, wal.LastSequence);
        Assert.Equal(0, wal.UnsentCount);
    }

    [Fact]
    public async Task Script_should_act_on_accepted_readings_and_its_records_should_reach_the_broker()
    {
        var driver = new SimulatedGpioDriver();
        var scripts = ScriptParser.ParseHocon("""
            scripts = [ {
              id = warm, priority = high
              triggers = [ { type = threshold, reading = "obd.coolant_temp", op = ">", value = -40 } ]
              actions = [ { type = gpio-write, line = 27, level = 1 }, { type = publish, topic = engine, payload = warm } ]
            } ]
            """);
        Assert.True(scripts.IsValid, string.Join("; ", scripts.Errors));
        var settings = Settings() with
        {
            Gpio = new GpioSettings { Lines = [new GpioLineSettings { Id = "lamp", Pin = 27, Direction = GpioDirection.Output }] },
            Scripting = new ScriptingSettings { Document = scripts.Document! },
        };
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, _metrics, gpioDrivers: _ => driver), VehicleAgent.ActorName(VehicleId));

        // The first accepted coolant reading crosses the threshold: the lamp goes on, and the run,
        // its write and its message travel to the broker like any reading.
        AwaitCondition(() => driver.LevelOf(27) == System.Device.Gpio.PinValue.High, TimeSpan.FromSeconds(20));
        AwaitCondition(() => _broker.RecordsByDevice.GetValueOrDefault(ScriptEngine.DeviceId) >= 3, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(20));

        var outcome = await VehicleShutdown.RunAsync(agent, settings.DrainTimeout);
        Assert.True(outcome.Drained, $"not drained: {outcome}");
        var report = _broker.Verifier.Report().Vehicles.Single();
        Assert.Equal((0L, outcome.LastSequence), (report.Missing, report.Received));
        Assert.Equal(0, _broker.Verifier.Report().DecodeErrors);
        Assert.Equal(1, MetricValues.Read(_metrics, "script_runs_total", (AgentMetrics.VehicleLabel, VehicleId), ("outcome", "completed")));
        Assert.Equal(1, MetricValues.Read(_metrics, "script_writes_total", (AgentMetrics.VehicleLabel, VehicleId), ("outcome", "done")));
    }

    [Fact]
    public async Task VehicleAgent_should_keep_delivering_across_a_sensor_disconnect()
    {
        var settings = Settings();
        var simulation = SimulationContext.For(VehicleId, settings.Simulation, TimeProvider.System);
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, _metrics, simulation: simulation), VehicleAgent.ActorName(VehicleId));
        AwaitCondition(() => _broker.RecordsByDevice.GetValueOrDefault("gps") >= 25, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(20));

        // Unplug the GPS through its simulated device: it goes down while the others carry on...
        var knobs = simulation.Knobs("gps");
        knobs.Disconnected = true;
        AwaitCondition(() => MetricValues.Sensor(_metrics, "sensor_down", VehicleId, "gps") == 1, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(10));
        var imuWhileDown = _broker.RecordsByDevice.GetValueOrDefault("imu");
        AwaitCondition(() => _broker.RecordsByDevice.GetValueOrDefault("imu") > imuWhileDown + 25, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));

        // ...and plugged back in, it reports again after its backoff.
        var gpsBefore = _broker.RecordsByDevice.GetValueOrDefault("gps");
        knobs.Disconnected = false;
        AwaitCondition(() => _broker.RecordsByDevice.GetValueOrDefault("gps") > gpsBefore + 25, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));

        var outcome = await VehicleShutdown.RunAsync(agent, settings.DrainTimeout);
        Assert.True(outcome.Drained && outcome.SaidGoodbye, $"shutdown: {outcome}");
        var report = _broker.Verifier.Report().Vehicles.Single();
        Assert.Equal((0L, outcome.LastSequence), (report.Missing, report.HighestReceived));
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _files.Dispose();
    }
}
