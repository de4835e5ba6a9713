using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Prometheus;

namespace Fleet.Actors.Devices.Alerts;

/// <summary>The alerts' metrics of one vehicle: alerts that went out, were suppressed or cleared (labels <c>type</c>, <c>severity</c>), and failed output writes (label <c>line</c>).</summary>
public sealed class AlertMetrics
{
    private readonly string _vehicleId;
    private readonly Counter _triggered;
    private readonly Counter _suppressed;
    private readonly Counter _cleared;
    private readonly AgentMetrics _metrics;

    /// <summary>Creates (or finds) the collectors of one vehicle.</summary>
    public AlertMetrics(AgentMetrics metrics, string vehicleId)
    {
        _metrics = metrics;
        _vehicleId = vehicleId;
        _triggered = metrics.Factory.CreateCounter("alerts_triggered_total",
            "Alerts raised that went out (RAISED and EVENT records; a raise the debounce held back counts when it goes out).",
            [AgentMetrics.VehicleLabel, TypeLabel, SeverityLabel]);
        _suppressed = metrics.Factory.CreateCounter("alerts_suppressed_total",
            "Alerts the debounce suppressed (one-shot alerts within the window, and held raises that cleared before it ended).",
            [AgentMetrics.VehicleLabel, TypeLabel, SeverityLabel]);
        _cleared = metrics.Factory.CreateCounter("alerts_cleared_total", "CLEARED records that went out.", [AgentMetrics.VehicleLabel, TypeLabel]);
    }

    /// <summary>The label of the alert's type.</summary>
    public const string TypeLabel = "type";

    /// <summary>The label of the alert's severity (<c>info</c>, <c>warning</c>, <c>critical</c>).</summary>
    public const string SeverityLabel = "severity";

    /// <summary>Alerts of a type and severity that went out.</summary>
    public Counter.Child Triggered(string type, AlertSeverity severity) => _triggered.WithLabels(_vehicleId, type, Name(severity));

    /// <summary>Alerts of a type and severity the debounce suppressed.</summary>
    public Counter.Child Suppressed(string type, AlertSeverity severity) => _suppressed.WithLabels(_vehicleId, type, Name(severity));

    /// <summary>Clears of a type that went out.</summary>
    public Counter.Child Cleared(string type) => _cleared.WithLabels(_vehicleId, type);

    /// <summary>Failed writes of an alert output line.</summary>
    public Counter.Child ActuationErrors(string line) =>
        _metrics.Counter("alert_actuation_errors_total", "Writes of an alert output (buzzer, LED) that failed or were refused; the alert went out regardless.", _vehicleId, "line", line);

    /// <summary>A severity as labels and configuration write it.</summary>
    public static string Name(AlertSeverity severity) => severity switch
    {
        AlertSeverity.Info => "info",
        AlertSeverity.Warning => "warning",
        AlertSeverity.Critical => "critical",
        _ => "unspecified",
    };
}
