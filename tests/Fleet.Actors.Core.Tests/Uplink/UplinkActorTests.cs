using System.Buffers;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Testing;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Xunit.Abstractions;
using static Fleet.Actors.Core.Uplink.UplinkProtocol;
using static Fleet.Actors.Core.Wal.WalProtocol;

namespace Fleet.Actors.Core.Tests.Uplink;

/// <summary>The uplink against a real broker (the embedded MQTTnet server) and a real log on SQLite.</summary>
public sealed class UplinkActorTests : TestKit, IAsyncLifetime
{
    private static readonly VehicleIdentity Vehicle = new("truck-up", "acme");
    private readonly WalFiles _files;
    private readonly AgentMetrics _metrics = new();
    private readonly RecordingBroker _broker = new();

    public UplinkActorTests(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private UplinkActorTests(WalFiles files, ITestOutputHelper output) : base(files.Setup(), "uplink-tests", output)
    {
        _files = files;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    private UplinkMetrics UplinkMetrics => new(_metrics, Vehicle.VehicleId);

    private UplinkSettings Settings(int maxInFlight = 4) => new()
    {
        Broker = new BrokerSettings
        {
            Host = "127.0.0.1",
            Port = _broker.Port,
            KeepAlive = TimeSpan.FromSeconds(5),
            PublishTimeout = TimeSpan.FromSeconds(5),
            ConnectTimeout = TimeSpan.FromSeconds(2),
        },
        MaxInFlight = maxInFlight,
        ReconnectMinBackoff = TimeSpan.FromMilliseconds(100),
        ReconnectMaxBackoff = TimeSpan.FromMilliseconds(800),
    };

    private (IActorRef Log, IActorRef Uplink) Start(UplinkSettings? settings = null)
    {
        var log = Sys.ActorOf(WalActor.Props(Vehicle.VehicleId, new WalSettings(), new WalMetrics(_metrics, Vehicle.VehicleId)), "log");
        var uplink = Sys.ActorOf(UplinkActor.Props(Vehicle, settings ?? Settings(), log, UplinkMetrics), "uplink");
        return (log, uplink);
    }

    private static LogReadings Readings(int from, int count) => new(Enumerable.Range(from, count)
        .Select(i => new Reading("gps", 1_700_000_000_000 + i, new PositionValue(53.5 + i * 1e-6, 9.9, i % 360, 12, 10, 2)))
        .ToList());

    private static WalStatus Status(IActorRef log) => log.Ask<WalStatus>(WalProtocol.GetStatus.Instance, TimeSpan.FromSeconds(5)).Result;

    private void AwaitDelivered(IActorRef log, long sequence, TimeSpan timeout) =>
        AwaitCondition(() => Status(log).DeliveredSequence >= sequence, timeout, TimeSpan.FromMilliseconds(20));

    /// <summary>
    /// The vehicle's operational state and configuration reach the uplink while it connects (at
    /// start they usually do): the retained online status must carry them, not what the connection
    /// began with (found by a new user: the status lacked both until the next change).
    /// </summary>
    [Fact]
    public async Task The_online_status_should_carry_a_state_and_configuration_that_came_while_connecting()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _broker.ConnectGate = gate;
        await _broker.StartAsync();
        var (_, uplink) = Start(Settings() with { Broker = Settings().Broker with { ConnectTimeout = TimeSpan.FromSeconds(10) } });
        await AwaitConditionAsync(() => Task.FromResult(Volatile.Read(ref _broker.ConnectionsHeld) > 0), TimeSpan.FromSeconds(10));

        uplink.Tell(new UplinkProtocol.SetOperationalState("EMERGENCY_STOPPED"));
        uplink.Tell(new UplinkProtocol.SetConfigVersion("abc123", 2, 1));
        // Processed (the uplink answers in order) before the broker lets the connection through.
        await uplink.Ask<UplinkProtocol.UplinkStatus>(UplinkProtocol.GetStatus.Instance, TimeSpan.FromSeconds(5));
        gate.SetResult();

        await AwaitAssertAsync(async () =>
        {
            var retained = await _broker.RetainedAsync("fleet/acme/truck-up/status");
            Assert.NotNull(retained);
            var status = JsonDocument.Parse(retained.Payload.ToArray()).RootElement;
            Assert.Equal("online", status.GetProperty("state").GetString());
            Assert.Equal("EMERGENCY_STOPPED", status.GetProperty("operational_state").GetString());
            Assert.Equal("abc123", status.GetProperty("config_version").GetString());
            Assert.Equal(2, status.GetProperty("config_reload_count").GetInt64());
            Assert.Equal(1, status.GetProperty("config_errors_total").GetInt64());
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task Readings_should_reach_the_broker_and_advance_the_delivered_offset()
    {
        await _broker.StartAsync();
        var (log, _) = Start();
        for (var i = 0; i < 10; i++) log.Tell(Readings(i * 50, 50));

        AwaitDelivered(log, 500, TimeSpan.FromSeconds(10));
        var report = _broker.Verifier.Report().Vehicles.Single();
        Assert.Equal((500L, 0L, 0L), (report.Received, report.Missing, report.Duplicates));
        Assert.Equal(500, UplinkMetrics.EventsSent.Value);
        Assert.Equal(1, UplinkMetrics.Connected.Value);

        var status = await _broker.RetainedAsync("fleet/acme/truck-up/status");
        Assert.Equal("online", JsonDocument.Parse(status!.Payload.ToArray()).RootElement.GetProperty("state").GetString());
    }

    private static LoggedReading Alert(long sequence, string name) =>
        new(sequence, new Reading("alerts", 1_700_000_000_000 + sequence, new AlertValue(name, AlertSeverity.Critical, "rule:test", "", AlertState.Raised)));

    /// <summary>
    /// The high-priority lane: alerts the log accepted wait (bounded, the oldest dropped and counted)
    /// while the broker is away, go out first thing on the alerts topic once it is back, one record per
    /// message with its sequence, and an alert the telemetry stream has already delivered is not sent again.
    /// </summary>
    [Fact]
    public async Task Alerts_should_wait_bounded_while_offline_go_out_on_the_alerts_topic_and_not_again_once_delivered()
    {
        var (log, uplink) = Start(Settings() with { PriorityLaneMaxPending = 2 });
        uplink.Tell(new PublishAlerts([Alert(1, "first"), Alert(2, "second")]));
        uplink.Tell(new PublishAlerts([Alert(3, "third")]));
        AwaitCondition(() => _metrics.ExportAsync().Result.Contains("alerts_lane_dropped_total{vehicle_id=\"truck-up\"} 1", StringComparison.Ordinal),
            TimeSpan.FromSeconds(5));

        await _broker.StartAsync();
        AwaitCondition(() => _broker.Alerts.Count == 2, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        Assert.Equal([(2L, "second"), (3L, "third")], _broker.Alerts.Select(a => (a.Sequence, ((AlertValue)a.Value!).Name)));
        Assert.Equal("alerts", _broker.Alerts.First().DeviceId);
        AwaitAssert(() => Assert.Equal(2, UplinkMetrics.AlertsPublished.Value), TimeSpan.FromSeconds(5));
        // Not telemetry: the stream carries its own copies.
        Assert.Equal(0, _broker.Verifier.Report().Vehicles.Single().Received);

        // Delivered through the telemetry stream already (sequence 10 of 20): the lane skips it and sends the next.
        log.Tell(Readings(0, 20));
        AwaitDelivered(log, 20, TimeSpan.FromSeconds(10));
        uplink.Tell(new PublishAlerts([Alert(10, "already-delivered"), Alert(25, "new")]));
        AwaitCondition(() => _broker.Alerts.Count == 3, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        Assert.Equal("new", ((AlertValue)_broker.Alerts.Last().Value!).Name);
    }

    [Fact]
    public async Task Uplink_should_reconnect_after_a_broker_restart_and_lose_nothing()
    {
        await _broker.StartAsync();
        var (log, _) = Start();
        var sent = 0;
        async Task Produce(TimeSpan duration)
        {
            var until = DateTime.UtcNow + duration;
            while (DateTime.UtcNow < until)
            {
                log.Tell(Readings(sent, 20));
                sent += 20;
                await Task.Delay(10);
            }
        }

        await Produce(TimeSpan.FromSeconds(1));
        await _broker.StopAsync();
        await Produce(TimeSpan.FromSeconds(1));
        await _broker.StartAsync();
        await Produce(TimeSpan.FromSeconds(1));

        AwaitDelivered(log, sent, TimeSpan.FromSeconds(20));
        var report = _broker.Verifier.Report().Vehicles.Single();
        Assert.Equal(0, report.Missing);
        Assert.Equal(sent, report.Received);
        Assert.True(UplinkMetrics.Reconnects.Value >= 2);
        Assert.True(UplinkMetrics.SendErrors.Value >= 1);
    }

    [Fact]
    public async Task Slow_broker_should_hold_back_the_log_not_the_intake()
    {
        await _broker.StartAsync();
        _broker.AckDelay = TimeSpan.FromMilliseconds(150);
        var settings = Settings(maxInFlight: 2) with { MaxBatchRecords = 500 };
        var (log, _) = Start(settings);

        for (var i = 0; i < 40; i++) log.Tell(Readings(i * 250, 250));
        // Every reading is accepted promptly although the broker takes its time...
        AwaitCondition(() => Status(log).LastSequence == 10_000, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(20));
        Assert.True(Status(log).UnsentCount > 0, "the broker was not the bottleneck");

        // ...and the uplink never has more than its window in flight.
        AwaitDelivered(log, 10_000, TimeSpan.FromSeconds(30));
        Assert.InRange(_broker.MaxInFlight, 1, 2);
        Assert.Equal(0, _broker.Verifier.Report().Missing);
    }

    [Fact]
    public async Task Going_offline_should_publish_a_retained_offline_status_with_the_log_position()
    {
        await _broker.StartAsync();
        var (log, uplink) = Start();
        log.Tell(Readings(0, 10));
        AwaitDelivered(log, 10, TimeSpan.FromSeconds(10));

        var offline = await uplink.Ask<WentOffline>(new GoOffline(10, 10), TimeSpan.FromSeconds(10));
        Assert.True(offline.Clean);
        var status = JsonDocument.Parse((await _broker.RetainedAsync("fleet/acme/truck-up/status"))!.Payload.ToArray()).RootElement;
        Assert.Equal("offline", status.GetProperty("state").GetString());
        Assert.Equal("shutdown", status.GetProperty("reason").GetString());
        Assert.Equal(10, status.GetProperty("last_sequence").GetInt64());
    }

    [Fact]
    public async Task A_vanished_agent_should_leave_its_last_will_as_the_retained_status()
    {
        await _broker.StartAsync();
        var (_, uplink) = Start();
        AwaitCondition(() => UplinkMetrics.Connected.Value == 1, TimeSpan.FromSeconds(10));
        Watch(uplink);
        Sys.Stop(uplink);
        ExpectTerminated(uplink);

        await AwaitAssertAsync(async () =>
        {
            var retained = await _broker.RetainedAsync("fleet/acme/truck-up/status");
            var status = JsonDocument.Parse(retained!.Payload.ToArray()).RootElement;
            Assert.Equal("offline", status.GetProperty("state").GetString());
            Assert.Equal("connection-lost", status.GetProperty("reason").GetString());
        }, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Uplink_should_keep_trying_until_the_broker_appears()
    {
        var (log, _) = Start();
        log.Tell(Readings(0, 100));
        // Attempts go on, backing off between them (100 ms doubling to 800 ms).
        AwaitCondition(() => UplinkMetrics.ConnectFailures.Value >= 3, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        Assert.Equal(0, UplinkMetrics.Connected.Value);
        Assert.Equal(100, Status(log).LastSequence);

        await _broker.StartAsync();
        AwaitDelivered(log, 100, TimeSpan.FromSeconds(10));
        Assert.Equal(0, _broker.Verifier.Report().Missing);
        Assert.Equal(1, UplinkMetrics.Reconnects.Value);
    }

    /// <summary>
    /// Operators read one warning per outage with its reason, not a stack trace from inside the
    /// stream and not a warning per reconnect attempt; and every outage, not only the first.
    /// </summary>
    [Fact]
    public async Task Every_outage_should_be_one_warning_with_its_reason_and_no_error()
    {
        await _broker.StartAsync();
        var settings = Settings() with { Linger = TimeSpan.Zero };
        var (log, _) = Start(settings with { Broker = settings.Broker with { PublishTimeout = TimeSpan.FromMilliseconds(300) } });
        var next = 0;
        void Publish()
        {
            log.Tell(Readings(next, 50));
            next += 50;
        }

        for (var round = 0; round < 2; round++)
        {
            Publish();
            AwaitDelivered(log, next, TimeSpan.FromSeconds(15));

            // A broker that stops acknowledging: the publish in flight times out.
            await EventFilter.Error().ExpectAsync(0, async () =>
                await EventFilter.Warning().ExpectOneAsync(async () =>
                {
                    _broker.AckDelay = TimeSpan.FromSeconds(2);
                    Publish();
                    AwaitCondition(() => UplinkMetrics.SendErrors.Value > 2 * round, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(5));
                }));
            _broker.AckDelay = TimeSpan.Zero;
            AwaitDelivered(log, next, TimeSpan.FromSeconds(15));

            // A broker that goes away for a while: several reconnect attempts fail meanwhile.
            await EventFilter.Error().ExpectAsync(0, async () =>
                await EventFilter.Warning().ExpectOneAsync(async () =>
                {
                    var failures = UplinkMetrics.ConnectFailures.Value;
                    await _broker.StopAsync();
                    Publish();
                    AwaitCondition(() => UplinkMetrics.ConnectFailures.Value >= failures + 3, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(5));
                }));
            await _broker.StartAsync();
        }
        AwaitDelivered(log, next, TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Uplink_should_reconnect_at_once_when_an_unreachable_broker_comes_back_during_a_long_backoff()
    {
        var settings = Settings() with
        {
            ReconnectMinBackoff = TimeSpan.FromSeconds(60),
            ReconnectMaxBackoff = TimeSpan.FromSeconds(60),
            ReconnectRandomFactor = 0, // exactly 60 s, so the state below is known
            ReconnectProbeInterval = TimeSpan.FromMilliseconds(200),
        };
        var (log, uplink) = Start(settings);
        log.Tell(Readings(0, 100));
        AwaitCondition(() => UplinkMetrics.ConnectFailures.Value >= 1, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        var status = uplink.Ask<UplinkStatus>(UplinkProtocol.GetStatus.Instance, TimeSpan.FromSeconds(5)).Result;
        Assert.Equal("backing off (60.0s)", status.State);

        await _broker.StartAsync();
        // Far sooner than the 60 s backoff: the probe saw the broker come back.
        AwaitDelivered(log, 100, TimeSpan.FromSeconds(10));
        Assert.Equal(1, UplinkMetrics.ConnectFailures.Value);
        Assert.Equal(0, _broker.Verifier.Report().Missing);
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _files.Dispose();
    }
}
