using Prometheus;

namespace Fleet.Actors.Core.Observability;

/// <summary>
/// The metrics of one agent process (or one simulation node): a Prometheus registry of its own, so
/// that tests and simulated vehicles never share counters by accident. Domains create their
/// collectors from <see cref="Factory"/> with a <c>vehicle_id</c> label.
/// </summary>
public sealed class AgentMetrics
{
    /// <summary>Creates an empty registry.</summary>
    public AgentMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        Factory = Metrics.WithCustomRegistry(Registry);
        // The endpoint writes the Prometheus text format, which has no exemplars; without this every
        // counter increment looked for a trace context to attach one (docs/benchmarks.md, issue 10).
        Factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
    }

    /// <summary>Where every collector of this agent lives; the metrics endpoint exports it.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Creates collectors in <see cref="Registry"/>.</summary>
    public IMetricFactory Factory { get; }

    /// <summary>The label every per-vehicle collector carries.</summary>
    public const string VehicleLabel = "vehicle_id";

    /// <summary>A counter of one vehicle.</summary>
    public Counter.Child Counter(string name, string help, string vehicleId) =>
        Factory.CreateCounter(name, help, [VehicleLabel]).WithLabels(vehicleId);

    /// <summary>A counter of one vehicle's device or component, labelled <paramref name="label"/>.</summary>
    public Counter.Child Counter(string name, string help, string vehicleId, string label, string value) =>
        Factory.CreateCounter(name, help, [VehicleLabel, label]).WithLabels(vehicleId, value);

    /// <summary>A gauge of one vehicle.</summary>
    public Gauge.Child Gauge(string name, string help, string vehicleId) =>
        Factory.CreateGauge(name, help, [VehicleLabel]).WithLabels(vehicleId);

    /// <summary>A gauge of one vehicle's device or component, labelled <paramref name="label"/>.</summary>
    public Gauge.Child Gauge(string name, string help, string vehicleId, string label, string value) =>
        Factory.CreateGauge(name, help, [VehicleLabel, label]).WithLabels(vehicleId, value);

    /// <summary>The collectors of one device of a vehicle, labelled <paramref name="label"/> = <paramref name="deviceId"/>.</summary>
    public DeviceCollectors Device(string vehicleId, string label, string deviceId) => new(this, vehicleId, label, deviceId);

    /// <summary>A histogram of one vehicle.</summary>
    public Histogram.Child Histogram(string name, string help, string vehicleId, double[] buckets) =>
        Factory.CreateHistogram(name, help, [VehicleLabel], new HistogramConfiguration { Buckets = buckets }).WithLabels(vehicleId);

    /// <summary>Writes every metric in the Prometheus text format.</summary>
    public async Task<string> ExportAsync(CancellationToken cancellationToken = default)
    {
        using var stream = new MemoryStream();
        await Registry.CollectAndExportAsTextAsync(stream, cancellationToken);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}

/// <summary>
/// Creates the collectors of one device of a vehicle (a sensor, a GPIO line, a PLC): every one is
/// labelled <c>vehicle_id</c> and the domain's device label (<c>sensor</c>, <c>line</c>, <c>plc</c>),
/// so a per-device metrics class only names and describes its metrics.
/// </summary>
public readonly record struct DeviceCollectors(AgentMetrics Metrics, string VehicleId, string Label, string DeviceId)
{
    /// <summary>A counter of the device (created, or found when it exists).</summary>
    public Counter.Child Counter(string name, string help) => Metrics.Counter(name, help, VehicleId, Label, DeviceId);

    /// <summary>A gauge of the device (created, or found when it exists).</summary>
    public Gauge.Child Gauge(string name, string help) => Metrics.Gauge(name, help, VehicleId, Label, DeviceId);
}
