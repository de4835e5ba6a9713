using System.Globalization;
using System.Text.RegularExpressions;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Core.Health;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Imu;

namespace Fleet.Actors.Devices.Alerts;

/// <summary>
/// Reads and validates HOCON <c>fleet.alerts</c> into <see cref="AlertsSettings"/>: every problem
/// names its full key (<c>fleet.alerts.rules[1].above</c>). Devices named by rules must be configured
/// (sensors, PLCs, GPIO lines), actuated lines must be configured GPIO outputs.
/// </summary>
public static partial class AlertsConfig
{
    private const string IdDescription = "1 to 64 letters, digits, '.', '_' or '-' starting with a letter or digit";

    private static readonly string[] Kinds = ["reading", "driving-event", "health", "device-down"];
    private static readonly string[] Events = [DrivingEventTypes.HarshBrake, DrivingEventTypes.HarshAcceleration, DrivingEventTypes.HarshCornering];

    // The keys each kind of rule reads beyond the common ones; the others do not apply to it.
    private static readonly Dictionary<string, string[]> KindKeys = new()
    {
        ["reading"] = ["reading", "above", "below", "hysteresis", "for"],
        ["driving-event"] = ["event", "min-magnitude"],
        ["health"] = ["field", "above", "below", "hysteresis", "for"],
        ["device-down"] = ["for"],
    };

    /// <summary>
    /// Reads the section under <paramref name="fleet"/>. <paramref name="devices"/> are the configured
    /// device ids by domain (<c>sensors</c>, <c>plcs</c>, <c>gpio</c>) that rules may name.
    /// </summary>
    public static AlertsSettings Read(ConfigReader fleet, GpioSettings gpio, IReadOnlyDictionary<string, IReadOnlyCollection<string>> devices)
    {
        var section = fleet.Section("alerts");
        var debounce = section.Duration("debounce", TimeSpan.FromSeconds(10), TimeSpan.Zero, TimeSpan.FromHours(1));
        var rules = section.Objects("rules").Select(r => ReadRule(r, devices)).OfType<AlertRule>().ToList();
        foreach (var duplicate in rules.GroupBy(r => r.Id).Where(g => g.Key.Length > 0 && g.Count() > 1))
            section.Problem("rules", $"rule id \"{duplicate.Key}\" is used more than once");
        var actuation = section.Objects("actuation").Select(r => ReadActuation(r, gpio)).OfType<ActuationSettings>().ToList();
        return new AlertsSettings { Debounce = debounce, Rules = rules.ToValueArray(), Actuation = actuation.ToValueArray() };
    }

    private static AlertRule? ReadRule(ConfigReader r, IReadOnlyDictionary<string, IReadOnlyCollection<string>> devices)
    {
        var id = r.RequiredString("id", IdPattern(), IdDescription);
        var kind = r.String("kind")?.Trim().ToLowerInvariant();
        if (kind is null) r.Problem("kind", $"is required: one of {string.Join(", ", Kinds)}");
        else if (!Kinds.Contains(kind)) r.Problem("kind", $"must be one of {string.Join(", ", Kinds)} (got \"{kind}\")");
        var type = r.String("type") ?? id;
        // Without a type the id is the type, and a bad id is reported once (as the id).
        if (r.Has("type") && !IdPattern().IsMatch(type)) r.Problem("type", $"must be {IdDescription} (got \"{type}\")");
        var severity = Severity(r, "severity", AlertSeverity.Warning);
        var message = r.String("message", "")!;
        if (message.Length > 256) r.Problem("message", $"must be at most 256 characters (got {message.Length})");
        var device = r.String("device");
        if (kind is null || !Kinds.Contains(kind))
        {
            // Not also "is not a known setting" for every key of the rule: the kind is the one problem.
            foreach (var key in KindKeys.Values.SelectMany(k => k)) r.Has(key);
            return null;
        }

        foreach (var key in KindKeys.Where(k => k.Key != kind).SelectMany(k => k.Value).Except(KindKeys[kind]).Distinct())
            if (r.Has(key)) r.Problem(key, $"does not apply to a {kind} rule");
        CheckDevice(r, kind, device, devices);

        AlertRule rule = kind switch
        {
            "reading" => new ReadingRule
            {
                Id = id, Type = type, Measurement = Required(r, "reading", "the measurement's name, e.g. coolant_temp"),
                Threshold = ReadThreshold(r), For = For(r, TimeSpan.Zero),
            },
            "driving-event" => new DrivingEventRule
            {
                Id = id, Type = type, Event = ReadEvent(r), MinMagnitude = r.Double("min-magnitude", 0, 0, 1000),
            },
            "health" => new HealthRule { Id = id, Type = type, Field = ReadField(r), Threshold = ReadThreshold(r), For = For(r, TimeSpan.Zero) },
            _ => new DeviceDownRule { Id = id, Type = type, For = For(r, TimeSpan.FromSeconds(30)) },
        };
        return rule with { Severity = severity, Device = device, Message = message };
    }

    private static void CheckDevice(ConfigReader r, string kind, string? device, IReadOnlyDictionary<string, IReadOnlyCollection<string>> devices)
    {
        if (device is null) return;
        if (kind == "health")
        {
            r.Problem("device", "does not apply to a health rule (health is the vehicle's)");
            return;
        }
        // Harsh-driving events come from IMU sensors only.
        var domains = kind == "driving-event" ? ["sensors"] : new[] { "sensors", "plcs", "gpio" };
        if (domains.Any(d => devices.TryGetValue(d, out var ids) && ids.Contains(device))) return;
        var where = string.Join(", ", domains.Select(d => d == "gpio" ? "fleet.gpio.lines" : "fleet." + d));
        r.Problem("device", $"no device \"{device}\" is configured ({where})");
    }

    private static string Required(ConfigReader r, string key, string what)
    {
        var value = r.String(key);
        if (string.IsNullOrWhiteSpace(value))
        {
            r.Problem(key, $"is required: {what}");
            return "";
        }
        return value;
    }

    private static TimeSpan For(ConfigReader r, TimeSpan fallback) => r.Duration("for", fallback, TimeSpan.Zero, TimeSpan.FromDays(1));

    private static Threshold ReadThreshold(ConfigReader r)
    {
        var above = r.Has("above");
        var below = r.Has("below");
        if (above == below)
        {
            r.Problem(above ? "below" : "above", above ? "give either above or below, not both" : "is required (or below): the threshold that raises the alert");
            return new Threshold(ThresholdDirection.Above, 0);
        }
        var direction = above ? ThresholdDirection.Above : ThresholdDirection.Below;
        var value = r.Double(above ? "above" : "below", 0);
        return new Threshold(direction, value, r.Double("hysteresis", 0, 0));
    }

    private static string ReadEvent(ConfigReader r)
    {
        var value = Required(r, "event", string.Join(", ", Events));
        if (value.Length > 0 && !Events.Contains(value)) r.Problem("event", $"must be one of {string.Join(", ", Events)} (got \"{value}\")");
        return value;
    }

    private static string ReadField(ConfigReader r)
    {
        var value = Required(r, "field", "a health field such as cpu_usage");
        if (value.Length > 0 && !HealthFields.All.Contains(value)) r.Problem("field", $"must be one of {string.Join(", ", HealthFields.All)} (got \"{value}\")");
        return value;
    }

    private static ActuationSettings? ReadActuation(ConfigReader r, GpioSettings gpio)
    {
        var lineId = r.String("line");
        GpioLineSettings? line = null;
        if (string.IsNullOrWhiteSpace(lineId)) r.Problem("line", "is required: the id of a configured GPIO output line (fleet.gpio.lines)");
        else
        {
            line = gpio.Lines.FirstOrDefault(l => l.Id == lineId);
            if (line is null) r.Problem("line", $"no GPIO line \"{lineId}\" is configured (fleet.gpio.lines)");
            else if (line.Direction != GpioDirection.Output) r.Problem("line", $"\"{lineId}\" is an input line; only outputs can be driven");
        }
        var pattern = r.Enum("pattern", ActuationPattern.Steady);
        if (pattern == ActuationPattern.Steady)
            foreach (var key in new[] { "on", "off" })
                if (r.Has(key)) r.Problem(key, "applies to pattern = blink only");
        var settings = new ActuationSettings
        {
            Line = lineId ?? "",
            Pin = line?.Pin ?? -1,
            MinSeverity = Severity(r, "min-severity", AlertSeverity.Critical),
            Types = ReadTypes(r),
            Pattern = pattern,
            On = r.Duration("on", TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1)),
            Off = r.Duration("off", TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1)),
            Duration = r.Duration("duration", TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1)),
            Priority = Priority(r, "priority"),
        };
        return line is { Direction: GpioDirection.Output } ? settings : null;
    }

    private static ValueArray<string> ReadTypes(ConfigReader r)
    {
        var items = r.ListItems("types");
        if (items is null)
        {
            if (r.Has("types")) r.Problem("types", "must be a list of alert types, e.g. [ harsh-brake, engine-overheat ]");
            return ValueArray<string>.Empty;
        }
        var types = new List<string>();
        for (var i = 0; i < items.Count; i++)
        {
            var text = items[i].IsString() ? items[i].GetString() : null;
            if (text is null || !IdPattern().IsMatch(text)) r.Problem($"types[{i}]", $"must be an alert type, {IdDescription}");
            else types.Add(text);
        }
        return types.ToValueArray();
    }

    /// <summary><c>info</c>, <c>warning</c> or <c>critical</c>.</summary>
    private static AlertSeverity Severity(ConfigReader r, string key, AlertSeverity fallback)
    {
        var text = r.String(key);
        switch (text?.Trim().ToLowerInvariant())
        {
            case null: return fallback;
            case "info": return AlertSeverity.Info;
            case "warning": return AlertSeverity.Warning;
            case "critical": return AlertSeverity.Critical;
            default:
                r.Problem(key, $"must be info, warning or critical (got \"{text}\")");
                return fallback;
        }
    }

    /// <summary>A write priority as scripts name them: low, normal, high, critical, emergency, or 0..255.</summary>
    private static int Priority(ConfigReader r, string key)
    {
        var text = r.String(key);
        if (text is null) return (int)ScriptPriority.High;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) && number is >= 0 and <= 255) return number;
        var name = Enum.GetNames<ScriptPriority>().FirstOrDefault(n => n.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase));
        if (name is not null) return (int)Enum.Parse<ScriptPriority>(name);
        r.Problem(key, $"must be low, normal, high, critical, emergency or a number from 0 to 255 (got \"{text}\")");
        return (int)ScriptPriority.High;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex IdPattern();
}
