using System.Diagnostics;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;
using Fleet.Actors.Host.Verification;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests;

/// <summary>
/// How the agent process starts and ends as an operator drives it: one agent per data folder,
/// SIGHUP, a second SIGTERM, a shutdown that hangs. Every test ends by checking from a subscriber
/// that no accepted reading was lost on the way.
/// </summary>
public sealed class AgentLifecycleTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan FirstBatchTimeout = TimeSpan.FromSeconds(30);
    private readonly MosquittoProcess _broker = new();
    private readonly string _work = Path.Combine(Path.GetTempPath(), "fleet-life-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _vehicle = "life-" + Guid.NewGuid().ToString("N")[..6];
    private MqttVerifier? _verifier;

    private string DataDirectory => Path.Combine(_work, "data");

    public async Task InitializeAsync()
    {
        await _broker.StartAsync();
        _verifier = await MqttVerifier.StartAsync(new BrokerSettings { Host = "127.0.0.1", Port = _broker.Port },
            $"fleet/chaos/{_vehicle}/telemetry", $"fleet/chaos/{_vehicle}/status", "verify-" + _vehicle, persistentSession: true);
    }

    public async Task DisposeAsync()
    {
        if (_verifier is not null) await _verifier.DisposeAsync();
        await _broker.DisposeAsync();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private AgentProcess StartAgent(string extra = "") =>
        AgentProcess.Start(ChaosScenarios.Overlay(_broker, _vehicle, DataDirectory, obdRateHz: 50, extra), _work, output.WriteLine);

    /// <summary>A last clean run delivers what the log still holds; the subscriber must then have every sequence.</summary>
    private async Task AssertNothingLostAsync()
    {
        await using (var agent = StartAgent())
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout), "the final run delivered nothing");
            Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));
        }
        Assert.True(await _verifier!.WaitUntilAsync(v => v.AllOfflineVehiclesComplete(1), TimeSpan.FromSeconds(20)));
        var vehicle = _verifier.Verifier.Report().Vehicles.Single();
        Assert.True(vehicle.Missing == 0, $"missing {string.Join(", ", vehicle.MissingRanges.Select(r => $"{r.Start}..{r.End}"))}");
        Assert.Equal(0, vehicle.GapRecords);
    }

    [Fact]
    public async Task A_second_agent_on_the_same_data_folder_should_exit_1_at_once_naming_the_folder_and_the_holder()
    {
        await using (var first = StartAgent())
        {
            Assert.True(await first.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            var started = Stopwatch.StartNew();
            await using (var second = StartAgent())
            {
                Assert.Equal(1, await second.WaitForExitAsync(TimeSpan.FromSeconds(20)));
                var refusal = string.Join("\n", second.Output);
                Assert.Contains(Path.GetFullPath(DataDirectory), refusal);
                Assert.Contains($"PID {first.Id}", refusal);
                Assert.DoesNotContain(second.Output, line => line.Contains("First batch", StringComparison.Ordinal) || line.Contains("Exception", StringComparison.Ordinal));
            }
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"the second agent took {started.Elapsed} to give up");

            // The first one goes on undisturbed; a kill -9 leaves no stale lock behind.
            Assert.True(await WaitForNewOutputAsync(first, first.Output.Count, "broker online", TimeSpan.FromSeconds(10)), "the first agent stopped working");
            first.KillHard();
            await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        await AssertNothingLostAsync();
    }

    [Fact]
    public async Task SIGHUP_should_be_logged_and_ignored()
    {
        await using (var agent = StartAgent())
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            Posix.Signal(agent.Id, Posix.SigHup);
            Assert.True(await agent.WaitForOutputAsync("SIGHUP received and ignored", TimeSpan.FromSeconds(10)), "no log line for SIGHUP");
            var lines = agent.Output.Count;
            // Still reading and delivering: more summary lines come.
            Assert.True(await WaitForNewOutputAsync(agent, lines, "broker online", TimeSpan.FromSeconds(10)), "the agent stopped working after SIGHUP");
            Assert.False(agent.HasExited);
            Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains(agent.Output, line => line.Contains("fully drained", StringComparison.Ordinal));
        }
        await AssertNothingLostAsync();
    }

    [Fact]
    public async Task A_second_SIGTERM_should_end_the_drain_at_once_and_keep_the_backlog_in_the_log()
    {
        await using (var agent = StartAgent("shutdown { drain-timeout = 120s, timeout = 150s }"))
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            // The broker goes away: the drain cannot finish and would wait its whole timeout.
            await _broker.StopAsync();
            Assert.True(await agent.WaitForOutputAsync("Broker link lost", TimeSpan.FromSeconds(20)));
            var stopping = Stopwatch.StartNew();
            Posix.Signal(agent.Id, Posix.SigTerm);
            Assert.True(await agent.WaitForOutputAsync("draining the uplink", TimeSpan.FromSeconds(10)));
            Posix.Signal(agent.Id, Posix.SigTerm);
            Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(20), $"stopping took {stopping.Elapsed} with a drain timeout of 120 s");
            Assert.Contains(agent.Output, line => line.Contains("Second SIGTERM", StringComparison.Ordinal));
            Assert.Contains(agent.Output, line => line.Contains("left in the log", StringComparison.Ordinal));
        }
        await _broker.StartAsync();
        await AssertNothingLostAsync();
    }

    [Fact]
    public async Task A_shutdown_that_hangs_should_be_ended_at_the_shutdown_timeout_with_exit_code_1()
    {
        await using (var agent = StartAgent("shutdown { drain-timeout = 3s, timeout = 6s }"))
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            // Another process holds the journal's write lock, as a disk that stopped answering would:
            // the log's flush at shutdown cannot finish.
            await using var blocker = new SqliteConnection(SqliteWal.ConnectionString(Path.Combine(DataDirectory, "journal.db")));
            await blocker.OpenAsync();
            await using (var begin = blocker.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE";
                await begin.ExecuteNonQueryAsync();
            }
            var stopping = Stopwatch.StartNew();
            Posix.Signal(agent.Id, Posix.SigTerm);
            Assert.Equal(1, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            output.WriteLine($"ended after {stopping.Elapsed}");
            Assert.InRange(stopping.Elapsed, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));
            Assert.Contains(agent.Output, line => line.Contains("Shutdown did not finish within 6s", StringComparison.Ordinal));
            await using var rollback = blocker.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync();
        }
        await AssertNothingLostAsync();
    }

    private static async Task<bool> WaitForNewOutputAsync(AgentProcess agent, int after, string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !agent.HasExited)
        {
            if (agent.Output.Skip(after).Any(l => l.Contains(text, StringComparison.Ordinal))) return true;
            await Task.Delay(50);
        }
        return false;
    }
}
