namespace Fleet.Actors.Core.Telemetry;

/// <summary>
/// One observation taken by a device, as a device actor hands it to the write-ahead log.
/// It has no sequence number yet: the log assigns one when it accepts the reading.
/// </summary>
/// <param name="DeviceId">The configured id of the device that produced the reading.</param>
/// <param name="TimestampMs">Milliseconds since the Unix epoch (UTC) when it was taken.</param>
/// <param name="Value">What was observed.</param>
public sealed record Reading(string DeviceId, long TimestampMs, ReadingValue Value);

/// <summary>The body of a reading; each subtype maps to one member of the wire format's oneof.</summary>
public abstract record ReadingValue;

/// <summary>A position fix. Degrees (WGS 84), metres, metres per second.</summary>
public sealed record PositionValue(
    double Latitude,
    double Longitude,
    double Heading,
    double? Altitude = null,
    double? Speed = null,
    double? Accuracy = null) : ReadingValue;

/// <summary>A named scalar such as an OBD-II PID, e.g. ("engine_rpm", 1834.5, "rpm").</summary>
public sealed record MeasurementValue(string Name, double Value, string Unit) : ReadingValue;

/// <summary>An inertial sample: accelerations in m/s², angular rates in degrees per second.</summary>
public sealed record MotionValue(
    double AccelX,
    double AccelY,
    double AccelZ,
    double? GyroX = null,
    double? GyroY = null,
    double? GyroZ = null) : ReadingValue;

/// <summary>A detected driving event such as <c>harsh_brake</c>.</summary>
public sealed record DrivingEventValue(string Type, double Magnitude, TimeSpan Duration) : ReadingValue;

/// <summary>Operational state of the vehicle; energy and health in percent (null: not known, e.g. in a record of a state change).</summary>
public sealed record StatusValue(
    OperationalState State,
    double? EnergyLevel,
    double? HealthScore = null,
    AssistState Assist = AssistState.None) : ReadingValue;

/// <summary>
/// Agent diagnostics in percent (temperature in °C); null where the machine cannot say. The health
/// monitor's heartbeat also carries <paramref name="Health"/>.
/// </summary>
public sealed record DiagnosticsValue(
    double? CpuUsage,
    double? MemoryUsage,
    double? DiskUsage,
    double? Temperature,
    double? NetworkQuality,
    AgentHealth? Health = null) : ReadingValue;

/// <summary>What the health monitor adds to a heartbeat's <see cref="DiagnosticsValue"/>; null where not known.</summary>
/// <param name="ProcessCpuUsage">The agent process, percent of one core.</param>
/// <param name="ProcessMemoryBytes">The agent process's resident memory.</param>
/// <param name="GcHeapBytes">The managed heap.</param>
/// <param name="DiskFreeBytes">Free space of the data folder's file system.</param>
/// <param name="UptimeSeconds">The machine's uptime.</param>
/// <param name="ProcessUptimeSeconds">The agent's uptime.</param>
/// <param name="LoadAverage">Load average over 1 minute.</param>
/// <param name="DevicesUp">Configured devices that are up.</param>
/// <param name="DevicesDown">Configured devices that are down.</param>
/// <param name="DownDevices">Their ids.</param>
/// <param name="ThreadPoolQueue">Work items waiting in the thread pool.</param>
/// <param name="Unavailable">Fields the machine could not report (e.g. <c>temperature</c>).</param>
public sealed record AgentHealth(
    double? ProcessCpuUsage,
    long? ProcessMemoryBytes,
    long? GcHeapBytes,
    long? DiskFreeBytes,
    long? UptimeSeconds,
    long? ProcessUptimeSeconds,
    double? LoadAverage,
    int? DevicesUp,
    int? DevicesDown,
    IReadOnlyList<string> DownDevices,
    int? ThreadPoolQueue,
    IReadOnlyList<string> Unavailable)
{
    /// <summary>Value equality over the lists too.</summary>
    public bool Equals(AgentHealth? other) =>
        other is not null && ProcessCpuUsage == other.ProcessCpuUsage && ProcessMemoryBytes == other.ProcessMemoryBytes && GcHeapBytes == other.GcHeapBytes
        && DiskFreeBytes == other.DiskFreeBytes && UptimeSeconds == other.UptimeSeconds && ProcessUptimeSeconds == other.ProcessUptimeSeconds
        && LoadAverage == other.LoadAverage && DevicesUp == other.DevicesUp && DevicesDown == other.DevicesDown && ThreadPoolQueue == other.ThreadPoolQueue
        && DownDevices.SequenceEqual(other.DownDevices) && Unavailable.SequenceEqual(other.Unavailable);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(ProcessCpuUsage, ProcessMemoryBytes, UptimeSeconds, DevicesUp, DevicesDown, DownDevices.Count, Unavailable.Count);
}

/// <summary>
/// The trouble codes a vehicle reports now (OBD-II mode 03 or J1939 DM1); an empty list says the
/// faults cleared. <paramref name="SourceAddress"/> is the J1939 ECU address (0 for OBD-II).
/// </summary>
public sealed record FaultCodesValue(string Source, IReadOnlyList<FaultCode> Faults, bool? Mil = null, int SourceAddress = 0) : ReadingValue
{
    /// <summary>Value equality over the list too, so that "the same faults again" is recognisable.</summary>
    public bool Equals(FaultCodesValue? other) =>
        other is not null && Source == other.Source && Mil == other.Mil && SourceAddress == other.SourceAddress && Faults.SequenceEqual(other.Faults);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Source, Mil, SourceAddress, Faults.Count);

    /// <inheritdoc />
    public override string ToString() => $"FaultCodes {Source} [{string.Join(", ", Faults.Select(f => f.Code))}] mil={Mil}";
}

/// <summary>One trouble code: "P0301" (OBD-II) or "SPN 110 FMI 0" with its parts (J1939).</summary>
public sealed record FaultCode(string Code, int? Spn = null, int? Fmi = null, int? Occurrences = null);

/// <summary>One tyre's pressure (kPa) and temperature (°C); location as J1939 encodes it (axle, position).</summary>
public sealed record TyreValue(int Location, double? Pressure, double? Temperature) : ReadingValue;

/// <summary>What the vehicle says about itself: its VIN and the bus protocol in use.</summary>
public sealed record VehicleInfoValue(string Vin, string Protocol = "") : ReadingValue;

/// <summary>
/// Written by the log itself when it had to give up accepted readings: sequences
/// <paramref name="FromSequence"/>..<paramref name="ToSequence"/> will never be sent.
/// </summary>
public sealed record GapValue(long FromSequence, long ToSequence, long Count, string Reason) : ReadingValue;

/// <summary>
/// An alert raised on the vehicle: by alert rules (readings, driving events, health, devices down),
/// scripts, the operational state machine and the agent's own parts (docs/alerts.md). Alerts are
/// journaled like readings, travel in the high-priority lane as well as in the telemetry stream, and
/// scripts with an alert trigger of the same <paramref name="Name"/> start once the alert is accepted.
/// </summary>
/// <param name="Name">What is alerted (the alert's type), e.g. <c>engine-overheat</c>.</param>
/// <param name="Severity">How urgent.</param>
/// <param name="Source">Who raised it, e.g. <c>rule:coolant-hot</c>, <c>script:cooling</c>, <c>operations</c>.</param>
/// <param name="Message">Human text (may be empty).</param>
/// <param name="State">
/// <see cref="AlertState.Raised"/> for a condition that began (a <see cref="AlertState.Cleared"/>
/// record of the same name, device and source follows when it ends), <see cref="AlertState.Cleared"/>,
/// or <see cref="AlertState.Event"/> for a one-shot alert nothing clears (a harsh brake, a script's alert).
/// </param>
/// <param name="DeviceId">The device the alert is about (the readings' device, the sensor that saw the event, the device that is down); null when it is about the vehicle.</param>
/// <param name="Suppressed">Alerts of this name (and device) that the debounce suppressed since the last one that went out.</param>
/// <param name="Causes">The readings that caused it (at most <see cref="ReadingValidator.MaxAlertCauses"/>).</param>
public sealed record AlertValue(
    string Name,
    AlertSeverity Severity,
    string Source,
    string Message,
    AlertState State = AlertState.Event,
    string? DeviceId = null,
    int Suppressed = 0,
    IReadOnlyList<AlertCause>? Causes = null) : ReadingValue
{
    /// <summary>The readings that caused it; empty when none are known.</summary>
    public IReadOnlyList<AlertCause> Causes { get; init; } = Causes ?? [];

    /// <summary>Value equality over the causes too (a decoded alert equals the one that was encoded).</summary>
    public bool Equals(AlertValue? other) =>
        other is not null && Name == other.Name && Severity == other.Severity && Source == other.Source && Message == other.Message
        && State == other.State && DeviceId == other.DeviceId && Suppressed == other.Suppressed && Causes.SequenceEqual(other.Causes);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Name, Severity, Source, State, DeviceId, Suppressed, Causes.Count);

    /// <inheritdoc />
    public override string ToString() =>
        $"Alert {Name} {State} {Severity} from {Source}{(DeviceId is null ? "" : " on " + DeviceId)}{(Suppressed > 0 ? $" ({Suppressed} suppressed)" : "")}: {Message}";
}

/// <summary>The edge an <see cref="AlertValue"/> reports.</summary>
public enum AlertState
{
    /// <summary>Not said (records written before the state existed): take it as <see cref="Event"/>.</summary>
    Unspecified = 0,

    /// <summary>A one-shot alert: nothing will clear it.</summary>
    Event = 1,

    /// <summary>A condition began; a <see cref="Cleared"/> record follows when it ends.</summary>
    Raised = 2,

    /// <summary>The condition of an earlier <see cref="Raised"/> record ended.</summary>
    Cleared = 3,
}

/// <summary>
/// One reading (or observation) that caused an alert: a measurement and its value, a driving event
/// and its magnitude, a health field, a device that went down (<paramref name="Detail"/>: why).
/// </summary>
/// <param name="DeviceId">The device that produced it (empty for the vehicle's health).</param>
/// <param name="Name">The measurement name, driving event type, health field, or <c>down</c>.</param>
/// <param name="Value">Its value where it has one.</param>
/// <param name="Sequence">The sequence the log gave the reading, where it was journaled and known.</param>
/// <param name="TimestampMs">When it was taken (Unix ms).</param>
/// <param name="Detail">Free text, e.g. the reason a device went down.</param>
public sealed record AlertCause(string DeviceId, string Name, double? Value = null, long? Sequence = null, long? TimestampMs = null, string? Detail = null);

/// <summary>Severity of an <see cref="AlertValue"/>.</summary>
public enum AlertSeverity
{
    Unspecified = 0,
    Info = 1,
    Warning = 2,
    Critical = 3,
}

/// <summary>
/// How one script run ended: completed, stopped by a limit, rate limited or failed (runs whose
/// conditions did not hold are counted, not journaled).
/// </summary>
/// <param name="ScriptId">The started script.</param>
/// <param name="Trigger">What started it, e.g. <c>interval 5s</c>, <c>threshold water_temp &gt; 28.5</c>, <c>alert oxygen-low</c>.</param>
/// <param name="Outcome">snake_case outcome: <c>completed</c>, <c>stopped_action_limit</c>, <c>stopped_time_limit</c>,
/// <c>stopped_call_depth</c>, <c>stopped_delay_too_long</c>, <c>rate_limited</c>, <c>failed</c>.</param>
/// <param name="Reason">Human reason naming the script and action.</param>
/// <param name="Actions">Actions executed, those of called scripts included.</param>
/// <param name="DurationMs">From start to end, delays included.</param>
public sealed record ScriptRunValue(string ScriptId, string Trigger, string Outcome, string Reason, int Actions, long DurationMs) : ReadingValue;

/// <summary>
/// A script's write to a GPIO line, Modbus register or coil, and what became of it: arbitration
/// against the other writes of the cycle (<c>write</c>, <c>won</c>, <c>overridden</c>, <c>lost</c>,
/// <c>duplicate</c>) or the device's answer to a performed write (<c>failed</c>, <c>refused</c>).
/// </summary>
/// <param name="Target"><c>gpio:17</c>, <c>modbus:plc1:register:40</c> or <c>modbus:plc1:coil:3</c>.</param>
/// <param name="Value">The value this script wanted (level 0/1, register 0..65535, coil 0/1).</param>
/// <param name="Outcome">See above.</param>
/// <param name="ScriptId">The script that wrote.</param>
/// <param name="Priority">Its priority, 0..255.</param>
/// <param name="OtherScriptId">The script whose write it met, for won, overridden, lost and duplicate.</param>
/// <param name="OtherPriority">That script's priority.</param>
/// <param name="OtherValue">That script's value.</param>
/// <param name="Error">Why a performed write failed or was refused.</param>
public sealed record ScriptWriteValue(
    string Target,
    long Value,
    string Outcome,
    string ScriptId,
    int Priority,
    string? OtherScriptId = null,
    int? OtherPriority = null,
    long? OtherValue = null,
    string? Error = null) : ReadingValue;

/// <summary>A message published by a script; it travels in the log like a reading and consumers route it by topic.</summary>
public sealed record MessageValue(string Topic, string Payload) : ReadingValue;

/// <summary>Operational states of the telemetry contract.</summary>
public enum OperationalState
{
    Unspecified = 0,
    Ready = 1,
    Busy = 2,
    Charging = 3,
    Maintenance = 4,
    Error = 5,

    /// <summary>Executing an assigned mission (the command state machine's BUSY).</summary>
    OnMission = 6,

    /// <summary>A mission paused by command.</summary>
    Paused = 7,

    /// <summary>A safe stop is under way.</summary>
    SafeStopping = 8,

    /// <summary>Stopped safely; leaves by a mode change.</summary>
    SafeStopped = 9,

    /// <summary>Stopped by an emergency stop; leaves only by a signed reset.</summary>
    EmergencyStopped = 10,
}

/// <summary>Remote-assistance states of the telemetry contract.</summary>
public enum AssistState
{
    Unspecified = 0,
    None = 1,
    Requested = 2,
    Active = 3,
}

/// <summary>A reading together with the sequence number the log gave it.</summary>
public sealed record LoggedReading(long Sequence, Reading Reading);
