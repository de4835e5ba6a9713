using System.Diagnostics;

namespace Fleet.Actors.Testing;

/// <summary>Waits for a condition that code on other threads makes true (a positive wait: it ends as soon as the condition holds).</summary>
public static class Poll
{
    private static readonly TimeSpan DefaultPatience = TimeSpan.FromSeconds(10);

    /// <summary>Returns once <paramref name="condition"/> holds; fails naming <paramref name="what"/> after <paramref name="patience"/> (10 s).</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? patience = null)
    {
        var limit = patience ?? DefaultPatience;
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed >= limit) throw new TimeoutException($"timed out after {limit.TotalSeconds:0.#} s waiting until {what}");
            await Task.Delay(5);
        }
    }

    /// <summary>The same for a condition that is itself asynchronous (an HTTP request, say), checked every 100 ms.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? patience = null)
    {
        var limit = patience ?? DefaultPatience;
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed >= limit) throw new TimeoutException($"timed out after {limit.TotalSeconds:0.#} s waiting until {what}");
            await Task.Delay(100);
        }
    }
}
