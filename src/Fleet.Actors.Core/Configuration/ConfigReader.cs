using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Fleet.Actors.Core.Configuration;

/// <summary>One thing wrong with the configuration: the full key and what is wrong with it.</summary>
public sealed record SettingsProblem(string Key, string Problem);

/// <summary>
/// Typed, validating access to a HOCON tree. Every getter records a <see cref="SettingsProblem"/>
/// (with the full key) instead of throwing, and remembers which keys it read so that keys nobody
/// reads (typos) can be reported.
/// </summary>
public sealed class ConfigReader
{
    private readonly Config _config;
    private readonly string _prefix;
    private readonly List<SettingsProblem> _problems;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);
    private readonly List<ConfigReader> _children = new();

    /// <summary>Reads <paramref name="config"/>; keys are reported as <paramref name="prefix"/>.key.</summary>
    public ConfigReader(Config config, string prefix = "")
        : this(config, prefix, new List<SettingsProblem>())
    {
    }

    private ConfigReader(Config config, string prefix, List<SettingsProblem> problems)
    {
        _config = config;
        _prefix = prefix;
        _problems = problems;
    }

    /// <summary>Every problem found so far (shared with child readers).</summary>
    public IReadOnlyList<SettingsProblem> Problems => _problems;

    /// <summary>The full name of a key of this reader.</summary>
    public string FullKey(string key) => _prefix.Length == 0 ? key : $"{_prefix}.{key}";

    /// <summary>Records a problem with a key of this reader.</summary>
    public void Problem(string key, string problem) => _problems.Add(new SettingsProblem(FullKey(key), problem));

    /// <summary>True when the key is present.</summary>
    public bool Has(string key)
    {
        _read.Add(key);
        return _config.HasPath(key);
    }

    /// <summary>A string, or <paramref name="fallback"/> when absent.</summary>
    public string? String(string key, string? fallback = null)
    {
        if (!Present(key)) return fallback;
        var value = _config.GetValue(key);
        if (value.IsObject() || value.IsArray())
        {
            Problem(key, "must be a single value, not an object or a list");
            return fallback;
        }
        return value.GetString();
    }

    /// <summary>A required string matching <paramref name="pattern"/>.</summary>
    public string RequiredString(string key, Regex pattern, string describe)
    {
        var value = String(key);
        if (string.IsNullOrEmpty(value))
        {
            Problem(key, "is required");
            return "";
        }
        if (!pattern.IsMatch(value)) Problem(key, $"must be {describe} (got \"{value}\")");
        return value;
    }

    /// <summary>An integer within min..max.</summary>
    public int Int(string key, int fallback, int min = int.MinValue, int max = int.MaxValue) =>
        (int)Long(key, fallback, min, max);

    /// <summary>A long within min..max.</summary>
    public long Long(string key, long fallback, long min = long.MinValue, long max = long.MaxValue)
    {
        var text = String(key);
        if (text is null) return fallback;
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            Problem(key, $"must be a whole number (got \"{text}\")");
            return fallback;
        }
        return InRange(key, value, min, max, fallback);
    }

    /// <summary>A number within min..max.</summary>
    public double Double(string key, double fallback, double min = double.MinValue, double max = double.MaxValue)
    {
        var text = String(key);
        if (text is null) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            Problem(key, $"must be a number (got \"{text}\")");
            return fallback;
        }
        if (value < min || value > max)
        {
            Problem(key, $"must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)} (got {text})");
            return fallback;
        }
        return value;
    }

    /// <summary>A boolean (on/off, true/false, yes/no).</summary>
    public bool Bool(string key, bool fallback)
    {
        var text = String(key);
        if (text is null) return fallback;
        switch (text.Trim().ToLowerInvariant())
        {
            case "on" or "true" or "yes": return true;
            case "off" or "false" or "no": return false;
            default:
                Problem(key, $"must be on or off (got \"{text}\")");
                return fallback;
        }
    }

    /// <summary>A byte size such as <c>256MiB</c>, <c>64k</c> or <c>1048576</c>.</summary>
    public long Bytes(string key, long fallback, long min = 0, long max = long.MaxValue)
    {
        var text = String(key);
        if (text is null) return fallback;
        long? value = null;
        try
        {
            value = _config.GetByteSize(key);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
        {
        }
        if (value is null)
        {
            Problem(key, $"must be a size such as 64KiB or 256MiB (got \"{text}\")");
            return fallback;
        }
        return InRange(key, value.Value, min, max, fallback);
    }

    /// <summary>A duration such as <c>500ms</c>, <c>5s</c> or <c>2m</c>.</summary>
    public TimeSpan Duration(string key, TimeSpan fallback, TimeSpan? min = null, TimeSpan? max = null)
    {
        var text = String(key);
        if (text is null) return fallback;
        TimeSpan value;
        try
        {
            value = _config.GetTimeSpan(key, null, allowInfinite: false);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException or ConfigurationException)
        {
            Problem(key, $"must be a duration such as 500ms, 5s or 2m (got \"{text}\")");
            return fallback;
        }
        if ((min is { } lo && value < lo) || (max is { } hi && value > hi))
        {
            Problem(key, $"must be between {Describe(min)} and {Describe(max)} (got {text})");
            return fallback;
        }
        return value;
    }

    /// <summary>One of the names of an enum (case-insensitive, dashes ignored).</summary>
    public T Enum<T>(string key, T fallback) where T : struct, System.Enum
    {
        var text = String(key);
        if (text is null) return fallback;
        // Names only: Enum.TryParse would also take numbers ("0") and flag lists ("full, normal").
        var name = System.Enum.GetNames<T>().FirstOrDefault(n => string.Equals(n, text.Trim().Replace("-", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase));
        if (name is not null) return System.Enum.Parse<T>(name);
        Problem(key, $"must be one of {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))} (got \"{text}\")");
        return fallback;
    }

    /// <summary>A nested object as a reader of its own (absent: an empty one).</summary>
    public ConfigReader Section(string key)
    {
        _read.Add(key);
        if (!_config.HasPath(key)) return new ConfigReader(Config.Empty, FullKey(key), _problems);
        var value = _config.GetValue(key);
        if (!value.IsObject())
        {
            Problem(key, "must be an object { ... }");
            return new ConfigReader(Config.Empty, FullKey(key), _problems);
        }
        return Child(new ConfigReader(_config.GetConfig(key), FullKey(key), _problems));
    }

    /// <summary>A list of objects, each as a reader of its own (keys reported as key[i]).</summary>
    public IReadOnlyList<ConfigReader> Objects(string key)
    {
        if (!Present(key)) return [];
        var items = ListItems(key);
        if (items is null)
        {
            Problem(key, "must be a list [ { ... }, ... ]");
            return [];
        }
        var readers = new List<ConfigReader>();
        for (var i = 0; i < items.Count; i++)
        {
            if (!items[i].IsObject())
            {
                Problem($"{key}[{i}]", "must be an object { ... }");
                continue;
            }
            readers.Add(Child(new ConfigReader(new Config(new HoconRoot(items[i])), FullKey($"{key}[{i}]"), _problems)));
        }
        return readers;
    }

    /// <summary>
    /// The items of a list (an empty list included: Akka's HOCON does not call <c>[]</c> an array);
    /// null when the key is absent or its value is not a list. Marks the key as read.
    /// </summary>
    public IReadOnlyList<HoconValue>? ListItems(string key)
    {
        if (!Present(key)) return null;
        return ListOf(_config.GetValue(key));
    }

    /// <summary>The items of a list value (an empty list included); null when the value is not a list.</summary>
    public static IReadOnlyList<HoconValue>? ListOf(HoconValue value)
    {
        if (value.IsArray()) return value.GetArray().ToList();
        // An empty list is not an array to HOCON; written inline before a '}' it also carries the blank in between.
        var parts = value.Values.Where(v => v is not HoconLiteral { Value: var text } || !string.IsNullOrWhiteSpace(text)).ToList();
        return parts is [HoconArray { Count: 0 }] ? [] : null;
    }

    /// <summary>The whole subtree of this reader, for components that read their own options.</summary>
    public Config Raw => _config;

    /// <summary>
    /// Reports every key in this reader's tree that no getter asked for (typos, stray text);
    /// sections and list items read through child readers are checked by those readers.
    /// </summary>
    public void ReportUnknownKeys()
    {
        if (!_config.IsEmpty)
        {
            foreach (var key in LeafKeys(_config.Root, ""))
            {
                if (_read.Contains(key) || _read.Any(r => key.StartsWith(r + ".", StringComparison.Ordinal))) continue;
                Problem(key, "is not a known setting (misspelt?)");
            }
        }
        foreach (var child in _children) child.ReportUnknownKeys();
    }

    private ConfigReader Child(ConfigReader child)
    {
        _children.Add(child);
        return child;
    }

    private static IEnumerable<string> LeafKeys(HoconValue value, string path)
    {
        if (!value.IsObject())
        {
            yield return path;
            yield break;
        }
        foreach (var (name, child) in value.GetObject().Items)
        {
            var childPath = path.Length == 0 ? name : $"{path}.{name}";
            foreach (var leaf in LeafKeys(child, childPath)) yield return leaf;
        }
    }

    private bool Present(string key)
    {
        _read.Add(key);
        return _config.HasPath(key);
    }

    private long InRange(string key, long value, long min, long max, long fallback)
    {
        if (value >= min && value <= max) return value;
        Problem(key, value < min && (max == long.MaxValue || max == int.MaxValue)
            ? $"must be at least {min} (got {value})"
            : $"must be between {min} and {max} (got {value})");
        return fallback;
    }

    /// <summary>A bound as the configuration writes durations (<c>500ms</c>, <c>10s</c>, <c>2m</c>, <c>1h</c>), not as <c>00:00:10</c>.</summary>
    private static string Describe(TimeSpan? span) => span switch
    {
        null => "unbounded",
        { } s when s.Ticks % TimeSpan.TicksPerSecond != 0 => s.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms",
        { } s when s.Ticks % TimeSpan.TicksPerMinute != 0 || s == TimeSpan.Zero => s.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + "s",
        { } s when s.Ticks % TimeSpan.TicksPerHour != 0 => s.TotalMinutes.ToString("0", CultureInfo.InvariantCulture) + "m",
        { } s => s.TotalHours.ToString("0", CultureInfo.InvariantCulture) + "h",
    };
}
