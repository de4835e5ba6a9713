using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.Core.Tests.Wal;

/// <summary>
/// The journal, snapshot store and read journal on SQLite (ADR 0018), through Akka.Persistence's own
/// protocol, after the cases of Akka.Persistence.TCK's journal and snapshot store specs (the TCK
/// package itself is not served here): replay ranges and limits, the highest sequence number across
/// deletes, deletion, snapshot selection and deletion by criteria, and the read journal's pages.
/// </summary>
public sealed class SqliteJournalTests : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly WalFiles _files;

    public SqliteJournalTests(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private SqliteJournalTests(WalFiles files, ITestOutputHelper output)
        : base(files.Setup("akka.persistence.query.journal.fleet-sqlite.max-buffer-size = 2"), "sqlite-journal", output)
    {
        _files = files;
    }

    private IActorRef Journal => Persistence.Instance.Apply(Sys).JournalFor(null);

    private IActorRef Snapshots => Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);

    private void Write(string persistenceId, int from, int to)
    {
        var writes = Enumerable.Range(from, to - from + 1)
            .Select(i => (IPersistentEnvelope)new AtomicWrite(new Persistent($"event-{i}", i, persistenceId, "", false, ActorRefs.NoSender, "writer-1")))
            .ToList();
        Journal.Tell(new WriteMessages(writes, TestActor, 1));
        ExpectMsg<WriteMessagesSuccessful>(Wait);
        for (var i = from; i <= to; i++) Assert.Equal(i, ExpectMsg<WriteMessageSuccess>(Wait).Persistent.SequenceNr);
    }

    private (List<object> Events, long Highest) Replay(string persistenceId, long from, long to, long max)
    {
        Journal.Tell(new ReplayMessages(from, to, max, persistenceId, TestActor));
        var events = new List<object>();
        while (true)
        {
            switch (ExpectMsg<object>(Wait))
            {
                case ReplayedMessage replayed:
                    Assert.Equal(persistenceId, replayed.Persistent.PersistenceId);
                    events.Add(replayed.Persistent.Payload);
                    break;
                case RecoverySuccess success:
                    return (events, success.HighestSequenceNr);
                case var other:
                    throw new Xunit.Sdk.XunitException($"unexpected {other}");
            }
        }
    }

    private void AssertReplay(string persistenceId, long from, long to, long max, string[] events, long highest)
    {
        var (replayed, reported) = Replay(persistenceId, from, to, max);
        Assert.Equal(events, replayed);
        Assert.Equal(highest, reported);
    }

    private static string[] Events(int from, int to) => Enumerable.Range(from, to - from + 1).Select(i => $"event-{i}").ToArray();

    [Fact]
    public void Replay_should_honour_its_range_and_its_limit_and_report_the_highest_sequence_number()
    {
        Write("a", 1, 5);
        Write("b", 1, 2);
        AssertReplay("a", 1, long.MaxValue, long.MaxValue, Events(1, 5), 5);
        Assert.Equal(Events(2, 4), Replay("a", 2, 4, long.MaxValue).Events);
        Assert.Equal(Events(2, 3), Replay("a", 2, 5, 2).Events);
        Assert.Empty(Replay("a", 4, 2, long.MaxValue).Events);
        AssertReplay("unknown", 1, long.MaxValue, long.MaxValue, [], 0);
    }

    [Fact]
    public void Deleting_should_remove_the_range_and_keep_the_highest_sequence_number()
    {
        Write("a", 1, 5);
        Journal.Tell(new DeleteMessagesTo("a", 3, TestActor));
        Assert.Equal(3, ExpectMsg<DeleteMessagesSuccess>(Wait).ToSequenceNr);
        AssertReplay("a", 1, long.MaxValue, long.MaxValue, Events(4, 5), 5);

        // Everything deleted: nothing replays, but the next event must still get 6.
        Journal.Tell(new DeleteMessagesTo("a", long.MaxValue, TestActor));
        ExpectMsg<DeleteMessagesSuccess>(Wait);
        AssertReplay("a", 1, long.MaxValue, long.MaxValue, [], 5);
        Assert.Equal(1L, WalFiles.Scalar(_files.JournalPath, "SELECT COUNT(*) FROM journal WHERE persistence_id = 'a'"));
        Write("a", 6, 6);
        AssertReplay("a", 1, long.MaxValue, long.MaxValue, Events(6, 6), 6);
    }

    [Fact]
    public void Snapshots_should_be_selected_and_deleted_by_their_criteria()
    {
        var now = DateTime.UtcNow;
        foreach (var sequenceNr in new long[] { 10, 20, 30 })
        {
            Snapshots.Tell(new SaveSnapshot(new SnapshotMetadata("s", sequenceNr, now.AddSeconds(sequenceNr)), $"state-{sequenceNr}"), TestActor);
            ExpectMsg<SaveSnapshotSuccess>(Wait);
        }

        SelectedSnapshot? Load(SnapshotSelectionCriteria criteria)
        {
            Snapshots.Tell(new LoadSnapshot("s", criteria, long.MaxValue), TestActor);
            return ExpectMsg<LoadSnapshotResult>(Wait).Snapshot;
        }

        Assert.Equal("state-30", Load(SnapshotSelectionCriteria.Latest)?.Snapshot);
        Assert.Equal("state-20", Load(new SnapshotSelectionCriteria(25))?.Snapshot);
        Assert.Equal(20, Load(new SnapshotSelectionCriteria(long.MaxValue, now.AddSeconds(25)))?.Metadata.SequenceNr);
        Assert.Null(Load(new SnapshotSelectionCriteria(5)));

        Snapshots.Tell(new DeleteSnapshots("s", new SnapshotSelectionCriteria(20)), TestActor);
        ExpectMsg<DeleteSnapshotsSuccess>(Wait);
        Assert.Equal("state-30", Load(SnapshotSelectionCriteria.Latest)?.Snapshot);
        Assert.Null(Load(new SnapshotSelectionCriteria(25)));

        Snapshots.Tell(new DeleteSnapshot(new SnapshotMetadata("s", 30, now.AddSeconds(30))), TestActor);
        ExpectMsg<DeleteSnapshotSuccess>(Wait);
        Assert.Null(Load(SnapshotSelectionCriteria.Latest));
    }

    [Fact]
    public async Task The_read_journal_should_return_the_current_events_in_order_across_its_pages()
    {
        Write("a", 1, 7);
        Journal.Tell(new DeleteMessagesTo("a", 2, TestActor));
        ExpectMsg<DeleteMessagesSuccess>(Wait);
        var query = PersistenceQuery.Get(Sys).ReadJournalFor<ICurrentEventsByPersistenceIdQuery>(SqliteWal.ReadJournalPluginId);

        // Pages of 2 rows (max-buffer-size): 3..7 takes three pages, the last a short one.
        var all = await query.CurrentEventsByPersistenceId("a", 0, long.MaxValue).RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer());
        Assert.Equal(Events(3, 7), all.Select(e => e.Event));
        Assert.Equal([3L, 4, 5, 6, 7], all.Select(e => e.SequenceNr));
        var some = await query.CurrentEventsByPersistenceId("a", 4, 5).RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer());
        Assert.Equal(Events(4, 5), some.Select(e => e.Event));
        Assert.Empty(await query.CurrentEventsByPersistenceId("other", 0, long.MaxValue).RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer()));
    }

    /// <summary>
    /// The store keeps its writer connection and its prepared statements between writes: a write that
    /// fails (here a sequence number already taken, after a good row in the same transaction) must
    /// leave nothing of itself and must not leave the connection inside a transaction.
    /// </summary>
    [Fact]
    public void A_failed_write_should_leave_nothing_behind_and_the_journal_writable()
    {
        Write("a", 1, 3);
        var failing = new AtomicWrite(new[] { 4, 2 }
            .Select(i => (IPersistentRepresentation)new Persistent($"event-{i}", i, "a", "", false, ActorRefs.NoSender, "writer-1"))
            .ToImmutableList());
        Journal.Tell(new WriteMessages([failing], TestActor, 1));
        ExpectMsg<WriteMessagesFailed>(Wait);
        Assert.Equal([4L, 2L], new[] { ExpectMsg<WriteMessageFailure>(Wait), ExpectMsg<WriteMessageFailure>(Wait) }.Select(f => f.Persistent.SequenceNr));
        AssertReplay("a", 1, long.MaxValue, long.MaxValue, Events(1, 3), 3);

        Write("a", 4, 5);
        AssertReplay("a", 1, long.MaxValue, long.MaxValue, Events(1, 5), 5);
    }

    /// <summary>
    /// When the files are replaced (a quarantine does this under the running agent) and the agent's
    /// connections released, the next write goes to the file now at the path, not to the one moved
    /// away that the kept writer connection still had open.
    /// </summary>
    [Fact]
    public void After_the_files_were_replaced_writes_should_go_to_the_file_in_place()
    {
        Write("a", 1, 2);
        SqliteWal.ReleaseConnections();
        var moved = Path.Combine(_files.Directory, "moved");
        System.IO.Directory.CreateDirectory(moved);
        foreach (var suffix in new[] { "", "-wal", "-shm" })
            if (File.Exists(_files.JournalPath + suffix)) File.Move(_files.JournalPath + suffix, Path.Combine(moved, "journal.db" + suffix));
        JournalFiles.Prepare(_files.JournalPath, journal: true);
        SqliteWal.ReleaseConnections();

        Write("b", 1, 2);
        Assert.Equal(2L, WalFiles.Scalar(_files.JournalPath, "SELECT COUNT(*) FROM journal WHERE persistence_id = 'b'"));
        Assert.Equal(0L, WalFiles.Scalar(_files.JournalPath, "SELECT COUNT(*) FROM journal WHERE persistence_id = 'a'"));
        Assert.Equal(0L, WalFiles.Scalar(Path.Combine(moved, "journal.db"), "SELECT COUNT(*) FROM journal WHERE persistence_id = 'b'"));
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _files.Dispose();
    }
}
