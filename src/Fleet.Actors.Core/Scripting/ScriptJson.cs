using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fleet.Actors.Core.Scripting;

/// <summary>
/// Writes scripts in the documented JSON form (docs/scripting.md) that
/// <see cref="ScriptParser.ParseJson"/> reads back to an equal model: durations in a unit the parser
/// reads to the same tick, priorities by name when they have one, every key the parser knows and
/// no other. The script store persists scripts in this form.
/// </summary>
/// <remarks>
/// Values that no script document can hold (NaN or infinite numbers, negative durations) throw an
/// <see cref="ArgumentException"/>; parsed scripts never contain them.
/// </remarks>
public static partial class ScriptJson
{
    // Relaxed escaping keeps operators (">") and non-ASCII names readable; the text is never embedded in HTML.
    private static readonly Context Compact = new(new JsonSerializerOptions(Context.Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    private static readonly Context Indented = new(new JsonSerializerOptions(Compact.Options) { WriteIndented = true });

    /// <summary>One script object, <c>{ "id": ..., "actions": [...] }</c>.</summary>
    public static string Write(ScriptDefinition script, bool indented = false) =>
        Encoding.UTF8.GetString(WriteUtf8(script, indented));

    /// <summary>A whole document: <c>limits</c> (all five) and <c>scripts</c>.</summary>
    public static string Write(ScriptDocument document, bool indented = false)
    {
        var l = document.Limits;
        var limits = new LimitsJson(FormatDuration(l.MaxExecutionTime), l.MaxActionsPerRun, l.MaxCallDepth, FormatDuration(l.MaxDelay), l.MaxRunsPerMinute);
        return JsonSerializer.Serialize(new DocumentJson(limits, document.Scripts.Select(ToJson).ToList()), Forms(indented).DocumentJson);
    }

    /// <summary>One script object as UTF-8.</summary>
    internal static byte[] WriteUtf8(ScriptDefinition script, bool indented = false) =>
        JsonSerializer.SerializeToUtf8Bytes(ToJson(script), Forms(indented).DefinitionJson);

    /// <summary><c>{ "scripts": [...] }</c> without limits, as UTF-8 (the store's snapshot body).</summary>
    internal static byte[] WriteScripts(IEnumerable<ScriptDefinition> scripts) =>
        JsonSerializer.SerializeToUtf8Bytes(new DocumentJson(null, scripts.Select(ToJson).ToList()), Compact.DocumentJson);

    /// <summary>
    /// Why <paramref name="script"/> would not read back equal after writing, or null when it does:
    /// the store refuses such a script instead of persisting something it cannot replay.
    /// </summary>
    internal static string? StorageProblem(ScriptDefinition script)
    {
        string json;
        try
        {
            json = Write(script);
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }
        var (read, problems) = ScriptParser.ParseStoredScript(json);
        if (read is null) return string.Join("; ", problems.Select(p => p.Key.Length == 0 ? p.Problem : $"{p.Key}: {p.Problem}"));
        return read == script ? null : "it does not read back equal from JSON (a value outside what a script document can hold)";
    }

    /// <summary>
    /// A duration as the parser reads it: the largest whole unit (<c>2h</c>, <c>90s</c>,
    /// <c>1500ms</c>), else fractional milliseconds that read back to the same tick.
    /// </summary>
    internal static string FormatDuration(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero) throw new ArgumentException($"a duration cannot be negative (got {duration})", nameof(duration));
        var ticks = duration.Ticks;
        if (ticks == 0) return "0ms";
        if (ticks % TimeSpan.TicksPerHour == 0) return Invariant(ticks / TimeSpan.TicksPerHour) + "h";
        if (ticks % TimeSpan.TicksPerMinute == 0) return Invariant(ticks / TimeSpan.TicksPerMinute) + "m";
        if (ticks % TimeSpan.TicksPerSecond == 0) return Invariant(ticks / TimeSpan.TicksPerSecond) + "s";
        if (ticks % TimeSpan.TicksPerMillisecond == 0) return Invariant(ticks / TimeSpan.TicksPerMillisecond) + "ms";
        // The parser turns decimal milliseconds into a double and truncates to ticks, so the exact
        // decimal can land one tick short (0.0003 ms gives 2 ticks). The middle of the tick cannot.
        var exact = (ticks / (decimal)TimeSpan.TicksPerMillisecond).ToString(CultureInfo.InvariantCulture);
        if (ReadsBackAs(exact, ticks)) return exact + "ms";
        return ((2m * ticks + 1) / (2 * TimeSpan.TicksPerMillisecond)).ToString(CultureInfo.InvariantCulture) + "ms";
    }

    private static bool ReadsBackAs(string milliseconds, long ticks) =>
        ScriptParser.DurationOf(double.Parse(milliseconds, NumberStyles.Float, CultureInfo.InvariantCulture), "ms").Ticks == ticks;

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static Context Forms(bool indented) => indented ? Indented : Compact;

    private static DefinitionJson ToJson(ScriptDefinition s) => new(s.Id, s.Name,
        Enum.IsDefined(s.Priority) ? s.Priority.ToString().ToLowerInvariant() : (byte)s.Priority, s.Enabled,
        s.Triggers.Count > 0 ? s.Triggers.Select(ToJson).ToList() : null,
        s.Conditions.Count > 0 ? s.Conditions.Select(ToJson).ToList() : null,
        s.Actions.Select(ToJson).ToList());

    private static TriggerJson ToJson(ScriptTrigger trigger) => trigger switch
    {
        IntervalTrigger t => new IntervalJson(FormatDuration(t.Every)),
        ThresholdTrigger t => new ThresholdJson(t.Reading, t.Operator.Symbol(), Finite("value", t.Value), Finite("hysteresis", t.Hysteresis)),
        GpioEdgeTrigger t => new GpioEdgeJson(t.Line, t.Edge.ToString().ToLowerInvariant()),
        AlertTrigger t => new AlertJson(t.Alert),
        _ => throw new ArgumentException($"{trigger.GetType().Name} has no JSON form", nameof(trigger)),
    };

    private static ConditionJson ToJson(ScriptCondition condition) => condition switch
    {
        CompareCondition { Right: ConstantOperand constant } c => new ConditionJson(c.Reading, c.Operator.Symbol(), Value: Finite("value", constant.Value)),
        CompareCondition { Right: ReadingOperand other } c => new ConditionJson(c.Reading, c.Operator.Symbol(), Other: other.Reading),
        AllCondition all => new ConditionJson(All: all.Conditions.Select(ToJson).ToList()),
        AnyCondition any => new ConditionJson(Any: any.Conditions.Select(ToJson).ToList()),
        NotCondition not => new ConditionJson(Not: ToJson(not.Condition)),
        _ => throw new ArgumentException($"{condition.GetType().Name} has no JSON form", nameof(condition)),
    };

    private static ActionJson ToJson(ScriptAction action) => action switch
    {
        GpioWriteAction a => new GpioWriteJson(a.Line, a.Level),
        ModbusWriteRegisterAction a => new ModbusWriteRegisterJson(a.Device, a.Address, a.Value),
        ModbusWriteCoilAction a => new ModbusWriteCoilJson(a.Device, a.Address, a.Value),
        DelayAction a => new DelayJson(FormatDuration(a.Duration)),
        PublishAction a => new PublishJson(a.Topic, a.Payload),
        RaiseAlertAction a => new RaiseAlertJson(a.Name, a.Severity.ToString().ToLowerInvariant()),
        CallScriptAction a => new CallScriptJson(a.ScriptId),
        _ => throw new ArgumentException($"{action.GetType().Name} has no JSON form", nameof(action)),
    };

    private static double Finite(string key, double value) => double.IsFinite(value) ? value
        : throw new ArgumentException($"{key} must be a finite number (got {value.ToString(CultureInfo.InvariantCulture)})", nameof(value));

    // The JSON forms: members in order, named in kebab case; null members are left out.
    private sealed record DocumentJson(LimitsJson? Limits, IReadOnlyList<DefinitionJson> Scripts);

    private sealed record LimitsJson(string MaxExecutionTime, int MaxActionsPerRun, int MaxCallDepth, string MaxDelay, int MaxRunsPerMinute);

    // Priority: its name, or the number when it has none.
    private sealed record DefinitionJson(string Id, string Name, object Priority, bool Enabled, IReadOnlyList<TriggerJson>? Triggers,
        IReadOnlyList<ConditionJson>? Conditions, IReadOnlyList<ActionJson> Actions);

    [JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
    [JsonDerivedType(typeof(IntervalJson), "interval")]
    [JsonDerivedType(typeof(ThresholdJson), "threshold")]
    [JsonDerivedType(typeof(GpioEdgeJson), "gpio-edge")]
    [JsonDerivedType(typeof(AlertJson), "alert")]
    private abstract record TriggerJson;

    private sealed record IntervalJson(string Every) : TriggerJson;

    private sealed record ThresholdJson(string Reading, string Op, double Value, double Hysteresis) : TriggerJson;

    private sealed record GpioEdgeJson(int Line, string Edge) : TriggerJson;

    private sealed record AlertJson(string Alert) : TriggerJson;

    // A comparison (reading, op, and value or other) or one of all, any, not.
    private sealed record ConditionJson(string? Reading = null, string? Op = null, double? Value = null, string? Other = null,
        IReadOnlyList<ConditionJson>? All = null, IReadOnlyList<ConditionJson>? Any = null, ConditionJson? Not = null);

    [JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
    [JsonDerivedType(typeof(GpioWriteJson), "gpio-write")]
    [JsonDerivedType(typeof(ModbusWriteRegisterJson), "modbus-write-register")]
    [JsonDerivedType(typeof(ModbusWriteCoilJson), "modbus-write-coil")]
    [JsonDerivedType(typeof(DelayJson), "delay")]
    [JsonDerivedType(typeof(PublishJson), "publish")]
    [JsonDerivedType(typeof(RaiseAlertJson), "raise-alert")]
    [JsonDerivedType(typeof(CallScriptJson), "call-script")]
    private abstract record ActionJson;

    private sealed record GpioWriteJson(int Line, int Level) : ActionJson;

    private sealed record ModbusWriteRegisterJson(string Device, int Address, int Value) : ActionJson;

    private sealed record ModbusWriteCoilJson(string Device, int Address, bool Value) : ActionJson;

    private sealed record DelayJson(string Duration) : ActionJson;

    private sealed record PublishJson(string Topic, string Payload) : ActionJson;

    private sealed record RaiseAlertJson(string Name, string Severity) : ActionJson;

    private sealed record CallScriptJson(string Script) : ActionJson;

    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.KebabCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
    [JsonSerializable(typeof(DocumentJson))]
    [JsonSerializable(typeof(DefinitionJson))]
    [JsonSerializable(typeof(string))]
    [JsonSerializable(typeof(byte))]
    private sealed partial class Context : JsonSerializerContext;
}
