using Akka.Actor;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Telemetry.Verification;
using Fleet.Actors.Testing;
using Fleet.Actors.Core.Wal;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;
using static Fleet.Actors.Core.Wal.WalProtocol;

namespace Fleet.Actors.Core.Tests.Wal;

public sealed class WalActorTests : TestKit
{
    private const string Vehicle = "truck-test";
    private readonly WalFiles _files;
    private readonly AgentMetrics _metrics = new();
    private long _requestId;

    public WalActorTests(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private WalActorTests(WalFiles files, ITestOutputHelper output) : base(files.Setup(), "wal-tests", output)
    {
        _files = files;
    }

    private WalMetrics Metrics => new(_metrics, Vehicle);

    private IActorRef StartLog(WalSettings? settings = null, string? name = null) =>
        Sys.ActorOf(WalActor.Props(Vehicle, settings ?? new WalSettings { JournalPath = _files.JournalPath }, Metrics), name ?? "log-" + Guid.NewGuid().ToString("N")[..8]);

    private static Reading Reading(int i) => new("obd", 1_700_000_000_000 + i, new MeasurementValue("engine_rpm", 800 + i, "rpm"));

    private static LogReadings Readings(int from, int count) => new(Enumerable.Range(from, count).Select(Reading).ToList());

    private WalStatus Status(IActorRef log) => log.Ask<WalStatus>(GetStatus.Instance, TimeSpan.FromSeconds(5)).Result;

    private void AwaitAccepted(IActorRef log, long lastSequence) =>
        AwaitCondition(() => Status(log).LastSequence >= lastSequence, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(10));

    private IReadOnlyList<StoredEntry> Read(IActorRef log, long after = -1, int maxBytes = 1 << 20)
    {
        log.Tell(new ReadEntries(++_requestId, after, maxBytes), TestActor);
        var read = ExpectMsg<EntriesRead>(TimeSpan.FromSeconds(10));
        Assert.Equal(_requestId, read.RequestId);
        return read.Entries;
    }

    /// <summary>Reads everything unsent, acknowledging as it goes, and decodes it.</summary>
    private List<DecodedRecord> DrainAll(IActorRef log)
    {
        var records = new List<DecodedRecord>();
        using var codec = new BatchCodec();
        long after = -1;
        while (true)
        {
            log.Tell(new ReadEntries(++_requestId, after, 1 << 20), TestActor);
            var read = FishForMessage<EntriesRead>(m => m.RequestId == _requestId, TimeSpan.FromSeconds(10));
            var batch = BatchCodec.Decode(codec.Encode(Vehicle, "t", read!.Entries.Select(e => e.Entry.Records).ToList()).Payload, "zstd");
            records.AddRange(batch.Records);
            after = read.Entries[^1].JournalSeq;
            log.Tell(new Delivered(after, read.Entries[^1].Entry.LastSequence));
            if (Status(log).UnsentCount == 0) return records;
        }
    }

    /// <summary>
    /// A trickle online (found by a new-user tryout): everything but the last entry acknowledged, yet
    /// the status counted the whole 1 MiB segment as unsent and its first reading as the oldest, so an
    /// "oldest unsent" alert would fire on a healthy truck.
    /// </summary>
    [Fact]
    public void Unsent_bytes_and_the_oldest_unsent_should_be_those_of_the_entries_not_yet_acknowledged()
    {
        var log = StartLog();
        for (var i = 0; i < 20; i++)
        {
            log.Tell(Readings(i * 10, 10));
            AwaitAccepted(log, (i + 1) * 10);
        }
        var entries = Read(log);
        var last = entries[^1];
        log.Tell(new Delivered(entries[^2].JournalSeq, entries[^2].Entry.LastSequence));
        AwaitCondition(() => Status(log).DeliveredSequence == entries[^2].Entry.LastSequence, TimeSpan.FromSeconds(5));

        var status = Status(log);
        Assert.Equal(last.Entry.Count, status.UnsentCount);
        Assert.Equal(last.Entry.Bytes, status.UnsentBytes);
        Assert.Equal(last.Entry.FirstTimestampMs, status.OldestUnsentTimestampMs);

        log.Tell(new Delivered(last.JournalSeq, last.Entry.LastSequence));
        AwaitCondition(() => Status(log) is { UnsentCount: 0, UnsentBytes: 0, OldestUnsentTimestampMs: null }, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Log_should_give_contiguous_sequences_and_serve_them_in_order()
    {
        var log = StartLog();
        log.Tell(Readings(0, 5));
        log.Tell(Readings(5, 3));
        AwaitAccepted(log, 8);

        var records = DrainAll(log);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), records.Select(r => r.Sequence));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => 1_700_000_000_000L + i), records.Select(r => r.TimestampMs));
        Assert.All(records, r => Assert.IsType<MeasurementValue>(r.Value));
        Assert.Equal(8, Metrics.Accepted.Value);
    }

    [Fact]
    public void Listener_should_hear_every_accepted_reading_once_in_order_after_its_commit_and_not_the_refused_ones()
    {
        var listener = CreateTestProbe();
        var settings = new WalSettings { JournalPath = _files.JournalPath, MaxPendingReadings = 50 };
        var log = Sys.ActorOf(WalActor.Props(Vehicle, settings, Metrics, acceptedListener: listener.Ref), "log-listened");
        // More than the log may hold pending at once: the excess is refused and never heard of.
        log.Tell(Readings(0, 30));
        log.Tell(Readings(30, 40));
        AwaitAccepted(log, 50);

        var heard = new List<Reading>();
        while (heard.Count < 50)
        {
            var accepted = listener.ExpectMsg<ReadingsAccepted>(TimeSpan.FromSeconds(5));
            // Each notice follows the commit that made its readings durable.
            Assert.True(Status(log).LastSequence >= heard.Count + accepted.Readings.Count);
            heard.AddRange(accepted.Readings);
        }
        Assert.Equal(Enumerable.Range(0, 50).Select(Reading), heard);
        listener.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(20, Metrics.IntakeDropped.Value);
    }

    /// <summary>
    /// Commits begin at most every commit-interval: readings that arrive right after a commit wait
    /// for the interval and go out in one commit, a reading after a quiet spell and an alert do not wait.
    /// </summary>
    [Fact]
    public void Readings_within_the_commit_interval_should_share_one_commit_and_an_alert_should_not_wait()
    {
        var listener = CreateTestProbe();
        var interval = TimeSpan.FromSeconds(3);
        var settings = new WalSettings { JournalPath = _files.JournalPath, CommitInterval = interval };
        var log = Sys.ActorOf(WalActor.Props(Vehicle, settings, Metrics, acceptedListener: listener.Ref), "log-paced");

        // After a quiet spell (here: the start) a reading commits at once.
        log.Tell(Readings(0, 1));
        Assert.Single(listener.ExpectMsg<ReadingsAccepted>(TimeSpan.FromSeconds(2)).Readings);

        // Right after that commit, three readings one by one: none is accepted before the interval is over, then all together.
        var sent = DateTime.UtcNow;
        for (var i = 1; i <= 3; i++)
        {
            log.Tell(Readings(i, 1));
            Status(log);
        }
        listener.ExpectNoMsg(TimeSpan.FromSeconds(1));
        var together = listener.ExpectMsg<ReadingsAccepted>(TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(1, 3).Select(Reading), together.Readings);
        Assert.True(DateTime.UtcNow - sent < interval + TimeSpan.FromSeconds(2), $"accepted {DateTime.UtcNow - sent} after sending");

        // An alert right after a commit does not wait for the interval.
        var alert = new Reading("alerts", 1_700_000_009_999, new AlertValue("engine-overheat", AlertSeverity.Critical, "rule:coolant", "hot", AlertState.Raised, "obd"));
        log.Tell(new LogReadings([alert]));
        var urgent = listener.ExpectMsg<ReadingsAccepted>(TimeSpan.FromSeconds(2));
        Assert.Equal([alert], urgent.Readings);
        Assert.Equal(5, Status(log).LastSequence);

        // Nor does one that arrives while a commit is under way (here: right behind the alert's own).
        log.Tell(new LogReadings([alert with { TimestampMs = alert.TimestampMs + 1 }]));
        log.Tell(new LogReadings([alert with { TimestampMs = alert.TimestampMs + 2 }]));
        var behind = new List<Reading>();
        while (behind.Count < 2) behind.AddRange(listener.ExpectMsg<ReadingsAccepted>(TimeSpan.FromSeconds(2)).Readings);
        Assert.Equal(7, Status(log).LastSequence);
    }

    /// <summary>
    /// A commit does not wait for the rest of the interval once commit-records readings wait (a
    /// batch's worth for the uplink): at a steady 1,000 readings/s readings are accepted every
    /// commit-records, not every commit-interval, so the latency to the broker stays low.
    /// </summary>
    [Fact]
    public void Readings_should_commit_without_waiting_for_the_interval_once_commit_records_of_them_wait()
    {
        var listener = CreateTestProbe();
        var settings = new WalSettings { JournalPath = _files.JournalPath, CommitInterval = TimeSpan.FromSeconds(30), CommitRecords = 10 };
        var log = Sys.ActorOf(WalActor.Props(Vehicle, settings, Metrics, acceptedListener: listener.Ref), "log-commit-records");
        log.Tell(Readings(0, 1));
        Assert.Single(listener.ExpectMsg<ReadingsAccepted>(TimeSpan.FromSeconds(2)).Readings);

        // Right after a commit, one by one: nine wait for the 30 s interval, the tenth starts their commit.
        for (var i = 1; i <= 9; i++)
        {
            log.Tell(Readings(i, 1));
            Status(log);
        }
        listener.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        log.Tell(Readings(10, 1));
        var together = listener.ExpectMsg<ReadingsAccepted>(TimeSpan.FromSeconds(2));
        Assert.Equal(Enumerable.Range(1, 10).Select(Reading), together.Readings);
        Assert.Equal(11, Status(log).LastSequence);
    }

    /// <summary>
    /// Write-ahead for writes to the world: records sent with a confirmation id are confirmed only
    /// after the commit that made them durable (without waiting for the commit interval), and a batch
    /// that does not fit in what the log may hold pending is refused whole (counted as dropped, none
    /// of it in the log): a write whose record is not in the log must not be made.
    /// </summary>
    [Fact]
    public void Records_asking_for_confirmation_should_be_confirmed_once_durable_and_refused_whole_when_they_do_not_fit()
    {
        var settings = new WalSettings { JournalPath = _files.JournalPath, CommitInterval = TimeSpan.FromSeconds(30), CommitRecords = 1000, MaxPendingReadings = 50 };
        var log = StartLog(settings, "log-confirm");
        log.Tell(Readings(0, 1));
        AwaitAccepted(log, 1);
        // Right after a commit: these wait for the 30 s interval.
        log.Tell(Readings(1, 45));
        Reading Write(int i) => new("scripts", 1_700_000_100_000 + i,
            new ScriptWriteValue("gpio:27", 1, "write", "command:c" + i, 200));

        log.Tell(new LogReadings([Write(0), Write(1), Write(2), Write(3), Write(4), Write(5)]) { ConfirmId = 7 });
        var refused = ExpectMsg<NotLogged>(TimeSpan.FromSeconds(5));
        Assert.Equal(7, refused.ConfirmId);
        Assert.Contains("behind", refused.Reason);
        Assert.Equal(6, Metrics.IntakeDropped.Value);

        log.Tell(new LogReadings([Write(10), Write(11)]) { ConfirmId = 8 });
        Assert.Equal(8, ExpectMsg<Logged>(TimeSpan.FromSeconds(5)).ConfirmId);
        // Confirmed means in the journal file, with everything told to the log before it.
        Assert.Equal(48, Status(log).LastSequence);
        using (var connection = new SqliteConnection($"Data Source={_files.JournalPath};Mode=ReadOnly;Pooling=False"))
        {
            connection.Open();
            using var count = connection.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM journal";
            Assert.True((long)count.ExecuteScalar()! >= 2);
        }

        var logged = DrainAll(log);
        Assert.Equal(Enumerable.Range(1, 48).Select(i => (long)i), logged.Select(r => r.Sequence));
        var writes = logged.Select(r => r.Value).OfType<ScriptWriteValue>().Select(w => w.ScriptId).ToList();
        Assert.Equal(["command:c10", "command:c11"], writes);
    }

    /// <summary>
    /// The listener learns each reading's sequence (runs that skip the gap records the log writes in
    /// between) and the alerts among them with theirs; checked against what the log hands the uplink.
    /// </summary>
    [Fact]
    public void Listener_should_hear_the_sequences_of_the_readings_across_gap_records_and_the_alerts_among_them()
    {
        var listener = CreateTestProbe();
        var log = Sys.ActorOf(WalActor.Props(Vehicle, _files.SmallBudget(), Metrics, acceptedListener: listener.Ref), "log-sequences");
        var alert = new Reading("alerts", 1_700_000_009_999, new AlertValue("engine-overheat", AlertSeverity.Critical, "rule:coolant", "hot", AlertState.Raised, "obd"));
        // Offline with a small budget: the log evicts and writes gap records between the readings.
        for (var i = 0; i < 30; i++)
        {
            log.Tell(new LogReadings([.. Enumerable.Range(i * 20, 20).Select(Reading), .. i == 25 ? [alert] : Array.Empty<Reading>()]));
            // One commit (and eviction) at a time, so that gap records come between the batches.
            AwaitCondition(() => Status(log).PendingReadings == 0, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(5));
        }

        var sequenceOf = new Dictionary<long, long>();
        var alerts = new List<LoggedReading>();
        while (sequenceOf.Count < 601)
        {
            var accepted = listener.ExpectMsg<ReadingsAccepted>(TimeSpan.FromSeconds(5));
            for (var i = 0; i < accepted.Readings.Count; i++) sequenceOf[accepted.Readings[i].TimestampMs] = accepted.SequenceOf(i)!.Value;
            alerts.AddRange(accepted.Alerts);
        }
        var logged = Assert.Single(alerts);
        Assert.Equal(alert, logged.Reading);
        Assert.Equal(sequenceOf[alert.TimestampMs], logged.Sequence);

        // What is still in the log (not evicted) has the sequences the listener was told.
        var kept = DrainAll(log).Where(r => r.Value is MeasurementValue or AlertValue).ToList();
        Assert.NotEmpty(kept);
        Assert.All(kept, r => Assert.Equal(r.Sequence, sequenceOf[r.TimestampMs]));
        // Gap records took sequences in between: later readings are further on than their count.
        Assert.Contains(kept, r => r.Value is MeasurementValue && r.Sequence > r.TimestampMs - 1_700_000_000_000 + 2);
        Assert.True(Metrics.Evicted.Value > 0);
    }

    [Fact]
    public void Read_request_should_wait_until_the_log_has_data()
    {
        var log = StartLog();
        log.Tell(new ReadEntries(1, -1, 1 << 20), TestActor);
        ExpectNoMsg(TimeSpan.FromMilliseconds(400));

        log.Tell(Readings(0, 2));
        var read = ExpectMsg<EntriesRead>(TimeSpan.FromSeconds(5));
        Assert.Equal(1, read.RequestId);
        Assert.Equal(1, read.Entries[0].Entry.FirstSequence);
    }

    [Fact]
    public void Recovery_should_keep_the_sequence_and_resend_only_what_was_not_acknowledged()
    {
        var log = StartLog(name: "log-a");
        log.Tell(Readings(0, 4));
        AwaitAccepted(log, 4);
        log.Tell(Readings(4, 6));
        AwaitAccepted(log, 10);

        var first = Read(log)[0];
        log.Tell(new Delivered(first.JournalSeq, first.Entry.LastSequence));
        log.Ask<Flushed>(Flush.Instance, TimeSpan.FromSeconds(5)).Wait();
        Watch(log);
        Sys.Stop(log);
        ExpectTerminated(log);

        var recovered = StartLog(name: "log-b");
        var status = Status(recovered);
        Assert.Equal(10, status.LastSequence);
        Assert.Equal(first.Entry.LastSequence, status.DeliveredSequence);
        Assert.Equal(10 - first.Entry.LastSequence, status.UnsentCount);

        recovered.Tell(Readings(10, 1));
        AwaitAccepted(recovered, 11);
        var records = DrainAll(recovered);
        Assert.Equal(Enumerable.Range((int)first.Entry.LastSequence + 1, 11 - (int)first.Entry.LastSequence).Select(i => (long)i),
            records.Select(r => r.Sequence));
    }

    [Fact]
    public void Snapshots_and_deletion_should_keep_the_journal_bounded()
    {
        var log = StartLog(new WalSettings { SnapshotEvery = 10, DeliveredFlushInterval = TimeSpan.FromMilliseconds(10) });
        for (var round = 0; round < 30; round++)
        {
            log.Tell(Readings(round * 5, 5));
            AwaitAccepted(log, (round + 1) * 5);
            DrainAll(log);
        }
        log.Ask<Flushed>(Flush.Instance, TimeSpan.FromSeconds(5)).Wait();

        AwaitAssert(() =>
        {
            var rows = Count("SELECT COUNT(*) FROM journal WHERE deleted = 0", _files.JournalPath);
            Assert.True(rows < 30, $"{rows} live journal rows after 30 delivered entries and their markers");
            Assert.True(Count("SELECT COUNT(*) FROM snapshot", _files.SnapshotPath) <= 2);
        }, TimeSpan.FromSeconds(10));
        Assert.Equal(150, Status(log).LastSequence);
    }

    [Fact]
    public void Disk_budget_should_evict_the_oldest_unsent_data_and_record_a_gap_that_accounts_for_it()
    {
        var settings = new WalSettings
        {
            MaxEntryBytes = 1024,
            MaxEntryRecords = 40,
            SegmentBytes = 2048,
            MaxUnsentBytes = 8 * 1024,
            CacheBytes = 4 * 1024,
        };
        var log = StartLog(settings);
        for (var i = 0; i < 40; i++) log.Tell(Readings(i * 40, 40));
        AwaitAccepted(log, 1600);
        // Each eviction is its own persist, so under load the log may take a few rounds to get
        // back under its budget: wait for the settled state, then check it accounts for everything.
        WalStatus? status = null;
        AwaitCondition(() =>
        {
            status = Status(log);
            return status.GapRecords > 0 && status.UnsentBytes <= settings.MaxUnsentBytes + settings.SegmentBytes;
        }, TimeSpan.FromSeconds(10));

        Assert.True(status!.EvictedTotal > 0);
        Assert.Equal(status.EvictedTotal, Metrics.Evicted.Value);

        var verifier = new FleetVerifier();
        verifier.Observe(new DecodedBatch(Vehicle, "t", 1, DrainAll(log)));
        var report = verifier.Report().Vehicles.Single();
        Assert.Equal(0, report.Missing);
        Assert.True(report.GapRecords >= 1);
        Assert.True(report.GapSequences >= status.EvictedTotal);
    }

    /// <summary>
    /// A configuration change lowers the disk budget of a running log holding far more than the new
    /// budget: it evicts at once, announced by gap records; the log restarted by its supervisor
    /// afterwards keeps the new limits (from the shared <see cref="LiveSettings{T}"/>), not those of its start.
    /// </summary>
    [Fact]
    public void A_smaller_disk_budget_applied_while_running_should_evict_at_once_with_gaps_and_survive_a_restart()
    {
        var settings = new WalSettings
        {
            JournalPath = _files.JournalPath,
            MaxEntryBytes = 1024,
            MaxEntryRecords = 40,
            SegmentBytes = 2048,
            CacheBytes = 4 * 1024,
        };
        var live = new LiveSettings<WalSettings>(settings);
        var log = Sys.ActorOf(Akka.Pattern.BackoffSupervisor.Props(Akka.Pattern.Backoff.OnStop(
            WalActor.Props(Vehicle, live, Metrics), "log", TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 0.1, maxNrOfRetries: -1)), "log-live");
        for (var i = 0; i < 40; i++) log.Tell(Readings(i * 40, 40));
        AwaitAccepted(log, 1600);
        Assert.Equal(0, Status(log).EvictedTotal);

        var smaller = settings with { MaxUnsentBytes = 8 * 1024, SnapshotEvery = 20, JournalPath = "ignored" };
        live.Value = live.Value.WithLiveLimitsOf(smaller);
        log.Tell(new ApplyLimits(smaller));
        AwaitCondition(() => Status(log) is { GapRecords: > 0 } s && s.UnsentBytes <= smaller.MaxUnsentBytes + smaller.SegmentBytes, TimeSpan.FromSeconds(10));

        // Restarted (a failed write stops it; its supervisor starts a new one from the same Props).
        IActorRef Child() => Sys.ActorSelection(log.Path / "log").ResolveOne(TimeSpan.FromSeconds(5)).Result;
        var child = Child();
        Watch(child);
        Sys.Stop(child);
        ExpectTerminated(child);
        // Until the new one runs, the supervisor has no child to ask.
        AwaitAssert(() => Assert.NotEqual(child, Child()), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        Assert.True(Status(log).LastSequence >= 1600);
        var evicted = Status(log).EvictedTotal;
        for (var i = 40; i < 80; i++) log.Tell(Readings(i * 40, 40));
        AwaitCondition(() => Status(log) is { PendingReadings: 0 } s && s.EvictedTotal > evicted && s.UnsentBytes <= smaller.MaxUnsentBytes + smaller.SegmentBytes,
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));

        var verifier = new FleetVerifier();
        verifier.Observe(new DecodedBatch(Vehicle, "t", 1, DrainAll(log)));
        var report = verifier.Report().Vehicles.Single();
        Assert.True(report.Missing == 0, $"missing {string.Join(", ", report.MissingRanges.Select(r => $"{r.Start}..{r.End}"))}");
        Assert.Equal(Status(log).LastSequence, report.ExpectedLast);
    }

    /// <summary>
    /// Long outages with a small budget: many evictions in a row (each giving up the gap records of
    /// the ones before), partial deliveries between them, and restarts of the log. What the fleet
    /// finally holds must account for every accepted sequence.
    /// </summary>
    [Fact]
    public void Evictions_across_outages_and_restarts_should_never_become_silent()
    {
        var settings = _files.SmallBudget();
        var random = new Random(7);
        var fleet = new FleetVerifier();
        using var codec = new BatchCodec();
        var next = 0;
        for (var round = 0; round < 6; round++)
        {
            var log = StartLog(settings, $"log-outage-{round}");
            // Offline: far more than the budget holds.
            for (var i = 0; i < 30; i++) log.Tell(Readings(next + i * 20, 20));
            next += 600;
            AwaitCondition(() => Status(log).PendingReadings == 0 && Status(log).UnsentBytes <= settings.MaxUnsentBytes + settings.SegmentBytes,
                TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
            // The link comes back for a moment: a few entries reach the broker.
            var read = Read(log, maxBytes: random.Next(200, 2000));
            fleet.Observe(new DecodedBatch(Vehicle, "t", 1, BatchCodec.Decode(codec.Encode(Vehicle, "t", read.Select(e => e.Entry.Records).ToList()).Payload, "zstd").Records));
            log.Tell(new Delivered(read[^1].JournalSeq, read[^1].Entry.LastSequence));
            log.Ask<Flushed>(Flush.Instance, TimeSpan.FromSeconds(5)).Wait();
            Watch(log);
            Sys.Stop(log);
            ExpectTerminated(log);
        }

        var last = StartLog(settings, "log-outage-last");
        AwaitCondition(() => Status(last).LastSequence > 0, TimeSpan.FromSeconds(10));
        fleet.Observe(new DecodedBatch(Vehicle, "t", 1, DrainAll(last)));
        var report = fleet.Report().Vehicles.Single();
        Assert.True(Status(last).EvictedTotal > 2_000, $"only {Status(last).EvictedTotal} evicted");
        Assert.True(report.Missing == 0, $"missing {string.Join(", ", report.MissingRanges.Select(r => $"{r.Start}..{r.End}"))}");
        Assert.Equal(Status(last).LastSequence, report.ExpectedLast);
    }

    [Fact]
    public void Full_intake_buffer_should_refuse_and_count_readings_that_were_never_accepted()
    {
        var log = StartLog(new WalSettings { MaxPendingReadings = 10 });
        log.Tell(Readings(0, 100));
        log.Ask<Flushed>(Flush.Instance, TimeSpan.FromSeconds(5)).Wait();

        Assert.Equal(10, Status(log).LastSequence);
        Assert.Equal(90, Metrics.IntakeDropped.Value);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), DrainAll(log).Select(r => r.Sequence));
    }

    [Fact]
    public void Unsent_entries_that_left_the_cache_should_be_read_back_from_the_journal()
    {
        var log = StartLog(new WalSettings { MaxEntryBytes = 1024, MaxEntryRecords = 20, CacheBytes = 1024 });
        for (var i = 0; i < 50; i++)
        {
            log.Tell(Readings(i * 20, 20));
        }
        AwaitAccepted(log, 1000);

        var records = DrainAll(log);
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), records.Select(r => r.Sequence));
        Assert.True(Metrics.JournalReads.Value > 0);
    }

    [Fact]
    public void A_corrupt_row_should_be_skipped_and_its_sequences_reported_as_a_gap()
    {
        var log = StartLog(name: "log-c1");
        for (var i = 0; i < 3; i++)
        {
            log.Tell(Readings(i * 5, 5));
            AwaitAccepted(log, (i + 1) * 5);
        }
        log.Ask<Flushed>(Flush.Instance, TimeSpan.FromSeconds(5)).Wait();
        Watch(log);
        Sys.Stop(log);
        ExpectTerminated(log);

        Assert.Equal(1, WalFiles.ExecuteSql(_files.JournalPath, "UPDATE journal SET message = X'01020304' WHERE sequence_number = 2"));

        var recovered = StartLog(name: "log-c2");
        AwaitAccepted(recovered, 16);
        var records = DrainAll(recovered);
        var gap = Assert.IsType<GapValue>(records.Single(r => r.Value is GapValue).Value);
        Assert.Equal((6, 10, 5, "corrupt-record"), (gap.FromSequence, gap.ToSequence, gap.Count, gap.Reason));
        Assert.Equal(1, Metrics.CorruptRecords.Value);

        var verifier = new FleetVerifier();
        verifier.Observe(new DecodedBatch(Vehicle, "t", 1, records));
        Assert.Equal(0, verifier.Report().Missing);

        // The row stays corrupt; the next start meets it again but announces nothing more.
        recovered.Ask<Flushed>(Flush.Instance, TimeSpan.FromSeconds(5)).Wait();
        Watch(recovered);
        Sys.Stop(recovered);
        ExpectTerminated(recovered);
        var again = StartLog(name: "log-c3");
        again.Tell(Readings(100, 5));
        AwaitAccepted(again, 21);
        var later = DrainAll(again);
        Assert.Equal(Enumerable.Range(17, 5).Select(i => (long)i), later.Select(r => r.Sequence));
        Assert.Equal(1, Status(again).GapRecords);
        Assert.Equal(2, Metrics.CorruptRecords.Value);
    }

    /// <summary>A log with its files and sequence mark, restarted by a backoff supervisor as the agent does.</summary>
    private IActorRef Supervised(Props props, string child, string name) => Sys.ActorOf(Akka.Pattern.BackoffSupervisor.Props(Akka.Pattern.Backoff.OnStop(
        props, child, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(2), 0.1, maxNrOfRetries: -1)), name);

    private WalSettings MarkedSettings() => new()
    {
        JournalPath = _files.JournalPath,
        SnapshotPath = _files.SnapshotPath,
        SequenceFile = _files.SequencePath,
        MaxEntryRecords = 20,
    };

    /// <summary>Logs 200 readings, of which about half reach <paramref name="fleet"/> and are acknowledged; returns the last sequence.</summary>
    private long LogAndDeliverHalf(IActorRef log, FleetVerifier fleet)
    {
        using var codec = new BatchCodec();
        for (var i = 0; i < 10; i++) log.Tell(Readings(i * 20, 20));
        AwaitAccepted(log, 200);
        var read = Read(log, maxBytes: 2_000);
        fleet.Observe(new DecodedBatch(Vehicle, "t", 1, BatchCodec.Decode(codec.Encode(Vehicle, "t", read.Select(e => e.Entry.Records).ToList()).Payload, "zstd").Records));
        log.Tell(new Delivered(read[^1].JournalSeq, read[^1].Entry.LastSequence));
        log.Ask<Flushed>(Flush.Instance, TimeSpan.FromSeconds(5)).Wait();
        return Status(log).LastSequence;
    }

    /// <summary>
    /// After the journal was replaced and 50 more readings were logged: everything the log holds
    /// drained to <paramref name="fleet"/>, which must then have every sequence delivered or announced
    /// (one corrupt-journal gap covering <paramref name="lastBefore"/>) and none with two contents.
    /// </summary>
    private (List<DecodedRecord> Records, GapValue Gap) AssertDeliveredOrAnnounced(IActorRef log, FleetVerifier fleet, long lastBefore, int quarantined = 1)
    {
        AwaitCondition(() => Status(log).LastSequence > lastBefore + 50, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(50));
        var records = DrainAll(log);
        fleet.Observe(new DecodedBatch(Vehicle, "t", 1, records));
        var report = fleet.Report().Vehicles.Single();
        Assert.True(report.Missing == 0, $"missing {string.Join(", ", report.MissingRanges.Select(r => $"{r.Start}..{r.End}"))}");
        Assert.Equal(0, report.Conflicts);
        var gaps = records.Where(r => r.Value is GapValue).Select(r => (r.Sequence, Gap: (GapValue)r.Value!)).ToList();
        Assert.True(gaps.Count == 1, "gap records: " + string.Join("; ", gaps.Select(g => $"{g.Sequence}: {g.Gap}")));
        var gap = gaps[0].Gap;
        Assert.Equal("corrupt-journal", gap.Reason);
        Assert.True(gap.ToSequence >= lastBefore, $"the gap {gap.FromSequence}..{gap.ToSequence} does not cover the last sequence {lastBefore} of the lost journal");
        Assert.Equal(quarantined, Directory.GetDirectories(Path.Combine(_files.Directory, "quarantine")).Length);
        return (records, gap);
    }

    /// <summary>
    /// The journal is damaged between two runs (bytes overwritten on its pages, as a power cut on a
    /// cheap SD card leaves it). The log must quarantine it, go on with a fresh journal at once, and
    /// never use a sequence number twice: it resumes above its mark and announces what it cannot
    /// vouch for. The fleet ends up with every sequence delivered or announced, and no sequence
    /// with two contents.
    /// </summary>
    /// <remarks>
    /// With <paramref name="markFileLost"/>, the mark's file is overwritten as well (found by a
    /// newcomer's tryout: sequences repeated); its copy must keep the log above what it used.
    /// </remarks>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_damaged_journal_should_be_quarantined_and_sequences_should_go_on_above_the_mark(bool markFileLost)
    {
        var fleet = new FleetVerifier { CheckConflicts = true };
        var first = Supervised(WalActor.Props(Vehicle, MarkedSettings(), Metrics), "log", "before-damage");
        // Half of it reaches the fleet; the rest is unsent when the power goes.
        var lastBefore = LogAndDeliverHalf(first, fleet);
        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first);
        WalFiles.DamagePages(_files.JournalPath);
        if (markFileLost) File.WriteAllBytes(_files.SequencePath, System.Security.Cryptography.RandomNumberGenerator.GetBytes(144));

        var second = Supervised(WalActor.Props(Vehicle, MarkedSettings(), Metrics), "log", "after-damage");
        second.Tell(Readings(1_000, 50));
        AwaitCondition(() => Directory.Exists(Path.Combine(_files.Directory, "quarantine")), TimeSpan.FromSeconds(10));
        var (records, gap) = AssertDeliveredOrAnnounced(second, fleet, lastBefore);
        Assert.Contains(records, r => r.Value is AlertValue { Name: "journal-replaced" });
        Assert.All(records.Where(r => r.Value is MeasurementValue), r => Assert.True(r.Sequence > gap.ToSequence));
        Assert.Equal(1, Metrics.Quarantined.Value);
    }

    /// <summary>
    /// A lost journal is announced once, and the fresh one is read back whole. Found by a newcomer's
    /// retry: after the journal and the snapshot file were both replaced, every later start announced
    /// a false corrupt-record gap over the sequences the lost journal had delivered (the first entry
    /// of the fresh journal begins far above 1 and recovery took that for rows lost to corruption).
    /// And with the old snapshot kept, the next start replayed the fresh journal only after the old
    /// snapshot's position, skipping its unsent rows without a word. Later starts must serve every
    /// unsent reading, announce nothing, alert nothing, and leave the fleet with nothing missing.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void After_a_lost_journal_later_starts_should_announce_nothing_more(bool snapshotsLostToo)
    {
        var settings = MarkedSettings() with { SnapshotEvery = 10 };
        var fleet = new FleetVerifier { CheckConflicts = true };
        var first = Supervised(WalActor.Props(Vehicle, settings, Metrics), "log", "before-loss");
        var lastBefore = LogAndDeliverHalf(first, fleet);
        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first);
        WalFiles.DamagePages(_files.JournalPath);
        if (snapshotsLostToo) WalFiles.DamagePages(_files.SnapshotPath);

        var second = Supervised(WalActor.Props(Vehicle, settings, Metrics), "log", "after-loss");
        second.Tell(Readings(1_000, 50));
        AwaitCondition(() => Directory.Exists(Path.Combine(_files.Directory, "quarantine")), TimeSpan.FromSeconds(10));
        AssertDeliveredOrAnnounced(second, fleet, lastBefore, quarantined: snapshotsLostToo ? 2 : 1);
        var announced = Status(second).GapRecords;
        // These stay unsent: the next start must read them back from the fresh journal.
        var delivered = Status(second).LastSequence;
        second.Tell(Readings(1_500, 30));
        AwaitAccepted(second, delivered + 30);
        second.Ask<Flushed>(Flush.Instance, TimeSpan.FromSeconds(5)).Wait();
        var last = delivered;
        Watch(second);
        Sys.Stop(second);
        ExpectTerminated(second);

        for (var start = 0; start < 2; start++)
        {
            var again = Supervised(WalActor.Props(Vehicle, settings, Metrics), "log", $"later-start-{start}");
            again.Tell(Readings(2_000 + start * 50, 50));
            var expected = start == 0 ? 80 : 50;
            AwaitCondition(() => Status(again).LastSequence >= last + expected, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(50));
            var records = DrainAll(again);
            fleet.Observe(new DecodedBatch(Vehicle, "t", 1, records));
            Assert.DoesNotContain(records, r => r.Value is GapValue or AlertValue);
            Assert.Equal(Enumerable.Range(1, expected).Select(i => last + i), records.Select(r => r.Sequence));
            Assert.Equal(announced, Status(again).GapRecords);
            again.Ask<Flushed>(Flush.Instance, TimeSpan.FromSeconds(5)).Wait();
            last = Status(again).LastSequence;
            Watch(again);
            Sys.Stop(again);
            ExpectTerminated(again);
        }
        var report = fleet.Report().Vehicles.Single();
        Assert.True(report.Missing == 0, $"missing {string.Join(", ", report.MissingRanges.Select(r => $"{r.Start}..{r.End}"))}");
        Assert.Equal(0, report.Conflicts);
        Assert.Equal(0, Metrics.CorruptRecords.Value);
    }

    /// <summary>
    /// The script store journals into the same file. When its recovery meets damage first (on the
    /// pages of its own rows) and has the journal quarantined, the running log has lost the rows it
    /// would read unsent entries back from: going on would skip them without a word. It must stop
    /// like after damage it found itself, and the next log resume above its mark, announcing what it
    /// cannot vouch for; the file is quarantined once, and nothing is missing at the fleet.
    /// </summary>
    [Fact]
    public void A_journal_the_script_store_had_replaced_should_make_the_running_log_resume_above_its_mark()
    {
        // The store's rows first, so that the log's rows lie on pages of their own.
        var store = Sys.ActorOf(ScriptStoreActor.Props(Vehicle), "first-store");
        for (var i = 0; i < 30; i++)
            Assert.IsType<ScriptStoreProtocol.CommandAccepted>(store.Ask<object>(new ScriptStoreProtocol.Execute(new InstallScript(
                Scripting.TestScripts.Script("s" + i, new PublishAction("topic-" + i, new string('x', 100))))), TimeSpan.FromSeconds(5)).Result);
        Watch(store);
        Sys.Stop(store);
        ExpectTerminated(store);

        var listener = CreateTestProbe();
        var log = Supervised(WalActor.Props(Vehicle, MarkedSettings(), Metrics, acceptedListener: listener.Ref), "log", "log-sharing");
        var fleet = new FleetVerifier { CheckConflicts = true };
        var lastBefore = LogAndDeliverHalf(log, fleet);

        // The log idles on its pages; the store starts on its damaged ones.
        Assert.True(WalFiles.DamagePagesHolding(_files.JournalPath, ScriptStoreActor.PersistenceIdFor(Vehicle)) > 0, "no page holds the store's rows");
        var restarted = Supervised(ScriptStoreActor.Props(Vehicle), "scripts", "store-on-damage");
        AwaitCondition(() => Directory.Exists(Path.Combine(_files.Directory, "quarantine")), TimeSpan.FromSeconds(10));
        listener.FishForMessage<ReadingsAccepted>(a => a.Alerts.Any(r => r.Reading.Value is AlertValue { Name: "journal-replaced" }), TimeSpan.FromSeconds(10));
        // The next store starts on the fresh journal (its scripts are gone with their rows).
        AwaitAssert(() => Assert.Empty(restarted.Ask<ScriptStoreProtocol.Scripts>(ScriptStoreProtocol.GetScripts.Instance, TimeSpan.FromSeconds(2)).Result.Installed),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200));

        log.Tell(Readings(1_000, 50));
        AssertDeliveredOrAnnounced(log, fleet, lastBefore);
    }

    /// <summary>
    /// The sequence mark reserves what the rate needs: restarts far along the sequence must not
    /// make the reserved block grow (a lost journal announces everything up to the mark).
    /// </summary>
    [Fact]
    public void Restarts_should_not_make_the_reserved_block_grow()
    {
        var settings = new WalSettings { JournalPath = _files.JournalPath, SnapshotPath = _files.SnapshotPath, SequenceFile = _files.SequencePath };
        var written = 0;
        long? firstAhead = null;
        for (var run = 0; run < 4; run++)
        {
            var log = StartLog(settings, $"log-run-{run}");
            for (var i = 0; i < 10; i++) log.Tell(Readings(written + i * 1_000, 1_000));
            written += 10_000;
            AwaitAccepted(log, written);
            var last = Status(log).LastSequence;
            AwaitCondition(() => SequenceMark.Read(_files.SequencePath)?.Reserved >= last, TimeSpan.FromSeconds(5));
            // Each run sends the same burst: what is reserved ahead follows it, not the sequence reached.
            var ahead = SequenceMark.Read(_files.SequencePath)!.Reserved - last;
            firstAhead ??= ahead;
            Assert.True(ahead <= firstAhead * 3 / 2, $"run {run}: {ahead:N0} sequences reserved ahead of {last:N0} (run 0: {firstAhead:N0})");
            Watch(log);
            Sys.Stop(log);
            ExpectTerminated(log);
        }
    }

    private static long Count(string sql, string path) => WalFiles.Scalar(path, sql);

    protected override void AfterAll()
    {
        base.AfterAll();
        _files.Dispose();
    }
}
