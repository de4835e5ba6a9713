namespace Fleet.Actors.Core.Observability;

/// <summary>
/// Lets one message through per interval and counts the rest, so a device spewing garbage cannot
/// flood the log. Not thread-safe; one per actor.
/// </summary>
public sealed class RateLimitedLog(TimeSpan interval, TimeProvider time)
{
    private long _lastLogged;
    private bool _loggedOnce;

    /// <summary>Occurrences swallowed since the last message that went through.</summary>
    public long Suppressed { get; private set; }

    /// <summary>
    /// True when a message may be written now; <paramref name="suppressed"/> is how many were
    /// swallowed before it (to mention in the message).
    /// </summary>
    public bool ShouldLog(out long suppressed)
    {
        var now = time.GetTimestamp();
        if (_loggedOnce && time.GetElapsedTime(_lastLogged, now) < interval)
        {
            Suppressed++;
            suppressed = 0;
            return false;
        }
        suppressed = Suppressed;
        Suppressed = 0;
        _lastLogged = now;
        _loggedOnce = true;
        return true;
    }
}
