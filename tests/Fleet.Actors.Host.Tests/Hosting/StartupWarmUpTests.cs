using Fleet.Actors.Host.Hosting;

namespace Fleet.Actors.Host.Tests.Hosting;

/// <summary>
/// The start's warm-up swallows what fails (the start then pays that cost itself), so a step broken
/// by a library change would only show as a slower start: every step must run through here.
/// </summary>
public sealed class StartupWarmUpTests
{
    [Fact]
    public async Task Every_step_of_the_warm_up_should_run_without_failing()
    {
        Assert.Equal(["hocon-durations", "akka-reference", "crypto", "sqlite", "akka-app-config", "expressions", "streams", "zstd"], StartupWarmUp.Steps.Select(s => s.Name));
        Assert.Empty(await StartupWarmUp.Start());
    }
}
