using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
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
        HeldDropped = metrics.Counter("script_readings_dropped_total",
            "Accepted readings the engine did not look at: more arrived while the configured scripts were being installed than it holds.", vehicleId);
    }

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

/// <summary>Names of outcomes as they appear on the wire (<see cref="ScriptRunValue"/>, <see cref="ScriptWriteValue"/>) and in metrics.</summary>
public static class ScriptOutcomes
{
    /// <summary><c>completed</c>, <c>conditions_not_met</c>, <c>stopped_action_limit</c>, ...</summary>
    public static string Name(RunOutcomeKind kind) => kind switch
    {
        RunOutcomeKind.Completed => "completed",
        RunOutcomeKind.ConditionsNotMet => "conditions_not_met",
        RunOutcomeKind.StoppedActionLimit => "stopped_action_limit",
        RunOutcomeKind.StoppedTimeLimit => "stopped_time_limit",
        RunOutcomeKind.StoppedCallDepth => "stopped_call_depth",
        RunOutcomeKind.StoppedDelayTooLong => "stopped_delay_too_long",
        RunOutcomeKind.RateLimited => "rate_limited",
        RunOutcomeKind.Cancelled => "cancelled",
        _ => "failed",
    };

    /// <summary><c>write</c>, <c>won</c>, <c>overridden</c>, <c>lost</c> or <c>duplicate</c>.</summary>
    public static string Name(WriteOutcome outcome) => outcome.ToString().ToLowerInvariant();

    /// <summary>The wire form of a write target: <c>gpio:17</c>, <c>modbus:plc1:register:40</c>, <c>modbus:plc1:coil:3</c>.</summary>
    public static string Target(WriteTarget target) => target switch
    {
        GpioLineTarget g => $"gpio:{g.Line}",
        ModbusRegisterTarget r => $"modbus:{r.Device}:register:{r.Address}",
        ModbusCoilTarget c => $"modbus:{c.Device}:coil:{c.Address}",
        _ => target.ToString() ?? "",
    };
}
