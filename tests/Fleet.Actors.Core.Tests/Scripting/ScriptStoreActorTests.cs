using System.Collections.Immutable;
using System.Text;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;
using static Fleet.Actors.Core.Scripting.ScriptStoreProtocol;
using static Fleet.Actors.Core.Tests.Scripting.TestScripts;

namespace Fleet.Actors.Core.Tests.Scripting;

public sealed class ScriptStoreActorTests : TestKit
{
    private const string Vehicle = "truck/7 test";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly WalFiles _files;

    public ScriptStoreActorTests(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private ScriptStoreActorTests(WalFiles files, ITestOutputHelper output) : base(Setup(files), "script-store-tests", output)
    {
        _files = files;
    }

    private static string PersistenceId => ScriptStoreActor.PersistenceIdFor(Vehicle);

    /// <summary>The production persistence wiring on temporary files, with the script store's serializer.</summary>
    private static ActorSystemSetup Setup(WalFiles files) => WalHosting.Setup(files.JournalPath, files.SnapshotPath, SqliteSynchronous.Normal,
        ScriptStoreHosting.SerializationHocon.WithFallback(ConfigurationFactory.ParseString("akka.loglevel = INFO")));

    private static readonly ScriptDefinition Pump = Script("pump", new GpioWriteAction(17, 1), new DelayAction(TimeSpan.FromMilliseconds(1500))) with
    {
        Name = "Pump \"main\" é",
        Triggers = ValueArray.Of<ScriptTrigger>(new ThresholdTrigger("water_temp", ComparisonOperator.GreaterThan, 28.5, 0.5)),
        Conditions = ValueArray.Of<ScriptCondition>(new AnyCondition(ValueArray.Of<ScriptCondition>(
            new CompareCondition("oxygen", ComparisonOperator.LessThan, new ConstantOperand(5)),
            new NotCondition(new CompareCondition("a", ComparisonOperator.Equal, new ReadingOperand("b")))))),
    };

    private static readonly ScriptDefinition ShutdownScript = Script("shutdown", ScriptPriority.Emergency, new CallScriptAction("pump"), new RaiseAlertAction("stopped", ScriptAlertSeverity.Critical));

    private IActorRef StartStore(int snapshotEvery = 100, ActorSystem? system = null, string vehicle = Vehicle) =>
        (system ?? Sys).ActorOf(ScriptStoreActor.Props(vehicle, snapshotEvery), "scripts-" + Guid.NewGuid().ToString("N")[..8]);

    private object Send(IActorRef store, ScriptStoreCommand command)
    {
        store.Tell(new Execute(command), TestActor);
        return ExpectMsg<object>(m => m is CommandAccepted or CommandRefused, Timeout);
    }

    private ScriptStoreEvent Accepted(IActorRef store, ScriptStoreCommand command) =>
        Assert.IsType<CommandAccepted>(Send(store, command)).Event;

    private string Refused(IActorRef store, ScriptStoreCommand command) =>
        Assert.IsType<CommandRefused>(Send(store, command)).Reason;

    private static ImmutableDictionary<string, ScriptDefinition> Installed(IActorRef store) =>
        store.Ask<Scripts>(GetScripts.Instance, Timeout).Result.Installed;

    private void Stop(IActorRef actor)
    {
        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor, Timeout);
    }

    /// <summary>
    /// The journal is damaged under a running store and replaced by a fresh one (the log found the
    /// damage): the rows this store would recover from are gone, so it saves its state, whole in
    /// memory, as a snapshot at once. Started again, it has every script.
    /// </summary>
    [Fact]
    public async Task Store_should_keep_its_scripts_when_the_journal_is_replaced_after_damage()
    {
        var store = StartStore(snapshotEvery: 1000);
        Accepted(store, new InstallScript(Pump));
        Accepted(store, new InstallScript(ShutdownScript));

        WalFiles.DamagePages(_files.JournalPath);
        var replaced = await JournalQuarantine.Get(Sys).CheckAsync(_files.JournalPath, _files.SnapshotPath);
        Assert.True(Assert.Single(replaced).Journal);
        AwaitCondition(() => WalFiles.Scalar(_files.SnapshotPath, $"SELECT COUNT(*) FROM snapshot WHERE persistence_id = '{PersistenceId}'") > 0, Timeout);
        Stop(store);

        var restarted = StartStore();
        Assert.Equal(new[] { "pump", "shutdown" }, Installed(restarted).Keys.Order());
        // And it goes on writing into the fresh journal.
        Accepted(restarted, new RemoveScript("shutdown"));
        Stop(restarted);
        Assert.Equal(new[] { "pump" }, Installed(StartStore()).Keys);
    }

    [Fact]
    public void Store_should_answer_each_change_with_its_persisted_event()
    {
        var store = StartStore();

        Assert.Equal(new ScriptInstalled(Pump), Accepted(store, new InstallScript(Pump)));
        Assert.Equal(new ScriptInstalled(ShutdownScript), Accepted(store, new InstallScript(ShutdownScript)));
        Assert.Equal(new ScriptDisabled("pump"), Accepted(store, new DisableScript("pump")));
        Assert.False(Installed(store)["pump"].Enabled);
        Assert.Equal(new ScriptEnabled("pump"), Accepted(store, new EnableScript("pump")));
        var louder = Pump with { Priority = ScriptPriority.High };
        Assert.Equal(new ScriptReplaced(louder), Accepted(store, new ReplaceScript(louder)));
        Assert.Equal(new ScriptRemoved("shutdown"), Accepted(store, new RemoveScript("shutdown")));

        Assert.Equal([("pump", louder)], Installed(store).Select(kv => (kv.Key, kv.Value)));
        Assert.Equal(6, Count("SELECT COUNT(*) FROM journal", _files.JournalPath));
    }

    [Fact]
    public void Store_should_refuse_invalid_commands_with_a_reason_and_persist_nothing()
    {
        var store = StartStore();
        Accepted(store, new InstallScript(Pump));
        Accepted(store, new InstallScript(ShutdownScript));

        EventFilter.Warning(contains: "Refused").Expect(5, () =>
        {
            Assert.Contains("already installed", Refused(store, new InstallScript(Pump)));
            Assert.Contains("no script \"nowhere\"", Refused(store, new ReplaceScript(Script("nowhere", new PublishAction("t", "p")))));
            Assert.Contains("no script \"nowhere\"", Refused(store, new EnableScript("nowhere")));
            Assert.Contains("calls unknown script \"missing\"", Refused(store, new InstallScript(Script("caller", new CallScriptAction("missing")))));
            Assert.Contains("called by \"shutdown\"", Refused(store, new RemoveScript("pump")));
        });

        Assert.Equal(["pump", "shutdown"], Installed(store).Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, Count("SELECT COUNT(*) FROM journal", _files.JournalPath));
    }

    [Fact]
    public void Store_should_refuse_a_script_it_could_not_read_back_and_keep_working()
    {
        var store = StartStore();
        var nan = Script("nan", new PublishAction("t", "p")) with
        {
            Conditions = ValueArray.Of<ScriptCondition>(new CompareCondition("x", ComparisonOperator.LessThan, new ConstantOperand(double.NaN))),
        };

        Assert.Contains("cannot be stored", Refused(store, new InstallScript(nan)));
        Assert.Contains("cannot be stored", Refused(store, new InstallScript(Script("far", new GpioWriteAction(4096, 1)))));
        Accepted(store, new InstallScript(Pump));

        Assert.Equal(["pump"], Installed(store).Keys);
    }

    [Fact]
    public void Scripts_should_survive_a_restart_of_the_store()
    {
        var store = StartStore();
        Accepted(store, new InstallScript(Pump));
        Accepted(store, new InstallScript(ShutdownScript));
        Accepted(store, new DisableScript("shutdown"));
        var before = Installed(store);
        Stop(store);

        var recovered = StartStore();

        Assert.Equal(before.OrderBy(kv => kv.Key), Installed(recovered).OrderBy(kv => kv.Key));
        Assert.False(Installed(recovered)["shutdown"].Enabled);
        // Decisions after recovery see the recovered scripts.
        Assert.Contains("called by", Refused(recovered, new RemoveScript("pump")));
    }

    [Fact]
    public void Scripts_should_survive_a_new_actor_system_on_the_same_files()
    {
        var other = ActorSystem.Create("script-store-other", Setup(_files));
        try
        {
            var store = StartStore(system: other);
            store.Tell(new Execute(new InstallScript(Pump)), TestActor);
            ExpectMsg<CommandAccepted>(Timeout);
            store.Tell(new Execute(new InstallScript(ShutdownScript)), TestActor);
            ExpectMsg<CommandAccepted>(Timeout);
        }
        finally
        {
            other.Terminate().Wait(Timeout);
        }

        var recovered = StartStore();

        Assert.Equal(Pump, Installed(recovered)["pump"]);
        Assert.Equal(ShutdownScript, Installed(recovered)["shutdown"]);
    }

    [Fact]
    public void Store_should_snapshot_every_n_events_delete_what_is_older_and_recover_from_the_snapshot()
    {
        var store = StartStore(snapshotEvery: 5);
        for (var i = 0; i < 6; i++) Accepted(store, new InstallScript(Script($"s{i}", new PublishAction($"t{i}", "p"))));
        Accepted(store, new DisableScript("s0"));
        Accepted(store, new ReplaceScript(Pump with { Id = "s1" }));
        Accepted(store, new RemoveScript("s2"));
        Accepted(store, new InstallScript(Pump));
        Accepted(store, new EnableScript("s0"));
        Accepted(store, new DisableScript("s3"));
        // 12 events: a snapshot at 5, at 10 unless the one at 5 was still being written (then at 12);
        // the second deletes what is older than the first: snapshot 5 and the rows after it stay.
        var before = Installed(store);
        long snapshotAt = 0;
        AwaitAssert(() =>
        {
            Assert.Equal(2, Count("SELECT COUNT(*) FROM snapshot", _files.SnapshotPath));
            Assert.Equal(5, Count($"SELECT MIN(sequence_number) FROM snapshot WHERE persistence_id = '{PersistenceId}'", _files.SnapshotPath));
            snapshotAt = Count($"SELECT MAX(sequence_number) FROM snapshot WHERE persistence_id = '{PersistenceId}'", _files.SnapshotPath);
            Assert.InRange(snapshotAt, 10, 12);
            Assert.Equal(7, Count($"SELECT COUNT(*) FROM journal WHERE persistence_id = '{PersistenceId}' AND deleted = 0", _files.JournalPath));
        }, Timeout);
        Stop(store);

        var recovered = StartStore(snapshotEvery: 5);

        Assert.Equal(before.OrderBy(kv => kv.Key), Installed(recovered).OrderBy(kv => kv.Key));
        Assert.Equal(Pump with { Id = "s1" }, Installed(recovered)["s1"]);
        Assert.True(Installed(recovered)["s0"].Enabled);
        Assert.False(Installed(recovered)["s3"].Enabled);
        Assert.DoesNotContain("s2", Installed(recovered).Keys);

        // The count of events since the snapshot survives recovery: the next snapshot is 5 events after it.
        for (var seq = 13; seq <= snapshotAt + 5; seq++) Accepted(recovered, new DisableScript("s4"));
        AwaitAssert(() =>
        {
            Assert.Equal(snapshotAt + 5, Count($"SELECT MAX(sequence_number) FROM snapshot WHERE persistence_id = '{PersistenceId}'", _files.SnapshotPath));
            Assert.Equal(snapshotAt, Count($"SELECT MIN(sequence_number) FROM snapshot WHERE persistence_id = '{PersistenceId}'", _files.SnapshotPath));
            Assert.Equal(5, Count($"SELECT COUNT(*) FROM journal WHERE persistence_id = '{PersistenceId}' AND deleted = 0", _files.JournalPath));
        }, Timeout);
    }

    [Fact]
    public void A_corrupt_latest_snapshot_should_be_deleted_and_the_restarted_store_should_recover_from_the_one_before()
    {
        var store = StartStore(snapshotEvery: 2);
        for (var i = 0; i < 4; i++) Accepted(store, new InstallScript(Script($"s{i}", new PublishAction($"t{i}", "p"))));
        Accepted(store, new DisableScript("s1"));
        // Snapshots at 2 and 4 (or 5 when the one at 2 was still being written); row 5 after them.
        long latest = 0;
        AwaitAssert(() =>
        {
            Assert.Equal(2, Count($"SELECT COUNT(*) FROM snapshot WHERE persistence_id = '{PersistenceId}'", _files.SnapshotPath));
            latest = Count($"SELECT MAX(sequence_number) FROM snapshot WHERE persistence_id = '{PersistenceId}'", _files.SnapshotPath);
        }, Timeout);
        var before = Installed(store);
        Stop(store);
        Assert.Equal(1, WalFiles.ExecuteSql(_files.SnapshotPath,
            $"UPDATE snapshot SET snapshot = X'7B227363' WHERE persistence_id = '{PersistenceId}' AND sequence_number = {latest}"));

        // The first start finds the damage, refuses to work from half a state, deletes the snapshot and stops.
        var damaged = EventFilter.Warning(contains: $"Deleted corrupt snapshot {latest}").ExpectOne(() =>
        {
            var started = StartStore(snapshotEvery: 2);
            Watch(started);
            return started;
        });
        ExpectTerminated(damaged, Timeout);
        Assert.Equal(1, Count($"SELECT COUNT(*) FROM snapshot WHERE persistence_id = '{PersistenceId}'", _files.SnapshotPath));

        // The next start recovers from the snapshot before it and the rows kept since: nothing is lost.
        var recovered = StartStore(snapshotEvery: 2);
        Assert.Equal(before.OrderBy(kv => kv.Key), Installed(recovered).OrderBy(kv => kv.Key));
        Assert.False(Installed(recovered)["s1"].Enabled);
    }

    [Fact]
    public void Subscribers_should_get_the_scripts_at_once_and_after_every_change()
    {
        var store = StartStore();
        Accepted(store, new InstallScript(Pump));
        var subscriber = CreateTestProbe();

        store.Tell(new Subscribe(subscriber.Ref));
        var initial = subscriber.ExpectMsg<ScriptsChanged>(Timeout);
        Assert.Null(initial.Cause);
        Assert.Equal([Pump], initial.Scripts.Values);

        Accepted(store, new DisableScript("pump"));
        var changed = subscriber.ExpectMsg<ScriptsChanged>(Timeout);
        Assert.Equal(new ScriptDisabled("pump"), changed.Cause);
        Assert.False(changed.Scripts["pump"].Enabled);

        Refused(store, new EnableScript("nowhere"));
        NothingMoreFor(subscriber, store);

        store.Tell(new Unsubscribe(subscriber.Ref));
        Accepted(store, new EnableScript("pump"));
        NothingMoreFor(subscriber, store);
    }

    /// <summary>
    /// The store told <paramref name="subscriber"/> nothing more. The store tells its subscribers while it
    /// handles a command (or in the persist callback that answers it), so once it has answered a later
    /// ask, anything it told them is already in their mailbox.
    /// </summary>
    private static void NothingMoreFor(Akka.TestKit.TestProbe subscriber, IActorRef store)
    {
        Installed(store);
        subscriber.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void A_stopped_subscriber_should_be_dropped()
    {
        // The store says at Debug when it drops a subscriber: the test waits for that instead of sleeping.
        Sys.EventStream.SetLogLevel(LogLevel.DebugLevel);
        var store = StartStore();
        var subscriber = CreateTestProbe();
        var deadLetters = CreateTestProbe();
        Sys.EventStream.Subscribe(deadLetters.Ref, typeof(DeadLetter));
        store.Tell(new Subscribe(subscriber.Ref));
        subscriber.ExpectMsg<ScriptsChanged>(Timeout);

        EventFilter.Debug(contains: "stopped; dropped").ExpectOne(Timeout, () => Stop(subscriber.Ref));
        Accepted(store, new InstallScript(Pump));

        // A notice to the stopped subscriber would have become a dead letter (published as it was told)
        // before the store answered the next ask.
        Installed(store);
        var dead = new List<object>();
        while (deadLetters.HasMessages) dead.Add(deadLetters.ReceiveOne(TimeSpan.Zero)!);
        Assert.DoesNotContain(dead, d => d is DeadLetter { Message: ScriptsChanged });
    }

    [Fact]
    public void A_corrupt_row_should_be_logged_and_skipped_at_recovery()
    {
        var store = StartStore();
        Accepted(store, new InstallScript(Pump));
        Accepted(store, new InstallScript(Script("other", new PublishAction("t", "p"))));
        Accepted(store, new InstallScript(Script("third", new PublishAction("t", "p"))));
        Stop(store);
        Assert.Equal(1, WalFiles.ExecuteSql(_files.JournalPath, $"UPDATE journal SET message = X'7B226964223A' WHERE persistence_id = '{PersistenceId}' AND sequence_number = 2"));

        EventFilter.Error(contains: "Skipping corrupt journal row 2").ExpectOne(() =>
        {
            var recovered = StartStore();
            Assert.Equal(["pump", "third"], Installed(recovered).Keys.Order(StringComparer.Ordinal));
        });
    }

    [Fact]
    public void Stored_rows_should_carry_short_manifests_json_bodies_and_no_clr_type_names()
    {
        var store = StartStore();
        Accepted(store, new InstallScript(Pump));
        Accepted(store, new ReplaceScript(Pump with { Enabled = false }));
        Accepted(store, new EnableScript("pump"));
        Accepted(store, new DisableScript("pump"));
        Accepted(store, new InstallScript(ShutdownScript));
        Accepted(store, new RemoveScript("shutdown"));
        var snapshotting = StartStore(snapshotEvery: 1, vehicle: "other");
        Accepted(snapshotting, new InstallScript(Pump));
        AwaitAssert(() => Assert.Equal(1, Count("SELECT COUNT(*) FROM snapshot", _files.SnapshotPath)), Timeout);

        var events = Rows($"SELECT manifest, identifier, message FROM journal WHERE persistence_id = '{PersistenceId}' ORDER BY sequence_number", _files.JournalPath);
        var snapshots = Rows("SELECT manifest, serializer_id, snapshot FROM snapshot", _files.SnapshotPath);

        Assert.Equal(["SI1", "SR1", "SE1", "SD1", "SI1", "SX1"], events.Select(r => r.Manifest));
        Assert.Equal(["SS1"], snapshots.Select(r => r.Manifest));
        Assert.All(events.Concat(snapshots), r =>
        {
            Assert.Equal(ScriptSerializer.SerializerId, r.SerializerId);
            var body = Encoding.UTF8.GetString(r.Body);
            Assert.StartsWith("{", body);
            Assert.DoesNotContain("Fleet.Actors", body);
            Assert.DoesNotContain("System.", body);
        });
        Assert.Equal(ScriptJson.Write(Pump), Encoding.UTF8.GetString(events[0].Body));
        Assert.Equal("""{"id":"pump"}""", Encoding.UTF8.GetString(events[2].Body));
    }

    private static long Count(string sql, string path) => WalFiles.Scalar(path, sql);

    private static List<(string Manifest, long SerializerId, byte[] Body)> Rows(string sql, string path)
    {
        using var connection = new SqliteConnection(SqliteWal.ConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<(string, long, byte[])>();
        while (reader.Read()) rows.Add((reader.GetString(0), reader.GetInt64(1), (byte[])reader.GetValue(2)));
        return rows;
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _files.Dispose();
    }
}
