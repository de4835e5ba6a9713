namespace Fleet.Actors.Core.Health;

/// <summary>
/// One sample of the machine's and the agent's health, taken by the health monitor every
/// <c>fleet.health.sample-interval</c>. Values are keyed by the names in <see cref="HealthFields"/>;
/// a field the machine cannot report (no thermal zone) or whose source failed this time is absent
/// from <see cref="Values"/> and named in <see cref="Unavailable"/> with the reason.
/// </summary>
/// <param name="TimestampMs">When it was taken (Unix ms).</param>
/// <param name="Values">The fields that could be read, by <see cref="HealthFields"/> name.</param>
/// <param name="Unavailable">The fields that could not, with the reason ("not available" where the machine has no such source).</param>
/// <param name="Devices">Every configured device and whether it is up, by device id.</param>
public sealed record HealthSample(
    long TimestampMs,
    IReadOnlyDictionary<string, double> Values,
    IReadOnlyDictionary<string, string> Unavailable,
    IReadOnlyDictionary<string, bool> Devices)
{
    /// <summary>The value of <paramref name="field"/>, or null when it is unavailable.</summary>
    public double? this[string field] => Values.TryGetValue(field, out var value) ? value : null;
}

/// <summary>
/// Published on the ActorSystem's EventStream by the health monitor after each sample. Alert rules
/// on health fields subscribe with <c>Context.System.EventStream.Subscribe(Self, typeof(HealthSampled))</c>
/// and filter by vehicle id (a simulation node hosts many vehicles on one event stream).
/// </summary>
public sealed record HealthSampled(string VehicleId, HealthSample Sample);

/// <summary>
/// Published on the ActorSystem's EventStream when a device (sensor, GPIO line, PLC) comes up or
/// goes down: its actor started, failed, stopped or was removed. Alert rules on "device down for
/// longer than N" subscribe to it.
/// </summary>
/// <param name="VehicleId">The vehicle the device belongs to.</param>
/// <param name="Domain">sensors, gpio or plcs.</param>
/// <param name="DeviceId">The configured id.</param>
/// <param name="Up">True when it runs now.</param>
/// <param name="Reason">Why it went down (empty when up).</param>
/// <param name="TimestampMs">When it changed (Unix ms).</param>
public sealed record DeviceStatusChanged(string VehicleId, string Domain, string DeviceId, bool Up, string Reason, long TimestampMs);

/// <summary>
/// The names of the fields of a <see cref="HealthSample"/>; alert rules on health and the
/// configuration name them the same way.
/// </summary>
public static class HealthFields
{
    /// <summary>Machine CPU in use, percent of all cores (0..100).</summary>
    public const string CpuUsage = "cpu_usage";

    /// <summary>The agent process's CPU, percent of one core (as top shows it; up to 100 × cores).</summary>
    public const string ProcessCpuUsage = "process_cpu_usage";

    /// <summary>Machine memory in use (total minus available), percent.</summary>
    public const string MemoryUsage = "memory_usage";

    /// <summary>Machine memory available, bytes.</summary>
    public const string MemoryAvailableBytes = "memory_available_bytes";

    /// <summary>The agent process's resident memory, bytes.</summary>
    public const string ProcessResidentBytes = "process_resident_bytes";

    /// <summary>The managed heap after the last GC, bytes.</summary>
    public const string GcHeapBytes = "gc_heap_bytes";

    /// <summary>Used share of the file system that holds the data folder, percent, as <c>df</c> shows it: used / (used + available to the agent).</summary>
    public const string DiskUsage = "disk_usage";

    /// <summary>Free space of that file system available to the agent, bytes.</summary>
    public const string DiskFreeBytes = "disk_free_bytes";

    /// <summary>The hottest thermal zone, °C.</summary>
    public const string Temperature = "temperature";

    /// <summary>Machine uptime, seconds.</summary>
    public const string UptimeSeconds = "uptime_seconds";

    /// <summary>The agent process's uptime, seconds.</summary>
    public const string ProcessUptimeSeconds = "process_uptime_seconds";

    /// <summary>Load average over 1 minute.</summary>
    public const string LoadAverage1m = "load_average_1m";

    /// <summary>Work items waiting in the .NET thread pool's queue.</summary>
    public const string ThreadPoolQueueLength = "thread_pool_queue_length";

    /// <summary>Threads of the .NET thread pool.</summary>
    public const string ThreadPoolThreads = "thread_pool_threads";

    /// <summary>Round trip of a status question to the write-ahead log, milliseconds (its mailbox pressure).</summary>
    public const string LogResponseMs = "log_response_ms";

    /// <summary>Configured devices that are up.</summary>
    public const string DevicesUp = "devices_up";

    /// <summary>Configured devices that are down.</summary>
    public const string DevicesDown = "devices_down";

    /// <summary>Every field, in the order reports list them.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        CpuUsage, ProcessCpuUsage, MemoryUsage, MemoryAvailableBytes, ProcessResidentBytes, GcHeapBytes, DiskUsage, DiskFreeBytes,
        Temperature, UptimeSeconds, ProcessUptimeSeconds, LoadAverage1m, ThreadPoolQueueLength, ThreadPoolThreads, LogResponseMs,
        DevicesUp, DevicesDown,
    ];
}
