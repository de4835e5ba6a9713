using System.Globalization;
using Fleet.Actors.Core.Telemetry.Verification;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Verification;

namespace Fleet.Actors.Host.Chaos;

/// <summary>The verdict of a chaos scenario.</summary>
public sealed record ChaosReport(
    string Scenario,
    bool Passed,
    int Rounds,
    long LastSequence,
    long Received,
    long Duplicates,
    long Missing,
    long GapRecords,
    int FinalExitCode,
    bool Drained,
    TimeSpan Elapsed,
    IReadOnlyList<string> Problems)
{
    /// <summary>A readable summary.</summary>
    public override string ToString()
    {
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"{Scenario}: {(Passed ? "PASS" : "FAIL")} after {Rounds} rounds in {Elapsed.TotalSeconds:F0}s: last sequence {LastSequence:N0}, received {Received:N0}, duplicates {Duplicates:N0}, missing {Missing:N0}, gap records {GapRecords}, final exit code {FinalExitCode}, {(Drained ? "drained" : "NOT drained")}");
        return Problems.Count == 0 ? summary : summary + Environment.NewLine + "  " + string.Join(Environment.NewLine + "  ", Problems);
    }
}

/// <summary>Knobs shared by the scenarios.</summary>
public sealed record ChaosOptions
{
    /// <summary>Rounds (kill) or outages (broker).</summary>
    public int Rounds { get; init; } = 20;

    /// <summary>Seed of the random timing.</summary>
    public int Seed { get; init; } = Environment.TickCount;

    /// <summary>Folder for data, overlays and logs.</summary>
    public string WorkDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "fleet-chaos-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Sample rate of the simulated OBD adapter (about 7 readings a sample); sets the load.</summary>
    public double ObdRateHz { get; init; } = 100;

    /// <summary>
    /// Share of kill rounds that strike during start-up and recovery (before the first batch is
    /// acknowledged); the others strike under load, a random moment after the first acknowledgement.
    /// </summary>
    public double StartupKillShare { get; init; } = 0.2;

    /// <summary>Latest moment, from process start, of a start-up kill.</summary>
    public TimeSpan MaxStartupUptime { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Longest time an agent runs under load (after its first acknowledged batch) before it is killed.</summary>
    public TimeSpan MaxLoadedUptime { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the broker stays down in an outage.</summary>
    public TimeSpan OutageDuration { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long the broker stays up between outages.</summary>
    public TimeSpan UpDuration { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Progress lines (and agent output when <see cref="EchoAgent"/>).</summary>
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>Echo the agents' own output to <see cref="Log"/>.</summary>
    public bool EchoAgent { get; init; }
}

/// <summary>
/// Process-level chaos against a real broker: agents killed with SIGKILL at random moments under
/// load, and broker outages under load. A fleet-side verifier subscribed throughout decides: every
/// sequence the agent ever accepted must arrive (duplicates allowed).
/// </summary>
public static class ChaosScenarios
{
    private const string Tenant = "chaos";
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan FirstBatchTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Kills the agent with SIGKILL <see cref="ChaosOptions.Rounds"/> times at random moments while
    /// it reads, journals and uplinks; then runs it once more and stops it cleanly.
    /// </summary>
    public static async Task<ChaosReport> KillRoundsAsync(MosquittoProcess broker, ChaosOptions options, CancellationToken cancellationToken = default)
    {
        var started = DateTime.UtcNow;
        var vehicle = "kill-" + Guid.NewGuid().ToString("N")[..6];
        var random = new Random(options.Seed);
        var problems = new List<string>();
        await using var verifier = await SubscribeAsync(broker, vehicle, cancellationToken);

        int underLoad = 0, underLoadWithData = 0;
        for (var round = 1; round <= options.Rounds; round++)
        {
            var before = verifier.Verifier.Report().Received;
            await using var agent = StartAgent(broker, vehicle, options);
            var atStartup = random.NextDouble() < options.StartupKillShare;
            string when;
            if (atStartup)
            {
                // During start-up: recovery, first connect, the first batch in flight.
                var uptime = options.MaxStartupUptime * random.NextDouble();
                await Task.Delay(uptime, cancellationToken);
                when = string.Create(CultureInfo.InvariantCulture, $"during start-up, {uptime.TotalSeconds:F2}s after start");
            }
            else
            {
                if (!await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout))
                    problems.Add($"round {round}: no batch acknowledged within {FirstBatchTimeout.TotalSeconds:F0}s of start");
                var loaded = options.MaxLoadedUptime * random.NextDouble();
                await Task.Delay(loaded, cancellationToken);
                underLoad++;
                when = string.Create(CultureInfo.InvariantCulture,
                    $"under load, {loaded.TotalSeconds:F2}s after the first acknowledged batch ({(DateTime.UtcNow - agent.StartedAt).TotalSeconds:F2}s after start)");
            }
            agent.KillHard();
            await agent.WaitForExitAsync(TimeSpan.FromSeconds(10));
            var after = verifier.Verifier.Report().Received;
            if (after > before && !atStartup) underLoadWithData++;
            options.Log(string.Create(CultureInfo.InvariantCulture, $"round {round}/{options.Rounds}: SIGKILL {when}, {after - before:N0} new sequences at the broker"));
        }

        var (exitCode, drained) = await FinalCleanRunAsync(broker, vehicle, options, TimeSpan.FromSeconds(3));
        if (underLoad < options.Rounds / 2)
            problems.Add($"only {underLoad} of {options.Rounds} rounds were killed under load");
        // A round killed right after its first acknowledgement may have re-sent only the previous round's tail.
        if (underLoadWithData < underLoad * 3 / 4)
            problems.Add($"only {underLoadWithData} of {underLoad} rounds killed under load delivered new readings");
        return await VerdictAsync("kill -9 rounds", options.Rounds, verifier, vehicle, exitCode, drained, started, problems);
    }

    /// <summary>
    /// Stops the broker <see cref="ChaosOptions.Rounds"/> times (for <see cref="ChaosOptions.OutageDuration"/>)
    /// while the agent runs under load, then stops the agent cleanly: the backlog must drain and
    /// nothing may be missing.
    /// </summary>
    public static async Task<ChaosReport> BrokerOutagesAsync(MosquittoProcess broker, ChaosOptions options, CancellationToken cancellationToken = default)
    {
        var started = DateTime.UtcNow;
        var vehicle = "outage-" + Guid.NewGuid().ToString("N")[..6];
        await using var verifier = await SubscribeAsync(broker, vehicle, cancellationToken);
        await using var agent = StartAgent(broker, vehicle, options);
        var problems = new List<string>();
        if (!await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout))
            problems.Add("the agent never delivered a first batch");

        for (var outage = 1; outage <= options.Rounds; outage++)
        {
            await Task.Delay(options.UpDuration, cancellationToken);
            await broker.StopAsync();
            options.Log($"outage {outage}/{options.Rounds}: broker stopped");
            await Task.Delay(options.OutageDuration, cancellationToken);
            await broker.StartAsync(cancellationToken);
            options.Log($"outage {outage}/{options.Rounds}: broker back");
        }

        // Let it catch up with live ingest still running, then stop it; shutdown drains the rest.
        await Task.Delay(options.UpDuration, cancellationToken);
        var exitCode = await agent.StopAsync(StopTimeout);
        var drained = agent.Output.Any(l => l.Contains("fully drained", StringComparison.Ordinal));
        var report = await VerdictAsync("broker outages", options.Rounds, verifier, vehicle, exitCode, drained, started, problems);

        // Duplicates may only come from batches in flight when a link broke.
        var bound = (long)options.Rounds * new UplinkSettings().MaxInFlight * new UplinkSettings().MaxBatchRecords;
        if (report.Duplicates > bound)
            return report with { Passed = false, Problems = [.. report.Problems, $"{report.Duplicates} duplicates exceed the in-flight bound {bound}"] };
        return report;
    }

    /// <summary>
    /// Long broker outages against a small disk budget (<see cref="DiskBudgetOverlay"/>): the log
    /// evicts again and again, each eviction giving up gap records of the ones before; in about
    /// half of the outages the agent is killed with SIGKILL and started again while the broker is
    /// still down; between outages the broker is back for <see cref="ChaosOptions.UpDuration"/>
    /// only. Every sequence must finally be delivered or covered by a delivered gap record.
    /// </summary>
    public static async Task<ChaosReport> DiskBudgetAsync(MosquittoProcess broker, ChaosOptions options, CancellationToken cancellationToken = default)
    {
        var started = DateTime.UtcNow;
        var vehicle = "budget-" + Guid.NewGuid().ToString("N")[..6];
        var random = new Random(options.Seed);
        var problems = new List<string>();
        await using var verifier = await SubscribeAsync(broker, vehicle, cancellationToken);
        var agent = StartAgent(broker, vehicle, options, DiskBudgetOverlay);
        try
        {
            if (!await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout))
                problems.Add("the agent never delivered a first batch");
            for (var outage = 1; outage <= options.Rounds; outage++)
            {
                await broker.StopAsync();
                var outageStarted = DateTime.UtcNow;
                var length = options.OutageDuration * (1 + random.NextDouble());
                var kill = random.Next(2) == 0;
                if (kill)
                {
                    await Task.Delay(length * random.NextDouble(), cancellationToken);
                    agent.KillHard();
                    await agent.WaitForExitAsync(TimeSpan.FromSeconds(10));
                    await agent.DisposeAsync();
                    agent = StartAgent(broker, vehicle, options, DiskBudgetOverlay);
                }
                var rest = length - (DateTime.UtcNow - outageStarted);
                if (rest > TimeSpan.Zero) await Task.Delay(rest, cancellationToken);
                await broker.StartAsync(cancellationToken);
                options.Log(string.Create(CultureInfo.InvariantCulture,
                    $"outage {outage}/{options.Rounds}: broker down {length.TotalSeconds:F1}s{(kill ? ", agent killed with SIGKILL and restarted meanwhile" : "")}, {verifier.Verifier.Report().GapRecords} gap records so far"));
                await Task.Delay(options.UpDuration, cancellationToken);
            }
            var exitCode = await agent.StopAsync(StopTimeout);
            var drained = agent.Output.Any(l => l.Contains("fully drained", StringComparison.Ordinal));
            return await VerdictAsync("disk budget", options.Rounds, verifier, vehicle, exitCode, drained, started, problems, evictionsExpected: true);
        }
        finally
        {
            await agent.DisposeAsync();
        }
    }

    /// <summary>The overlay configuration of a chaos agent.</summary>
    public static string Overlay(MosquittoProcess broker, string vehicle, string dataDirectory, double obdRateHz, string extra = "") =>
        string.Create(CultureInfo.InvariantCulture, $$"""
        fleet {
          vehicle { id = "{{vehicle}}", tenant = "{{Tenant}}" }
          data-dir = "{{dataDirectory.Replace("\\", "/")}}"
          embedded-broker.enabled = off
          # Many agents on one machine: no HTTP endpoint each (they would contend for its port).
          http.enabled = off
          uplink.broker.url = "{{broker.Url}}"
          uplink.reconnect { min-backoff = 200ms, max-backoff = 2s }
          summary-interval = 1s
          logging.file = ""
          sensors = [
            { id = gps, type = sim-gps, rate-hz = 10 }
            { id = obd, type = sim-obd, rate-hz = {{obdRateHz}} }
            { id = imu, type = sim-imu, rate-hz = 100 }
          ]
          {{extra}}
        }
        """);

    /// <summary>
    /// A disk budget that a few seconds offline exceed at a few thousand readings a second, and the
    /// shipped reconnect backoff (up to 30 s), so that the log evicts while the uplink waits.
    /// </summary>
    public const string DiskBudgetOverlay = """
        wal { max-unsent-bytes = 256KiB, segment-bytes = 16KiB, max-entry-bytes = 8KiB, cache-bytes = 64KiB, snapshot-every = 50 }
        uplink.reconnect { min-backoff = 1s, max-backoff = 30s }
        """;

    private static AgentProcess StartAgent(MosquittoProcess broker, string vehicle, ChaosOptions options, string extra = "")
    {
        var data = Path.Combine(options.WorkDirectory, vehicle, "data");
        return AgentProcess.Start(Overlay(broker, vehicle, data, options.ObdRateHz, extra), Path.Combine(options.WorkDirectory, vehicle),
            options.EchoAgent ? line => options.Log("  agent: " + line) : null);
    }

    private static Task<MqttVerifier> SubscribeAsync(MosquittoProcess broker, string vehicle, CancellationToken cancellationToken) =>
        MqttVerifier.StartAsync(
            new BrokerSettings { Host = "127.0.0.1", Port = broker.Port },
            $"fleet/{Tenant}/{vehicle}/telemetry",
            $"fleet/{Tenant}/{vehicle}/status",
            "verify-" + vehicle,
            persistentSession: true,
            cancellationToken,
            checkConflicts: true);

    private static async Task<(int ExitCode, bool Drained)> FinalCleanRunAsync(MosquittoProcess broker, string vehicle, ChaosOptions options, TimeSpan uptime)
    {
        await using var agent = StartAgent(broker, vehicle, options);
        await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout);
        await Task.Delay(uptime);
        var exitCode = await agent.StopAsync(StopTimeout);
        options.Log($"final run stopped with exit code {exitCode}");
        return (exitCode, agent.Output.Any(l => l.Contains("fully drained", StringComparison.Ordinal)));
    }

    private static async Task<ChaosReport> VerdictAsync(string scenario, int rounds, MqttVerifier verifier, string vehicle,
        int exitCode, bool drained, DateTime started, List<string> problems, bool evictionsExpected = false)
    {
        // The offline status carries the last accepted sequence; wait for everything up to it.
        await verifier.WaitUntilAsync(v => v.AllOfflineVehiclesComplete(1), TimeSpan.FromSeconds(30));
        var report = verifier.Verifier.Report();
        var result = report.Vehicles.SingleOrDefault(v => v.VehicleId == vehicle);
        if (result is null)
        {
            problems.Add("nothing arrived at the broker");
            return new ChaosReport(scenario, false, rounds, 0, 0, 0, 0, 0, exitCode, drained, DateTime.UtcNow - started, problems);
        }
        if (result.Status != "offline" || result.StatusLastSequence is null) problems.Add("no offline status with last_sequence was published at the end");
        if (result.Missing > 0) problems.Add($"missing sequences: {string.Join(", ", result.MissingRanges.Select(r => $"{r.Start}..{r.End}"))}");
        if (!evictionsExpected && result.GapRecords > 0) problems.Add($"{result.GapRecords} gap records (nothing should have been evicted)");
        if (evictionsExpected && result.GapRecords == 0) problems.Add("no gap record arrived: the disk budget was never exceeded, so evictions were not tested");
        if (report.DecodeErrors > 0) problems.Add($"{report.DecodeErrors} payloads did not decode");
        if (result.Conflicts > 0) problems.Add($"{result.Conflicts} sequences arrived twice with different contents: a sequence number was used twice");
        if (exitCode != 0) problems.Add($"the final agent exited with {exitCode}");
        if (!drained) problems.Add("the final shutdown did not drain the log");
        return new ChaosReport(scenario, problems.Count == 0, rounds, result.ExpectedLast, result.Received, result.Duplicates,
            result.Missing, result.GapRecords, exitCode, drained, DateTime.UtcNow - started, problems);
    }
}
