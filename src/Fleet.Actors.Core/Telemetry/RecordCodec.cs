using Fleet.Actors.Core.Telemetry.Wire;

namespace Fleet.Actors.Core.Telemetry;

/// <summary>
/// Maps reading values to and from the wire format's <see cref="Record"/> bodies, applying the
/// scaled-integer units that telemetry.proto documents.
/// </summary>
public static class RecordCodec
{
    /// <summary>Builds the wire record for a reading; sequence and timestamp are left to the caller.</summary>
    public static Record ToRecord(Reading reading)
    {
        var record = new Record { DeviceId = reading.DeviceId };
        switch (reading.Value)
        {
            case PositionValue p:
                var position = new Position
                {
                    Latitude = checked((int)Math.Round(p.Latitude * 1e7)),
                    Longitude = checked((int)Math.Round(p.Longitude * 1e7)),
                    Heading = (uint)Math.Round(p.Heading * 100) % 36000,
                };
                if (p.Altitude is { } alt) position.Altitude = checked((int)Math.Round(alt * 100));
                if (p.Speed is { } speed) position.Speed = checked((uint)Math.Round(speed * 100));
                if (p.Accuracy is { } acc) position.Accuracy = checked((uint)Math.Round(acc * 100));
                record.Position = position;
                break;
            case MeasurementValue m:
                record.Measurement = new Measurement { Name = m.Name, Value = m.Value, Unit = m.Unit };
                break;
            case MotionValue m:
                var motion = new Motion
                {
                    AccelX = ToMilli(m.AccelX),
                    AccelY = ToMilli(m.AccelY),
                    AccelZ = ToMilli(m.AccelZ),
                };
                if (m.GyroX is { } gx) motion.GyroX = ToCenti(gx);
                if (m.GyroY is { } gy) motion.GyroY = ToCenti(gy);
                if (m.GyroZ is { } gz) motion.GyroZ = ToCenti(gz);
                record.Motion = motion;
                break;
            case DrivingEventValue e:
                record.DrivingEvent = new DrivingEvent
                {
                    Type = e.Type,
                    Magnitude = e.Magnitude,
                    Duration = (uint)Math.Clamp(e.Duration.TotalMilliseconds, 0, uint.MaxValue),
                };
                break;
            case StatusValue s:
                var status = new Status
                {
                    OperationalState = (Wire.OperationalState)(int)s.State,
                    AssistState = (Wire.AssistState)(int)s.Assist,
                };
                if (s.EnergyLevel is { } energy) status.EnergyLevel = (float)energy;
                if (s.HealthScore is { } health) status.HealthScore = (float)health;
                record.Status = status;
                break;
            case DiagnosticsValue d:
                var diagnostics = new Diagnostics();
                if (d.CpuUsage is { } cpu) diagnostics.CpuUsage = (float)cpu;
                if (d.MemoryUsage is { } mem) diagnostics.MemoryUsage = (float)mem;
                if (d.DiskUsage is { } disk) diagnostics.DiskUsage = (float)disk;
                if (d.Temperature is { } temp) diagnostics.Temperature = (float)temp;
                if (d.NetworkQuality is { } net) diagnostics.NetworkQuality = (float)net;
                if (d.Health is { } h) EncodeHealth(h, diagnostics);
                record.Diagnostics = diagnostics;
                break;
            case FaultCodesValue f:
                var faults = new FaultCodes { Source = f.Source, SourceAddress = (uint)f.SourceAddress };
                if (f.Mil is { } mil) faults.Mil = mil;
                foreach (var code in f.Faults)
                {
                    var fault = new Fault { Code = code.Code };
                    if (code.Spn is { } spn) fault.Spn = (uint)spn;
                    if (code.Fmi is { } fmi) fault.Fmi = (uint)fmi;
                    if (code.Occurrences is { } oc) fault.Occurrences = (uint)oc;
                    faults.Faults.Add(fault);
                }
                record.FaultCodes = faults;
                break;
            case TyreValue t:
                var tyre = new Tyre { Location = (uint)t.Location };
                if (t.Pressure is { } kpa) tyre.Pressure = (float)kpa;
                if (t.Temperature is { } c) tyre.Temperature = (float)c;
                record.Tyre = tyre;
                break;
            case VehicleInfoValue v:
                record.VehicleInfo = new VehicleInfo { Vin = v.Vin, Protocol = v.Protocol };
                break;
            case AlertValue a:
                record.Alert = ToAlert(a);
                break;
            case ScriptRunValue r:
                record.ScriptRun = new ScriptRun
                {
                    ScriptId = r.ScriptId,
                    Trigger = r.Trigger,
                    Outcome = r.Outcome,
                    Reason = r.Reason,
                    Actions = (uint)r.Actions,
                    Duration = (ulong)r.DurationMs,
                };
                break;
            case ScriptWriteValue w:
                var write = new ScriptWrite
                {
                    Target = w.Target,
                    Value = w.Value,
                    Outcome = w.Outcome,
                    ScriptId = w.ScriptId,
                    Priority = (uint)w.Priority,
                };
                if (w.OtherScriptId is { } otherId) write.OtherScriptId = otherId;
                if (w.OtherPriority is { } otherPriority) write.OtherPriority = (uint)otherPriority;
                if (w.OtherValue is { } otherValue) write.OtherValue = otherValue;
                if (w.Error is { } error) write.Error = error;
                record.ScriptWrite = write;
                break;
            case MessageValue m:
                record.Message = new ScriptMessage { Topic = m.Topic, Payload = m.Payload };
                break;
            case GapValue g:
                record.Gap = new Gap
                {
                    FromSequence = (ulong)g.FromSequence,
                    ToSequence = (ulong)g.ToSequence,
                    Count = (ulong)g.Count,
                    Reason = g.Reason,
                };
                break;
            default:
                throw new ArgumentException($"Cannot encode reading value {reading.Value?.GetType().Name ?? "null"}", nameof(reading));
        }
        return record;
    }

    /// <summary>Turns a wire record body back into a reading value (null for an empty or unknown body).</summary>
    public static ReadingValue? FromRecord(Record record) => record.ValueCase switch
    {
        Record.ValueOneofCase.Position => new PositionValue(
            record.Position.Latitude / 1e7,
            record.Position.Longitude / 1e7,
            record.Position.Heading / 100.0,
            record.Position.HasAltitude ? record.Position.Altitude / 100.0 : null,
            record.Position.HasSpeed ? record.Position.Speed / 100.0 : null,
            record.Position.HasAccuracy ? record.Position.Accuracy / 100.0 : null),
        Record.ValueOneofCase.Measurement => new MeasurementValue(
            record.Measurement.Name, record.Measurement.Value, record.Measurement.Unit),
        Record.ValueOneofCase.Motion => new MotionValue(
            record.Motion.AccelX / 1000.0,
            record.Motion.AccelY / 1000.0,
            record.Motion.AccelZ / 1000.0,
            record.Motion.HasGyroX ? record.Motion.GyroX / 100.0 : null,
            record.Motion.HasGyroY ? record.Motion.GyroY / 100.0 : null,
            record.Motion.HasGyroZ ? record.Motion.GyroZ / 100.0 : null),
        Record.ValueOneofCase.DrivingEvent => new DrivingEventValue(
            record.DrivingEvent.Type, record.DrivingEvent.Magnitude, TimeSpan.FromMilliseconds(record.DrivingEvent.Duration)),
        Record.ValueOneofCase.Status => new StatusValue(
            (OperationalState)(int)record.Status.OperationalState,
            record.Status.HasEnergyLevel ? record.Status.EnergyLevel : null,
            record.Status.HasHealthScore ? record.Status.HealthScore : null,
            (AssistState)(int)record.Status.AssistState),
        Record.ValueOneofCase.Diagnostics => new DiagnosticsValue(
            record.Diagnostics.HasCpuUsage ? record.Diagnostics.CpuUsage : null,
            record.Diagnostics.HasMemoryUsage ? record.Diagnostics.MemoryUsage : null,
            record.Diagnostics.HasDiskUsage ? record.Diagnostics.DiskUsage : null,
            record.Diagnostics.HasTemperature ? record.Diagnostics.Temperature : null,
            record.Diagnostics.HasNetworkQuality ? record.Diagnostics.NetworkQuality : null,
            DecodeHealth(record.Diagnostics)),
        Record.ValueOneofCase.FaultCodes => new FaultCodesValue(
            record.FaultCodes.Source,
            record.FaultCodes.Faults.Select(f => new FaultCode(
                f.Code,
                f.HasSpn ? (int)f.Spn : null,
                f.HasFmi ? (int)f.Fmi : null,
                f.HasOccurrences ? (int)f.Occurrences : null)).ToArray(),
            record.FaultCodes.HasMil ? record.FaultCodes.Mil : null,
            (int)record.FaultCodes.SourceAddress),
        Record.ValueOneofCase.Tyre => new TyreValue(
            (int)record.Tyre.Location,
            record.Tyre.HasPressure ? record.Tyre.Pressure : null,
            record.Tyre.HasTemperature ? record.Tyre.Temperature : null),
        Record.ValueOneofCase.VehicleInfo => new VehicleInfoValue(record.VehicleInfo.Vin, record.VehicleInfo.Protocol),
        Record.ValueOneofCase.Alert => FromAlert(record.Alert),
        Record.ValueOneofCase.ScriptRun => new ScriptRunValue(
            record.ScriptRun.ScriptId,
            record.ScriptRun.Trigger,
            record.ScriptRun.Outcome,
            record.ScriptRun.Reason,
            (int)record.ScriptRun.Actions,
            (long)record.ScriptRun.Duration),
        Record.ValueOneofCase.ScriptWrite => new ScriptWriteValue(
            record.ScriptWrite.Target,
            record.ScriptWrite.Value,
            record.ScriptWrite.Outcome,
            record.ScriptWrite.ScriptId,
            (int)record.ScriptWrite.Priority,
            record.ScriptWrite.HasOtherScriptId ? record.ScriptWrite.OtherScriptId : null,
            record.ScriptWrite.HasOtherPriority ? (int)record.ScriptWrite.OtherPriority : null,
            record.ScriptWrite.HasOtherValue ? record.ScriptWrite.OtherValue : null,
            record.ScriptWrite.HasError ? record.ScriptWrite.Error : null),
        Record.ValueOneofCase.Message => new MessageValue(record.Message.Topic, record.Message.Payload),
        Record.ValueOneofCase.Gap => new GapValue(
            (long)record.Gap.FromSequence, (long)record.Gap.ToSequence, (long)record.Gap.Count, record.Gap.Reason),
        _ => null,
    };

    private static Alert ToAlert(AlertValue a)
    {
        var alert = new Alert
        {
            Name = a.Name,
            Severity = (Wire.AlertSeverity)(int)a.Severity,
            Source = a.Source,
            Message = a.Message,
        };
        if (a.State != AlertState.Unspecified) alert.State = (Wire.AlertState)(int)a.State;
        if (a.DeviceId is { } device) alert.DeviceId = device;
        if (a.Suppressed > 0) alert.Suppressed = (uint)a.Suppressed;
        foreach (var c in a.Causes)
        {
            var cause = new Wire.AlertCause { DeviceId = c.DeviceId, Name = c.Name };
            if (c.Value is { } value) cause.Value = value;
            if (c.Sequence is { } sequence) cause.Sequence = (ulong)sequence;
            if (c.TimestampMs is { } timestamp) cause.Timestamp = timestamp;
            if (c.Detail is { } detail) cause.Detail = detail;
            alert.Causes.Add(cause);
        }
        return alert;
    }

    private static AlertValue FromAlert(Alert a) => new(
        a.Name,
        (AlertSeverity)(int)a.Severity,
        a.Source,
        a.Message,
        a.HasState ? (AlertState)(int)a.State : AlertState.Unspecified,
        a.HasDeviceId ? a.DeviceId : null,
        (int)Math.Min(a.Suppressed, int.MaxValue),
        a.Causes.Select(c => new AlertCause(
            c.DeviceId,
            c.Name,
            c.HasValue ? c.Value : null,
            c.HasSequence ? (long)c.Sequence : null,
            c.HasTimestamp ? c.Timestamp : null,
            c.HasDetail ? c.Detail : null)).ToArray());

    private static int ToMilli(double x) => checked((int)Math.Round(x * 1000));

    private static int ToCenti(double x) => checked((int)Math.Round(x * 100));

    private static void EncodeHealth(AgentHealth h, Diagnostics d)
    {
        if (h.ProcessCpuUsage is { } cpu) d.ProcessCpuUsage = (float)cpu;
        if (h.ProcessMemoryBytes is { } rss) d.ProcessMemoryBytes = (ulong)rss;
        if (h.GcHeapBytes is { } heap) d.GcHeapBytes = (ulong)heap;
        if (h.DiskFreeBytes is { } free) d.DiskFreeBytes = (ulong)free;
        if (h.UptimeSeconds is { } uptime) d.UptimeSeconds = (ulong)uptime;
        if (h.ProcessUptimeSeconds is { } processUptime) d.ProcessUptimeSeconds = (ulong)processUptime;
        if (h.LoadAverage is { } load) d.LoadAverage = (float)load;
        if (h.DevicesUp is { } up) d.DevicesUp = (uint)up;
        if (h.DevicesDown is { } down) d.DevicesDown = (uint)down;
        d.DownDevices.AddRange(h.DownDevices);
        if (h.ThreadPoolQueue is { } queue) d.ThreadPoolQueue = (uint)queue;
        d.Unavailable.AddRange(h.Unavailable);
    }

    // Null for diagnostics without any of the health monitor's fields (written by something else).
    private static AgentHealth? DecodeHealth(Diagnostics d) =>
        !d.HasProcessCpuUsage && !d.HasProcessMemoryBytes && !d.HasGcHeapBytes && !d.HasDiskFreeBytes && !d.HasUptimeSeconds && !d.HasProcessUptimeSeconds
        && !d.HasLoadAverage && !d.HasDevicesUp && !d.HasDevicesDown && d.DownDevices.Count == 0 && !d.HasThreadPoolQueue && d.Unavailable.Count == 0
            ? null
            : new AgentHealth(
                d.HasProcessCpuUsage ? d.ProcessCpuUsage : null,
                d.HasProcessMemoryBytes ? (long)d.ProcessMemoryBytes : null,
                d.HasGcHeapBytes ? (long)d.GcHeapBytes : null,
                d.HasDiskFreeBytes ? (long)d.DiskFreeBytes : null,
                d.HasUptimeSeconds ? (long)d.UptimeSeconds : null,
                d.HasProcessUptimeSeconds ? (long)d.ProcessUptimeSeconds : null,
                d.HasLoadAverage ? d.LoadAverage : null,
                d.HasDevicesUp ? (int)d.DevicesUp : null,
                d.HasDevicesDown ? (int)d.DevicesDown : null,
                d.DownDevices.ToList(),
                d.HasThreadPoolQueue ? (int)d.ThreadPoolQueue : null,
                d.Unavailable.ToList());
}
