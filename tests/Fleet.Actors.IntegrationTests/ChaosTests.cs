using System.Globalization;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests;

/// <summary>
/// The zero-loss proofs of the spine: SIGKILL under load and broker outages under load, each
/// verified fleet-side against a real mosquitto. FLEET_KILL_ROUNDS raises the number of kills
/// (the same runs are available as <c>fleet-agent chaos kill --rounds N</c>).
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ChaosOptions _options = new()
    {
        Seed = 20261122,
        Log = output.WriteLine,
    };

    private MosquittoProcess? _broker;

    public async Task InitializeAsync()
    {
        _broker = new MosquittoProcess(Path.Combine(_options.WorkDirectory, "mosquitto"));
        await _broker.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null) await _broker.DisposeAsync();
        try
        {
            Directory.Delete(_options.WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Agent_killed_with_SIGKILL_under_load_should_lose_no_accepted_reading()
    {
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("FLEET_KILL_ROUNDS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 20;
        var report = await ChaosScenarios.KillRoundsAsync(_broker!, _options with { Rounds = rounds });
        output.WriteLine(report.ToString());

        Assert.True(report.Passed, report.ToString());
        Assert.Equal(0, report.Missing);
        Assert.True(report.Received > rounds * 100, $"only {report.Received} readings over {rounds} rounds: not under load");
    }

    [Fact]
    public async Task Broker_outages_under_load_should_lose_nothing_and_drain_the_backlog()
    {
        var report = await ChaosScenarios.BrokerOutagesAsync(_broker!, _options with { Rounds = 3 });
        output.WriteLine(report.ToString());

        Assert.True(report.Passed, report.ToString());
        Assert.Equal(0, report.Missing);
        Assert.True(report.Drained);
    }

    /// <summary>
    /// The promise that evictions are never silent, from outside: a small disk budget, outages long
    /// enough for several evictions each, SIGKILL during some of them. The subscriber must hold
    /// every sequence or a gap record that covers it.
    /// </summary>
    [Fact]
    public async Task Long_outages_against_a_small_disk_budget_should_announce_every_eviction()
    {
        var report = await ChaosScenarios.DiskBudgetAsync(_broker!, _options with { Rounds = 3, ObdRateHz = 400, OutageDuration = TimeSpan.FromSeconds(5) });
        output.WriteLine(report.ToString());

        Assert.True(report.Passed, report.ToString());
        Assert.Equal(0, report.Missing);
        Assert.True(report.GapRecords > 0);
    }

    [Fact]
    public async Task A_passed_chaos_run_from_the_command_line_should_leave_no_work_folder_behind()
    {
        var result = await FleetAgentCli.RunAsync("chaos", "kill", "--rounds", "1", "--seed", "7");
        output.WriteLine(result.ToString());

        Assert.Equal(0, result.Exit);
        var folder = System.Text.RegularExpressions.Regex.Match(result.Out, @"work folder (\S+)").Groups[1].Value;
        Assert.StartsWith(Path.GetTempPath(), folder);
        Assert.False(Directory.Exists(folder), $"{folder} is still there");
    }
}
