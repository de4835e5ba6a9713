using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Fleet.Actors.Core.Tests.Scripting;
using Fleet.Actors.Core.Scripting;

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
internal static class ScriptJsonOld
{
    /// <summary>One script object, <c>{ "id": ..., "actions": [...] }</c>.</summary>
    public static string Write(ScriptDefinition script, bool indented = false) =>
        Encoding.UTF8.GetString(WriteUtf8(script, indented));

    /// <summary>A whole document: <c>limits</c> (all five) and <c>scripts</c>.</summary>
    public static string Write(ScriptDocument document, bool indented = false) =>
        Encoding.UTF8.GetString(Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("limits");
            WriteLimits(w, document.Limits);
            w.WriteEndObject();
            WriteScriptList(w, document.Scripts);
            w.WriteEndObject();
        }, indented));

    /// <summary>One script object as UTF-8.</summary>
    internal static byte[] WriteUtf8(ScriptDefinition script, bool indented = false) => Write(w => WriteScript(w, script), indented);

    /// <summary><c>{ "scripts": [...] }</c> without limits, as UTF-8 (the store's snapshot body).</summary>
    internal static byte[] WriteScripts(IEnumerable<ScriptDefinition> scripts) => Write(w =>
    {
        w.WriteStartObject();
        WriteScriptList(w, scripts);
        w.WriteEndObject();
    }, indented: false);

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

    private static byte[] Write(Action<Utf8JsonWriter> write, bool indented)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        // Relaxed escaping keeps operators (">") and non-ASCII names readable; the text is never embedded in HTML.
        var options = new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using (var writer = new Utf8JsonWriter(buffer, options))
        {
            write(writer);
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteLimits(Utf8JsonWriter w, ScriptLimits limits)
    {
        w.WriteString("max-execution-time", FormatDuration(limits.MaxExecutionTime));
        w.WriteNumber("max-actions-per-run", limits.MaxActionsPerRun);
        w.WriteNumber("max-call-depth", limits.MaxCallDepth);
        w.WriteString("max-delay", FormatDuration(limits.MaxDelay));
        w.WriteNumber("max-runs-per-minute", limits.MaxRunsPerMinute);
    }

    private static void WriteScriptList(Utf8JsonWriter w, IEnumerable<ScriptDefinition> scripts)
    {
        w.WriteStartArray("scripts");
        foreach (var script in scripts) WriteScript(w, script);
        w.WriteEndArray();
    }

    private static void WriteScript(Utf8JsonWriter w, ScriptDefinition script)
    {
        w.WriteStartObject();
        w.WriteString("id", script.Id);
        w.WriteString("name", script.Name);
        if (Enum.IsDefined(script.Priority)) w.WriteString("priority", script.Priority.ToString().ToLowerInvariant());
        else w.WriteNumber("priority", (byte)script.Priority);
        w.WriteBoolean("enabled", script.Enabled);
        if (script.Triggers.Count > 0)
        {
            w.WriteStartArray("triggers");
            foreach (var trigger in script.Triggers) WriteTrigger(w, trigger);
            w.WriteEndArray();
        }
        if (script.Conditions.Count > 0)
        {
            w.WriteStartArray("conditions");
            foreach (var condition in script.Conditions) WriteCondition(w, condition);
            w.WriteEndArray();
        }
        w.WriteStartArray("actions");
        foreach (var action in script.Actions) WriteAction(w, action);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteTrigger(Utf8JsonWriter w, ScriptTrigger trigger)
    {
        w.WriteStartObject();
        switch (trigger)
        {
            case IntervalTrigger t:
                w.WriteString("type", "interval");
                w.WriteString("every", FormatDuration(t.Every));
                break;
            case ThresholdTrigger t:
                w.WriteString("type", "threshold");
                w.WriteString("reading", t.Reading);
                w.WriteString("op", t.Operator.Symbol());
                WriteNumber(w, "value", t.Value);
                WriteNumber(w, "hysteresis", t.Hysteresis);
                break;
            case GpioEdgeTrigger t:
                w.WriteString("type", "gpio-edge");
                w.WriteNumber("line", t.Line);
                w.WriteString("edge", t.Edge.ToString().ToLowerInvariant());
                break;
            case AlertTrigger t:
                w.WriteString("type", "alert");
                w.WriteString("alert", t.Alert);
                break;
            default:
                throw new ArgumentException($"{trigger.GetType().Name} has no JSON form", nameof(trigger));
        }
        w.WriteEndObject();
    }

    private static void WriteCondition(Utf8JsonWriter w, ScriptCondition condition)
    {
        w.WriteStartObject();
        switch (condition)
        {
            case CompareCondition c:
                w.WriteString("reading", c.Reading);
                w.WriteString("op", c.Operator.Symbol());
                switch (c.Right)
                {
                    case ConstantOperand constant:
                        WriteNumber(w, "value", constant.Value);
                        break;
                    case ReadingOperand other:
                        w.WriteString("other", other.Reading);
                        break;
                    default:
                        throw new ArgumentException($"{c.Right.GetType().Name} has no JSON form", nameof(condition));
                }
                break;
            case AllCondition all:
                WriteConditionList(w, "all", all.Conditions);
                break;
            case AnyCondition any:
                WriteConditionList(w, "any", any.Conditions);
                break;
            case NotCondition not:
                w.WritePropertyName("not");
                WriteCondition(w, not.Condition);
                break;
            default:
                throw new ArgumentException($"{condition.GetType().Name} has no JSON form", nameof(condition));
        }
        w.WriteEndObject();
    }

    private static void WriteConditionList(Utf8JsonWriter w, string key, ValueArray<ScriptCondition> conditions)
    {
        w.WriteStartArray(key);
        foreach (var inner in conditions) WriteCondition(w, inner);
        w.WriteEndArray();
    }

    private static void WriteAction(Utf8JsonWriter w, ScriptAction action)
    {
        w.WriteStartObject();
        switch (action)
        {
            case GpioWriteAction a:
                w.WriteString("type", "gpio-write");
                w.WriteNumber("line", a.Line);
                w.WriteNumber("level", a.Level);
                break;
            case ModbusWriteRegisterAction a:
                w.WriteString("type", "modbus-write-register");
                w.WriteString("device", a.Device);
                w.WriteNumber("address", a.Address);
                w.WriteNumber("value", a.Value);
                break;
            case ModbusWriteCoilAction a:
                w.WriteString("type", "modbus-write-coil");
                w.WriteString("device", a.Device);
                w.WriteNumber("address", a.Address);
                w.WriteBoolean("value", a.Value);
                break;
            case DelayAction a:
                w.WriteString("type", "delay");
                w.WriteString("duration", FormatDuration(a.Duration));
                break;
            case PublishAction a:
                w.WriteString("type", "publish");
                w.WriteString("topic", a.Topic);
                w.WriteString("payload", a.Payload);
                break;
            case RaiseAlertAction a:
                w.WriteString("type", "raise-alert");
                w.WriteString("name", a.Name);
                w.WriteString("severity", a.Severity.ToString().ToLowerInvariant());
                break;
            case CallScriptAction a:
                w.WriteString("type", "call-script");
                w.WriteString("script", a.ScriptId);
                break;
            default:
                throw new ArgumentException($"{action.GetType().Name} has no JSON form", nameof(action));
        }
        w.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter w, string key, double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentException($"{key} must be a finite number (got {value.ToString(CultureInfo.InvariantCulture)})", nameof(value));
        // Utf8JsonWriter writes the shortest text that parses back to the same double.
        w.WriteNumber(key, value);
    }
}
