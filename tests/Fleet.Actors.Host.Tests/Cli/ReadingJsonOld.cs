using System.Text;
using System.Text.Json;
using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Host.Cli;

/// <summary>
/// Readings as one-line JSON objects for <c>decode</c>: a <c>type</c> named after the wire
/// format's record body (position, measurement, tyre, fault_codes...) and its fields in SI units;
/// enumerations as the wire format spells them (<c>READY</c>, <c>WARNING</c>). Every kind of
/// reading the agent records has its own form.
/// </summary>
public static class ReadingJsonOld
{
    /// <summary>One reading, with optional context fields written first (line, timestamp...).</summary>
    public static string Format(ReadingValue value, Action<Utf8JsonWriter>? context = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            context?.Invoke(json);
            Write(json, value);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void Write(Utf8JsonWriter json, ReadingValue value)
    {
        switch (value)
        {
            case MeasurementValue m:
                json.WriteString("type", "measurement");
                json.WriteString("name", m.Name);
                json.WriteNumber("value", m.Value);
                json.WriteString("unit", m.Unit);
                break;
            case TyreValue t:
                json.WriteString("type", "tyre");
                json.WriteNumber("location", t.Location);
                if (t.Pressure is { } kpa) json.WriteNumber("pressure_kpa", kpa);
                if (t.Temperature is { } c) json.WriteNumber("temperature_c", c);
                break;
            case FaultCodesValue f:
                json.WriteString("type", "fault_codes");
                json.WriteString("source", f.Source);
                if (f.Source == "j1939") json.WriteNumber("source_address", f.SourceAddress);
                if (f.Mil is { } mil) json.WriteBoolean("mil", mil);
                json.WriteStartArray("faults");
                foreach (var fault in f.Faults)
                {
                    json.WriteStartObject();
                    json.WriteString("code", fault.Code);
                    if (fault.Spn is { } spn) json.WriteNumber("spn", spn);
                    if (fault.Fmi is { } fmi) json.WriteNumber("fmi", fmi);
                    if (fault.Occurrences is { } oc) json.WriteNumber("occurrences", oc);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                break;
            case VehicleInfoValue v:
                json.WriteString("type", "vehicle_info");
                json.WriteString("vin", v.Vin);
                if (v.Protocol.Length > 0) json.WriteString("protocol", v.Protocol);
                break;
            case PositionValue p:
                json.WriteString("type", "position");
                json.WriteNumber("lat", p.Latitude);
                json.WriteNumber("lon", p.Longitude);
                json.WriteNumber("heading", p.Heading);
                if (p.Altitude is { } alt) json.WriteNumber("alt", alt);
                if (p.Speed is { } speed) json.WriteNumber("speed", speed);
                if (p.Accuracy is { } acc) json.WriteNumber("accuracy", acc);
                break;
            case MotionValue m:
                json.WriteString("type", "motion");
                json.WriteNumber("accel_x", m.AccelX);
                json.WriteNumber("accel_y", m.AccelY);
                json.WriteNumber("accel_z", m.AccelZ);
                if (m.GyroX is { } gx) json.WriteNumber("gyro_x", gx);
                if (m.GyroY is { } gy) json.WriteNumber("gyro_y", gy);
                if (m.GyroZ is { } gz) json.WriteNumber("gyro_z", gz);
                break;
            case DrivingEventValue e:
                json.WriteString("type", "driving_event");
                json.WriteString("event", e.Type);
                json.WriteNumber("magnitude", e.Magnitude);
                json.WriteNumber("duration_ms", e.Duration.TotalMilliseconds);
                break;
            case StatusValue s:
                json.WriteString("type", "status");
                json.WriteString("operational_state", Devices.Commands.OperationalStates.Name(s.State));
                if (s.EnergyLevel is { } energy) json.WriteNumber("energy_level", energy);
                if (s.HealthScore is { } health) json.WriteNumber("health_score", health);
                json.WriteString("assist_state", s.Assist.ToString().ToUpperInvariant());
                break;
            case DiagnosticsValue d:
                json.WriteString("type", "diagnostics");
                if (d.CpuUsage is { } cpu) json.WriteNumber("cpu_usage", cpu);
                if (d.MemoryUsage is { } memory) json.WriteNumber("memory_usage", memory);
                if (d.DiskUsage is { } disk) json.WriteNumber("disk_usage", disk);
                if (d.Temperature is { } temperature) json.WriteNumber("temperature", temperature);
                if (d.NetworkQuality is { } network) json.WriteNumber("network_quality", network);
                if (d.Health is { } h) WriteHealth(json, h);
                break;
            case GapValue g:
                json.WriteString("type", "gap");
                json.WriteNumber("from_sequence", g.FromSequence);
                json.WriteNumber("to_sequence", g.ToSequence);
                json.WriteNumber("count", g.Count);
                json.WriteString("reason", g.Reason);
                break;
            case AlertValue a:
                json.WriteString("type", "alert");
                json.WriteString("name", a.Name);
                json.WriteString("severity", a.Severity.ToString().ToUpperInvariant());
                json.WriteString("source", a.Source);
                json.WriteString("message", a.Message);
                json.WriteString("state", (a.State == AlertState.Unspecified ? AlertState.Event : a.State).ToString().ToUpperInvariant());
                if (a.DeviceId is { } device) json.WriteString("device_id", device);
                if (a.Suppressed > 0) json.WriteNumber("suppressed", a.Suppressed);
                if (a.Causes.Count > 0)
                {
                    json.WriteStartArray("causes");
                    foreach (var cause in a.Causes)
                    {
                        json.WriteStartObject();
                        json.WriteString("device_id", cause.DeviceId);
                        json.WriteString("name", cause.Name);
                        if (cause.Value is { } v) json.WriteNumber("value", v);
                        if (cause.Sequence is { } sequence) json.WriteNumber("sequence", sequence);
                        if (cause.TimestampMs is { } at) json.WriteNumber("timestamp", at);
                        if (cause.Detail is { } detail) json.WriteString("detail", detail);
                        json.WriteEndObject();
                    }
                    json.WriteEndArray();
                }
                break;
            case ScriptRunValue r:
                json.WriteString("type", "script_run");
                json.WriteString("script_id", r.ScriptId);
                json.WriteString("trigger", r.Trigger);
                json.WriteString("outcome", r.Outcome);
                json.WriteString("reason", r.Reason);
                json.WriteNumber("actions", r.Actions);
                json.WriteNumber("duration_ms", r.DurationMs);
                break;
            case ScriptWriteValue w:
                json.WriteString("type", "script_write");
                json.WriteString("target", w.Target);
                json.WriteNumber("value", w.Value);
                json.WriteString("outcome", w.Outcome);
                json.WriteString("script_id", w.ScriptId);
                json.WriteNumber("priority", w.Priority);
                if (w.OtherScriptId is { } other) json.WriteString("other_script_id", other);
                if (w.OtherPriority is { } otherPriority) json.WriteNumber("other_priority", otherPriority);
                if (w.OtherValue is { } otherValue) json.WriteNumber("other_value", otherValue);
                if (w.Error is { } error) json.WriteString("error", error);
                break;
            case MessageValue m:
                json.WriteString("type", "message");
                json.WriteString("topic", m.Topic);
                json.WriteString("payload", m.Payload);
                break;
            default:
                json.WriteString("type", value.GetType().Name);
                json.WriteString("value", value.ToString());
                break;
        }
    }

    private static void WriteHealth(Utf8JsonWriter json, AgentHealth h)
    {
        if (h.ProcessCpuUsage is { } cpu) json.WriteNumber("process_cpu_usage", cpu);
        if (h.ProcessMemoryBytes is { } rss) json.WriteNumber("process_memory_bytes", rss);
        if (h.GcHeapBytes is { } heap) json.WriteNumber("gc_heap_bytes", heap);
        if (h.DiskFreeBytes is { } free) json.WriteNumber("disk_free_bytes", free);
        if (h.UptimeSeconds is { } uptime) json.WriteNumber("uptime_seconds", uptime);
        if (h.ProcessUptimeSeconds is { } processUptime) json.WriteNumber("process_uptime_seconds", processUptime);
        if (h.LoadAverage is { } load) json.WriteNumber("load_average", load);
        if (h.DevicesUp is { } up) json.WriteNumber("devices_up", up);
        if (h.DevicesDown is { } down) json.WriteNumber("devices_down", down);
        if (h.DownDevices.Count > 0) Strings(json, "down_devices", h.DownDevices);
        if (h.ThreadPoolQueue is { } queue) json.WriteNumber("thread_pool_queue", queue);
        if (h.Unavailable.Count > 0) Strings(json, "unavailable", h.Unavailable);
    }

    private static void Strings(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values) json.WriteStringValue(value);
        json.WriteEndArray();
    }
}
