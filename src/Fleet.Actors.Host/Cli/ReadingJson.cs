using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Host.Cli;

/// <summary>
/// Readings as one-line JSON objects for <c>decode</c>: a <c>type</c> named after the wire
/// format's record body (position, measurement, tyre, fault_codes...) and its fields in SI units;
/// enumerations as the wire format spells them (<c>READY</c>, <c>WARNING</c>). Every kind of
/// reading the agent records has its own form.
/// </summary>
public static partial class ReadingJson
{
    /// <summary>One reading, with optional context fields written first (line, timestamp...).</summary>
    public static string Format(ReadingValue value, Action<Utf8JsonWriter>? context = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            context?.Invoke(json);
            // The serializer writes a whole object; its members go after the context's.
            if (ToBody(value) is { } known)
            {
                using var body = JsonSerializer.SerializeToDocument(known, Context.Default.Body);
                foreach (var member in body.RootElement.EnumerateObject()) member.WriteTo(json);
            }
            else
            {
                json.WriteString("type", value.GetType().Name);
                json.WriteString("value", value.ToString());
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string Upper(Enum value) => value.ToString().ToUpperInvariant();

    private static IReadOnlyList<T>? NonEmpty<T>(IReadOnlyList<T> list) => list.Count > 0 ? list : null;

    private static Body? ToBody(ReadingValue value) => value switch
    {
        MeasurementValue m => new Measurement(m.Name, m.Value, m.Unit),
        TyreValue t => new Tyre(t.Location, t.Pressure, t.Temperature),
        FaultCodesValue f => new FaultCodes(f.Source, f.Source == "j1939" ? f.SourceAddress : null, f.Mil,
            f.Faults.Select(c => new Fault(c.Code, c.Spn, c.Fmi, c.Occurrences)).ToList()),
        VehicleInfoValue v => new VehicleInfo(v.Vin, v.Protocol.Length > 0 ? v.Protocol : null),
        PositionValue p => new Position(p.Latitude, p.Longitude, p.Heading, p.Altitude, p.Speed, p.Accuracy),
        MotionValue m => new Motion(m.AccelX, m.AccelY, m.AccelZ, m.GyroX, m.GyroY, m.GyroZ),
        DrivingEventValue e => new DrivingEvent(e.Type, e.Magnitude, e.Duration.TotalMilliseconds),
        StatusValue s => new Status(Devices.Commands.OperationalStates.Name(s.State), s.EnergyLevel, s.HealthScore, Upper(s.Assist)),
        DiagnosticsValue { Health: var h } d => new Diagnostics(d.CpuUsage, d.MemoryUsage, d.DiskUsage, d.Temperature, d.NetworkQuality,
            h?.ProcessCpuUsage, h?.ProcessMemoryBytes, h?.GcHeapBytes, h?.DiskFreeBytes, h?.UptimeSeconds, h?.ProcessUptimeSeconds, h?.LoadAverage,
            h?.DevicesUp, h?.DevicesDown, h is null ? null : NonEmpty(h.DownDevices), h?.ThreadPoolQueue, h is null ? null : NonEmpty(h.Unavailable)),
        GapValue g => new Gap(g.FromSequence, g.ToSequence, g.Count, g.Reason),
        AlertValue a => new Alert(a.Name, Upper(a.Severity), a.Source, a.Message, Upper(a.State == AlertState.Unspecified ? AlertState.Event : a.State),
            a.DeviceId, a.Suppressed > 0 ? a.Suppressed : null, NonEmpty(a.Causes.Select(c => new Cause(c.DeviceId, c.Name, c.Value, c.Sequence, c.TimestampMs, c.Detail)).ToList())),
        ScriptRunValue r => new ScriptRun(r.ScriptId, r.Trigger, r.Outcome, r.Reason, r.Actions, r.DurationMs),
        ScriptWriteValue w => new ScriptWrite(w.Target, w.Value, w.Outcome, w.ScriptId, w.Priority, w.OtherScriptId, w.OtherPriority, w.OtherValue, w.Error),
        MessageValue m => new Message(m.Topic, m.Payload),
        _ => null,
    };

    // The JSON forms: members in order, named in snake case; null members are left out.
    [JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
    [JsonDerivedType(typeof(Measurement), "measurement")]
    [JsonDerivedType(typeof(Tyre), "tyre")]
    [JsonDerivedType(typeof(FaultCodes), "fault_codes")]
    [JsonDerivedType(typeof(VehicleInfo), "vehicle_info")]
    [JsonDerivedType(typeof(Position), "position")]
    [JsonDerivedType(typeof(Motion), "motion")]
    [JsonDerivedType(typeof(DrivingEvent), "driving_event")]
    [JsonDerivedType(typeof(Status), "status")]
    [JsonDerivedType(typeof(Diagnostics), "diagnostics")]
    [JsonDerivedType(typeof(Gap), "gap")]
    [JsonDerivedType(typeof(Alert), "alert")]
    [JsonDerivedType(typeof(ScriptRun), "script_run")]
    [JsonDerivedType(typeof(ScriptWrite), "script_write")]
    [JsonDerivedType(typeof(Message), "message")]
    private abstract record Body;

    private sealed record Measurement(string Name, double Value, string Unit) : Body;

    private sealed record Tyre(int Location, double? PressureKpa, double? TemperatureC) : Body;

    private sealed record FaultCodes(string Source, int? SourceAddress, bool? Mil, IReadOnlyList<Fault> Faults) : Body;

    private sealed record Fault(string Code, int? Spn, int? Fmi, int? Occurrences);

    private sealed record VehicleInfo(string Vin, string? Protocol) : Body;

    private sealed record Position(double Lat, double Lon, double Heading, double? Alt, double? Speed, double? Accuracy) : Body;

    private sealed record Motion(double AccelX, double AccelY, double AccelZ, double? GyroX, double? GyroY, double? GyroZ) : Body;

    private sealed record DrivingEvent(string Event, double Magnitude, double DurationMs) : Body;

    private sealed record Status(string OperationalState, double? EnergyLevel, double? HealthScore, string AssistState) : Body;

    private sealed record Diagnostics(double? CpuUsage, double? MemoryUsage, double? DiskUsage, double? Temperature, double? NetworkQuality,
        double? ProcessCpuUsage, long? ProcessMemoryBytes, long? GcHeapBytes, long? DiskFreeBytes, long? UptimeSeconds, long? ProcessUptimeSeconds,
        double? LoadAverage, int? DevicesUp, int? DevicesDown, IReadOnlyList<string>? DownDevices, int? ThreadPoolQueue, IReadOnlyList<string>? Unavailable) : Body;

    private sealed record Gap(long FromSequence, long ToSequence, long Count, string Reason) : Body;

    private sealed record Alert(string Name, string Severity, string Source, string Message, string State, string? DeviceId, int? Suppressed,
        IReadOnlyList<Cause>? Causes) : Body;

    private sealed record Cause(string DeviceId, string Name, double? Value, long? Sequence, long? Timestamp, string? Detail);

    private sealed record ScriptRun(string ScriptId, string Trigger, string Outcome, string Reason, int Actions, long DurationMs) : Body;

    private sealed record ScriptWrite(string Target, long Value, string Outcome, string ScriptId, int Priority, string? OtherScriptId, int? OtherPriority,
        long? OtherValue, string? Error) : Body;

    private sealed record Message(string Topic, string Payload) : Body;

    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
    [JsonSerializable(typeof(Body))]
    private sealed partial class Context : JsonSerializerContext;
}
