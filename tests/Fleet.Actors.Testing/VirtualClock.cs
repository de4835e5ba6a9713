using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace Fleet.Actors.Testing;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also tells which of its timers are armed and which went
/// off, and when (in simulated time). Timers fire inside <see cref="FakeTimeProvider.Advance"/>, so
/// once it returns the record is complete: a test can say deterministically that a timeout did not go
/// off (or went off at the right moment), where watching the code's task complete on the thread
/// pool would need a sleep.
/// </summary>
/// <remarks>
/// The clock reads the advance's target while the timers it fires run, so <see cref="TimerFiring.At"/>
/// is the end of the <see cref="FakeTimeProvider.Advance"/> (or <see cref="FakeTimeProvider.SetUtcNow"/>)
/// that fired it.
/// </remarks>
public sealed class VirtualClock(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly ConcurrentQueue<TimerFiring> _fired = new();
    private readonly ConcurrentDictionary<TrackedTimer, byte> _armed = new();

    /// <summary>Every timer callback so far, in order.</summary>
    public IReadOnlyList<TimerFiring> Fired => _fired.ToArray();

    /// <summary>The one-shot timers that went off (timeouts, delays), in order; periodic ticks left out.</summary>
    public IReadOnlyList<DateTimeOffset> TimeoutsFired => _fired.Where(f => !f.Periodic).Select(f => f.At).ToArray();

    /// <summary>Timers that will fire when the clock reaches their due time (created or changed with a finite due time, not yet fired if one-shot, not disposed).</summary>
    public int ArmedTimers => _armed.Count;

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var tracked = new TrackedTimer(this);
        tracked.Arm(dueTime, period);
        tracked.Inner = base.CreateTimer(s =>
        {
            tracked.Fire(GetUtcNow());
            callback(s);
        }, state, dueTime, period);
        return tracked;
    }

    /// <summary>One timer callback: the simulated time it ran at, and whether its timer repeats.</summary>
    public readonly record struct TimerFiring(DateTimeOffset At, bool Periodic);

    private sealed class TrackedTimer(VirtualClock clock) : ITimer
    {
        private TimeSpan _period;

        public ITimer Inner { get; set; } = null!;

        private bool Periodic => _period != Timeout.InfiniteTimeSpan && _period != TimeSpan.Zero;

        public void Arm(TimeSpan dueTime, TimeSpan period)
        {
            _period = period;
            if (dueTime == Timeout.InfiniteTimeSpan) clock._armed.TryRemove(this, out _);
            else clock._armed[this] = 0;
        }

        public void Fire(DateTimeOffset at)
        {
            clock._fired.Enqueue(new TimerFiring(at, Periodic));
            if (!Periodic) clock._armed.TryRemove(this, out _);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Arm(dueTime, period);
            return Inner.Change(dueTime, period);
        }

        public void Dispose()
        {
            clock._armed.TryRemove(this, out _);
            Inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            clock._armed.TryRemove(this, out _);
            return Inner.DisposeAsync();
        }
    }
}
