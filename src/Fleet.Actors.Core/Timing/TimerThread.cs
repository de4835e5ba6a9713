using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Fleet.Actors.Core.Timing;

/// <summary>
/// One thread that fires timers when they are due by the precise monotonic clock
/// (<see cref="Stopwatch"/>), and runs short callbacks on itself instead of handing each to the
/// thread pool. The agent's frequent timers (Akka's scheduler, the simulated devices' sample
/// clocks) run here; the runtime's timer queue stays for everything else.
/// </summary>
/// <remarks>
/// The runtime's timer thread on Linux computes due times from <see cref="Environment.TickCount64"/>,
/// a coarse clock that advances once per kernel tick (4 ms here), while it waits with the precise
/// one: a timer due between two ticks wakes that thread two or three times before it counts as due,
/// and each firing then wakes a thread-pool worker to run the callback
/// (docs/adr/0022-the-agents-own-timer-thread.md). Here a timer costs one wake-up of this
/// thread, and an inline callback none more.
/// An inline callback must be short and must not block (a <c>Tell</c>, completing a task whose
/// continuation does the same): while it runs, no other timer fires. A timer found more than
/// <see cref="OverdueLimit"/> late (this thread is behind, e.g. thousands of simulated vehicles on
/// one node) runs on the thread pool instead, so that one slow callback cannot hold up the rest.
/// An exception from a callback is rethrown on the thread pool, as the runtime's timers do (it
/// ends the process); this thread goes on.
/// </remarks>
public sealed class TimerThread
{
    /// <summary>The process's timer thread (started on the first timer).</summary>
    public static TimerThread Shared { get; } = new("fleet-timers");

    /// <summary>Late by more than this, an inline callback runs on the thread pool instead.</summary>
    public static readonly TimeSpan OverdueLimit = TimeSpan.FromMilliseconds(5);

    private static readonly long OverdueTicks = (long)(OverdueLimit.TotalSeconds * Stopwatch.Frequency);
    private static readonly double TicksPerMillisecond = Stopwatch.Frequency / 1000.0;

    private readonly string _name;
    private readonly object _gate = new();
    private readonly PriorityQueue<Slot, long> _queue = new();
    private readonly List<(Entry Entry, long Due)> _due = new();
    private Thread? _thread;
    // While the thread waits: when it wakes by itself (long.MaxValue: only when pulsed).
    private long _wakeAt = long.MaxValue;
    private bool _waiting;
    // Queue slots whose timer was changed or disposed since they were queued.
    private int _stale;
    private long _fired;
    private long _handedOff;

    /// <summary>A timer thread named <paramref name="name"/> (tests make their own).</summary>
    public TimerThread(string name)
    {
        _name = name;
        Inline = new Provider(this, inline: true);
        Pooled = new Provider(this, inline: false);
    }

    /// <summary>The system clock, with timers that run their callbacks on this thread (short, non-blocking callbacks only).</summary>
    public TimeProvider Inline { get; }

    /// <summary>The system clock, with timers that run their callbacks on the thread pool.</summary>
    public TimeProvider Pooled { get; }

    /// <summary>Timers armed and not yet fired (a periodic one counts while it repeats).</summary>
    public int Armed
    {
        get
        {
            lock (_gate) return _queue.Count - _stale;
        }
    }

    /// <summary>Callbacks run so far, and of them those handed to the thread pool because this thread was behind.</summary>
    public (long Fired, long HandedOff) Counts => (Interlocked.Read(ref _fired), Interlocked.Read(ref _handedOff));

    /// <summary>
    /// <paramref name="time"/>'s waits on <see cref="Shared"/> with inline callbacks when it is the system clock;
    /// any other clock (a test's fake time) as it is.
    /// </summary>
    public static TimeProvider InlineFor(TimeProvider time) => ReferenceEquals(time, TimeProvider.System) ? Shared.Inline : time;

    /// <summary>A stopped timer that runs <paramref name="callback"/>; arm it with <see cref="ITimer.Change"/>.</summary>
    public ITimer Create(TimerCallback callback, object? state, bool inline) => new Entry(this, callback, state, inline);

    private void Arm(Entry entry, TimeSpan dueTime, TimeSpan period, bool dispose = false)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            // Under the lock, so that the thread and a compaction see a disposed timer's slot as stale only once it is counted.
            if (dispose) entry.Disposed = true;
            if (entry.Queued) _stale++;
            entry.Version++;
            entry.Queued = false;
            entry.PeriodTicks = period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero ? 0 : ToTicks(period);
            if (entry.Disposed || dueTime == Timeout.InfiniteTimeSpan)
            {
                CompactIfStale();
                return;
            }
            var due = now + ToTicks(dueTime < TimeSpan.Zero ? TimeSpan.Zero : dueTime);
            Enqueue(entry, due);
            // A timer re-armed again and again leaves a stale slot each time: compacted here too, not only on dispose.
            CompactIfStale();
            if (_thread is null) Start();
            else if (_waiting && due < _wakeAt)
            {
                // Wake it to wait for this one instead; a running thread looks at the queue before it waits.
                _wakeAt = due;
                Monitor.Pulse(_gate);
            }
        }
    }

    private void Enqueue(Entry entry, long due)
    {
        entry.Queued = true;
        _queue.Enqueue(new Slot(entry, entry.Version), due);
    }

    private void CompactIfStale()
    {
        if (_stale < 64 || _stale * 2 < _queue.Count) return;
        var live = new List<(Slot, long)>(_queue.Count - _stale);
        while (_queue.TryDequeue(out var slot, out var due))
            if (slot.IsCurrent) live.Add((slot, due));
        _queue.EnqueueRange(live);
        _stale = 0;
    }

    private void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = _name };
        _thread.UnsafeStart();
    }

    private void Run()
    {
        while (true)
        {
            lock (_gate)
            {
                while (true)
                {
                    var now = Stopwatch.GetTimestamp();
                    while (_queue.TryPeek(out var slot, out var due) && due <= now)
                    {
                        _queue.Dequeue();
                        if (!slot.IsCurrent)
                        {
                            _stale--;
                            continue;
                        }
                        var entry = slot.Entry;
                        entry.Queued = false;
                        if (entry.PeriodTicks > 0)
                        {
                            // Keeps its phase; after a long stall the next one is a period from now, not a burst.
                            var next = due + entry.PeriodTicks;
                            Enqueue(entry, next > now ? next : now + entry.PeriodTicks);
                        }
                        _due.Add((entry, due));
                    }
                    if (_due.Count > 0) break;

                    var wait = Timeout.Infinite;
                    _wakeAt = long.MaxValue;
                    if (_queue.TryPeek(out _, out var first))
                    {
                        // Rounded up: it wakes once, when the first is due, never just before.
                        wait = (int)Math.Min(int.MaxValue - 1, Math.Ceiling((first - now) / TicksPerMillisecond));
                        _wakeAt = first;
                    }
                    _waiting = true;
                    Monitor.Wait(_gate, wait);
                    _waiting = false;
                }
            }

            // Outside the lock: a callback may arm timers (a task continuation starting the next wait).
            foreach (var (entry, due) in _due)
                if (!entry.Disposed) Fire(entry, Stopwatch.GetTimestamp() - due > OverdueTicks);
            _due.Clear();
        }
    }

    private void Fire(Entry entry, bool overdue)
    {
        Interlocked.Increment(ref _fired);
        if (!entry.Inline || overdue)
        {
            if (entry.Inline) Interlocked.Increment(ref _handedOff);
            ThreadPool.UnsafeQueueUserWorkItem(static e => e.Callback(e.State), entry, preferLocal: false);
            return;
        }
        try
        {
            entry.Callback(entry.State);
        }
        catch (Exception ex)
        {
            var captured = ExceptionDispatchInfo.Capture(ex);
            ThreadPool.UnsafeQueueUserWorkItem(static c => c.Throw(), captured, preferLocal: false);
        }
    }

    private static long ToTicks(TimeSpan span) =>
        span.Ticks >= long.MaxValue / Stopwatch.Frequency ? long.MaxValue / 4 : span.Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond;

    /// <summary>A timer's place in the queue: current while the timer was neither changed nor disposed since.</summary>
    private readonly record struct Slot(Entry Entry, long Version)
    {
        public bool IsCurrent => Entry.Version == Version && !Entry.Disposed;
    }

    private sealed class Entry(TimerThread owner, TimerCallback callback, object? state, bool inline) : ITimer
    {
        // Guarded by the owner's lock.
        public long Version;
        public bool Queued;
        public long PeriodTicks;
        public volatile bool Disposed;

        public TimerCallback Callback => callback;

        public object? State => state;

        public bool Inline => inline;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (Disposed) return false;
            owner.Arm(this, dueTime, period);
            return true;
        }

        public void Dispose()
        {
            if (Disposed) return;
            owner.Arm(this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan, dispose: true);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Provider(TimerThread owner, bool inline) : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            ArgumentNullException.ThrowIfNull(callback);
            var timer = owner.Create(callback, state, inline);
            timer.Change(dueTime, period);
            return timer;
        }
    }
}
