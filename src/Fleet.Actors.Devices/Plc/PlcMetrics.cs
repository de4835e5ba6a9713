using Fleet.Actors.Core.Observability;
using Prometheus;

namespace Fleet.Actors.Devices.Plc;

/// <summary>Per-PLC metrics (label <c>plc</c>).</summary>
public sealed class PlcMetrics
{
    /// <summary>The label naming the PLC.</summary>
    public const string PlcLabel = "plc";

    /// <summary>Creates (or finds) the collectors of one PLC.</summary>
    public PlcMetrics(AgentMetrics metrics, string vehicleId, string plcId)
    {
        var plc = metrics.Device(vehicleId, PlcLabel, plcId);
        Polls = plc.Counter("plc_polls_total", "Poll cycles completed.");
        PollFailures = plc.Counter("plc_poll_failures_total", "Poll cycles that failed (timeout, link failure, device exception).");
        Skipped = plc.Counter("plc_polls_skipped_total", "Poll ticks not acted on: a cycle was still running or the circuit breaker was open.");
        BreakerState = plc.Gauge("plc_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open.");
        Writes = plc.Counter("plc_writes_total", "Writes the device confirmed.");
        WriteFailures = plc.Counter("plc_write_failures_total", "Writes that failed or were refused by the open breaker.");
    }

    /// <summary>Completed poll cycles.</summary>
    public Counter.Child Polls { get; }

    /// <summary>Failed poll cycles.</summary>
    public Counter.Child PollFailures { get; }

    /// <summary>Skipped poll ticks.</summary>
    public Counter.Child Skipped { get; }

    /// <summary>0 closed, 1 half-open, 2 open.</summary>
    public Gauge.Child BreakerState { get; }

    /// <summary>Confirmed writes.</summary>
    public Counter.Child Writes { get; }

    /// <summary>Failed writes.</summary>
    public Counter.Child WriteFailures { get; }
}
