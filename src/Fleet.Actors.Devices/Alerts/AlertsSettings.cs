using System.Globalization;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Devices.Alerts;

/// <summary>The alert rules, their debounce and the GPIO outputs alerts drive (HOCON <c>fleet.alerts</c>, docs/alerts.md).</summary>
public sealed record AlertsSettings
{
    /// <summary>At most one alert per type (and device) goes out per this window; the others are suppressed and counted. Zero: no debounce.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The rules, in configuration order.</summary>
    public ValueArray<AlertRule> Rules { get; init; } = ValueArray<AlertRule>.Empty;

    /// <summary>The GPIO outputs (buzzer, LED) that alerts drive, with their patterns.</summary>
    public ValueArray<ActuationSettings> Actuation { get; init; } = ValueArray<ActuationSettings>.Empty;

    /// <summary>True when a rule needs the log's accepted readings (rules on readings).</summary>
    public bool WantsReadings => Rules.Any(r => r is ReadingRule);
}

/// <summary>A threshold with its direction and the hysteresis of the recovery.</summary>
/// <param name="Direction">Raised above or below <paramref name="Value"/>.</param>
/// <param name="Value">The threshold.</param>
/// <param name="Hysteresis">How far back past the threshold a value must come for the alert to clear (0: just back past it).</param>
public sealed record Threshold(ThresholdDirection Direction, double Value, double Hysteresis = 0)
{
    /// <summary>True when <paramref name="value"/> is beyond the threshold (the alert's condition holds).</summary>
    public bool Crossed(double value) => Direction == ThresholdDirection.Above ? value > Value : value < Value;

    /// <summary>True when <paramref name="value"/> is back past the threshold by the hysteresis (a raised alert clears).</summary>
    public bool Recovered(double value) => Direction == ThresholdDirection.Above ? value < Value - Hysteresis : value > Value + Hysteresis;

    /// <summary>For messages: <c>&gt; 105</c>, <c>&lt; 10 (clears above 12)</c>.</summary>
    public override string ToString()
    {
        var symbol = Direction == ThresholdDirection.Above ? ">" : "<";
        var text = $"{symbol} {Value.ToString(CultureInfo.InvariantCulture)}";
        if (Hysteresis <= 0) return text;
        var recovery = Direction == ThresholdDirection.Above ? Value - Hysteresis : Value + Hysteresis;
        return $"{text} (clears {(Direction == ThresholdDirection.Above ? "below" : "above")} {recovery.ToString(CultureInfo.InvariantCulture)})";
    }
}

/// <summary>Which side of a threshold raises an alert.</summary>
public enum ThresholdDirection
{
    /// <summary>Values above it.</summary>
    Above,

    /// <summary>Values below it.</summary>
    Below,
}

/// <summary>
/// One alert rule: what it watches, and the alert it raises (its <see cref="Type"/>, the alert's
/// name on the wire, and <see cref="Severity"/>). Records: a rule that reads back equal after a
/// configuration change keeps its state.
/// </summary>
public abstract record AlertRule
{
    /// <summary>Unique among the rules; the alert's source is <c>rule:{id}</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The alert's type (its name on the wire); the rule's id when not configured.</summary>
    public required string Type { get; init; }

    /// <summary>How urgent the alert is.</summary>
    public AlertSeverity Severity { get; init; } = AlertSeverity.Warning;

    /// <summary>Only this device (sensor, PLC, GPIO line); null: every device, each with its own alert.</summary>
    public string? Device { get; init; }

    /// <summary>Text for the alert's message, before what the rule saw (may be empty).</summary>
    public string Message { get; init; } = "";

    /// <summary>The alert's source: <c>rule:{id}</c>.</summary>
    public string Source => "rule:" + Id;

    /// <summary>The rule's kind as configured (<c>reading</c>, <c>driving-event</c>, <c>health</c>, <c>device-down</c>).</summary>
    public abstract string Kind { get; }
}

/// <summary>A measurement beyond a threshold for at least <see cref="For"/> (by the readings' timestamps); clears once back past it by the hysteresis.</summary>
public sealed record ReadingRule : AlertRule
{
    /// <summary>The measurement's name, e.g. <c>coolant_temp</c>.</summary>
    public required string Measurement { get; init; }

    /// <summary>The threshold and its hysteresis.</summary>
    public required Threshold Threshold { get; init; }

    /// <summary>How long the condition must hold before the alert is raised (zero: at once).</summary>
    public TimeSpan For { get; init; }

    /// <inheritdoc />
    public override string Kind => "reading";
}

/// <summary>A harsh brake, acceleration or cornering (<c>HarshDrivingDetected</c>) of at least <see cref="MinMagnitude"/>: a one-shot alert.</summary>
public sealed record DrivingEventRule : AlertRule
{
    /// <summary><c>harsh_brake</c>, <c>harsh_acceleration</c> or <c>harsh_cornering</c>.</summary>
    public required string Event { get; init; }

    /// <summary>The smallest peak acceleration (m/s²) that raises the alert.</summary>
    public double MinMagnitude { get; init; }

    /// <inheritdoc />
    public override string Kind => "driving-event";
}

/// <summary>A field of the health monitor's samples (<c>HealthSampled</c>) beyond a threshold for at least <see cref="For"/>.</summary>
public sealed record HealthRule : AlertRule
{
    /// <summary>A name of <c>HealthFields</c>, e.g. <c>cpu_usage</c>.</summary>
    public required string Field { get; init; }

    /// <summary>The threshold and its hysteresis.</summary>
    public required Threshold Threshold { get; init; }

    /// <summary>How long the condition must hold (by the samples' timestamps).</summary>
    public TimeSpan For { get; init; }

    /// <inheritdoc />
    public override string Kind => "health";
}

/// <summary>A device (<c>DeviceStatusChanged</c>) down for longer than <see cref="For"/>; clears when it is up again.</summary>
public sealed record DeviceDownRule : AlertRule
{
    /// <summary>How long a device may be down before the alert is raised.</summary>
    public TimeSpan For { get; init; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public override string Kind => "device-down";
}

/// <summary>How an actuated output moves.</summary>
public enum ActuationPattern
{
    /// <summary>On for the whole duration.</summary>
    Steady,

    /// <summary>On for <see cref="ActuationSettings.On"/>, off for <see cref="ActuationSettings.Off"/>, over and over, for the duration.</summary>
    Blink,
}

/// <summary>
/// A GPIO output that alerts drive (an element of <c>fleet.alerts.actuation</c>): alerts of at least
/// <see cref="MinSeverity"/> (and of <see cref="Types"/>, when given) run <see cref="Pattern"/> on
/// the line for <see cref="Duration"/>, written through the script engine's arbitration at <see cref="Priority"/>.
/// </summary>
public sealed record ActuationSettings
{
    /// <summary>The configured GPIO output line's id.</summary>
    public required string Line { get; init; }

    /// <summary>Its pin (the write target of the arbitration).</summary>
    public required int Pin { get; init; }

    /// <summary>The least severity that drives the line.</summary>
    public AlertSeverity MinSeverity { get; init; } = AlertSeverity.Critical;

    /// <summary>Only these alert types; empty: every type.</summary>
    public ValueArray<string> Types { get; init; } = ValueArray<string>.Empty;

    /// <summary>Steady or blinking.</summary>
    public ActuationPattern Pattern { get; init; } = ActuationPattern.Steady;

    /// <summary>Blink: how long the line is on each time.</summary>
    public TimeSpan On { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Blink: how long the line is off in between.</summary>
    public TimeSpan Off { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long the pattern runs; the line is at 0 afterwards.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The priority of its writes in the arbitration (0..255; high = 100).</summary>
    public int Priority { get; init; } = (int)ScriptPriority.High;

    /// <summary>True when <paramref name="alert"/> drives this output.</summary>
    public bool Matches(AlertValue alert) =>
        alert.Severity >= MinSeverity && (Types.Count == 0 || Types.Contains(alert.Name));

    /// <summary>For logs: <c>blink 250ms/250ms for 5s</c>.</summary>
    public string DescribePattern() => Pattern == ActuationPattern.Blink
        ? $"blink {Scripting.ScriptOutcomes.Describe(On)}/{Scripting.ScriptOutcomes.Describe(Off)} for {Scripting.ScriptOutcomes.Describe(Duration)}"
        : $"on for {Scripting.ScriptOutcomes.Describe(Duration)}";
}
