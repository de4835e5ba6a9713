namespace Fleet.Actors.Core.Scripting;

/// <summary>
/// At most N runs per script within any sliding 60 s window (a log of start times per script,
/// bounded by N). Time is passed in, so tests and the actor's clock decide. Not thread-safe.
/// </summary>
public sealed class ScriptRateLimiter(int maxRunsPerMinute)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly Dictionary<string, Queue<DateTimeOffset>> _starts = new(StringComparer.Ordinal);

    /// <summary>Records a run of <paramref name="scriptId"/> at <paramref name="now"/>, or refuses it (false) when the window is full.</summary>
    public bool TryAcquire(string scriptId, DateTimeOffset now)
    {
        if (!_starts.TryGetValue(scriptId, out var starts)) _starts[scriptId] = starts = new Queue<DateTimeOffset>();
        while (starts.Count > 0 && now - starts.Peek() >= Window) starts.Dequeue();
        if (starts.Count >= maxRunsPerMinute) return false;
        starts.Enqueue(now);
        return true;
    }

    /// <summary>Forgets a script (removed from the store).</summary>
    public void Forget(string scriptId) => _starts.Remove(scriptId);
}
