using System.Collections.Concurrent;
using System.Diagnostics;
using Fleet.Actors.Core.Timing;

namespace Fleet.Actors.Core.Tests.Timing;

/// <summary>
/// The agent's timer thread: timers fire once each, in due order, never before they are due by the
/// precise clock, inline or on the thread pool as asked, and a changed or disposed timer does not
/// fire at its old time. Each test has a thread of its own.
/// </summary>
public sealed class TimerThreadTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_timer_should_fire_once_on_the_timer_thread_and_never_before_it_is_due()
    {
        var timers = new TimerThread("timers-once");
        var fired = new ConcurrentQueue<(long At, string? Thread)>();
        var armed = Stopwatch.GetTimestamp();
        using var timer = timers.Create(_ => fired.Enqueue((Stopwatch.GetTimestamp(), Thread.CurrentThread.Name)), null, inline: true);
        timer.Change(TimeSpan.FromMilliseconds(30), Timeout.InfiniteTimeSpan);

        await Until(() => !fired.IsEmpty);
        await Task.Delay(100);
        var (at, thread) = Assert.Single(fired);
        Assert.Equal("timers-once", thread);
        Assert.True(Stopwatch.GetElapsedTime(armed, at) >= TimeSpan.FromMilliseconds(30), $"fired after {Stopwatch.GetElapsedTime(armed, at)}");
        Assert.Equal(0, timers.Armed);
    }

    [Fact]
    public async Task A_pooled_timer_should_run_its_callback_on_the_thread_pool()
    {
        var timers = new TimerThread("timers-pooled");
        var onPool = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var timer = timers.Pooled.CreateTimer(_ => onPool.TrySetResult(Thread.CurrentThread.IsThreadPoolThread), null,
            TimeSpan.FromMilliseconds(10), Timeout.InfiniteTimeSpan);
        Assert.True(await onPool.Task.WaitAsync(Wait));
    }

    [Fact]
    public async Task Many_timers_should_each_fire_once_in_due_order()
    {
        var timers = new TimerThread("timers-many");
        var random = new Random(11);
        var fired = new ConcurrentQueue<(int Id, TimeSpan At)>();
        // When each is due, counted from the start of the test: between the clock read just before it
        // was armed and the one just after (the test's thread can be preempted in between on a busy machine).
        var due = new (TimeSpan Earliest, TimeSpan Latest)[300];
        var created = new List<ITimer>();
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < 300; i++)
        {
            var id = i;
            var delay = TimeSpan.FromMilliseconds(random.Next(0, 400));
            var before = Stopwatch.GetElapsedTime(started);
            // No assertion in a callback: an exception there is rethrown on the thread pool (and ends the process).
            created.Add(timers.Inline.CreateTimer(_ => fired.Enqueue((id, Stopwatch.GetElapsedTime(started))), null, delay, Timeout.InfiniteTimeSpan));
            due[i] = (before + delay, Stopwatch.GetElapsedTime(started) + delay);
        }

        await Until(() => fired.Count == 300);
        await Task.Delay(50);
        var order = fired.ToList();
        Assert.Equal(300, order.Select(f => f.Id).Distinct().Count());
        Assert.All(order, f => Assert.True(f.At >= due[f.Id].Earliest, $"{f.Id} due at {due[f.Id]} fired at {f.At}"));
        // In due order: none fired after one that was certainly due later (a millisecond's leeway: the
        // test reads the clock just before the timer does). A timer found more than OverdueLimit late
        // (the thread was descheduled on a busy machine) runs on the thread pool, outside that order.
        var inline = order.Where(f => f.At - due[f.Id].Latest <= TimerThread.OverdueLimit).ToList();
        Assert.True(inline.Count >= order.Count / 2, $"only {inline.Count} of {order.Count} fired on time");
        for (var i = 1; i < inline.Count; i++)
            Assert.True(due[inline[i].Id].Latest >= due[inline[i - 1].Id].Earliest - TimeSpan.FromMilliseconds(1),
                $"{inline[i - 1]} due {due[inline[i - 1].Id]} before {inline[i]} due {due[inline[i].Id]}");
        Assert.Equal(0, timers.Armed);
        created.ForEach(t => t.Dispose());
    }

    [Fact]
    public async Task A_changed_or_disposed_timer_should_not_fire_at_its_old_time()
    {
        var timers = new TimerThread("timers-changed");
        var disposedFired = 0;
        var postponed = new ConcurrentQueue<long>();
        var disposed = timers.Create(_ => Interlocked.Increment(ref disposedFired), null, inline: true);
        using var moved = timers.Create(_ => postponed.Enqueue(Stopwatch.GetTimestamp()), null, inline: true);
        var armed = Stopwatch.GetTimestamp();
        disposed.Change(TimeSpan.FromMilliseconds(50), Timeout.InfiniteTimeSpan);
        moved.Change(TimeSpan.FromMilliseconds(50), Timeout.InfiniteTimeSpan);
        disposed.Dispose();
        moved.Change(TimeSpan.FromMilliseconds(300), Timeout.InfiniteTimeSpan);
        Assert.False(disposed.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan));

        await Until(() => !postponed.IsEmpty);
        await Task.Delay(100);
        Assert.Equal(0, Volatile.Read(ref disposedFired));
        var at = Assert.Single(postponed);
        Assert.True(Stopwatch.GetElapsedTime(armed, at) >= TimeSpan.FromMilliseconds(300), $"fired after {Stopwatch.GetElapsedTime(armed, at)}");
        Assert.Equal(0, timers.Armed);
    }

    [Fact]
    public async Task A_periodic_timer_should_repeat_at_its_period_until_disposed()
    {
        var timers = new TimerThread("timers-periodic");
        var ticks = new ConcurrentQueue<long>();
        var armed = Stopwatch.GetTimestamp();
        var timer = timers.Inline.CreateTimer(_ => ticks.Enqueue(Stopwatch.GetTimestamp()), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(20));
        await Until(() => ticks.Count >= 10);
        Assert.Equal(1, timers.Armed);
        timer.Dispose();
        var count = ticks.Count;
        await Task.Delay(100);
        Assert.InRange(ticks.Count, count, count + 1);
        Assert.Equal(0, timers.Armed);
        var times = ticks.ToArray();
        // Due at 0, 20, ... 180 ms after arming (periods keep their phase: a late tick does not shift the next).
        Assert.True(Stopwatch.GetElapsedTime(armed, times[9]) >= TimeSpan.FromMilliseconds(180), $"{Stopwatch.GetElapsedTime(armed, times[9])}");
    }

    [Fact]
    public async Task A_timer_due_before_the_one_the_thread_waits_for_should_wake_it()
    {
        var timers = new TimerThread("timers-earlier");
        using var late = timers.Create(_ => { }, null, inline: true);
        late.Change(TimeSpan.FromMinutes(10), Timeout.InfiniteTimeSpan);
        await Task.Delay(50); // the thread now waits for the late one
        var early = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var armed = Stopwatch.GetTimestamp();
        using var timer = timers.Create(_ => early.TrySetResult(), null, inline: true);
        timer.Change(TimeSpan.FromMilliseconds(20), Timeout.InfiniteTimeSpan);
        await early.Task.WaitAsync(Wait);
        Assert.InRange(Stopwatch.GetElapsedTime(armed), TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(5));
        Assert.Equal(1, timers.Armed);
    }

    [Fact]
    public async Task A_task_delay_on_the_inline_clock_should_continue_on_the_timer_thread_after_its_delay()
    {
        var timers = new TimerThread("timers-delay");
        var (waited, thread) = await DelayAndSee(TimeSpan.FromMilliseconds(25), timers.Inline);
        Assert.True(waited >= TimeSpan.FromMilliseconds(25), $"waited {waited}");
        Assert.Equal("timers-delay", thread);

        using var cancel = new CancellationTokenSource();
        var cancelled = Task.Delay(TimeSpan.FromMinutes(5), timers.Inline, cancel.Token);
        Assert.Equal(1, timers.Armed);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(0, timers.Armed);
    }

    [Fact]
    public async Task Timers_due_while_an_inline_callback_blocks_should_run_on_the_thread_pool()
    {
        var timers = new TimerThread("timers-overdue");
        var onPool = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var slow = timers.Create(_ => Thread.Sleep(200), null, inline: true);
        using var behind = timers.Create(_ => onPool.TrySetResult(Thread.CurrentThread.IsThreadPoolThread), null, inline: true);
        slow.Change(TimeSpan.FromMilliseconds(10), Timeout.InfiniteTimeSpan);
        behind.Change(TimeSpan.FromMilliseconds(11), Timeout.InfiniteTimeSpan);
        Assert.True(await onPool.Task.WaitAsync(Wait));
        Assert.Equal((2, 1), timers.Counts);
    }

    [Fact]
    public async Task Re_arming_a_timer_many_times_should_leave_one_armed_and_later_timers_on_time()
    {
        var timers = new TimerThread("timers-rearm");
        using var busy = timers.Create(_ => { }, null, inline: true);
        for (var i = 0; i < 10_000; i++) busy.Change(TimeSpan.FromMinutes(1 + i % 7), Timeout.InfiniteTimeSpan);
        Assert.Equal(1, timers.Armed);
        busy.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Assert.Equal(0, timers.Armed);

        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var next = timers.Create(_ => fired.TrySetResult(), null, inline: true);
        next.Change(TimeSpan.FromMilliseconds(5), Timeout.InfiniteTimeSpan);
        await fired.Task.WaitAsync(Wait);
    }

    [Fact]
    public void The_system_clock_should_map_to_the_shared_inline_clock_and_a_fake_clock_to_itself()
    {
        Assert.Same(TimerThread.Shared.Inline, TimerThread.InlineFor(TimeProvider.System));
        var fake = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        Assert.Same(fake, TimerThread.InlineFor(fake));
    }

    // As a driver waits: the continuation runs where the delay completed.
    private static async Task<(TimeSpan Waited, string? Thread)> DelayAndSee(TimeSpan delay, TimeProvider time)
    {
        var started = Stopwatch.GetTimestamp();
        await Task.Delay(delay, time).ConfigureAwait(false);
        return (Stopwatch.GetElapsedTime(started), Thread.CurrentThread.Name);
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = Stopwatch.GetTimestamp() + Wait.Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond;
        while (!condition())
        {
            Assert.True(Stopwatch.GetTimestamp() < deadline, "timed out");
            await Task.Delay(5);
        }
    }
}
