using Fleet.Actors.Core.Observability;
using Prometheus;

namespace Fleet.Actors.Core.Uplink;

/// <summary>The uplink's metrics for one vehicle (names as in SPEC.md, capability 5).</summary>
public sealed class UplinkMetrics
{
    private long _batches;
    private long _records;
    private long _rawBytes;
    private long _wireBytes;

    /// <summary>Creates (or finds) the collectors for <paramref name="vehicleId"/>.</summary>
    public UplinkMetrics(AgentMetrics metrics, string vehicleId)
    {
        EventsSent = metrics.Counter("events_sent_total", "Records acknowledged by the broker.", vehicleId);
        BatchesSent = metrics.Counter("batches_sent_total", "Batches acknowledged by the broker.", vehicleId);
        SendErrors = metrics.Counter("send_errors_total", "Failed publishes and lost links.", vehicleId);
        WireBytes = metrics.Counter("uplink_wire_bytes_total", "Payload bytes acknowledged (after compression).", vehicleId);
        BatchSizeAvg = metrics.Gauge("batch_size_avg", "Average records per acknowledged batch.", vehicleId);
        CompressionRatio = metrics.Gauge("compression_ratio", "Uncompressed / compressed payload bytes, cumulative.", vehicleId);
        Connected = metrics.Gauge("mqtt_connected", "1 while the broker link is up.", vehicleId);
        LastSendSuccess = metrics.Gauge("last_send_success", "Unix time (s) of the last acknowledged batch.", vehicleId);
        Reconnects = metrics.Counter("mqtt_connects_total", "Successful broker connections.", vehicleId);
        ConnectFailures = metrics.Counter("mqtt_connect_failures_total", "Broker connection attempts that failed.", vehicleId);
        PublishRefused = metrics.Counter("mqtt_publish_refused_total", "Publishes the broker answered with an error reason code (e.g. NotAuthorized by its ACL).", vehicleId);
        TlsFileChecks = metrics.Counter("tls_file_checks_total", "Checks whether the TLS files on disk were renewed (uplink.broker.tls.check-interval).", vehicleId);
        AlertsPublished = metrics.Counter("alerts_lane_published_total", "Alerts published on the alerts topic (the high-priority lane) and acknowledged by the broker.", vehicleId);
        AlertsDropped = metrics.Counter("alerts_lane_dropped_total", "Alerts the high-priority lane gave up (queue full while offline, or refused by the broker); they still travel in the telemetry stream.", vehicleId);
        AckLatency = metrics.Histogram("uplink_ack_latency_seconds", "Publish to PUBACK time per batch.", vehicleId,
            [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    }

    public Counter.Child EventsSent { get; }
    public Counter.Child BatchesSent { get; }
    public Counter.Child SendErrors { get; }
    public Counter.Child WireBytes { get; }
    public Gauge.Child BatchSizeAvg { get; }
    public Gauge.Child CompressionRatio { get; }
    public Gauge.Child Connected { get; }
    public Gauge.Child LastSendSuccess { get; }
    public Counter.Child Reconnects { get; }
    public Counter.Child ConnectFailures { get; }
    public Counter.Child PublishRefused { get; }
    public Counter.Child TlsFileChecks { get; }
    public Counter.Child AlertsPublished { get; }
    public Counter.Child AlertsDropped { get; }
    public Histogram.Child AckLatency { get; }

    /// <summary>Accounts one acknowledged batch. Called from the uplink actor only.</summary>
    public void RecordBatch(int records, int rawBytes, int wireBytes, TimeSpan ackLatency, DateTimeOffset now)
    {
        _batches++;
        _records += records;
        _rawBytes += rawBytes;
        _wireBytes += wireBytes;
        EventsSent.Inc(records);
        BatchesSent.Inc();
        WireBytes.Inc(wireBytes);
        BatchSizeAvg.Set((double)_records / _batches);
        CompressionRatio.Set(_wireBytes == 0 ? 0 : (double)_rawBytes / _wireBytes);
        LastSendSuccess.Set(now.ToUnixTimeMilliseconds() / 1000.0);
        AckLatency.Observe(ackLatency.TotalSeconds);
    }
}
