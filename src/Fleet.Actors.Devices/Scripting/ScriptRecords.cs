using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Devices.Scripting;

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

    /// <summary>The journaled record of a run that ended.</summary>
    public static Reading RunRecord(long unixMs, string scriptId, string trigger, RunOutcome outcome, ScriptRun? run, DateTimeOffset now) =>
        new(ScriptEngine.DeviceId, unixMs, new ScriptRunValue(scriptId, trigger, ScriptOutcomes.Name(outcome.Kind), outcome.Reason,
            run?.ActionsExecuted ?? 0, run is null ? 0 : Math.Max(0, (long)(now - run.StartedAt).TotalMilliseconds)));

    /// <summary>A script's alert severity on the wire (by name: the enums number differently).</summary>
    public static AlertSeverity Severity(ScriptAlertSeverity severity) => severity switch
    {
        ScriptAlertSeverity.Info => AlertSeverity.Info,
        ScriptAlertSeverity.Critical => AlertSeverity.Critical,
        _ => AlertSeverity.Warning,
    };

    /// <summary>A duration as a person writes it: 200ms, 5s, 1.5s, 2m, 1h.</summary>
    public static string Describe(TimeSpan duration) => duration switch
    {
        { TotalSeconds: < 1 } => $"{duration.TotalMilliseconds:0.###}ms",
        { TotalMinutes: < 1 } => $"{duration.TotalSeconds:0.###}s",
        { TotalHours: < 1 } when duration.Seconds == 0 && duration.Milliseconds == 0 => $"{duration.TotalMinutes:0}m",
        { TotalDays: < 1 } when duration.Minutes == 0 && duration.Seconds == 0 && duration.Milliseconds == 0 => $"{duration.TotalHours:0}h",
        _ => $"{duration.TotalSeconds:0.###}s",
    };
}
