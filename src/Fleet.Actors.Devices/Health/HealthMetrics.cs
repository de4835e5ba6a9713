using Fleet.Actors.Core.Health;
using Fleet.Actors.Core.Observability;
using Prometheus;

namespace Fleet.Actors.Devices.Health;

/// <summary>
/// The health monitor's gauges, one per <see cref="HealthFields"/> field (<c>health_cpu_usage_percent</c>,
/// <c>health_temperature_celsius</c>...); a field that is unavailable is left out of the exposition
/// until it can be read again, rather than reported as 0.
/// </summary>
public sealed class HealthMetrics
{
    private readonly Dictionary<string, (Gauge.Child Gauge, double Scale)> _fields = new(StringComparer.Ordinal);
    private readonly AgentMetrics _metrics;
    private readonly string _vehicleId;

    /// <summary>Creates (or finds) the collectors of one vehicle's health monitor.</summary>
    public HealthMetrics(AgentMetrics metrics, string vehicleId)
    {
        _metrics = metrics;
        _vehicleId = vehicleId;
        Field(HealthFields.CpuUsage, "health_cpu_usage_percent", "Machine CPU in use, percent of all cores.");
        Field(HealthFields.ProcessCpuUsage, "health_process_cpu_usage_percent", "The agent process's CPU, percent of one core.");
        Field(HealthFields.MemoryUsage, "health_memory_usage_percent", "Machine memory in use (total minus available), percent.");
        Field(HealthFields.MemoryAvailableBytes, "health_memory_available_bytes", "Machine memory available.");
        Field(HealthFields.ProcessResidentBytes, "health_process_resident_bytes", "The agent process's resident memory.");
        Field(HealthFields.GcHeapBytes, "health_gc_heap_bytes", "The agent's managed heap after the last GC.");
        Field(HealthFields.DiskUsage, "health_disk_usage_percent", "Used share of the data folder's file system, percent.");
        Field(HealthFields.DiskFreeBytes, "health_disk_free_bytes", "Free space of the data folder's file system available to the agent.");
        Field(HealthFields.Temperature, "health_temperature_celsius", "The hottest thermal zone (absent where the machine has none).");
        Field(HealthFields.UptimeSeconds, "health_uptime_seconds", "The machine's uptime.");
        Field(HealthFields.ProcessUptimeSeconds, "health_process_uptime_seconds", "The agent's uptime.");
        Field(HealthFields.LoadAverage1m, "health_load_average_1m", "Load average over 1 minute.");
        Field(HealthFields.ThreadPoolQueueLength, "health_thread_pool_queue_length", "Work items waiting in the .NET thread pool.");
        Field(HealthFields.ThreadPoolThreads, "health_thread_pool_threads", "Threads of the .NET thread pool.");
        Field(HealthFields.LogResponseMs, "health_log_response_seconds", "Round trip of a status question to the write-ahead log (its mailbox pressure).", 0.001);
        Field(HealthFields.DevicesUp, "health_devices_up", "Configured devices that are up.");
        Field(HealthFields.DevicesDown, "health_devices_down", "Configured devices that are down.");
        Heartbeats = metrics.Counter("health_heartbeats_total", "Health records journaled (the heartbeat the fleet sees).", vehicleId);
        SamplesSkipped = metrics.Counter("health_samples_skipped_total", "Sample ticks skipped because the previous sample had not finished.", vehicleId);
        Stalls = metrics.Counter("stalls_detected_total", "Stuck parts found by the stall detector and restarted.", vehicleId);
    }

    /// <summary>Health records journaled.</summary>
    public Counter.Child Heartbeats { get; }

    /// <summary>Sample ticks skipped while a sample was still running.</summary>
    public Counter.Child SamplesSkipped { get; }

    /// <summary>Stalls found and acted on.</summary>
    public Counter.Child Stalls { get; }

    /// <summary>Failures of one sample source (label <c>source</c>).</summary>
    public Counter.Child SampleErrors(string source) =>
        _metrics.Counter("health_sample_errors_total", "Failures to read a health source (its fields are reported unavailable).", _vehicleId, "source", source);

    /// <summary>Sets every gauge from <paramref name="sample"/>; unavailable fields are unpublished.</summary>
    public void Update(HealthSample sample)
    {
        foreach (var (field, (gauge, scale)) in _fields)
        {
            if (sample[field] is { } value)
            {
                gauge.Set(scale == 1 ? value : Math.Round(value * scale, 9));
                gauge.Publish();
            }
            else gauge.Unpublish();
        }
    }

    private void Field(string field, string name, string help, double scale = 1)
    {
        var gauge = _metrics.Gauge(name, help, _vehicleId);
        // Nothing is known before the first sample.
        gauge.Unpublish();
        _fields[field] = (gauge, scale);
    }
}
