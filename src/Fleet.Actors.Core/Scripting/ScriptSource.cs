using System.Text.Json;
using Fleet.Actors.Core.Configuration;

namespace Fleet.Actors.Core.Scripting;

/// <summary>
/// One object of a script document, whatever its syntax: the parser reads scripts through this so
/// that JSON and HOCON give the same model and the same error paths (<c>scripts[2].actions[1].level</c>).
/// Scalars come back as text; the parser converts and range-checks them once for both syntaxes.
/// </summary>
internal interface IScriptSource
{
    /// <summary>The full path of a key of this object.</summary>
    string FullKey(string key);

    /// <summary>True when the key is present.</summary>
    bool Has(string key);

    /// <summary>A scalar as text, or null when absent (a list or object is reported as a problem).</summary>
    string? String(string key);

    /// <summary>A nested object (absent: an empty one).</summary>
    IScriptSource Section(string key);

    /// <summary>A list of objects (absent: empty).</summary>
    IReadOnlyList<IScriptSource> Objects(string key);

    /// <summary>Records a problem with a key of this object.</summary>
    void Problem(string key, string problem);

    /// <summary>True when a problem with this key of this object was recorded.</summary>
    bool HasProblem(string key);

    /// <summary>Reports keys of this object and its children that nothing read.</summary>
    void ReportUnknownKeys();
}

/// <summary>HOCON through <see cref="ConfigReader"/>, which already tracks paths and unread keys.</summary>
internal sealed class HoconScriptSource(ConfigReader reader) : IScriptSource
{
    public string FullKey(string key) => reader.FullKey(key);

    public bool Has(string key) => reader.Has(key);

    public string? String(string key) => reader.String(key);

    public IScriptSource Section(string key) => new HoconScriptSource(reader.Section(key));

    public IReadOnlyList<IScriptSource> Objects(string key) =>
        reader.Objects(key).Select(r => (IScriptSource)new HoconScriptSource(r)).ToList();

    public void Problem(string key, string problem) => reader.Problem(key, problem);

    public bool HasProblem(string key) => reader.Problems.Any(p => p.Key == reader.FullKey(key));

    public void ReportUnknownKeys() => reader.ReportUnknownKeys();
}

/// <summary>JSON through <see cref="JsonElement"/>, with the same paths and messages as <see cref="ConfigReader"/>.</summary>
internal sealed class JsonScriptSource : IScriptSource
{
    private readonly JsonElement _element;
    private readonly string _prefix;
    private readonly List<SettingsProblem> _problems;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);
    private readonly List<JsonScriptSource> _children = new();

    public JsonScriptSource(JsonElement element, string prefix, List<SettingsProblem> problems)
    {
        _element = element;
        _prefix = prefix;
        _problems = problems;
    }

    public string FullKey(string key) => _prefix.Length == 0 ? key : $"{_prefix}.{key}";

    public bool Has(string key)
    {
        _read.Add(key);
        return TryGet(key, out _);
    }

    public string? String(string key)
    {
        _read.Add(key);
        if (!TryGet(key, out var value)) return null;
        switch (value.ValueKind)
        {
            case JsonValueKind.String: return value.GetString();
            case JsonValueKind.Number: return value.GetRawText();
            case JsonValueKind.True: return "true";
            case JsonValueKind.False: return "false";
            case JsonValueKind.Null: return null;
            default:
                Problem(key, "must be a single value, not an object or a list");
                return null;
        }
    }

    public IScriptSource Section(string key)
    {
        _read.Add(key);
        if (!TryGet(key, out var value)) return Empty(FullKey(key));
        if (value.ValueKind != JsonValueKind.Object)
        {
            Problem(key, "must be an object { ... }");
            return Empty(FullKey(key));
        }
        return Child(value, FullKey(key));
    }

    public IReadOnlyList<IScriptSource> Objects(string key)
    {
        _read.Add(key);
        if (!TryGet(key, out var value)) return [];
        if (value.ValueKind != JsonValueKind.Array)
        {
            Problem(key, "must be a list [ { ... }, ... ]");
            return [];
        }
        var sources = new List<IScriptSource>();
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) Problem($"{key}[{i}]", "must be an object { ... }");
            else sources.Add(Child(item, FullKey($"{key}[{i}]")));
            i++;
        }
        return sources;
    }

    public void Problem(string key, string problem) => _problems.Add(new SettingsProblem(FullKey(key), problem));

    public bool HasProblem(string key) => _problems.Any(p => p.Key == FullKey(key));

    public void ReportUnknownKeys()
    {
        if (_element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in _element.EnumerateObject())
            {
                if (!_read.Contains(property.Name)) Problem(property.Name, "is not a known setting (misspelt?)");
            }
        }
        foreach (var child in _children) child.ReportUnknownKeys();
    }

    private bool TryGet(string key, out JsonElement value)
    {
        value = default;
        return _element.ValueKind == JsonValueKind.Object && _element.TryGetProperty(key, out value);
    }

    private JsonScriptSource Empty(string prefix) => new(default, prefix, _problems);

    private JsonScriptSource Child(JsonElement element, string prefix)
    {
        var child = new JsonScriptSource(element, prefix, _problems);
        _children.Add(child);
        return child;
    }
}
