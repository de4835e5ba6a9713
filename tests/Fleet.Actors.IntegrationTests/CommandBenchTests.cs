using Fleet.Actors.Host.Bench;
using Fleet.Actors.Host.Broker;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests;

/// <summary>
/// The commands phase of <c>fleet-agent bench</c> against a real mosquitto, shortened: every signed
/// command it sends, idle, online and while a 500,000-reading backlog drains, is acknowledged and
/// succeeds, and the backlog really drains meanwhile. Times are reported, never asserted.
/// </summary>
public sealed class CommandBenchTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "fleet-cmdbench-" + Guid.NewGuid().ToString("N")[..8]);
    private MosquittoProcess? _broker;

    public async Task InitializeAsync()
    {
        _broker = new MosquittoProcess(Path.Combine(_work, "mosquitto"));
        await _broker.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null) await _broker.DisposeAsync();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Commands_sent_while_a_backlog_drains_should_all_be_acknowledged_and_succeed()
    {
        var options = new BenchOptions { CommandRate = 20, CommandDuration = TimeSpan.FromSeconds(1), CommandRounds = 2, Log = output.WriteLine };
        var bench = new PipelineBench(options, _broker!, _work);

        var outcome = await new CommandBench(options, _broker!, bench.Vehicle, bench.DataDirectory).RunAsync(CancellationToken.None);

        foreach (var (condition, samples) in new[] { ("idle", outcome.Idle), ("online", outcome.Live), ("draining", outcome.Drain) })
        {
            Assert.NotEmpty(samples);
            Assert.True(samples.All(s => s.Answered), $"{condition}: {samples.Count(s => !s.Answered)} of {samples.Count} commands not acknowledged or not succeeded");
        }
        Assert.Equal(2, outcome.Rounds.Count);
        Assert.All(outcome.Rounds, round =>
        {
            Assert.True(round.Backlog >= CommandBench.Backlog, $"round {round.Number}: only {round.Backlog} readings of backlog when the broker came back");
            Assert.True(round.Acknowledged >= round.Backlog - 10_000, $"round {round.Number}: {round.Acknowledged} readings acknowledged during the drain of {round.Backlog}");
            Assert.True(round.UnsentAtEnd < 10_000, $"round {round.Number}: {round.UnsentAtEnd} readings still unsent at the end");
            Assert.True(round.BatchesForwarded > 0, $"round {round.Number}: the fleet consumer received no telemetry");
        });
        Assert.True(outcome.Rounds.Sum(r => r.Commands) > 0, "no command was sent during a drain");
    }
}
