using Akka.Actor;
using Akka.Event;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Health;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Health;
using Fleet.Actors.Devices.Supervision;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.Devices.Tests.Health;

/// <summary>
/// The health monitor with a sampler whose values the test drives, and the log, the uplink and a
/// device supervisor played by probes that answer as the real ones do.
/// </summary>
public sealed class HealthMonitorTests(ITestOutputHelper output) : TestKit("akka.loglevel = INFO", output)
{
    private const string VehicleId = "truck-health";
    private readonly AgentMetrics _metrics = new();
    private readonly ScriptedSampler _sampler = new();
    private TestProbe _alerts = null!;
    private volatile WalProtocol.WalStatus _log = new(500, 450, 50, 50_000, 0, 0, 0, 1_700_000_000_000, 1_000_000, 10_000_000);
    private volatile UplinkProtocol.UplinkStatus _link = new(true, 450, 10, "online");
    private volatile DeviceReport _devices = new([
        new DeviceActivity("sensors", "gps", "sim-gps", true, 100, 1_700_000_000_000),
        new DeviceActivity("sensors", "obd", "sim-obd", false, 40, null),
    ]);

    private static readonly HealthSettings Fast = new()
    {
        SampleInterval = TimeSpan.FromMilliseconds(100),
        HeartbeatInterval = TimeSpan.FromMilliseconds(300),
        UplinkStallTimeout = TimeSpan.Zero,
        ErrorLogInterval = TimeSpan.FromMinutes(5),
    };

    private (IActorRef Monitor, TestProbe Log, TestProbe Uplink) Start(HealthSettings settings)
    {
        _alerts = CreateTestProbe();
        var log = Answering(msg => msg is WalProtocol.GetStatus ? _log : null);
        var uplink = Answering(msg => msg is UplinkProtocol.GetStatus ? _link : null);
        var sensors = Answering(msg => msg is GetDevices ? _devices : null);
        var monitor = Sys.ActorOf(HealthMonitor.Props(VehicleId, settings, _sampler, log.Ref, uplink.Ref, [sensors.Ref], _metrics, _alerts.Ref));
        // Started (subscribed to the event stream) once it answers.
        monitor.Ask<HealthProtocol.HealthReport>(HealthProtocol.GetHealth.Instance, TimeSpan.FromSeconds(3)).Wait();
        return (monitor, log, uplink);
    }

    // A probe that answers the questions the monitor asks; it keeps every message (questions too) for the test.
    private TestProbe Answering(Func<object, object?> answer)
    {
        var probe = CreateTestProbe();
        probe.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (answer(message) is { } reply) sender.Tell(reply);
            return AutoPilot.KeepRunning;
        }));
        return probe;
    }

    private TestProbe Samples()
    {
        var samples = CreateTestProbe();
        Sys.EventStream.Subscribe(samples.Ref, typeof(HealthSampled));
        return samples;
    }

    [Fact]
    public void A_sample_should_carry_the_sources_that_answered_and_name_the_ones_that_did_not()
    {
        _sampler.Next = new MachineSample(
            new Dictionary<string, double> { [HealthFields.CpuUsage] = 42.5, [HealthFields.DiskUsage] = 61, [HealthFields.ProcessResidentBytes] = 90e6 },
            new Dictionary<string, string>
            {
                [HealthFields.Temperature] = "not available (this machine has no thermal zones)",
                [HealthFields.MemoryUsage] = "memory: meminfo has no MemAvailable",
            },
            [("memory", "meminfo has no MemAvailable")]);
        var samples = Samples();
        var warnings = CreateTestProbe();
        Sys.EventStream.Subscribe(warnings.Ref, typeof(Warning));
        var (monitor, _, _) = Start(Fast);

        var sample = samples.ExpectMsg<HealthSampled>(TimeSpan.FromSeconds(5)).Sample;
        Assert.Equal(42.5, sample[HealthFields.CpuUsage]);
        Assert.Equal(61, sample[HealthFields.DiskUsage]);
        Assert.Null(sample[HealthFields.MemoryUsage]);
        Assert.Null(sample[HealthFields.Temperature]);
        Assert.StartsWith("not available", sample.Unavailable[HealthFields.Temperature]);
        Assert.NotNull(sample[HealthFields.LogResponseMs]);
        Assert.Equal(1, sample[HealthFields.DevicesUp]);
        Assert.Equal(1, sample[HealthFields.DevicesDown]);
        Assert.Equal(new Dictionary<string, bool> { ["sensors/gps"] = true, ["sensors/obd"] = false }, sample.Devices);
        var domains = monitor.Ask<HealthProtocol.HealthReport>(HealthProtocol.GetHealth.Instance, TimeSpan.FromSeconds(3)).Result.Domains!;
        Assert.Equal(("up", "online"), (domains["log"], domains["uplink"]));
        Assert.Equal("1/2 up", Assert.Single(domains, d => d.Key != "log" && d.Key != "uplink").Value);
        Assert.Equal(42.5, MetricValues.Vehicle(_metrics, "health_cpu_usage_percent", VehicleId));
        // Unavailable is left out of the exposition, not reported as 0.
        Assert.Null(MetricValues.Read(_metrics, "health_memory_usage_percent"));
        Assert.Null(MetricValues.Read(_metrics, "health_temperature_celsius"));

        // The failing source is counted every time and logged once per interval, the rest goes on.
        for (var i = 0; i < 4; i++) samples.ExpectMsg<HealthSampled>(TimeSpan.FromSeconds(5));
        Assert.True(MetricValues.Read(_metrics, "health_sample_errors_total", ("source", "memory")) >= 5);
        var logged = warnings.ReceiveWhile(TimeSpan.FromMilliseconds(50), m => m as Warning).OfType<Warning>().Where(w => w.Message.ToString()!.Contains("memory unavailable")).ToList();
        Assert.Single(logged);
        Assert.Equal("Health: memory unavailable: meminfo has no MemAvailable", logged[0].Message.ToString());
    }

    [Fact]
    public void The_heartbeat_should_journal_a_valid_health_record_and_hand_the_sample_to_the_retained_status()
    {
        _sampler.Next = new MachineSample(
            new Dictionary<string, double>
            {
                [HealthFields.CpuUsage] = 100.004, [HealthFields.ProcessCpuUsage] = 3.5, [HealthFields.MemoryUsage] = 30,
                [HealthFields.ProcessResidentBytes] = 95_000_000, [HealthFields.GcHeapBytes] = 6_000_000, [HealthFields.DiskUsage] = 50,
                [HealthFields.DiskFreeBytes] = 8e9, [HealthFields.UptimeSeconds] = 3600, [HealthFields.ProcessUptimeSeconds] = 60,
                [HealthFields.LoadAverage1m] = 0.5, [HealthFields.ThreadPoolQueueLength] = 2,
            },
            new Dictionary<string, string> { [HealthFields.Temperature] = "not available" }, []);
        var (_, log, uplink) = Start(Fast);

        var logged = log.FishForMessage<WalProtocol.LogReadings>(_ => true, TimeSpan.FromSeconds(15));
        var reading = Assert.Single(logged.Readings);
        Assert.Equal(HealthMonitor.DeviceId, reading.DeviceId);
        var diagnostics = Assert.IsType<DiagnosticsValue>(reading.Value);
        Assert.Null(ReadingValidator.Validate(diagnostics));
        Assert.Equal(100, diagnostics.CpuUsage);
        Assert.Equal(30, diagnostics.MemoryUsage);
        Assert.Null(diagnostics.Temperature);
        var health = diagnostics.Health!;
        Assert.Equal(3.5, health.ProcessCpuUsage);
        Assert.Equal(95_000_000, health.ProcessMemoryBytes);
        Assert.Equal(8_000_000_000, health.DiskFreeBytes);
        Assert.Equal((1, 1), (health.DevicesUp, health.DevicesDown));
        Assert.Equal(["sensors/obd"], health.DownDevices);
        Assert.Contains(HealthFields.Temperature, health.Unavailable);
        // It survives the wire format unchanged.
        var wire = Google.Protobuf.MessageExtensions.ToByteArray(RecordCodec.ToRecord(reading));
        Assert.Equal(diagnostics, RecordCodec.FromRecord(Fleet.Actors.Core.Telemetry.Wire.Record.Parser.ParseFrom(wire)));

        var status = uplink.FishForMessage<UplinkProtocol.SetHealth>(_ => true, TimeSpan.FromSeconds(15));
        Assert.Equal(3.5, status.Sample[HealthFields.ProcessCpuUsage]);
        Assert.True(MetricValues.Vehicle(_metrics, "health_heartbeats_total", VehicleId) >= 1);
    }

    [Fact]
    public void Device_rates_should_come_from_what_each_device_delivered_between_two_samples()
    {
        _sampler.Next = Empty();
        var samples = Samples();
        // Samples far enough apart that the report asked for after the second is still of the second.
        var (monitor, _, _) = Start(Fast with { SampleInterval = TimeSpan.FromSeconds(2), HeartbeatInterval = TimeSpan.FromSeconds(2) });
        var first = samples.ExpectMsg<HealthSampled>(TimeSpan.FromSeconds(5)).Sample;
        _devices = new DeviceReport([
            new DeviceActivity("sensors", "gps", "sim-gps", true, 160, 1_700_000_000_500),
            new DeviceActivity("sensors", "obd", "sim-obd", false, 40, null),
        ]);
        var second = samples.FishForMessage<HealthSampled>(s => s.Sample.TimestampMs > first.TimestampMs, TimeSpan.FromSeconds(5)).Sample;
        // Asked between samples: the view of the latest one.
        var report = monitor.Ask<HealthProtocol.HealthReport>(HealthProtocol.GetHealth.Instance, TimeSpan.FromSeconds(3)).Result;
        Assert.Equal(second.TimestampMs, report.Latest!.TimestampMs);
        var gps = report.Devices.Single(d => d.Id == "gps");
        Assert.Equal(Math.Round(60 * 1000.0 / (second.TimestampMs - first.TimestampMs), 3), gps.RatePerSecond);
        Assert.Equal((160L, 1_700_000_000_500L), (gps.Count, gps.LastSeenMs!.Value));
        Assert.Equal(0, report.Devices.Single(d => d.Id == "obd").RatePerSecond);
    }

    [Fact]
    public void The_buffer_left_should_be_the_free_budget_over_the_rate_the_log_fills_at()
    {
        _sampler.Next = Empty();
        var samples = Samples();
        // Samples far enough apart that the report asked for after the second is still of the second.
        var (monitor, _, _) = Start(Fast with { SampleInterval = TimeSpan.FromSeconds(2), HeartbeatInterval = TimeSpan.FromSeconds(2) });
        var first = samples.ExpectMsg<HealthSampled>(TimeSpan.FromSeconds(5)).Sample;
        // 36,000 bytes more between the samples.
        _log = _log with { AcceptedBytesTotal = _log.AcceptedBytesTotal + 36_000 };
        var second = samples.FishForMessage<HealthSampled>(s => s.Sample.TimestampMs > first.TimestampMs, TimeSpan.FromSeconds(5)).Sample;
        var report = monitor.Ask<HealthProtocol.HealthReport>(HealthProtocol.GetHealth.Instance, TimeSpan.FromSeconds(3)).Result;
        Assert.Equal(second.TimestampMs, report.Latest!.TimestampMs);
        var rate = 36_000 * 1000.0 / (second.TimestampMs - first.TimestampMs);
        var buffer = report.Buffer!;
        Assert.Equal((50_000L, 10_000_000L), (buffer.UnsentBytes, buffer.MaxUnsentBytes));
        Assert.Equal(Math.Round(rate, 1), buffer.FillBytesPerSecond);
        Assert.Equal(Math.Round((10_000_000 - 50_000) / rate / 3600, 2), buffer.HoursLeft);
    }

    [Fact]
    public void An_uplink_connected_with_a_backlog_and_no_acknowledgement_should_be_restarted_and_reported_until_it_acknowledges()
    {
        _sampler.Next = Empty();
        var samples = Samples();
        var (monitor, _, uplink) = Start(Fast with { UplinkStallTimeout = TimeSpan.FromMilliseconds(600) });

        var restart = uplink.FishForMessage<UplinkProtocol.Restart>(_ => true, TimeSpan.FromSeconds(5));
        samples.FishForMessage<HealthSampled>(_ => true, TimeSpan.FromSeconds(5));
        Assert.Contains("50 unsent records but nothing acknowledged", restart.Reason);
        var report = monitor.Ask<HealthProtocol.HealthReport>(HealthProtocol.GetHealth.Instance, TimeSpan.FromSeconds(3)).Result;
        Assert.Contains("nothing acknowledged", report.Stalls["uplink"]);
        Assert.Equal(1, MetricValues.Vehicle(_metrics, "stalls_detected_total", VehicleId));
        var raised = _alerts.ExpectMsg<Fleet.Actors.Devices.Alerts.AlertsProtocol.Raise>(TimeSpan.FromSeconds(3));
        Assert.Equal(("uplink-stalled", AlertSeverity.Warning, "stall-detector", null), (raised.Type, raised.Severity, raised.Source, raised.DeviceId));
        Assert.Contains("50 unsent records", raised.Message);

        // Offline for a while (the reconnect after the restart): still stalled, not raised again, no restart.
        _link = _link with { Connected = false };
        samples.ReceiveWhile(TimeSpan.FromMilliseconds(10), m => m);
        for (var i = 0; i < 10; i++) samples.ExpectMsg<HealthSampled>(TimeSpan.FromSeconds(5));
        Assert.Contains("uplink", monitor.Ask<HealthProtocol.HealthReport>(HealthProtocol.GetHealth.Instance, TimeSpan.FromSeconds(3)).Result.Stalls.Keys);

        // It acknowledges again (and the backlog drains, or it would be stuck again at 480): recovered, and the alert cleared.
        _log = _log with { DeliveredSequence = 500, UnsentCount = 0, UnsentBytes = 0 };
        _link = _link with { Connected = true, AcknowledgedSequence = 500 };
        AwaitCondition(() => monitor.Ask<HealthProtocol.HealthReport>(HealthProtocol.GetHealth.Instance, TimeSpan.FromSeconds(3)).Result.Stalls.Count == 0,
            TimeSpan.FromSeconds(15));
        Assert.Equal(("uplink-stalled", "stall-detector"), _alerts.ExpectMsg<Fleet.Actors.Devices.Alerts.AlertsProtocol.Clear>(TimeSpan.FromSeconds(3)) is var c ? (c.Type, c.Source) : default);
        samples.FishForMessage<HealthSampled>(_ => true, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void An_uplink_that_is_offline_or_has_nothing_to_send_should_never_count_as_stalled()
    {
        _sampler.Next = Empty();
        _link = new UplinkProtocol.UplinkStatus(false, 450, 10, "backing off", DateTimeOffset.UtcNow);
        var samples = Samples();
        var (monitor, _, uplink) = Start(Fast with { UplinkStallTimeout = TimeSpan.FromMilliseconds(300) });
        // Many stall timeouts' worth of samples offline, then as many online with nothing unsent.
        for (var i = 0; i < 10; i++) samples.ExpectMsg<HealthSampled>(TimeSpan.FromSeconds(5));
        _link = new UplinkProtocol.UplinkStatus(true, 450, 10, "online");
        _log = _log with { UnsentCount = 0, UnsentBytes = 0 };
        for (var i = 0; i < 10; i++) samples.ExpectMsg<HealthSampled>(TimeSpan.FromSeconds(5));

        Assert.Empty(uplink.ReceiveWhile<object>(TimeSpan.FromMilliseconds(50), m => m).OfType<UplinkProtocol.Restart>());
        Assert.Empty(monitor.Ask<HealthProtocol.HealthReport>(HealthProtocol.GetHealth.Instance, TimeSpan.FromSeconds(3)).Result.Stalls);
    }

    [Fact]
    public void A_sensor_that_went_silent_should_be_reported_stalled_until_it_is_up_again_and_other_vehicles_should_not_count()
    {
        _sampler.Next = Empty();
        var (monitor, _, _) = Start(Fast);
        HealthProtocol.HealthReport Report() => monitor.Ask<HealthProtocol.HealthReport>(HealthProtocol.GetHealth.Instance, TimeSpan.FromSeconds(3)).Result;

        Sys.EventStream.Publish(new DeviceStatusChanged("another-truck", "sensors", "obd", false, "stalled: no answer while reading for 5.0s", 1));
        Sys.EventStream.Publish(new DeviceStatusChanged(VehicleId, "sensors", "obd", false, "stalled: no answer while reading for 5.0s", 2));
        AwaitCondition(() => Report().Stalls.ContainsKey("sensors/obd"), TimeSpan.FromSeconds(5));
        Assert.Single(Report().Stalls);
        Assert.Equal(1, MetricValues.Vehicle(_metrics, "stalls_detected_total", VehicleId));
        var raised = _alerts.ExpectMsg<Fleet.Actors.Devices.Alerts.AlertsProtocol.Raise>(TimeSpan.FromSeconds(3));
        Assert.Equal(("device-stalled", "stall-detector", "obd"), (raised.Type, raised.Source, raised.DeviceId));
        AwaitCondition(() => Report().Devices.SingleOrDefault(d => d.Id == "obd") is { Up: false, Downs: 1, Reason: "stalled: no answer while reading for 5.0s" },
            TimeSpan.FromSeconds(5));

        // Failing again while down (every reopen attempt says so) is still one down, with the latest cause.
        Sys.EventStream.Publish(new DeviceStatusChanged(VehicleId, "sensors", "obd", false, "open failed: no answer to ATZ", 3));
        AwaitCondition(() => Report().Devices.SingleOrDefault(d => d.Id == "obd") is { Downs: 1, Reason: "open failed: no answer to ATZ" }, TimeSpan.FromSeconds(5));

        // Open again, but silent: still stalled (a port that opens is not a device that delivers).
        var samples = Samples();
        Sys.EventStream.Publish(new DeviceStatusChanged(VehicleId, "sensors", "obd", true, "", 4));
        _devices = new DeviceReport([_devices.Devices[0], new DeviceActivity("sensors", "obd", "sim-obd", true, 40, null)]);
        samples.ReceiveWhile(TimeSpan.FromMilliseconds(10), m => m);
        for (var i = 0; i < 5; i++) samples.ExpectMsg<HealthSampled>(TimeSpan.FromSeconds(5));
        Assert.True(Report().Stalls.ContainsKey("sensors/obd"));

        // A device that failed for another reason is down, not stalled.
        Sys.EventStream.Publish(new DeviceStatusChanged(VehicleId, "sensors", "gps", false, "open failed: /dev/ttyUSB0: No such file or directory", 5));
        // It delivers: recovered, and the alert cleared.
        _devices = new DeviceReport([_devices.Devices[0], new DeviceActivity("sensors", "obd", "sim-obd", true, 41, 1_700_000_000_900)]);
        AwaitCondition(() => Report().Stalls.Count == 0, TimeSpan.FromSeconds(5));
        Assert.Equal(1, MetricValues.Vehicle(_metrics, "stalls_detected_total", VehicleId));
        var cleared = _alerts.ExpectMsg<Fleet.Actors.Devices.Alerts.AlertsProtocol.Clear>(TimeSpan.FromSeconds(3));
        Assert.Equal(("device-stalled", "obd"), (cleared.Type, cleared.DeviceId));
    }

    private static MachineSample Empty() => new(new Dictionary<string, double>(), new Dictionary<string, string>(), []);

    private sealed class ScriptedSampler : IHealthSampler
    {
        public volatile MachineSample? Next;

        public MachineSample Sample() => Next ?? Empty();
    }
}
