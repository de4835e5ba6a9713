using System.Diagnostics;
using Akka.Actor;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Alerts;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests.Alerts;

/// <summary>
/// The high-priority lane against a real mosquitto: a whole vehicle agent in process (the log on
/// SQLite files) builds a large backlog while the broker is away; once the broker is back and the
/// backlog drains, an alert raised then reaches a subscriber on the alerts topic before the drain is
/// over, and its copy in the telemetry stream follows in sequence order.
/// </summary>
public sealed class AlertLaneTests(ITestOutputHelper output) : MosquittoAgentTestKit("alert-lane-tests", output)
{
    private const string Tenant = "acme";
    private const string VehicleId = "truck-lane";
    private const int Backlog = 300_000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static WalProtocol.LogReadings Readings(int from, int count) => new(Enumerable.Range(from, count)
        .Select(i => new Reading("obd", 1_790_000_000_000 + i, new MeasurementValue("engine_rpm", 800 + i % 1200, "rpm")))
        .ToList());

    [Fact]
    public async Task An_alert_raised_while_a_large_backlog_drains_should_reach_the_alerts_topic_before_the_backlog_has_drained()
    {
        await using var subscriber = await FleetSubscriber.StartAsync(Broker.Port, Tenant, VehicleId, "lane-subscriber");
        // The broker goes away (keeping the subscriber's session): the agent's log fills up.
        await Broker.StopAsync();
        var settings = new VehicleSettings
        {
            VehicleId = VehicleId,
            Tenant = Tenant,
            // Small journal rows and batches of one row, one at a time: the drain takes seconds, as a long outage's does on a slow link.
            Wal = new WalSettings { JournalPath = JournalPath, MaxPendingReadings = Backlog + 10_000, MaxEntryRecords = 50 },
            Uplink = new UplinkSettings
            {
                Broker = new BrokerSettings { Host = "127.0.0.1", Port = Broker.Port, ConnectTimeout = TimeSpan.FromSeconds(2) },
                MaxBatchRecords = 50,
                MaxInFlight = 1,
                ReconnectMinBackoff = TimeSpan.FromMilliseconds(200),
                ReconnectMaxBackoff = TimeSpan.FromSeconds(1),
            },
            SummaryInterval = TimeSpan.Zero,
        };
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, Metrics), VehicleAgent.ActorName(VehicleId));
        var components = await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, Wait);
        for (var from = 0; from < Backlog; from += 5_000) components.Log.Tell(Readings(from, 5_000));
        AwaitCondition(() => components.Log.Ask<WalProtocol.WalStatus>(WalProtocol.GetStatus.Instance, Wait).Result.LastSequence == Backlog,
            Wait, TimeSpan.FromMilliseconds(200));
        subscriber.Watch(Backlog);

        await Broker.StartAsync();
        AwaitCondition(() => subscriber.HighestTelemetry > 0, Wait, TimeSpan.FromMilliseconds(10));
        var raised = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        components.Alerts!.Tell(new AlertsProtocol.Raise("lane-check", AlertSeverity.Critical, "test", Message: "raised while the backlog drains"));

        AwaitCondition(() => subscriber.Alerts.Count > 0, Wait, TimeSpan.FromMilliseconds(5));
        var laneLatency = clock.Elapsed;
        var arrival = subscriber.Alerts.Single();
        var alert = Assert.IsType<AlertValue>(arrival.Record.Value);
        Assert.Equal(("lane-check", AlertState.Raised, "alerts"), (alert.Name, alert.State, arrival.Record.DeviceId));
        Assert.True(arrival.Record.Sequence > Backlog, $"the alert has sequence {arrival.Record.Sequence}, inside the backlog");
        Assert.True(arrival.HighestTelemetryBefore < Backlog,
            $"the alert arrived after the telemetry had reached {arrival.HighestTelemetryBefore} of {Backlog}: it waited behind the backlog");

        // The same record follows in the telemetry stream, in order: the fleet de-duplicates by sequence.
        AwaitCondition(() => subscriber.TelemetryAlerts.Any(a => a.Sequence == arrival.Record.Sequence), Wait, TimeSpan.FromMilliseconds(20));
        var streamCopy = subscriber.TelemetryAlerts.Single(a => a.Sequence == arrival.Record.Sequence);
        Assert.Equal(arrival.Record, streamCopy);
        var drained = subscriber.TelemetryReached(Backlog)!.Value;
        Output.WriteLine($"backlog {Backlog} records; telemetry at {arrival.HighestTelemetryBefore} when the alert arrived on the lane " +
            $"{laneLatency.TotalMilliseconds:0} ms after it was raised; the backlog drained {(drained - raised).TotalMilliseconds:0} ms after the raise, " +
            $"the alert's copy in the stream came after it");
        Assert.Equal(1, MetricValues.Vehicle(Metrics, "alerts_lane_published_total", VehicleId));
    }
}
