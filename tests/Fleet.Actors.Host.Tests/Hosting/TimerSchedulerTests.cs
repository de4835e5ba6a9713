using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Host.Hosting;
using Xunit.Abstractions;

namespace Fleet.Actors.Host.Tests.Hosting;

/// <summary>
/// Akka's scheduler on the runtime's timer queue: an actor system runs its timers, asks and
/// cancellations on it, and a schedule holds a timer only while it is due.
/// </summary>
public sealed class TimerSchedulerTests(ITestOutputHelper output)
    : TestKit(ConfigurationFactory.ParseString(AgentHost.SchedulerHocon), "timer-scheduler", output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private TimerScheduler Scheduler => Assert.IsType<TimerScheduler>(Sys.Scheduler);

    [Fact]
    public void Actor_timers_should_fire_on_it_at_their_interval()
    {
        var actor = Sys.ActorOf(Props.Create(() => new Ticking(TestActor, TimeSpan.FromMilliseconds(50))));
        var started = DateTime.UtcNow;
        for (var i = 0; i < 5; i++) ExpectMsg("tick", Wait);
        // Five ticks at 50 ms: not faster than the interval allows.
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(240), $"5 ticks after {DateTime.UtcNow - started}");
        Sys.Stop(actor);
        AwaitAssert(() => Assert.Equal(0, Scheduler.Pending), Wait);
    }

    [Fact]
    public async Task An_ask_without_an_answer_should_time_out_on_it()
    {
        var silent = Sys.ActorOf(Props.Create(() => new Silent()));
        var asked = DateTime.UtcNow;
        await Assert.ThrowsAsync<AskTimeoutException>(() => silent.Ask<object>("hello", TimeSpan.FromMilliseconds(200)));
        Assert.InRange(DateTime.UtcNow - asked, TimeSpan.FromMilliseconds(190), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void A_cancelled_schedule_should_never_fire_and_should_hold_no_timer()
    {
        var before = Scheduler.Pending;
        var cancelled = ((IScheduler)Scheduler).ScheduleTellOnceCancelable(TimeSpan.FromMilliseconds(100), TestActor, "cancelled", ActorRefs.NoSender);
        Assert.Equal(before + 1, Scheduler.Pending);
        cancelled.Cancel();
        Assert.Equal(before, Scheduler.Pending);

        // Had the first fired, it would have arrived before this one.
        ((IScheduler)Scheduler).ScheduleTellOnce(TimeSpan.FromMilliseconds(300), TestActor, "later", ActorRefs.NoSender);
        Assert.Equal("later", ExpectMsg<string>(Wait));
        Assert.Equal(before, Scheduler.Pending);
    }

    [Fact]
    public void A_repeated_schedule_should_hold_one_timer_until_cancelled()
    {
        var before = Scheduler.Pending;
        var repeating = ((IScheduler)Scheduler).ScheduleTellRepeatedlyCancelable(TimeSpan.Zero, TimeSpan.FromMilliseconds(20), TestActor, "again", ActorRefs.NoSender);
        for (var i = 0; i < 5; i++) ExpectMsg("again", Wait);
        Assert.Equal(before + 1, Scheduler.Pending);
        repeating.Cancel();
        Assert.Equal(before, Scheduler.Pending);
    }

    [Fact]
    public void A_failing_action_should_be_logged_and_should_not_stop_a_repeated_schedule()
    {
        var runs = 0;
        EventFilter.Error(start: "A scheduled task failed").Expect(1, Wait, () =>
        {
            var schedule = ((IScheduler)Scheduler).Advanced.ScheduleRepeatedlyCancelable(TimeSpan.Zero, TimeSpan.FromMilliseconds(20), () =>
            {
                if (Interlocked.Increment(ref runs) == 1) throw new InvalidOperationException("boom");
            });
            AwaitCondition(() => Volatile.Read(ref runs) >= 3, Wait);
            schedule.Cancel();
        });
    }

    [Fact]
    public void Disposing_it_should_stop_every_timer_and_refuse_new_ones()
    {
        var scheduler = new TimerScheduler(Config.Empty, Sys.Log);
        var ran = 0;
        ((IScheduler)scheduler).Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(100), () => Interlocked.Increment(ref ran));
        ((IScheduler)scheduler).Advanced.ScheduleRepeatedly(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100), () => Interlocked.Increment(ref ran));
        Assert.Equal(2, scheduler.Pending);

        scheduler.Dispose();
        Assert.Equal(0, scheduler.Pending);
        ((IScheduler)scheduler).Advanced.ScheduleOnce(TimeSpan.Zero, () => Interlocked.Increment(ref ran));
        Assert.Equal(0, scheduler.Pending);

        // A marker on the system's scheduler after both would have run.
        ((IScheduler)Scheduler).ScheduleTellOnce(TimeSpan.FromMilliseconds(300), TestActor, "after", ActorRefs.NoSender);
        Assert.Equal("after", ExpectMsg<string>(Wait));
        Assert.Equal(0, Volatile.Read(ref ran));
    }

    private sealed class Ticking : ReceiveActor, IWithTimers
    {
        private readonly TimeSpan _interval;

        public Ticking(IActorRef target, TimeSpan interval)
        {
            _interval = interval;
            Receive<string>(_ => target.Tell("tick"));
        }

        public ITimerScheduler Timers { get; set; } = null!;

        protected override void PreStart() => Timers.StartPeriodicTimer("tick", "tick", _interval);
    }

    private sealed class Silent : ReceiveActor
    {
        public Silent() => ReceiveAny(_ => { });
    }
}
