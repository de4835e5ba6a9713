using System.Diagnostics;
using System.Globalization;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;

namespace Fleet.Actors.Host.Bench;

/// <summary>
/// What watching the agent costs (phase <c>observability</c>): the agent process at the default
/// configuration's load (3 simulated sensors, about 18 readings/s) with the HTTP endpoint and the
/// health monitor on (scraped every 15 s as a Prometheus would) and with both off, alternated in
/// the same run, each measured for its process CPU time and resident memory after a warm-up; then
/// the latency of each endpoint over sequential requests.
/// </summary>
public sealed class ObservabilityBench(BenchOptions options, MosquittoProcess broker, string workDirectory)
{
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Measured = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(15);
    private const int LatencyRequests = 200;

    private sealed record Run(bool Watched, double CpuPercent, double ResidentMiB);

    /// <summary>Runs the phase and returns its report lines.</summary>
    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var report = new List<string>
        {
            "",
            "### What watching the agent costs: the HTTP endpoint and the health monitor",
            "",
            $"`fleet-agent run` as a child process against the same mosquitto, at the default configuration's load (gps 1 Hz, obd 1 Hz, imu 10 Hz: about 18 readings/s). " +
            $"*Watched*: `fleet.http` on and scraped (`/metrics` and `/status`) every {ScrapeInterval.TotalSeconds:0} s, `fleet.health` on with its defaults (sample every 10 s, heartbeat every 30 s). " +
            $"*Unwatched*: both off. The two alternate, {options.Repeats} runs each; each run warms up {WarmUp.TotalSeconds:0} s, then the process's CPU time (utime + stime) " +
            $"over {Measured.TotalSeconds:0} s is its share of one core, and its resident memory (VmRSS) is read at the end. Medians.",
            "",
        };
        options.Log("== observability");
        var runs = new List<Run>();
        for (var i = 0; i < options.Repeats; i++)
            foreach (var watched in new[] { true, false })
            {
                runs.Add(await MeasureAsync(watched, i, cancellationToken));
                options.Log($"  {(watched ? "watched" : "unwatched")} run {i + 1}: {runs[^1].CpuPercent:F2} % of a core, {runs[^1].ResidentMiB:F0} MiB");
            }
        var on = runs.Where(r => r.Watched).ToList();
        var off = runs.Where(r => !r.Watched).ToList();
        var (cpuOn, cpuOff) = (PipelineBench.Median(on.Select(r => r.CpuPercent).ToList()), PipelineBench.Median(off.Select(r => r.CpuPercent).ToList()));
        var (rssOn, rssOff) = (PipelineBench.Median(on.Select(r => r.ResidentMiB).ToList()), PipelineBench.Median(off.Select(r => r.ResidentMiB).ToList()));
        report.Add("| | process CPU (share of one core) | runs | resident memory | runs |");
        report.Add("|---|---:|---|---:|---|");
        report.Add(Row("watched (endpoint + monitor)", cpuOn, on, rssOn));
        report.Add(Row("unwatched (both off)", cpuOff, off, rssOff));
        report.Add(string.Create(CultureInfo.InvariantCulture,
            $"| difference (watched − unwatched) | {cpuOn - cpuOff:+0.00;-0.00} points (×{(cpuOff > 0 ? cpuOn / cpuOff : double.NaN):F2}) | | {rssOn - rssOff:+0;-0} MiB (×{(rssOff > 0 ? rssOn / rssOff : double.NaN):F2}) | |"));
        report.AddRange(await LatencyAsync(cancellationToken));
        return report;
    }

    private static string Row(string name, double cpu, IEnumerable<Run> runs, double rss) => string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {cpu:F2} % | {string.Join(", ", runs.Select(r => r.CpuPercent.ToString("F2", CultureInfo.InvariantCulture)))} | {rss:F0} MiB | {string.Join(", ", runs.Select(r => r.ResidentMiB.ToString("F0", CultureInfo.InvariantCulture)))} |");

    private string Overlay(string vehicle, bool watched, int port) =>
        ChaosScenarios.Overlay(broker, vehicle, Path.Combine(workDirectory, vehicle, "data"), 1,
            watched ? $"http {{ enabled = on, port = {port} }}\nhealth.enabled = on" : "http.enabled = off\nhealth.enabled = off")
        + "\nfleet.sensors = [\n{ id = gps, type = sim-gps, rate-hz = 1 }\n{ id = obd, type = sim-obd, rate-hz = 1 }\n{ id = imu, type = sim-imu, rate-hz = 10 }\n]\nfleet.summary-interval = 5s\n";

    private async Task<Run> MeasureAsync(bool watched, int round, CancellationToken cancellationToken)
    {
        var vehicle = $"watch-{(watched ? "on" : "off")}-{round}";
        var port = AgentCost.FreePort();
        await using var agent = await AgentCost.StartDeliveringAsync(Overlay(vehicle, watched, port), Path.Combine(workDirectory, vehicle), vehicle);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var scraping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var scraper = watched ? ScrapeAsync(http, port, scraping.Token) : Task.CompletedTask;
        var cost = await AgentCost.MeasureAsync(agent, vehicle, WarmUp, Measured, cancellationToken);
        await scraping.CancelAsync();
        await scraper;
        await agent.StopAsync(TimeSpan.FromSeconds(60));
        return new Run(watched, cost.CpuPercent, cost.ResidentMiB);
    }

    private static async Task ScrapeAsync(HttpClient http, int port, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await http.GetStringAsync($"http://127.0.0.1:{port}/metrics", cancellationToken);
                await http.GetStringAsync($"http://127.0.0.1:{port}/status", cancellationToken);
                await Task.Delay(ScrapeInterval, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<IReadOnlyList<string>> LatencyAsync(CancellationToken cancellationToken)
    {
        var port = AgentCost.FreePort();
        await using var agent = await AgentCost.StartDeliveringAsync(Overlay("watch-latency", true, port), Path.Combine(workDirectory, "watch-latency"), "latency");
        // Past the first health sample, so that /status carries everything.
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var lines = new List<string>
        {
            "",
            $"Endpoint latency: {LatencyRequests} sequential GETs of each endpoint over loopback (after 10 warm-up requests each), from request to the whole body read, with the agent at the same load.",
            "",
            "| endpoint | median | p90 | p99 | max | body |",
            "|---|---:|---:|---:|---:|---:|",
        };
        foreach (var path in new[] { "/metrics", "/status", "/healthz", "/readyz" })
        {
            for (var i = 0; i < 10; i++) await http.GetStringAsync($"http://127.0.0.1:{port}{path}", cancellationToken);
            var micros = new List<long>(LatencyRequests);
            var size = 0;
            for (var i = 0; i < LatencyRequests; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var body = await http.GetStringAsync($"http://127.0.0.1:{port}{path}", cancellationToken);
                micros.Add((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                size = body.Length;
            }
            micros.Sort();
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"| `{path}` | {Ms(PipelineBench.Percentile(micros, 0.5))} | {Ms(PipelineBench.Percentile(micros, 0.9))} | {Ms(PipelineBench.Percentile(micros, 0.99))} | {Ms(micros[^1])} | {size:N0} B |"));
            options.Log("  " + lines[^1]);
        }
        await agent.StopAsync(TimeSpan.FromSeconds(60));
        return lines;
    }

    private static string Ms(long micros) => (micros / 1000.0).ToString("F2", CultureInfo.InvariantCulture) + " ms";
}
