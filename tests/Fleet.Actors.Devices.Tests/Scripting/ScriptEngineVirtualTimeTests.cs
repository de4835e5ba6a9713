using Akka.Actor;
using Akka.Configuration;
using Akka.Pattern;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Scripting;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.Devices.Tests.Scripting;

/// <summary>
/// The script engine on Akka's <see cref="TestScheduler"/> (its timers and its store's backoff move
/// only when the test advances them) with the store on Akka.Persistence.TestKit's in-memory journal,
/// whose writes the test can make fail. GPIO writes go to a probe that confirms them.
/// </summary>
public sealed class ScriptEngineVirtualTimeTests : TestKit
{
    private const string VehicleId = "truck-virtual";
    private const int HornPin = 27;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static readonly Config Hocon = ConfigurationFactory.ParseString("""akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit" """)
        .WithFallback(TestPersistence.Config)
        .WithFallback(ScriptStoreHosting.SerializationHocon);

    private readonly AgentMetrics _metrics = new();
    private readonly TestProbe _gpio;
    private readonly EngineRecords _records;
    private readonly GpioSettings _gpioSettings = new()
    {
        Lines = [new GpioLineSettings { Id = "horn", Pin = HornPin, Direction = GpioDirection.Output }],
    };

    public ScriptEngineVirtualTimeTests(ITestOutputHelper output) : base(Hocon, "script-virtual-time", output)
    {
        _records = new EngineRecords(CreateTestProbe("log"), Wait);
        _gpio = CreateTestProbe("gpio");
        _gpio.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is GpioProtocol.Write write) sender.Tell(new GpioProtocol.Written(write.LineId, write.Level));
            return AutoPilot.KeepRunning;
        }));
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private IActorRef StartEngine(string hocon, TimeSpan cycle)
    {
        var parsed = ScriptParser.ParseHocon(hocon);
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors));
        var settings = new ScriptingSettings { Document = parsed.Document!, Cycle = cycle };
        var engine = Sys.ActorOf(ScriptEngine.Props(VehicleId, settings, _records.Log.Ref, _gpio.Ref, _gpioSettings, null, _metrics), "scripts");
        AwaitAssert(() => Assert.Equal(parsed.Document!.Scripts.Count, Status(engine).Installed), Wait);
        return engine;
    }

    private static ScriptProtocol.Status Status(IActorRef engine) => engine.Ask<ScriptProtocol.Status>(ScriptProtocol.GetStatus.Instance, Wait).Result;

    private static string RunNow(IActorRef engine, string scriptId) =>
        engine.Ask<ScriptProtocol.RunRequested>(new ScriptProtocol.RunNow(scriptId), Wait).Result.Outcome;

    private static object Execute(IActorRef engine, ScriptStoreCommand command) =>
        engine.Ask<object>(new ScriptStoreProtocol.Execute(command), Wait).Result;

    private string WriteOutcome(string scriptId) => _records.Next<ScriptWriteValue>(w => w.ScriptId == scriptId).Outcome;

    [Fact]
    public void A_new_cycle_should_forget_the_writes_of_the_last_one()
    {
        var engine = StartEngine("""
            scripts = [
              { id = strong, priority = emergency, actions = [ { type = gpio-write, line = 27, level = 1 } ] }
              { id = weak, priority = low, actions = [ { type = gpio-write, line = 27, level = 0 } ] }
            ]
            """, cycle: TimeSpan.FromSeconds(1));

        Assert.Equal("completed", RunNow(engine, "strong"));
        Assert.Equal("write", WriteOutcome("strong"));
        // Within the cycle (the clock stands still) the emergency script holds the line.
        Assert.Equal("completed", RunNow(engine, "weak"));
        Assert.Equal("lost", WriteOutcome("weak"));

        Scheduler.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("completed", RunNow(engine, "weak"));
        Assert.Equal("write", WriteOutcome("weak"));
        Assert.Equal(new GpioProtocol.Write("horn", true, "script strong"), _gpio.ExpectMsg<GpioProtocol.Write>(Wait));
        Assert.Equal(new GpioProtocol.Write("horn", false, "script weak"), _gpio.ExpectMsg<GpioProtocol.Write>(Wait));
    }

    [Fact]
    public void A_cycle_should_open_with_its_first_write_rather_than_tick_on_a_fixed_grid()
    {
        var engine = StartEngine("""
            scripts = [
              { id = strong, priority = emergency, actions = [ { type = gpio-write, line = 27, level = 1 } ] }
              { id = weak, priority = low, actions = [ { type = gpio-write, line = 27, level = 0 } ] }
            ]
            """, cycle: TimeSpan.FromSeconds(1));

        // Idle for most of a cycle: no cycle is open, so none ends at the 1 s mark.
        Scheduler.Advance(TimeSpan.FromMilliseconds(900));
        Assert.Equal("completed", RunNow(engine, "strong"));
        Assert.Equal("write", WriteOutcome("strong"));
        Scheduler.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal("completed", RunNow(engine, "weak"));
        Assert.Equal("lost", WriteOutcome("weak"));

        // One cycle after the first write it has ended.
        Scheduler.Advance(TimeSpan.FromMilliseconds(800));
        Assert.Equal("completed", RunNow(engine, "weak"));
        Assert.Equal("write", WriteOutcome("weak"));
    }

    [Fact]
    public void A_released_hold_should_let_a_write_through_in_the_same_cycle()
    {
        var engine = StartEngine("""scripts = [ { id = weak, priority = low, actions = [ { type = gpio-write, line = 27, level = 1 } ] } ]""",
            cycle: TimeSpan.FromSeconds(1));
        engine.Tell(new ScriptProtocol.Hold("emergency-stop", [new ScriptProtocol.Write("emergency-stop", new GpioLineTarget(HornPin), 0, 255)]));
        Assert.Equal(new ScriptProtocol.WriteDone("write", null), ExpectMsg<ScriptProtocol.WriteDone>(Wait));
        Assert.Equal("completed", RunNow(engine, "weak"));
        Assert.Equal("lost", WriteOutcome("weak"));

        // Released: the clock stands still, so this is the same cycle, and the hold is gone from it.
        engine.Tell(new ScriptProtocol.Release("emergency-stop"));
        Assert.Equal("completed", RunNow(engine, "weak"));
        Assert.Equal("write", WriteOutcome("weak"));
    }

    [Fact]
    public async Task A_failed_journal_write_should_stop_the_store_and_its_supervisor_should_start_it_again_after_the_backoff()
    {
        var engine = StartEngine("""scripts = [ { id = keep, actions = [ { type = publish, topic = t } ] } ]""", cycle: TimeSpan.FromSeconds(1));
        var supervisor = await Sys.ActorSelection(engine.Path / "store").ResolveOne(Wait);
        var store = Watch(await Sys.ActorSelection(engine.Path / "store" / "scripts").ResolveOne(Wait));
        var journal = TestJournal.FromRef(Persistence.Instance.Apply(Sys).JournalFor(null));

        await journal.OnWrite.Fail();
        var failed = Assert.IsType<ScriptStoreProtocol.CommandRefused>(Execute(engine, new DisableScript("keep")));
        Assert.Contains("the journal write failed", failed.Reason);
        ExpectTerminated(store, Wait);
        await journal.OnWrite.Pass();
        AwaitAssert(() => Assert.Null(supervisor.Ask<BackoffSupervisor.CurrentChild>(BackoffSupervisor.GetCurrentChild.Instance, Wait).Result.Ref), Wait);

        // Down: the scripts run as last known, and the supervisor refuses commands until its backoff (1 s, up to 20 % more) is over.
        Assert.Equal("completed", RunNow(engine, "keep"));
        Scheduler.Advance(TimeSpan.FromMilliseconds(900));
        var refused = Assert.IsType<ScriptStoreProtocol.CommandRefused>(Execute(engine, new DisableScript("keep")));
        Assert.Equal("the script store is restarting; try again", refused.Reason);

        // After it: a new store recovered what was stored (the failed change is not there) and takes commands.
        Scheduler.Advance(TimeSpan.FromMilliseconds(400));
        Assert.IsType<ScriptStoreProtocol.CommandAccepted>(Execute(engine, new DisableScript("keep")));
        // The engine hears of the change right after the answer.
        AwaitAssert(() => Assert.Equal((1, 0), Status(engine) is var s ? (s.Installed, s.Enabled) : default), Wait);
        Assert.Equal("failed", RunNow(engine, "keep"));
    }
}
