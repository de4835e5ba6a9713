using System.Globalization;
using Fleet.Actors.Core.Observability;

namespace Fleet.Actors.Testing;

/// <summary>
/// Reads metric values the way a scraper sees them (the Prometheus text export), so tests observe
/// the agent's metrics without creating collectors of their own (which could change them).
/// </summary>
public static class MetricValues
{
    /// <summary>The value of <paramref name="name"/> whose labels include all of <paramref name="labels"/>; null when absent.</summary>
    public static double? Read(AgentMetrics metrics, string name, params (string Label, string Value)[] labels)
    {
        var text = metrics.ExportAsync().GetAwaiter().GetResult();
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('#') || !line.StartsWith(name, StringComparison.Ordinal)) continue;
            var rest = line[name.Length..];
            if (rest.Length == 0 || (rest[0] != '{' && rest[0] != ' ')) continue;
            var labelEnd = rest.IndexOf('}', StringComparison.Ordinal);
            var labelText = rest[0] == '{' ? rest[1..labelEnd] : "";
            if (!labels.All(l => labelText.Contains($"{l.Label}=\"{l.Value}\"", StringComparison.Ordinal))) continue;
            var valueText = rest[(labelEnd + 1)..].Trim().Split(' ')[0];
            return double.Parse(valueText, CultureInfo.InvariantCulture);
        }
        return null;
    }

    /// <summary>A per-sensor metric (labels <c>vehicle_id</c> and <c>sensor</c>); throws when it does not exist.</summary>
    public static double Sensor(AgentMetrics metrics, string name, string vehicleId, string sensorId) =>
        Read(metrics, name, (AgentMetrics.VehicleLabel, vehicleId), ("sensor", sensorId))
        ?? throw new InvalidOperationException($"metric {name} of sensor {sensorId} ({vehicleId}) is not exported");

    /// <summary>A per-vehicle metric (label <c>vehicle_id</c>); throws when it does not exist.</summary>
    public static double Vehicle(AgentMetrics metrics, string name, string vehicleId) =>
        Read(metrics, name, (AgentMetrics.VehicleLabel, vehicleId))
        ?? throw new InvalidOperationException($"metric {name} of {vehicleId} is not exported");
}
