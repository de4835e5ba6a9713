using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Core.Tests.Wal;

/// <summary>The start-up warm-up of linq2db: its queries run on the SQLite provider the plugins use, and starting it never fails the caller.</summary>
public sealed class QueryWarmUpTests
{
    [Fact]
    public async Task Warm_up_queries_should_run_against_in_memory_sqlite() =>
        await QueryWarmUp.RunAsync().WaitAsync(TimeSpan.FromSeconds(30));

    [Fact]
    public async Task Started_warm_up_should_report_that_it_ran() =>
        Assert.True(await QueryWarmUp.Start().WaitAsync(TimeSpan.FromSeconds(30)));
}
