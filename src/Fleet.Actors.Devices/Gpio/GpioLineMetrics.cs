using Fleet.Actors.Core.Observability;
using Prometheus;

namespace Fleet.Actors.Devices.Gpio;

/// <summary>Per-line GPIO metrics (label <c>line</c>).</summary>
public sealed class GpioLineMetrics
{
    /// <summary>The label naming the line.</summary>
    public const string LineLabel = "line";

    /// <summary>Creates (or finds) the collectors of one line.</summary>
    public GpioLineMetrics(AgentMetrics metrics, string vehicleId, string lineId)
    {
        var line = metrics.Device(vehicleId, LineLabel, lineId);
        Edges = line.Counter("gpio_edges_total", "Edges of an input accepted after debouncing.");
        Bounces = line.Counter("gpio_bounces_total", "Edges of an input ignored by the debounce.");
        Dropped = line.Counter("gpio_events_dropped_total", "Edge callbacks dropped because the line actor was too far behind.");
        Writes = line.Counter("gpio_writes_total", "Levels written to an output.");
        Errors = line.Counter("gpio_errors_total", "Failed opens, reads and writes of the line.");
        Down = line.Gauge("gpio_line_down", "1 while the line is not open (failed or reopening).");
    }

    /// <summary>Accepted edges.</summary>
    public Counter.Child Edges { get; }

    /// <summary>Edges ignored by the debounce.</summary>
    public Counter.Child Bounces { get; }

    /// <summary>Callbacks dropped at the bounded hand-over to the actor.</summary>
    public Counter.Child Dropped { get; }

    /// <summary>Writes to an output.</summary>
    public Counter.Child Writes { get; }

    /// <summary>Open, read and write failures.</summary>
    public Counter.Child Errors { get; }

    /// <summary>1 while the line is down.</summary>
    public Gauge.Child Down { get; }
}
