using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Testing;
using Xunit.Abstractions;
using static Fleet.Actors.Core.Scripting.ScriptStoreProtocol;
using static Fleet.Actors.Core.Tests.Scripting.TestScripts;

namespace Fleet.Actors.Core.Tests.Scripting;

/// <summary>
/// The script store on Akka.Persistence.TestKit's in-memory journal, with faults injected into its
/// writes and recovery: what the engine's backoff supervisor relies on (a store whose journal fails
/// stops, and the next one recovers what was stored) and what it must not see (a refused write is not
/// a failure).
/// </summary>
public sealed class ScriptStoreJournalFaultTests : TestKit
{
    private const string Vehicle = "truck-faults";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly ScriptDefinition Pump = Script("pump", new PublishAction("pump", "on"));

    private static readonly Config Hocon = TestPersistence.Config.WithFallback(ScriptStoreHosting.SerializationHocon);

    public ScriptStoreJournalFaultTests(ITestOutputHelper output) : base(Hocon, "script-store-faults", output)
    {
    }

    private ITestJournal Journal => TestJournal.FromRef(Persistence.Instance.Apply(Sys).JournalFor(null));

    private IActorRef StartStore() => Sys.ActorOf(ScriptStoreActor.Props(Vehicle), "store-" + Guid.NewGuid().ToString("N")[..8]);

    private object Send(IActorRef store, ScriptStoreCommand command) =>
        store.Ask<object>(new Execute(command), Timeout).Result;

    private static Scripts Installed(IActorRef store) => store.Ask<Scripts>(GetScripts.Instance, Timeout).Result;

    [Fact]
    public async Task A_failed_journal_write_should_refuse_the_command_and_stop_the_store_and_the_next_store_should_have_what_was_stored()
    {
        var store = Watch(StartStore());
        Assert.IsType<CommandAccepted>(Send(store, new InstallScript(Pump)));

        await Journal.OnWrite.Fail();
        var refused = Assert.IsType<CommandRefused>(Send(store, new DisableScript("pump")));
        Assert.StartsWith("the journal write failed", refused.Reason);
        Assert.EndsWith("the store restarts and recovers what was stored", refused.Reason);
        ExpectTerminated(store, Timeout);

        await Journal.OnWrite.Pass();
        var next = StartStore();
        Assert.True(Installed(next).Installed["pump"].Enabled, "the change whose write failed was applied");
        Assert.IsType<CommandAccepted>(Send(next, new DisableScript("pump")));
    }

    [Fact]
    public async Task A_rejected_journal_write_should_refuse_the_command_and_the_store_should_go_on()
    {
        var store = Watch(StartStore());
        Assert.IsType<CommandAccepted>(Send(store, new InstallScript(Pump)));

        await Journal.OnWrite.Reject();
        var refused = Assert.IsType<CommandRefused>(Send(store, new DisableScript("pump")));
        Assert.StartsWith("the journal rejected the change", refused.Reason);
        await Journal.OnWrite.Pass();

        // Nothing changed and the store is still there: the same command goes through now.
        Assert.True(Installed(store).Installed["pump"].Enabled);
        Assert.IsType<CommandAccepted>(Send(store, new DisableScript("pump")));
        Assert.False(Installed(store).Installed["pump"].Enabled);
    }

    [Fact]
    public async Task A_failed_recovery_should_stop_the_store_without_answering_from_an_empty_state()
    {
        var first = Watch(StartStore());
        Assert.IsType<CommandAccepted>(Send(first, new InstallScript(Pump)));
        Sys.Stop(first);
        ExpectTerminated(first, Timeout);

        await Journal.OnRecovery.Fail();
        var subscriber = CreateTestProbe();
        var store = Watch(Sys.ActorOf(ScriptStoreActor.Props(Vehicle, subscriber: subscriber.Ref), "store-failing"));
        ExpectTerminated(store, Timeout);
        // Its subscriber never heard of a store without scripts.
        subscriber.ExpectNoMsg(TimeSpan.Zero);

        await Journal.OnRecovery.Pass();
        var next = Sys.ActorOf(ScriptStoreActor.Props(Vehicle, subscriber: subscriber.Ref), "store-recovered");
        Assert.Equal([Pump], subscriber.ExpectMsg<ScriptsChanged>(Timeout).Scripts.Values);
        Assert.Equal([Pump], Installed(next).Installed.Values);
    }
}
