using System.Text;

namespace Fleet.Actors.Core.Telemetry;

/// <summary>
/// Decides whether a reading is physically plausible and encodable. Device actors drop (and
/// count) what this refuses, so that garbage never gets a sequence number.
/// </summary>
public static class ReadingValidator
{
    /// <summary>Fastest plausible ground speed, m/s (about 540 km/h).</summary>
    public const double MaxSpeed = 150;

    /// <summary>Largest plausible acceleration magnitude, m/s² (16 g).</summary>
    public const double MaxAcceleration = 160;

    /// <summary>Largest plausible angular rate, degrees per second.</summary>
    public const double MaxAngularRate = 2000;

    /// <summary>Longest id, name, target, topic, source, trigger or outcome, in characters.</summary>
    public const int MaxIdLength = 256;

    /// <summary>Longest human text (alert message, run reason, write error), in characters.</summary>
    public const int MaxTextLength = 1024;

    /// <summary>Most causes one alert carries.</summary>
    public const int MaxAlertCauses = 16;

    /// <summary>Largest script message payload, in bytes of UTF-8.</summary>
    public const int MaxPayloadBytes = 64 * 1024;

    // In the order the messages list them; declared before the sets that are built from them.
    private static readonly string[] ScriptRunOutcomeNames =
        ["completed", "stopped_action_limit", "stopped_time_limit", "stopped_call_depth", "stopped_delay_too_long", "rate_limited", "failed", "cancelled"];

    private static readonly string[] ScriptWriteOutcomeNames = ["write", "won", "overridden", "lost", "duplicate", "failed", "refused"];

    /// <summary>The outcomes a <see cref="ScriptRunValue"/> may carry (docs/wire-format.md lists them for consumers).</summary>
    public static IReadOnlySet<string> ScriptRunOutcomes { get; } = new HashSet<string>(ScriptRunOutcomeNames, StringComparer.Ordinal);

    /// <summary>The outcomes a <see cref="ScriptWriteValue"/> may carry (docs/wire-format.md lists them for consumers).</summary>
    public static IReadOnlySet<string> ScriptWriteOutcomes { get; } = new HashSet<string>(ScriptWriteOutcomeNames, StringComparer.Ordinal);

    /// <summary>Returns null when the value is acceptable, otherwise why it is not.</summary>
    public static string? Validate(ReadingValue value) => value switch
    {
        PositionValue p => ValidatePosition(p),
        MeasurementValue m => string.IsNullOrWhiteSpace(m.Name) ? "measurement has no name"
            : !double.IsFinite(m.Value) ? $"measurement {m.Name} is not a finite number"
            : null,
        MotionValue m => ValidateMotion(m),
        DrivingEventValue e => string.IsNullOrWhiteSpace(e.Type) ? "driving event has no type"
            : !double.IsFinite(e.Magnitude) ? "driving event magnitude is not finite"
            : e.Duration < TimeSpan.Zero ? "driving event duration is negative"
            : null,
        StatusValue s => s.EnergyLevel is { } energy && !InRange(energy, 0, 100) ? $"energy level {energy} outside 0..100"
            : s.HealthScore is { } h && !InRange(h, 0, 100) ? $"health score {h} outside 0..100"
            : null,
        DiagnosticsValue d => ValidateDiagnostics(d),
        FaultCodesValue f => ValidateFaults(f),
        TyreValue t => t.Location is < 0 or > 255 ? $"tyre location {t.Location} outside 0..255"
            : t.Pressure is { } kpa && !InRange(kpa, 0, 2000) ? $"tyre pressure {kpa} kPa outside 0..2000"
            : t.Temperature is { } c && !InRange(c, -60, 250) ? $"tyre temperature {c} °C outside -60..250"
            : t.Pressure is null && t.Temperature is null ? "tyre sample has neither pressure nor temperature"
            : null,
        VehicleInfoValue v => string.IsNullOrWhiteSpace(v.Vin) ? "vehicle info has no VIN"
            : v.Vin.Length > 17 ? $"VIN '{v.Vin}' is longer than 17 characters"
            : null,
        AlertValue a => ValidateAlert(a),
        ScriptRunValue r => ValidateScriptRun(r),
        ScriptWriteValue w => ValidateScriptWrite(w),
        MessageValue m => ValidateMessage(m),
        GapValue g => g.FromSequence < 1 || g.ToSequence < g.FromSequence || g.Count < 0 ? "gap range is invalid" : null,
        null => "reading has no value",
        _ => $"unknown reading type {value.GetType().Name}",
    };

    private static string? ValidatePosition(PositionValue p)
    {
        if (!InRange(p.Latitude, -90, 90)) return $"latitude {p.Latitude} outside -90..90";
        if (!InRange(p.Longitude, -180, 180)) return $"longitude {p.Longitude} outside -180..180";
        if (!InRange(p.Heading, 0, 360)) return $"heading {p.Heading} outside 0..360";
        if (p.Altitude is { } alt && !InRange(alt, -1000, 20000)) return $"altitude {alt} m outside -1000..20000";
        if (p.Speed is { } v && !InRange(v, 0, MaxSpeed)) return $"speed {v} m/s outside 0..{MaxSpeed}";
        if (p.Accuracy is { } acc && !InRange(acc, 0, 100_000)) return $"accuracy {acc} m outside 0..100000";
        return null;
    }

    private static string? ValidateMotion(MotionValue m)
    {
        foreach (var a in (ReadOnlySpan<double>)[m.AccelX, m.AccelY, m.AccelZ])
            if (!InRange(a, -MaxAcceleration, MaxAcceleration)) return $"acceleration {a} m/s² outside ±{MaxAcceleration}";
        foreach (var g in (ReadOnlySpan<double?>)[m.GyroX, m.GyroY, m.GyroZ])
            if (g is { } rate && !InRange(rate, -MaxAngularRate, MaxAngularRate)) return $"angular rate {rate} °/s outside ±{MaxAngularRate}";
        return null;
    }

    private static string? ValidateDiagnostics(DiagnosticsValue d)
    {
        foreach (var pct in (ReadOnlySpan<double?>)[d.CpuUsage, d.MemoryUsage, d.DiskUsage, d.NetworkQuality])
            if (pct is { } x && !InRange(x, 0, 100)) return $"diagnostic percentage {x} outside 0..100";
        if (d.Temperature is { } t && !InRange(t, -60, 200)) return $"temperature {t} °C outside -60..200";
        if (d.Health is { } h)
        {
            foreach (var bytes in (ReadOnlySpan<long?>)[h.ProcessMemoryBytes, h.GcHeapBytes, h.DiskFreeBytes, h.UptimeSeconds, h.ProcessUptimeSeconds])
                if (bytes is < 0) return $"health value {bytes} is negative";
            if (h.ProcessCpuUsage is { } cpu && !InRange(cpu, 0, 100 * 1024)) return $"process CPU {cpu} % outside 0..{100 * 1024}";
            if (h.LoadAverage is { } load && !InRange(load, 0, 1e6)) return $"load average {load} outside 0..1000000";
            if (h.DevicesUp is < 0 || h.DevicesDown is < 0 || h.ThreadPoolQueue is < 0) return "negative device or queue count";
        }
        return null;
    }

    private static string? ValidateFaults(FaultCodesValue f)
    {
        if (string.IsNullOrWhiteSpace(f.Source)) return "fault codes have no source";
        if (f.SourceAddress is < 0 or > 255) return $"source address {f.SourceAddress} outside 0..255";
        foreach (var fault in f.Faults)
        {
            if (string.IsNullOrWhiteSpace(fault.Code)) return "fault has no code";
            if (fault.Spn is < 0 or > 0x7FFFF) return $"SPN {fault.Spn} outside 0..524287";
            if (fault.Fmi is < 0 or > 31) return $"FMI {fault.Fmi} outside 0..31";
            if (fault.Occurrences is < 0 or > 127) return $"occurrence count {fault.Occurrences} outside 0..127";
        }
        return null;
    }

    private static string? ValidateAlert(AlertValue a)
    {
        if (Id(a.Name, "alert name") is { } name) return name;
        if (a.Severity is not (AlertSeverity.Info or AlertSeverity.Warning or AlertSeverity.Critical))
            return $"alert {a.Name} has severity {a.Severity}, not Info, Warning or Critical";
        if (Text(a.Source, MaxIdLength, "alert source") is { } source) return source;
        if (Text(a.Message, MaxTextLength, "alert message") is { } message) return message;
        if (a.State is not (AlertState.Event or AlertState.Raised or AlertState.Cleared))
            return $"alert {a.Name} has state {a.State}, not Event, Raised or Cleared";
        if (a.DeviceId is not null && Id(a.DeviceId, "alert device id") is { } device) return device;
        if (a.Suppressed < 0) return $"alert {a.Name} has a negative suppressed count {a.Suppressed}";
        if (a.Causes.Count > MaxAlertCauses) return $"alert {a.Name} has {a.Causes.Count} causes, more than {MaxAlertCauses}";
        foreach (var cause in a.Causes)
        {
            if (Text(cause.DeviceId, MaxIdLength, "alert cause device id") is { } causeDevice) return causeDevice;
            if (Id(cause.Name, "alert cause name") is { } causeName) return causeName;
            if (cause.Value is { } value && !double.IsFinite(value)) return $"alert {a.Name} has a cause {cause.Name} that is not a finite number";
            if (cause.Sequence is < 1) return $"alert {a.Name} has a cause with sequence {cause.Sequence}";
            if (cause.Detail is not null && Text(cause.Detail, MaxTextLength, "alert cause detail") is { } detail) return detail;
        }
        return null;
    }

    private static string? ValidateScriptRun(ScriptRunValue r)
    {
        if (Id(r.ScriptId, "script run script id") is { } id) return id;
        if (Text(r.Trigger, MaxIdLength, "script run trigger") is { } trigger) return trigger;
        if (Outcome(r.Outcome, ScriptRunOutcomeNames, ScriptRunOutcomes, "script run") is { } outcome) return outcome;
        if (Text(r.Reason, MaxTextLength, "script run reason") is { } reason) return reason;
        if (r.Actions < 0) return $"script run of {r.ScriptId} has a negative action count {r.Actions}";
        if (r.DurationMs < 0) return $"script run of {r.ScriptId} has a negative duration {r.DurationMs} ms";
        return null;
    }

    private static string? ValidateScriptWrite(ScriptWriteValue w)
    {
        if (Id(w.Target, "script write target") is { } target) return target;
        if (Outcome(w.Outcome, ScriptWriteOutcomeNames, ScriptWriteOutcomes, "script write") is { } outcome) return outcome;
        if (Id(w.ScriptId, "script write script id") is { } id) return id;
        if (w.Priority is < 0 or > 255) return $"script write priority {w.Priority} outside 0..255";
        if (w.OtherScriptId is not null && Id(w.OtherScriptId, "script write other script id") is { } other) return other;
        if (w.OtherPriority is < 0 or > 255) return $"script write other priority {w.OtherPriority} outside 0..255";
        if (w.Error is not null && Text(w.Error, MaxTextLength, "script write error") is { } error) return error;
        var max = WriteMaximum(w.Target);
        if (w.Value < 0 || w.Value > max) return $"script write value {w.Value} for {w.Target} outside 0..{max}";
        if (w.OtherValue is { } otherValue && (otherValue < 0 || otherValue > max))
            return $"script write other value {otherValue} for {w.Target} outside 0..{max}";
        return null;
    }

    // Levels and coils are 0 or 1, holding registers 0..65535 (docs/wire-format.md, script writes).
    private static long WriteMaximum(string target) =>
        target.StartsWith("gpio:", StringComparison.Ordinal) || target.Contains(":coil:", StringComparison.Ordinal) ? 1 : ushort.MaxValue;

    private static string? ValidateMessage(MessageValue m)
    {
        if (Id(m.Topic, "message topic") is { } topic) return topic;
        if (m.Payload is null) return $"message on {m.Topic} has no payload (an empty one is fine)";
        var bytes = Encoding.UTF8.GetByteCount(m.Payload);
        return bytes > MaxPayloadBytes ? $"message payload on {m.Topic} is {bytes} bytes, more than {MaxPayloadBytes}" : null;
    }

    // Ids, names, targets and topics: required, not blank, bounded.
    private static string? Id(string? value, string what) =>
        string.IsNullOrWhiteSpace(value) ? $"{what} is empty" : Text(value, MaxIdLength, what);

    // Text that may be empty but must be there: protobuf strings cannot be null.
    private static string? Text(string? value, int max, string what) =>
        value is null ? $"{what} is missing"
        : value.Length > max ? $"{what} is {value.Length} characters long, more than {max}"
        : null;

    private static string? Outcome(string? value, string[] names, IReadOnlySet<string> known, string what) =>
        string.IsNullOrWhiteSpace(value) ? $"{what} outcome is empty"
        : !known.Contains(value) ? $"{what} outcome '{(value.Length <= 64 ? value : value[..64] + "…")}' is not one of {string.Join(", ", names)}"
        : null;

    private static bool InRange(double x, double min, double max) => double.IsFinite(x) && x >= min && x <= max;
}
