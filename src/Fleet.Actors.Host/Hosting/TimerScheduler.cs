using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;
using Fleet.Actors.Core.Timing;

namespace Fleet.Actors.Host.Hosting;

/// <summary>
/// Akka's scheduler on the agent's timer thread (<see cref="TimerThread"/>): every scheduled message
/// or action is one timer, so nothing wakes the process while nothing is due. Akka's default
/// (<c>HashedWheelTimerScheduler</c>) ticks every <c>akka.scheduler.tick-duration</c> (10 ms) whether
/// or not anything is scheduled: a hundred wake-ups a second, about 1.3 % of a core on an idle agent
/// (docs/adr/0017-lean-idle-agent.md). As on Akka's own scheduler thread, a due message is told (an
/// action run) on the timer thread itself, to the millisecond instead of the wheel's tick
/// (docs/adr/0022-the-agents-own-timer-thread.md). A cancelled schedule removes its timer
/// at once; disposing the scheduler (the actor system's termination) removes all of them.
/// Selected with <c>akka.scheduler.implementation</c>.
/// </summary>
public sealed class TimerScheduler : SchedulerBase, IDisposable
{
    private readonly ConcurrentDictionary<Entry, byte> _live = new();
    private volatile bool _disposed;

    /// <summary>Called by the actor system with its configuration and log.</summary>
    public TimerScheduler(Config scheduler, ILoggingAdapter log) : base(scheduler, log)
    {
    }

    /// <summary>Timers not yet fired or cancelled (one-shot) or still repeating.</summary>
    public int Pending => _live.Count;

    /// <inheritdoc />
    protected override DateTimeOffset TimeNow => DateTimeOffset.UtcNow;

    /// <inheritdoc />
    public override TimeSpan MonotonicClock => Elapsed();

    /// <inheritdoc />
    public override TimeSpan HighResMonotonicClock => ElapsedHighRes();

    // Akka's own monotonic clock (internal), so that this scheduler's clock and the times Akka
    // takes from it directly have the same origin; a clock of our own if a later Akka renames it.
    private static readonly Stopwatch Fallback = Stopwatch.StartNew();
    private static readonly Func<TimeSpan> Elapsed = AkkaClock("Elapsed");
    private static readonly Func<TimeSpan> ElapsedHighRes = AkkaClock("ElapsedHighRes");

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Akka is kept whole in the published agent (ADR 0021); without the type, the fallback clock.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "As above: the property is public and static, and Akka is not trimmed.")]
    private static Func<TimeSpan> AkkaClock(string property) =>
        typeof(ActorSystem).Assembly.GetType("Akka.Util.MonotonicClock")
            ?.GetProperty(property, BindingFlags.Public | BindingFlags.Static)?.GetMethod?.CreateDelegate<Func<TimeSpan>>()
        ?? (() => Fallback.Elapsed);

    /// <inheritdoc />
    protected override void InternalScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Start(delay, Timeout.InfiniteTimeSpan, () => receiver.Tell(message, sender), cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message,
        IActorRef sender, ICancelable cancelable) =>
        Start(initialDelay, interval, () => receiver.Tell(message, sender), cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) =>
        Start(delay, Timeout.InfiniteTimeSpan, action, cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) =>
        Start(delay, Timeout.InfiniteTimeSpan, action.Run, cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Start(initialDelay, interval, action, cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Start(initialDelay, interval, action.Run, cancelable);

    /// <summary>Stops every timer; nothing scheduled runs afterwards.</summary>
    public void Dispose()
    {
        _disposed = true;
        foreach (var entry in _live.Keys) entry.Stop();
    }

    private void Start(TimeSpan delay, TimeSpan interval, Action action, ICancelable? cancelable)
    {
        if (_disposed || cancelable?.IsCancellationRequested == true) return;
        var entry = new Entry(this, action, cancelable, repeats: interval != Timeout.InfiniteTimeSpan);
        _live.TryAdd(entry, 0);
        entry.Arm(Clamp(delay), interval == Timeout.InfiniteTimeSpan ? interval : Clamp(interval));
        // Cancelled between the check above and registration: the registration ran Stop already.
        if (_disposed) entry.Stop();
    }

    // Timer takes at most 0xfffffffe ms (about 49 days); longer delays are not meaningful here.
    private static TimeSpan Clamp(TimeSpan span) =>
        span < TimeSpan.Zero ? TimeSpan.Zero : span > MaxDelay ? MaxDelay : span;

    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private sealed class Entry(TimerScheduler scheduler, Action action, ICancelable? cancelable, bool repeats)
    {
        private ITimer? _timer;
        private CancellationTokenRegistration _registration;
        private int _stopped;

        public void Arm(TimeSpan delay, TimeSpan interval)
        {
            // Created stopped, then armed, so that a callback never sees _timer unset.
            _timer = TimerThread.Shared.Create(static state => ((Entry)state!).Fire(), this, inline: true);
            if (cancelable is not null)
                _registration = cancelable.Token.UnsafeRegister(static state => ((Entry)state!).Stop(), this);
            if (Volatile.Read(ref _stopped) == 0) _timer.Change(delay, interval);
        }

        public void Stop()
        {
            if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
            scheduler._live.TryRemove(this, out _);
            _timer?.Dispose();
            _registration.Unregister();
        }

        private void Fire()
        {
            if (Volatile.Read(ref _stopped) == 1) return;
            if (scheduler._disposed || cancelable?.IsCancellationRequested == true)
            {
                Stop();
                return;
            }
            if (!repeats) Stop();
            try
            {
                action();
            }
            catch (Exception ex)
            {
                scheduler.Log.Error(ex, "A scheduled task failed");
            }
        }
    }
}
