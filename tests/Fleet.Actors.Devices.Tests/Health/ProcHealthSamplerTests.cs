using Fleet.Actors.Core.Health;
using Fleet.Actors.Devices.Health;

namespace Fleet.Actors.Devices.Tests.Health;

/// <summary>
/// The Linux sampler against prepared /proc and /sys trees (each source's arithmetic and failures),
/// and once against this machine's own.
/// </summary>
public sealed class ProcHealthSamplerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fleet-proc-").FullName;

    private string Proc => Path.Combine(_root, "proc");

    private string Sys => Path.Combine(_root, "sys");

    public ProcHealthSamplerTests()
    {
        Directory.CreateDirectory(Proc);
        Directory.CreateDirectory(Sys);
        // user nice system idle iowait irq softirq steal guest guest_nice: busy 100 of 1000 ticks.
        Write("proc/stat", "cpu  60 0 40 850 50 0 0 0 0 0\ncpu0 30 0 20 425 25 0 0 0 0 0\nintr 1\n");
        Write("proc/meminfo", "MemTotal:        4000000 kB\nMemFree:          500000 kB\nMemAvailable:    1000000 kB\n");
        Write("proc/uptime", "12345.67 20000.00\n");
        Write("proc/loadavg", "0.75 0.50 0.25 1/100 4242\n");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Write(string path, string text)
    {
        var full = Path.Combine(_root, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
    }

    [Fact]
    public void Each_source_should_be_read_and_cpu_should_be_the_share_since_the_previous_sample()
    {
        Write("sys/class/thermal/thermal_zone0/temp", "45000\n");
        Write("sys/class/thermal/thermal_zone1/temp", "52500\n");
        var sampler = new ProcHealthSampler(_root, Proc, Sys);
        // 1000 ticks later, 300 of them busy (iowait counts as idle).
        Write("proc/stat", "cpu  200 0 200 1450 150 0 0 0 0 0\n");

        var sample = sampler.Sample();

        Assert.Empty(sample.Failures);
        Assert.Equal(30, sample.Values[HealthFields.CpuUsage]);
        Assert.Equal(75, sample.Values[HealthFields.MemoryUsage]);
        Assert.Equal(1_000_000 * 1024.0, sample.Values[HealthFields.MemoryAvailableBytes]);
        Assert.Equal(12346, sample.Values[HealthFields.UptimeSeconds]);
        Assert.Equal(0.75, sample.Values[HealthFields.LoadAverage1m]);
        Assert.Equal(52.5, sample.Values[HealthFields.Temperature]);
        Assert.InRange(sample.Values[HealthFields.DiskUsage], 0, 100);
        Assert.True(sample.Values[HealthFields.ProcessResidentBytes] > 0);
        Assert.True(sample.Values[HealthFields.GcHeapBytes] > 0);
        Assert.Empty(sample.Unavailable);
    }

    [Fact]
    public void A_machine_without_thermal_zones_should_report_temperature_not_available_without_a_failure()
    {
        var sample = new ProcHealthSampler(_root, Proc, Sys).Sample();

        Assert.False(sample.Values.ContainsKey(HealthFields.Temperature));
        Assert.Equal("not available (this machine has no thermal zones)", sample.Unavailable[HealthFields.Temperature]);
        Assert.Empty(sample.Failures);
    }

    [Fact]
    public void A_failing_source_should_cost_only_its_own_fields()
    {
        var sampler = new ProcHealthSampler(_root, Proc, Sys);
        File.Delete(Path.Combine(Proc, "loadavg"));
        Write("proc/meminfo", "MemTotal:        4000000 kB\nMemFree:          500000 kB\n");
        Write("proc/stat", "garbage\n");

        var sample = sampler.Sample();

        Assert.Equal(["cpu", "load", "memory"], sample.Failures.Select(f => f.Source).Order());
        Assert.StartsWith("load: Could not find file", sample.Unavailable[HealthFields.LoadAverage1m]);
        Assert.Equal("memory: meminfo has no MemAvailable", sample.Unavailable[HealthFields.MemoryUsage]);
        Assert.Equal("memory: meminfo has no MemAvailable", sample.Unavailable[HealthFields.MemoryAvailableBytes]);
        Assert.Contains("does not start with a cpu line", sample.Unavailable[HealthFields.CpuUsage]);
        foreach (var field in new[] { HealthFields.LoadAverage1m, HealthFields.MemoryUsage, HealthFields.CpuUsage })
            Assert.False(sample.Values.ContainsKey(field), field);
        // The others go on.
        Assert.Equal(12346, sample.Values[HealthFields.UptimeSeconds]);
        Assert.True(sample.Values.ContainsKey(HealthFields.DiskUsage));
        Assert.True(sample.Values.ContainsKey(HealthFields.ProcessCpuUsage));
    }

    [Fact]
    public void A_data_folder_that_does_not_exist_yet_should_report_the_file_system_it_will_be_on()
    {
        var sample = new ProcHealthSampler(Path.Combine(_root, "not", "yet", "data"), Proc, Sys).Sample();

        Assert.InRange(sample.Values[HealthFields.DiskUsage], 0, 100);
        Assert.True(sample.Values[HealthFields.DiskFreeBytes] > 0);
    }

    [Fact]
    public void This_machines_own_proc_should_give_values_in_their_ranges()
    {
        var sampler = new ProcHealthSampler(_root);
        // Some work between the samples, so that CPU shares are over a real interval.
        var spin = System.Diagnostics.Stopwatch.StartNew();
        while (spin.ElapsedMilliseconds < 200) { }

        var sample = sampler.Sample();

        Assert.Empty(sample.Failures);
        Assert.InRange(sample.Values[HealthFields.CpuUsage], 0, 100);
        Assert.InRange(sample.Values[HealthFields.ProcessCpuUsage], 1, 100 * Environment.ProcessorCount);
        Assert.InRange(sample.Values[HealthFields.MemoryUsage], 0, 100);
        Assert.True(sample.Values[HealthFields.MemoryAvailableBytes] > 0);
        Assert.InRange(sample.Values[HealthFields.ProcessResidentBytes], 10e6, 10e9);
        Assert.InRange(sample.Values[HealthFields.DiskUsage], 0, 100);
        Assert.True(sample.Values[HealthFields.UptimeSeconds] > 0);
        Assert.True(sample.Values[HealthFields.ProcessUptimeSeconds] >= 0);
        Assert.True(sample.Values[HealthFields.LoadAverage1m] >= 0);
        Assert.True(sample.Values[HealthFields.ThreadPoolThreads] >= 1);
        // The disk's use as df shows it (df rounds up): the blocks reserved for root are not the agent's.
        var df = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("df", ["--output=pcent", _root]) { RedirectStandardOutput = true })!;
        var percent = double.Parse(df.StandardOutput.ReadToEnd().Split('\n')[1].Trim().TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture);
        df.WaitForExit();
        Assert.InRange(sample.Values[HealthFields.DiskUsage], percent - 1.5, percent);
        // This machine has no thermal zones; a machine with some reports a plausible temperature.
        if (sample.Values.TryGetValue(HealthFields.Temperature, out var celsius)) Assert.InRange(celsius, -40, 150);
        else Assert.StartsWith("not available", sample.Unavailable[HealthFields.Temperature]);
    }
}
