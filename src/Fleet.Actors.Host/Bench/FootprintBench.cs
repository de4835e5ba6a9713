using System.Globalization;
using Fleet.Actors.Host.Broker;

namespace Fleet.Actors.Host.Bench;

/// <summary>
/// What a vehicle pays for the agent at its ordinary rate (phase <c>footprint</c>): the agent process on
/// the shipped configuration (its 3 simulated sensors, about 18 readings/s, HTTP endpoint, health
/// monitor and log file on) and at 1,000 readings/s (10 simulated OBD adapters, log fsynced), each
/// measured for its CPU share and resident memory after a warm-up; the resident memory of a vehicle
/// with 20 devices; and the time from process start to the first acknowledged publish. Each figure
/// beside its target (issue 10).
/// </summary>
public sealed class FootprintBench(BenchOptions options, MosquittoProcess broker, string workDirectory)
{
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(40);
    private static readonly TimeSpan Measured = TimeSpan.FromSeconds(60);

    // Start-ups measured in each round besides the CPU runs' own: a start varies by ±100 ms from run
    // to run, so the median of a few per round, not one, stands for it.
    private const int StartupsPerRound = 5;

    // 10 adapters of 7.2 readings a sample (the simulated OBD adapter's PIDs) at 13.9 Hz: 1,000 readings/s.
    private const string ThousandPerSecond = "fleet.sensors = [" +
        "{ id = obd-1, type = sim-obd, rate-hz = 13.9 }, { id = obd-2, type = sim-obd, rate-hz = 13.9 }, { id = obd-3, type = sim-obd, rate-hz = 13.9 }, " +
        "{ id = obd-4, type = sim-obd, rate-hz = 13.9 }, { id = obd-5, type = sim-obd, rate-hz = 13.9 }, { id = obd-6, type = sim-obd, rate-hz = 13.9 }, " +
        "{ id = obd-7, type = sim-obd, rate-hz = 13.9 }, { id = obd-8, type = sim-obd, rate-hz = 13.9 }, { id = obd-9, type = sim-obd, rate-hz = 13.9 }, " +
        "{ id = obd-10, type = sim-obd, rate-hz = 13.9 } ]";

    private sealed record Load(string Name, string Description, string Sensors, double CpuTarget, double MemoryTargetMb);

    private static readonly Load[] Loads =
    [
        new("default", "shipped configuration (3 simulated sensors, about 18 readings/s)", "", 1, double.NaN),
        new("1000", "10 simulated OBD adapters, 1,000 readings/s, log fsynced", ThousandPerSecond, 3, double.NaN),
        new("20-devices", "20 simulated devices (6 GPS, 7 OBD at 1 Hz, 7 IMU at 10 Hz: about 125 readings/s)", PipelineBench.TwentyDevices, double.NaN, 100),
    ];

    /// <summary>Runs the phase and returns its report lines.</summary>
    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        options.Log("== footprint");
        var samples = Loads.ToDictionary(l => l.Name, _ => new List<AgentCost.Sample>());
        var startups = new List<double>();
        for (var round = 0; round < options.Repeats; round++)
        {
            foreach (var load in Loads)
            {
                var name = $"footprint-{load.Name}-{round}";
                await using var agent = await AgentCost.StartDeliveringAsync(Overlay(name, load.Sensors), Path.Combine(workDirectory, name), name, options.AgentProgram);
                if (load.Name == "default") startups.Add(AgentCost.FirstAcknowledgedMs(agent));
                var cost = await AgentCost.MeasureAsync(agent, name, WarmUp, Measured, cancellationToken);
                samples[load.Name].Add(cost);
                options.Log(string.Create(CultureInfo.InvariantCulture, $"  {name}: {cost.CpuPercent:F2} % of a core, {cost.ResidentMiB:F0} MiB"));
                await agent.StopAsync(TimeSpan.FromSeconds(60));
            }
            for (var start = 0; start < StartupsPerRound; start++)
            {
                var name = $"footprint-start-{round}-{start}";
                await using var agent = await AgentCost.StartDeliveringAsync(Overlay(name, ""), Path.Combine(workDirectory, name), name, options.AgentProgram);
                startups.Add(AgentCost.FirstAcknowledgedMs(agent));
                await agent.StopAsync(TimeSpan.FromSeconds(60));
            }
        }

        var report = new List<string>
        {
            "",
            "### Footprint: what the agent costs at its ordinary rate (issue 10)",
            "",
            $"`{(options.AgentProgram is { } program ? program + " run" : "dotnet fleet-agent.dll run")}` as a child process on the shipped configuration against the same mosquitto (only identity, data folder, broker and HTTP port overridden; HTTP endpoint, health monitor and log file on as shipped). " +
            $"Each run warms up {WarmUp.TotalSeconds:0} s after its first acknowledged publish, then its CPU time (utime + stime) over {Measured.TotalSeconds:0} s is its share of one core and its resident memory (VmRSS) is read at the end. " +
            $"The loads alternate, {options.Repeats} run{(options.Repeats == 1 ? "" : "s")} each; the median of each (of an even number of runs, the higher of the middle two). Start-up: from process start to the first acknowledged publish (the agent's own log line), shipped configuration, fresh data folder: the shipped configuration's CPU runs and {StartupsPerRound} more starts a round (each stopped once it has published).",
            "",
            "| what | load | measured (median) | runs | target | |",
            "|---|---|---:|---|---:|---|",
        };
        foreach (var load in Loads)
        {
            var runs = samples[load.Name];
            if (!double.IsNaN(load.CpuTarget))
                report.Add(Row("process CPU (share of one core)", load.Description, runs.Select(r => r.CpuPercent).ToList(), "F2", " %", load.CpuTarget));
            report.Add(Row("resident memory (MiB)", load.Description, runs.Select(r => r.ResidentMiB).ToList(), "F0", " MiB", load.MemoryTargetMb * 1e6 / 1048576));
        }
        report.Add(Row("start to first acknowledged publish", Loads[0].Description, startups, "F0", " ms", 500));
        foreach (var line in report.Skip(5)) options.Log("  " + line);
        return report;
    }

    private static string Row(string what, string load, IReadOnlyList<double> runs, string format, string unit, double target)
    {
        var median = PipelineBench.Median(runs.ToList());
        var targetText = double.IsNaN(target) ? "" : unit == " MiB"
            ? string.Create(CultureInfo.InvariantCulture, $"≤ {target * 1048576 / 1e6:F0} MB ({target:F1} MiB)")
            : "≤ " + target.ToString(format, CultureInfo.InvariantCulture) + unit;
        var verdict = double.IsNaN(target) ? "" : median <= target ? "met" : "**not met**";
        return string.Create(CultureInfo.InvariantCulture,
            $"| {what} | {load} | {median.ToString(format, CultureInfo.InvariantCulture)}{unit} | {string.Join(", ", runs.Select(r => r.ToString(format, CultureInfo.InvariantCulture)))} | {targetText} | {verdict} |");
    }

    private string Overlay(string vehicle, string sensors) => string.Create(CultureInfo.InvariantCulture, $$"""
        fleet {
          vehicle { id = "{{vehicle}}", tenant = "bench" }
          data-dir = "{{Path.Combine(workDirectory, vehicle, "data").Replace("\\", "/")}}"
          embedded-broker.enabled = off
          uplink.broker.url = "{{broker.Url}}"
          http.port = {{AgentCost.FreePort()}}
        }
        {{sensors}}
        """);
}
