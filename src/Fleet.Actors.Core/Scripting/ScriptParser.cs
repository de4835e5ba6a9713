using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.Configuration;
using Fleet.Actors.Core.Configuration;

namespace Fleet.Actors.Core.Scripting;

/// <summary>
/// The outcome of parsing a script document: the document when there is no problem, otherwise
/// every problem found, each naming the path of the bad element (<c>scripts[2].actions[1].level</c>).
/// </summary>
public sealed record ScriptParseResult(ScriptDocument? Document, IReadOnlyList<SettingsProblem> Problems)
{
    /// <summary>True when the document parsed without problems.</summary>
    public bool IsValid => Document is not null;

    /// <summary>The problems as <c>path: what is wrong</c> lines.</summary>
    public IEnumerable<string> Errors => Problems.Select(p => $"{p.Key}: {p.Problem}");
}

/// <summary>
/// Checks what a parsed trigger or action refers to against what else is configured (GPIO lines,
/// PLCs). Each problem is (key of the element, what is wrong), e.g. <c>("line", "no GPIO line on pin 5 is configured")</c>.
/// </summary>
public interface IScriptReferences
{
    /// <summary>The problems of a trigger's references.</summary>
    IEnumerable<(string Key, string Problem)> Check(ScriptTrigger trigger);

    /// <summary>The problems of an action's references.</summary>
    IEnumerable<(string Key, string Problem)> Check(ScriptAction action);
}

/// <summary>
/// Parses scripts from JSON or HOCON into one model. A document has an optional <c>limits</c>
/// object and a <c>scripts</c> list; docs/scripting.md shows both syntaxes.
/// </summary>
public static partial class ScriptParser
{
    private const int MaxConditionNesting = 16;

    /// <summary>Parses a JSON document. <paramref name="knownScriptIds"/> may be called besides the document's own.</summary>
    public static ScriptParseResult ParseJson(string json, IEnumerable<string>? knownScriptIds = null)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            return new ScriptParseResult(null, [new SettingsProblem("", $"is not valid JSON: {ex.Message}")]);
        }
        using (document)
        {
            var problems = new List<SettingsProblem>();
            return Parse(new JsonScriptSource(document.RootElement, "", problems), () => problems, knownScriptIds);
        }
    }

    /// <summary>Parses a HOCON document.</summary>
    public static ScriptParseResult ParseHocon(string hocon, IEnumerable<string>? knownScriptIds = null)
    {
        Config config;
        try
        {
            config = ConfigurationFactory.ParseString(hocon);
        }
        catch (Exception ex) when (ex is ConfigurationException or FormatException or InvalidOperationException)
        {
            return new ScriptParseResult(null, [new SettingsProblem("", $"is not valid HOCON: {ex.Message}")]);
        }
        return FromConfig(config, "", knownScriptIds);
    }

    /// <summary>Parses scripts from a section of the agent's configuration; paths start with <paramref name="prefix"/>.</summary>
    public static ScriptParseResult FromConfig(Config config, string prefix = "", IEnumerable<string>? knownScriptIds = null)
    {
        var reader = new ConfigReader(config, prefix);
        return Parse(new HoconScriptSource(reader), () => reader.Problems, knownScriptIds);
    }

    /// <summary>
    /// Parses the scripts of a section that the caller reads as part of a larger tree (the agent's
    /// <c>fleet.scripting</c>): problems go to <paramref name="reader"/>, and unknown keys are
    /// reported by the caller with the rest of its tree. The result holds only this section's problems.
    /// <paramref name="references"/> checks every trigger and action that parsed, also when others did
    /// not, so that one pass reports every problem; a key that already has a problem is not checked again.
    /// </summary>
    public static ScriptParseResult FromReader(ConfigReader reader, IEnumerable<string>? knownScriptIds = null, IScriptReferences? references = null)
    {
        var before = reader.Problems.Count;
        return Parse(new HoconScriptSource(reader), () => reader.Problems.Skip(before).ToList(), knownScriptIds, reportUnknownKeys: false, references);
    }

    private static ScriptParseResult Parse(IScriptSource root, Func<IReadOnlyList<SettingsProblem>> problems, IEnumerable<string>? knownScriptIds,
        bool reportUnknownKeys = true, IScriptReferences? references = null)
    {
        var limits = ParseLimits(root.Section("limits"));
        var calls = new List<(IScriptSource Source, string ScriptId)>();
        var scripts = new List<ScriptDefinition>();
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in root.Objects("scripts"))
        {
            var script = ParseScript(source, calls, references);
            if (script.Id.Length == 0) continue;
            if (!ids.TryAdd(script.Id, source.FullKey("id"))) source.Problem("id", $"duplicate id \"{script.Id}\" (also {ids[script.Id]})");
            scripts.Add(script);
        }
        var known = new HashSet<string>(ids.Keys, StringComparer.Ordinal);
        if (knownScriptIds is not null) known.UnionWith(knownScriptIds);
        foreach (var (source, id) in calls)
        {
            if (id.Length > 0 && !known.Contains(id)) source.Problem("script", $"calls unknown script \"{id}\"");
        }
        if (reportUnknownKeys) root.ReportUnknownKeys();
        var found = problems();
        return found.Count == 0
            ? new ScriptParseResult(new ScriptDocument(limits, scripts.ToValueArray()), [])
            : new ScriptParseResult(null, found.ToList());
    }

    /// <summary>
    /// Reads one script object as the script store wrote it (<see cref="ScriptJson.Write(ScriptDefinition, bool)"/>).
    /// Call targets are not checked: the store checked them against the installed scripts when it
    /// accepted the script. Problem paths are relative to the object (<c>actions[1].level</c>).
    /// </summary>
    internal static (ScriptDefinition? Script, IReadOnlyList<SettingsProblem> Problems) ParseStoredScript(string json) =>
        ParseStored(json, root =>
        {
            var script = ParseScript(root, []);
            return script.Id.Length == 0 ? null : script;
        });

    /// <summary>
    /// Reads a <c>scripts</c> list as the script store wrote it in a snapshot
    /// (<see cref="ScriptJson.WriteScripts"/>): no limits, call targets not checked, ids unique.
    /// </summary>
    internal static (IReadOnlyList<ScriptDefinition>? Scripts, IReadOnlyList<SettingsProblem> Problems) ParseStoredScripts(string json) =>
        ParseStored(json, root =>
        {
            var scripts = new List<ScriptDefinition>();
            var ids = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var source in root.Objects("scripts"))
            {
                var script = ParseScript(source, []);
                if (script.Id.Length > 0 && !ids.TryAdd(script.Id, source.FullKey("id"))) source.Problem("id", $"duplicate id \"{script.Id}\" (also {ids[script.Id]})");
                scripts.Add(script);
            }
            return (IReadOnlyList<ScriptDefinition>)scripts;
        });

    private static (T? Value, IReadOnlyList<SettingsProblem> Problems) ParseStored<T>(string json, Func<IScriptSource, T?> parse) where T : class
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            return (null, [new SettingsProblem("", $"is not valid JSON: {ex.Message}")]);
        }
        using (document)
        {
            var problems = new List<SettingsProblem>();
            if (document.RootElement.ValueKind != JsonValueKind.Object) problems.Add(new SettingsProblem("", "must be an object { ... }"));
            var root = new JsonScriptSource(document.RootElement, "", problems);
            var value = parse(root);
            root.ReportUnknownKeys();
            return problems.Count == 0 ? (value, []) : (null, problems);
        }
    }

    private static ScriptLimits ParseLimits(IScriptSource s)
    {
        var d = ScriptLimits.Default;
        return new ScriptLimits(
            Duration(s, "max-execution-time", d.MaxExecutionTime, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)),
            Int(s, "max-actions-per-run", d.MaxActionsPerRun, 1, 10_000),
            Int(s, "max-call-depth", d.MaxCallDepth, 0, 100),
            Duration(s, "max-delay", d.MaxDelay, TimeSpan.Zero, TimeSpan.FromHours(1)),
            Int(s, "max-runs-per-minute", d.MaxRunsPerMinute, 1, 100_000));
    }

    private static ScriptDefinition ParseScript(IScriptSource s, List<(IScriptSource, string)> calls, IScriptReferences? references = null)
    {
        var id = Required(s, "id");
        if (id.Length > 0 && !IdPattern().IsMatch(id)) s.Problem("id", $"must be 1 to 64 letters, digits, '-', '_' or '.' (got \"{id}\")");
        var name = s.String("name") ?? id;
        var priority = Priority(s, "priority");
        var enabled = Bool(s, "enabled", true);
        var triggers = s.Objects("triggers")
            .Select(t => Checked(t, ParseTrigger(t), trigger => references?.Check(trigger)))
            .OfType<ScriptTrigger>().ToValueArray();
        var conditions = s.Objects("conditions").Select(c => ParseCondition(c, 0)).OfType<ScriptCondition>().ToValueArray();
        var actionSources = s.Objects("actions");
        if (!s.Has("actions")) s.Problem("actions", "is required (a list of at least one action)");
        else if (actionSources.Count == 0) s.Problem("actions", "must have at least one action (a script that does nothing is a mistake)");
        var actions = actionSources
            .Select(a => Checked(a, ParseAction(a, calls), action => references?.Check(action)))
            .OfType<ScriptAction>().ToValueArray();
        return new ScriptDefinition(id, name, priority, enabled, triggers, conditions, actions);
    }

    /// <summary>Reports the reference problems of a parsed element, except on keys that already have one.</summary>
    private static T? Checked<T>(IScriptSource s, T? element, Func<T, IEnumerable<(string Key, string Problem)>?> check) where T : class
    {
        if (element is null) return null;
        foreach (var (key, problem) in check(element) ?? [])
        {
            if (!s.HasProblem(key)) s.Problem(key, problem);
        }
        return element;
    }

    private static ScriptTrigger? ParseTrigger(IScriptSource s)
    {
        switch (Required(s, "type"))
        {
            case "interval":
                return new IntervalTrigger(RequiredDuration(s, "every", TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1)));
            case "threshold":
                return new ThresholdTrigger(Required(s, "reading"), Operator(s, "op"), RequiredNumber(s, "value"),
                    Number(s, "hysteresis", 0, 0));
            case "gpio-edge":
                return new GpioEdgeTrigger(RequiredInt(s, "line", 0, 1023), Enum(s, "edge", GpioEdge.Both));
            case "alert":
                return new AlertTrigger(Required(s, "alert"));
            case "":
                return null;
            case var other:
                s.Problem("type", $"must be one of interval, threshold, gpio-edge, alert (got \"{other}\")");
                return null;
        }
    }

    private static ScriptCondition? ParseCondition(IScriptSource s, int nesting)
    {
        if (nesting > MaxConditionNesting)
        {
            s.Problem("not", $"conditions may nest at most {MaxConditionNesting} deep");
            return null;
        }
        string[] kinds = ["all", "any", "not", "reading"];
        var present = kinds.Where(s.Has).ToList();
        if (present.Count != 1)
        {
            s.Problem(present.Count == 0 ? "reading" : present[1], "a condition needs exactly one of all, any, not or reading");
            return null;
        }
        switch (present[0])
        {
            case "all" or "any":
                var inner = s.Objects(present[0]).Select(c => ParseCondition(c, nesting + 1)).OfType<ScriptCondition>().ToValueArray();
                if (inner.Count == 0) s.Problem(present[0], "must list at least one condition");
                return present[0] == "all" ? new AllCondition(inner) : new AnyCondition(inner);
            case "not":
                return ParseCondition(s.Section("not"), nesting + 1) is { } negated ? new NotCondition(negated) : null;
            default:
                var reading = Required(s, "reading");
                var op = Operator(s, "op");
                if (s.Has("value") == s.Has("other"))
                {
                    s.Problem("value", "a comparison needs exactly one of value (a number) or other (a reading name)");
                    return null;
                }
                Operand right = s.Has("value") ? new ConstantOperand(RequiredNumber(s, "value")) : new ReadingOperand(Required(s, "other"));
                return new CompareCondition(reading, op, right);
        }
    }

    private static ScriptAction? ParseAction(IScriptSource s, List<(IScriptSource, string)> calls)
    {
        switch (Required(s, "type"))
        {
            case "gpio-write":
                var line = RequiredInt(s, "line", 0, 1023);
                var level = s.String("level");
                if (level is not ("0" or "1")) s.Problem("level", level is null ? "is required (0 or 1)" : $"must be 0 or 1 (got \"{level}\")");
                return new GpioWriteAction(line, level == "1" ? 1 : 0);
            case "modbus-write-register":
                return new ModbusWriteRegisterAction(Required(s, "device"), RequiredInt(s, "address", 0, 65535), RequiredInt(s, "value", 0, 65535));
            case "modbus-write-coil":
                var device = Required(s, "device");
                var address = RequiredInt(s, "address", 0, 65535);
                if (!s.Has("value")) s.Problem("value", "is required (true or false)");
                return new ModbusWriteCoilAction(device, address, Bool(s, "value", false));
            case "delay":
                return new DelayAction(RequiredDuration(s, "duration", TimeSpan.Zero, TimeSpan.FromDays(1)));
            case "publish":
                return new PublishAction(Required(s, "topic"), s.String("payload") ?? "");
            case "raise-alert":
                return new RaiseAlertAction(Required(s, "name"), Enum(s, "severity", ScriptAlertSeverity.Warning));
            case "call-script":
                var id = Required(s, "script");
                calls.Add((s, id));
                return new CallScriptAction(id);
            case "":
                return null;
            case var other:
                s.Problem("type", $"must be one of gpio-write, modbus-write-register, modbus-write-coil, delay, publish, raise-alert, call-script (got \"{other}\")");
                return null;
        }
    }

    private static string Required(IScriptSource s, string key)
    {
        var value = s.String(key);
        if (string.IsNullOrWhiteSpace(value))
        {
            s.Problem(key, "is required");
            return "";
        }
        return value;
    }

    private static int RequiredInt(IScriptSource s, string key, int min, int max)
    {
        if (!s.Has(key)) s.Problem(key, $"is required (a whole number from {min} to {max})");
        return Int(s, key, min, min, max);
    }

    private static int Int(IScriptSource s, string key, int fallback, int min, int max)
    {
        var text = s.String(key);
        if (text is null) return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            s.Problem(key, $"must be a whole number (got \"{text}\")");
            return fallback;
        }
        if (value < min || value > max)
        {
            s.Problem(key, $"must be between {min} and {max} (got {value})");
            return fallback;
        }
        return value;
    }

    private static double RequiredNumber(IScriptSource s, string key)
    {
        if (!s.Has(key)) s.Problem(key, "is required (a number)");
        return Number(s, key, 0, double.MinValue);
    }

    private static double Number(IScriptSource s, string key, double fallback, double min)
    {
        var text = s.String(key);
        if (text is null) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            s.Problem(key, $"must be a number (got \"{text}\")");
            return fallback;
        }
        if (value < min)
        {
            s.Problem(key, $"must be at least {min.ToString(CultureInfo.InvariantCulture)} (got {text})");
            return fallback;
        }
        return value;
    }

    private static bool Bool(IScriptSource s, string key, bool fallback)
    {
        var text = s.String(key);
        if (text is null) return fallback;
        switch (text.Trim().ToLowerInvariant())
        {
            case "true" or "on" or "yes" or "1": return true;
            case "false" or "off" or "no" or "0": return false;
            default:
                s.Problem(key, $"must be true or false (got \"{text}\")");
                return fallback;
        }
    }

    private static TimeSpan RequiredDuration(IScriptSource s, string key, TimeSpan min, TimeSpan max)
    {
        if (!s.Has(key)) s.Problem(key, "is required (a duration such as 500ms, 5s or 2m)");
        return Duration(s, key, min, min, max);
    }

    private static TimeSpan Duration(IScriptSource s, string key, TimeSpan fallback, TimeSpan min, TimeSpan max)
    {
        var text = s.String(key);
        if (text is null) return fallback;
        var match = DurationPattern().Match(text.Trim());
        if (!match.Success || !double.TryParse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
        {
            s.Problem(key, $"must be a duration such as 500ms, 5s or 2m (got \"{text}\")");
            return fallback;
        }
        var value = DurationOf(amount, match.Groups[2].Value);
        if (value < min || value > max)
        {
            s.Problem(key, $"must be between {min} and {max} (got {text})");
            return fallback;
        }
        return value;
    }

    /// <summary>
    /// The duration of an amount in a unit, as the parser reads it (shared with <see cref="ScriptJson"/>,
    /// which writes durations in a form that reads back to the same tick).
    /// </summary>
    internal static TimeSpan DurationOf(double amount, string unit) => unit switch
    {
        "ms" => TimeSpan.FromMilliseconds(amount),
        "s" => TimeSpan.FromSeconds(amount),
        "m" => TimeSpan.FromMinutes(amount),
        _ => TimeSpan.FromHours(amount),
    };

    private static ScriptPriority Priority(IScriptSource s, string key)
    {
        var text = s.String(key);
        if (text is null) return ScriptPriority.Normal;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) && number is >= 0 and <= 255)
            return (ScriptPriority)number;
        var name = System.Enum.GetNames<ScriptPriority>().FirstOrDefault(n => n.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase));
        if (name is not null) return System.Enum.Parse<ScriptPriority>(name);
        s.Problem(key, $"must be low, normal, high, critical, emergency or a number from 0 to 255 (got \"{text}\")");
        return ScriptPriority.Normal;
    }

    private static ComparisonOperator Operator(IScriptSource s, string key)
    {
        var text = s.String(key);
        ComparisonOperator? op = text?.Trim() switch
        {
            ">" or "gt" => ComparisonOperator.GreaterThan,
            ">=" or "ge" => ComparisonOperator.GreaterOrEqual,
            "<" or "lt" => ComparisonOperator.LessThan,
            "<=" or "le" => ComparisonOperator.LessOrEqual,
            "==" or "eq" => ComparisonOperator.Equal,
            "!=" or "ne" => ComparisonOperator.NotEqual,
            _ => null,
        };
        if (op is null) s.Problem(key, text is null ? "is required (>, >=, <, <=, == or !=)" : $"must be one of >, >=, <, <=, ==, != (got \"{text}\")");
        return op ?? ComparisonOperator.GreaterThan;
    }

    private static T Enum<T>(IScriptSource s, string key, T fallback) where T : struct, System.Enum
    {
        var text = s.String(key);
        if (text is null) return fallback;
        var name = System.Enum.GetNames<T>().FirstOrDefault(n => n.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase));
        if (name is not null) return System.Enum.Parse<T>(name);
        s.Problem(key, $"must be one of {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))} (got \"{text}\")");
        return fallback;
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)$")]
    private static partial Regex DurationPattern();
}
