using System.Text.RegularExpressions;

namespace Fleet.Actors.Core.Uplink;

/// <summary>Topic templates with <c>{tenant}</c> and <c>{vehicle_id}</c> placeholders.</summary>
public static partial class TopicTemplate
{
    private static readonly string[] Placeholders = ["{tenant}", "{vehicle_id}"];

    /// <summary>Expands a template for one vehicle.</summary>
    public static string Expand(string template, VehicleIdentity vehicle) =>
        template.Replace("{tenant}", vehicle.Tenant, StringComparison.Ordinal)
            .Replace("{vehicle_id}", vehicle.VehicleId, StringComparison.Ordinal);

    /// <summary>Returns why a publish-topic template is unusable, or null when it is fine.</summary>
    public static string? Check(string template)
    {
        if (string.IsNullOrWhiteSpace(template)) return "must not be empty";
        if (template.Contains('+') || template.Contains('#')) return "must not contain MQTT wildcards (+ or #)";
        if (template.StartsWith('$')) return "must not start with $ (reserved for the broker)";
        var stripped = template;
        foreach (var p in Placeholders) stripped = stripped.Replace(p, "", StringComparison.Ordinal);
        if (stripped.Contains('{') || stripped.Contains('}'))
            return "has an unknown placeholder (only {tenant} and {vehicle_id})";
        return null;
    }

    /// <summary>The subscription filter matching a template for every tenant and vehicle.</summary>
    public static string ToFilter(string template) => PlaceholderPattern().Replace(template, "+");

    [GeneratedRegex(@"\{(tenant|vehicle_id)\}")]
    private static partial Regex PlaceholderPattern();
}
