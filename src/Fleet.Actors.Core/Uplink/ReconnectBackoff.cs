namespace Fleet.Actors.Core.Uplink;

/// <summary>Exponential backoff with jitter for reconnecting a link.</summary>
public static class ReconnectBackoff
{
    /// <summary>
    /// The delay before attempt <paramref name="attempt"/> (0 = first retry): min × 2^attempt,
    /// capped at max, then stretched by up to <paramref name="randomFactor"/> so that a fleet
    /// coming out of the same outage does not reconnect in lockstep.
    /// </summary>
    public static TimeSpan Delay(int attempt, TimeSpan min, TimeSpan max, double randomFactor, Random? random = null)
    {
        var exponent = Math.Min(Math.Max(attempt, 0), 30);
        var backoff = Math.Min(max.TotalMilliseconds, min.TotalMilliseconds * Math.Pow(2, exponent));
        var jitter = 1.0 + (random ?? Random.Shared).NextDouble() * randomFactor;
        return TimeSpan.FromMilliseconds(backoff * jitter);
    }
}
