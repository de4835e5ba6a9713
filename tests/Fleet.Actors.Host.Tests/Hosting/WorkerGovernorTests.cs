using Fleet.Actors.Host.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Fleet.Actors.Host.Tests.Hosting;

/// <summary>
/// The thread pool at one worker while the agent is at rest and at its default minimum as soon as
/// it is busy: the decisions on a fake clock and a fake pool, and the runtime's pool itself.
/// </summary>
public sealed class WorkerGovernorTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly FakePool _pool = new();
    private TimeSpan _cpu;

    private WorkerGovernor Started()
    {
        var governor = new WorkerGovernor(_pool, () => _cpu, _time);
        governor.Start();
        return governor;
    }

    /// <summary>Lets <paramref name="duration"/> pass in looks, the process using <paramref name="share"/> of a core meanwhile.</summary>
    private void Run(TimeSpan duration, double share)
    {
        for (var passed = TimeSpan.Zero; passed < duration; passed += WorkerGovernor.Interval)
        {
            _cpu += WorkerGovernor.Interval * share;
            _time.Advance(WorkerGovernor.Interval);
        }
    }

    [Fact]
    public void It_should_start_busy_and_hold_one_worker_only_after_the_agent_was_quiet_long_enough()
    {
        using var governor = Started();
        Assert.False(governor.Quiet);

        Run(WorkerGovernor.LowerAfter, 0.02);
        Assert.Equal(0, _pool.AtRestCalls);

        Run(WorkerGovernor.Interval, 0.02);
        Assert.True(governor.Quiet);
        Assert.Equal(1, _pool.AtRestCalls);

        // Staying quiet changes nothing more.
        Run(TimeSpan.FromMinutes(1), 0.02);
        Assert.Equal((0, 1), governor.Changes);
    }

    [Fact]
    public void A_busy_moment_should_start_the_quiet_time_again()
    {
        using var governor = Started();
        Run(WorkerGovernor.LowerAfter - TimeSpan.FromSeconds(1), 0.02);
        Run(WorkerGovernor.Interval, 0.2);
        Run(WorkerGovernor.LowerAfter, 0.02);
        Assert.False(governor.Quiet);
        Run(WorkerGovernor.Interval, 0.02);
        Assert.True(governor.Quiet);
    }

    [Theory]
    [InlineData(0.3, 0)]
    [InlineData(1.0, 0)]
    [InlineData(0.0, WorkerGovernor.RaiseQueue)]
    public void Load_should_give_the_pool_its_default_minimum_at_the_next_look(double share, int waiting)
    {
        using var governor = Started();
        Run(WorkerGovernor.LowerAfter + WorkerGovernor.Interval, 0.02);
        Assert.True(governor.Quiet);

        _pool.Waiting = waiting;
        Run(WorkerGovernor.Interval, share);
        Assert.False(governor.Quiet);
        Assert.Equal(1, _pool.BusyCalls);
        Assert.Equal((1, 1), governor.Changes);
    }

    [Fact]
    public void A_moderate_load_should_change_nothing_in_either_state()
    {
        using var governor = Started();
        // Between the two thresholds: a busy pool stays busy...
        Run(TimeSpan.FromMinutes(1), 0.2);
        Assert.False(governor.Quiet);

        // ...and, once quiet, a quiet one stays quiet.
        Run(WorkerGovernor.LowerAfter + WorkerGovernor.Interval, 0.02);
        Assert.True(governor.Quiet);
        _pool.Waiting = WorkerGovernor.RaiseQueue - 1;
        Run(TimeSpan.FromMinutes(1), 0.2);
        Assert.True(governor.Quiet);
        Assert.Equal((0, 1), governor.Changes);
    }

    [Fact]
    public void Disposing_it_should_give_the_pool_its_default_minimum_and_stop_looking()
    {
        var governor = Started();
        Run(WorkerGovernor.LowerAfter + WorkerGovernor.Interval, 0.02);
        Assert.True(governor.Quiet);

        governor.Dispose();
        Assert.False(governor.Quiet);
        Assert.Equal(1, _pool.BusyCalls);
        Run(TimeSpan.FromMinutes(1), 0.02);
        Assert.Equal(1, _pool.AtRestCalls);
    }

    private sealed class FakePool : IWorkerPool
    {
        public long Waiting { get; set; }

        public int AtRestCalls { get; private set; }

        public int BusyCalls { get; private set; }

        public void AtRest() => AtRestCalls++;

        public void Busy() => BusyCalls++;
    }
}

/// <summary>The runtime's own pool: alone, as it changes the process's thread pool.</summary>
[CollectionDefinition(nameof(ProcessThreadPool), DisableParallelization = true)]
public sealed class ProcessThreadPool;

[Collection(nameof(ProcessThreadPool))]
public sealed class RuntimeWorkerPoolTests
{
    [Fact]
    public void At_rest_it_should_still_run_work_that_waits_for_other_work_and_busy_should_restore_the_minimum()
    {
        ThreadPool.GetMinThreads(out var min, out var minIo);
        ThreadPool.GetMaxThreads(out var max, out var maxIo);
        var pool = RuntimeWorkerPool.Instance;
        try
        {
            pool.AtRest();
            ThreadPool.GetMinThreads(out var restMin, out _);
            ThreadPool.GetMaxThreads(out var restMax, out _);
            Assert.Equal(1, restMin);
            Assert.Equal(max, restMax);

            // Four work items that each block until a fifth has run: with one worker and no other,
            // that would never end; the pool's starvation check must add workers.
            using var released = new ManualResetEventSlim();
            var waiters = Enumerable.Range(0, 4)
                .Select(_ => Task.Factory.StartNew(() => released.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None, TaskCreationOptions.None, TaskScheduler.Default))
                .ToArray();
            var release = Task.Run(released.Set);
            Assert.True(Task.WaitAll(waiters.Append(release).ToArray(), TimeSpan.FromSeconds(20)), "work stuck behind blocked workers");
            Assert.All(waiters, waiter => Assert.True(waiter.Result));
        }
        finally
        {
            pool.Busy();
        }
        ThreadPool.GetMinThreads(out var busyMin, out var busyMinIo);
        Assert.Equal((min, minIo), (busyMin, busyMinIo));
    }
}
