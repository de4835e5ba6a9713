using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Prometheus;

namespace Fleet.Actors.Devices.Scripting;

/// <summary>The script engine's metrics (label <c>outcome</c>).</summary>
public sealed class ScriptMetrics
{
    private readonly AgentMetrics _metrics;
    private readonly string _vehicleId;

    /// <summary>Creates (or finds) the collectors of one vehicle's engine.</summary>
    public ScriptMetrics(AgentMetrics metrics, string vehicleId)
    {
        _metrics = metrics;
        _vehicleId = vehicleId;
        Installed = metrics.Gauge("scripts_installed", "Scripts in the store.", vehicleId);
        Waiting = metrics.Gauge("script_runs_waiting", "Script runs waiting on a delay.", vehicleId);
        AwaitingLog = metrics.Gauge("script_writes_awaiting_log", "Writes waiting for the log to confirm their records before they are sent.", vehicleId);
        AwaitingLogFull = metrics.Counter("script_writes_not_awaited_total",
            "Writes failed unsent because fleet.scripting.max-writes-awaiting-log writes already waited for the log.", vehicleId);
        HeldDropped = metrics.Counter("script_readings_dropped_total",
            "Accepted readings the engine did not look at: more arrived while the configured scripts were being installed than it holds.", vehicleId);
    }

    /// <summary>Writes waiting for the log to confirm their records.</summary>
    public Gauge.Child AwaitingLog { get; }

    /// <summary>Writes failed unsent because the queue of writes awaiting the log was full.</summary>
    public Counter.Child AwaitingLogFull { get; }

    /// <summary>Accepted readings dropped while the configuration was being installed.</summary>
    public Counter.Child HeldDropped { get; }

    /// <summary>Scripts in the store.</summary>
    public Gauge.Child Installed { get; }

    /// <summary>Runs waiting on a delay.</summary>
    public Gauge.Child Waiting { get; }

    /// <summary>Runs that ended with <paramref name="outcome"/> (<see cref="ScriptOutcomes.Name(RunOutcomeKind)"/>).</summary>
    public Counter.Child Runs(RunOutcomeKind outcome) =>
        _metrics.Counter("script_runs_total", "Script runs by outcome.", _vehicleId, "outcome", ScriptOutcomes.Name(outcome));

    /// <summary>
    /// Script writes by outcome: arbitration (<c>write</c>, <c>won</c>, <c>overridden</c>, <c>lost</c>,
    /// <c>duplicate</c>) and the device's answer to a performed write (<c>done</c>, <c>failed</c>, <c>refused</c>).
    /// </summary>
    public Counter.Child Writes(string outcome) =>
        _metrics.Counter("script_writes_total", "Script writes by arbitration outcome and device answer.", _vehicleId, "outcome", outcome);
}
