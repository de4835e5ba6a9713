using System.Globalization;
using Fleet.Actors.Core.Health;

namespace Fleet.Actors.Devices.Health;

/// <summary>Reads the machine and the process for the health monitor.</summary>
public interface IHealthSampler
{
    /// <summary>
    /// One reading of every source. Never throws: a source that fails leaves its fields out of
    /// <see cref="MachineSample.Values"/>, names them in <see cref="MachineSample.Unavailable"/>, and
    /// is reported in <see cref="MachineSample.Failures"/>. May block briefly on file reads: call it
    /// off the actor's thread.
    /// </summary>
    MachineSample Sample();
}

/// <summary>What <see cref="IHealthSampler.Sample"/> read.</summary>
/// <param name="Values">Fields read, by <see cref="HealthFields"/> name.</param>
/// <param name="Unavailable">Fields not read, with the reason.</param>
/// <param name="Failures">Sources that failed this time (source name, cause), for the log.</param>
public sealed record MachineSample(
    IReadOnlyDictionary<string, double> Values,
    IReadOnlyDictionary<string, string> Unavailable,
    IReadOnlyList<(string Source, string Cause)> Failures);

/// <summary>
/// Linux: <c>/proc/stat</c>, <c>/proc/meminfo</c>, <c>/proc/uptime</c>, <c>/proc/loadavg</c>, the thermal
/// zones under <c>/sys/class/thermal</c>, the data folder's file system, and the process's own CPU
/// time, resident memory, GC heap and thread pool. CPU shares are over the time since the previous
/// sample. Each source is read on its own: one that fails (a file missing, unreadable, malformed)
/// costs only its fields. The roots are parameters so that tests can point them at a prepared tree.
/// </summary>
public sealed class ProcHealthSampler : IHealthSampler
{
    private readonly string _proc;
    private readonly string _sys;
    private readonly string _dataDirectory;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _processStarted;
    private (long Busy, long Total)? _lastCpu;
    private (TimeSpan Cpu, long Timestamp) _lastProcess;

    /// <summary>A sampler of this machine (<paramref name="proc"/> and <paramref name="sys"/> for tests).</summary>
    public ProcHealthSampler(string? dataDirectory = null, string proc = "/proc", string sys = "/sys", TimeProvider? time = null)
    {
        _proc = proc;
        _sys = sys;
        _dataDirectory = Path.GetFullPath(string.IsNullOrEmpty(dataDirectory) ? "." : dataDirectory);
        _time = time ?? TimeProvider.System;
        using (var process = System.Diagnostics.Process.GetCurrentProcess()) _processStarted = process.StartTime.ToUniversalTime();
        _lastProcess = (Environment.CpuUsage.TotalTime, _time.GetTimestamp());
        try
        {
            _lastCpu = ReadCpu();
        }
        catch (Exception ex) when (IsSourceFailure(ex))
        {
            _lastCpu = null;
        }
    }

    /// <inheritdoc />
    public MachineSample Sample()
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        var unavailable = new Dictionary<string, string>(StringComparer.Ordinal);
        var failures = new List<(string, string)>();

        Read("cpu", [HealthFields.CpuUsage], () =>
        {
            var now = ReadCpu();
            if (_lastCpu is { } last && now.Total > last.Total)
                values[HealthFields.CpuUsage] = Math.Round(100.0 * (now.Busy - last.Busy) / (now.Total - last.Total), 2);
            else unavailable[HealthFields.CpuUsage] = "no earlier sample to compare with";
            _lastCpu = now;
        });
        Read("process-cpu", [HealthFields.ProcessCpuUsage], () =>
        {
            var cpu = Environment.CpuUsage.TotalTime;
            var now = _time.GetTimestamp();
            var elapsed = _time.GetElapsedTime(_lastProcess.Timestamp, now);
            if (elapsed > TimeSpan.Zero) values[HealthFields.ProcessCpuUsage] = Math.Round(100.0 * (cpu - _lastProcess.Cpu) / elapsed, 2);
            _lastProcess = (cpu, now);
        });
        Read("memory", [HealthFields.MemoryUsage, HealthFields.MemoryAvailableBytes], () =>
        {
            var meminfo = ReadKeyValues(Path.Combine(_proc, "meminfo"));
            var total = Kilobytes(meminfo, "MemTotal");
            var available = Kilobytes(meminfo, "MemAvailable");
            if (total <= 0) throw new InvalidDataException("MemTotal is 0");
            values[HealthFields.MemoryUsage] = Math.Round(100.0 * (total - available) / total, 2);
            values[HealthFields.MemoryAvailableBytes] = available;
        });
        Read("process-memory", [HealthFields.ProcessResidentBytes, HealthFields.GcHeapBytes], () =>
        {
            values[HealthFields.ProcessResidentBytes] = Environment.WorkingSet;
            values[HealthFields.GcHeapBytes] = GC.GetGCMemoryInfo().HeapSizeBytes;
        });
        Read("disk", [HealthFields.DiskUsage, HealthFields.DiskFreeBytes], () =>
        {
            var drive = new DriveInfo(ExistingAncestor(_dataDirectory));
            // As df counts it: used / (used + available to the agent); the blocks reserved for root are not the agent's.
            var used = drive.TotalSize - drive.TotalFreeSpace;
            if (used + drive.AvailableFreeSpace <= 0) throw new InvalidDataException($"{drive.Name} reports a size of 0");
            values[HealthFields.DiskUsage] = Math.Round(100.0 * used / (used + drive.AvailableFreeSpace), 2);
            values[HealthFields.DiskFreeBytes] = drive.AvailableFreeSpace;
        });
        Read("thermal", [HealthFields.Temperature], () =>
        {
            var zones = Path.Combine(_sys, "class", "thermal");
            var temperatures = Directory.Exists(zones)
                ? Directory.GetDirectories(zones, "thermal_zone*").Select(z => Path.Combine(z, "temp")).Where(File.Exists)
                    .Select(f => long.Parse(File.ReadAllText(f).Trim(), CultureInfo.InvariantCulture) / 1000.0).ToList()
                : [];
            if (temperatures.Count == 0) unavailable[HealthFields.Temperature] = "not available (this machine has no thermal zones)";
            else values[HealthFields.Temperature] = temperatures.Max();
        });
        Read("uptime", [HealthFields.UptimeSeconds], () =>
            values[HealthFields.UptimeSeconds] = Math.Round(double.Parse(FirstField(Path.Combine(_proc, "uptime")), CultureInfo.InvariantCulture)));
        values[HealthFields.ProcessUptimeSeconds] = Math.Round((_time.GetUtcNow() - _processStarted).TotalSeconds);
        Read("load", [HealthFields.LoadAverage1m], () =>
            values[HealthFields.LoadAverage1m] = double.Parse(FirstField(Path.Combine(_proc, "loadavg")), CultureInfo.InvariantCulture));
        values[HealthFields.ThreadPoolQueueLength] = ThreadPool.PendingWorkItemCount;
        values[HealthFields.ThreadPoolThreads] = ThreadPool.ThreadCount;
        return new MachineSample(values, unavailable, failures);

        void Read(string source, string[] fields, Action read)
        {
            try
            {
                read();
            }
            catch (Exception ex) when (IsSourceFailure(ex))
            {
                foreach (var field in fields)
                {
                    values.Remove(field);
                    unavailable[field] = $"{source}: {ex.Message}";
                }
                failures.Add((source, ex.Message));
            }
        }
    }

    private static bool IsSourceFailure(Exception ex) =>
        ex is IOException or UnauthorizedAccessException or FormatException or InvalidDataException or KeyNotFoundException or OverflowException or ArgumentException;

    // The first line of /proc/stat: "cpu user nice system idle iowait irq softirq steal ...", in ticks.
    private (long Busy, long Total) ReadCpu()
    {
        var path = Path.Combine(_proc, "stat");
        using var reader = new StreamReader(path);
        var line = reader.ReadLine() ?? throw new InvalidDataException($"{path} is empty");
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 5 || fields[0] != "cpu") throw new InvalidDataException($"{path} does not start with a cpu line");
        // guest and guest_nice (fields 9, 10) are already counted in user and nice.
        var ticks = fields.Skip(1).Take(8).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var idle = ticks[3] + (ticks.Length > 4 ? ticks[4] : 0);
        var total = ticks.Sum();
        return (total - idle, total);
    }

    private static Dictionary<string, string> ReadKeyValues(string path) =>
        File.ReadLines(path).Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.Ordinal);

    private static double Kilobytes(Dictionary<string, string> meminfo, string key)
    {
        if (!meminfo.TryGetValue(key, out var text)) throw new InvalidDataException($"meminfo has no {key}");
        return long.Parse(text.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture) * 1024.0;
    }

    private static string FirstField(string path) =>
        File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? throw new InvalidDataException($"{path} is empty");

    // The data folder may not exist yet (first start): its nearest existing parent is on the same file system.
    private static string ExistingAncestor(string path)
    {
        var current = path;
        while (!Directory.Exists(current) && Path.GetDirectoryName(current) is { } parent) current = parent;
        return current;
    }
}
