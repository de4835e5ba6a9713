using System.Globalization;
using Fleet.Actors.Core.Timing;

namespace Fleet.Actors.Host.Hosting;

/// <summary>
/// Keeps the thread pool at one worker while the agent is at rest and gives it back its default
/// minimum (one worker per core) as soon as the agent gets busy. At rest a message to an idle actor
/// otherwise wakes a second worker although the first is free a few microseconds later; that
/// wake-up and its context switch were a large part of an idle agent's CPU. Under load one worker
/// is far too few, and the pool's hill climbing does not add the second back by itself
/// (docs/adr/0023-one-worker-at-rest.md).
/// </summary>
/// <remarks>
/// Every <see cref="Interval"/> on the agent's timer thread it looks at the process's CPU time and
/// the thread pool's queue. Busy (the process used <see cref="RaiseShare"/> of a core or more since
/// the last look, or <see cref="RaiseQueue"/> work items wait): the default minimum at once.
/// Quiet again for <see cref="LowerAfter"/> (below <see cref="LowerShare"/>, nothing much waiting):
/// one worker. It starts busy, so a start-up's recovery and warm-up run with every core. Disposing
/// it gives the pool back its default minimum.
/// </remarks>
public sealed class WorkerGovernor : IDisposable
{
    /// <summary>How often it looks.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    /// <summary>This share of one core or more since the last look: busy.</summary>
    public const double RaiseShare = 0.3;

    /// <summary>This many work items or more waiting in the thread pool: busy.</summary>
    public const int RaiseQueue = 64;

    /// <summary>Below this share of one core, and nothing much waiting, for <see cref="LowerAfter"/>: quiet.</summary>
    public const double LowerShare = 0.1;

    /// <summary>How long the agent must have been quiet before the pool goes down to one worker.</summary>
    public static readonly TimeSpan LowerAfter = TimeSpan.FromSeconds(10);

    private readonly IWorkerPool _pool;
    private readonly Func<TimeSpan> _cpuTime;
    private readonly TimeProvider _time;
    private readonly Action<string>? _log;
    private readonly object _gate = new();
    private ITimer? _timer;
    private TimeSpan _lastCpu;
    private long _lastLook;
    private long _quietSince = -1;
    private long _raised;
    private long _lowered;

    /// <summary>A governor of <paramref name="pool"/>, reading the process's CPU time from <paramref name="cpuTime"/>; call <see cref="Start"/>.</summary>
    public WorkerGovernor(IWorkerPool pool, Func<TimeSpan> cpuTime, TimeProvider time, Action<string>? log = null)
    {
        _log = log;
        _pool = pool;
        _cpuTime = cpuTime;
        _time = time;
    }

    /// <summary>Governs the process's thread pool from the agent's timer thread (or does nothing when <paramref name="enabled"/> is false).</summary>
    /// <param name="enabled">False: nothing is governed, the pool keeps its default minimum.</param>
    /// <param name="quiet">Start at one worker instead of the default minimum (the bench: each of its load steps then also proves that load raises it).</param>
    /// <param name="log">Where each change is told (the agent: its log at Debug).</param>
    public static WorkerGovernor? StartForProcess(bool enabled = true, bool quiet = false, Action<string>? log = null)
    {
        if (!enabled || Environment.ProcessorCount < 2) return null;
        var governor = new WorkerGovernor(RuntimeWorkerPool.Instance, static () => Environment.CpuUsage.TotalTime, TimerThread.Shared.Inline, log);
        governor.Start(quiet);
        return governor;
    }

    /// <summary>True while the pool is held at one worker.</summary>
    public bool Quiet { get; private set; }

    /// <summary>How often the pool was given back its default minimum, and how often held at one worker.</summary>
    public (long Raised, long Lowered) Changes => (Interlocked.Read(ref _raised), Interlocked.Read(ref _lowered));

    /// <summary>Starts looking every <see cref="Interval"/>, from the default minimum or, if <paramref name="quiet"/>, from one worker.</summary>
    public void Start(bool quiet = false)
    {
        lock (_gate)
        {
            if (_timer is not null) return;
            if (quiet)
            {
                _pool.AtRest();
                Quiet = true;
                Interlocked.Increment(ref _lowered);
            }
            _lastCpu = _cpuTime();
            _lastLook = _time.GetTimestamp();
            _timer = _time.CreateTimer(static state => ((WorkerGovernor)state!).Look(), this, Interval, Interval);
        }
    }

    /// <summary>One look: the CPU share since the last one and the pool's queue decide. Public for tests that drive it by hand.</summary>
    public void Look()
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            var cpu = _cpuTime();
            var elapsed = _time.GetElapsedTime(_lastLook, now);
            if (elapsed <= TimeSpan.Zero) return;
            var share = (cpu - _lastCpu) / elapsed;
            _lastCpu = cpu;
            _lastLook = now;
            var waiting = _pool.Waiting;
            if (share >= RaiseShare || waiting >= RaiseQueue)
            {
                _quietSince = -1;
                if (!Quiet) return;
                _pool.Busy();
                Quiet = false;
                Interlocked.Increment(ref _raised);
                _log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                    $"Thread pool back to its default minimum: the agent is busy ({share:P0} of a core, {waiting} work items waiting)"));
                return;
            }
            if (Quiet) return;
            if (share >= LowerShare)
            {
                _quietSince = -1;
                return;
            }
            if (_quietSince < 0) _quietSince = now;
            if (_time.GetElapsedTime(_quietSince, now) < LowerAfter) return;
            _pool.AtRest();
            Quiet = true;
            Interlocked.Increment(ref _lowered);
            _log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"Thread pool at one worker: the agent is at rest (under {LowerShare:P0} of a core for {LowerAfter.TotalSeconds:0} s)"));
        }
    }

    /// <summary>Stops looking and gives the pool back its default minimum.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
            if (!Quiet) return;
            _pool.Busy();
            Quiet = false;
        }
    }
}

/// <summary>The thread pool as <see cref="WorkerGovernor"/> sees it.</summary>
public interface IWorkerPool
{
    /// <summary>Work items waiting to run.</summary>
    long Waiting { get; }

    /// <summary>One worker at a time while nothing waits long (more when work waits and none runs, as the pool's starvation check adds them).</summary>
    void AtRest();

    /// <summary>The pool's default minimum again.</summary>
    void Busy();
}

/// <summary>The process's thread pool.</summary>
public sealed class RuntimeWorkerPool : IWorkerPool
{
    /// <summary>The only instance.</summary>
    public static RuntimeWorkerPool Instance { get; } = new();

    private readonly int _defaultMin;
    private readonly int _defaultMinIo;

    private RuntimeWorkerPool()
    {
        ThreadPool.GetMinThreads(out _defaultMin, out _defaultMinIo);
    }

    /// <inheritdoc />
    public long Waiting => ThreadPool.PendingWorkItemCount;

    /// <inheritdoc />
    public void AtRest()
    {
        ThreadPool.SetMinThreads(1, _defaultMinIo);
        // A lower minimum does not lower the number of workers the pool aims for; a lower maximum
        // does, at once. The maximum goes straight back: blocking and starvation can still add workers.
        ThreadPool.GetMaxThreads(out var max, out var maxIo);
        ThreadPool.SetMaxThreads(1, maxIo);
        ThreadPool.SetMaxThreads(max, maxIo);
    }

    /// <inheritdoc />
    public void Busy() => ThreadPool.SetMinThreads(_defaultMin, _defaultMinIo);
}
