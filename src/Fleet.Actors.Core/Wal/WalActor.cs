using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Core.Telemetry;
using static Fleet.Actors.Core.Wal.WalProtocol;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// The write-ahead log of one vehicle. Device actors tell it readings; it gives each a sequence
/// number, encodes it once in the wire format and persists it. A reading is accepted when its
/// persist completes; from then on the uplink reads it (from memory, or back from the journal when
/// it fell behind) until the broker's acknowledgement advances the delivered offset.
/// </summary>
/// <remarks>
/// Writes are group commits: while one write is in flight, new readings gather and go out in the
/// next one, so the journal sees a few hundred rows per second at any rate
/// (docs/adr/0002-micro-batched-log-entries.md). All state changes happen in persist handlers;
/// only sequence assignment runs ahead of them, and a failed write restarts the actor so that the
/// sequence is recovered from the journal again.
/// The class is split by concern into partial files: this one (intake, group commits, evictions,
/// delivery, status), <c>WalActor.Recovery.cs</c> (recovery, the sequence mark, failures) and
/// <c>WalActor.ReadBack.cs</c> (serving the uplink from memory or the journal); they share the
/// actor's state, which is why they are not separate actors.
/// </remarks>
internal sealed partial class WalActor : UntypedPersistentActor, IWithTimers
{
    private const string FlushDeliveredTimer = "flush-delivered";
    private const string CommitTimer = "commit";
    private const string MetricsTimer = "metrics";
    private const string GapDeviceId = "wal";
    private static readonly TimeSpan WarningInterval = TimeSpan.FromSeconds(10);

    private WalSettings _settings;
    private readonly WalMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly EntryWriter _writer = new();
    private readonly Queue<LogEntry> _sealed = new();
    private readonly List<IActorRef> _flushWaiters = new();
    private readonly List<(long From, long To)> _recoveredHoles = new();
    // Corrupt journal rows met in the replay since the last entry: the next entry's distance from the state is a hole.
    private int _corruptRowsSinceEntry;
    private readonly List<GapValue> _replayedGaps = new();
    private readonly IActorRef _acceptedListener;
    private List<Reading> _toNotify = new();
    private List<Reading> _notifyInFlight = new();
    // Where runs of consecutive sequences start in _toNotify, and the alerts among them (and the log's own).
    private List<SequenceRun> _runsToNotify = new();
    private List<SequenceRun> _runsInFlight = new();
    private List<LoggedReading> _alertsToNotify = new();
    private List<LoggedReading> _alertsInFlight = new();
    // Senders waiting for LogReadings.ConfirmId: of readings not yet in a commit, and of the commit in flight.
    private List<(IActorRef Requester, long Id)> _confirmsToSend = new();
    private List<(IActorRef Requester, long Id)> _confirmsInFlight = new();
    private long _lastNotifiedSequence;
    private readonly long _recoveryStarted;

    private WalState _state = WalState.Empty;
    private EntryCache _cache;
    private long _nextSequence = 1;
    private int _waitingRecords;
    private int _inFlightEvents;
    private int _inFlightRecords;
    private long _ackedJournalSeq;
    private long _ackedSequence;
    private bool _deliveredPersistInFlight;
    private long _lastCommitAt;
    private bool _urgentWaiting;
    private bool _evictionInFlight;
    private bool _snapshotInFlight;
    private int _eventsSinceSnapshot;
    private long _lastDeletedTo;
    private long _replayedRecords;
    private long _droppedSinceWarning;
    private long _lastDropWarning;
    private (IActorRef Requester, ReadEntries Request)? _parked;
    private (IActorRef Requester, ReadEntries Request)? _deferred;
    private bool _journalReadInFlight;
    private ICurrentEventsByPersistenceIdQuery? _readJournal;

    // Sequence reservation (SequenceMark): no entry is persisted beyond what is reserved.
    private const string ReservationRetryTimer = "reserve-retry";
    private readonly SequenceReservation _reservation;
    private bool _sequenceKnown;

    public WalActor(string vehicleId, LiveSettings<WalSettings> live, WalMetrics metrics, TimeProvider time, IActorRef acceptedListener)
    {
        var settings = live.Value;
        _acceptedListener = acceptedListener;
        PersistenceId = PersistenceIdFor(vehicleId);
        _settings = settings;
        _metrics = metrics;
        _time = time;
        _cache = new EntryCache(settings.CacheBytes);
        _recoveryStarted = time.GetTimestamp();
        _reservation = new SequenceReservation(time);
    }

    // Commands and recovery by a switch on the message's type, not ReceivePersistentActor's
    // Command<T>/Recover<T>: their expression trees run in an interpreter with reflection calls in
    // the native agent (docs/adr/0024-busy-actors-match-messages-with-a-switch.md).
    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer offer:
                OnSnapshotOffer(offer);
                break;
            case LogEntry entry:
                OnEntryRecovered(entry);
                break;
            case DeliveredUpTo delivered:
                _state = _state.Apply(delivered);
                _cache.RemoveUpTo(delivered.JournalSeq);
                break;
            case CorruptWalRecord corrupt:
                ReportCorrupt(corrupt, LastSequenceNr);
                _corruptRowsSinceEntry++;
                break;
            case RecoveryCompleted:
                OnRecovered();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case LogReadings readings:
                if (_sequenceKnown) HandleReadings(readings);
                else Stash.Stash();
                break;
            case IdentityChecked checkedIdentity:
                OnIdentityChecked(checkedIdentity);
                break;
            case Status.Failure failure:
                // Only the sequence-mark check pipes without a failure message of its own.
                ReportDamage(failure.Cause);
                throw new WalWriteRejectedException($"Checking the sequence mark of {PersistenceId} failed", failure.Cause);
            case SequencesReserved reserved:
                OnReserved(reserved);
                break;
            case ReservationFailed reservationFailed:
                OnReservationFailed(reservationFailed);
                break;
            case RetryReservation:
                Reserve();
                break;
            case JournalQuarantined quarantined:
                OnQuarantined(quarantined);
                break;
            case ReadEntries read:
                HandleRead(Sender, read);
                break;
            case Delivered delivered:
                HandleDelivered(delivered);
                break;
            case JournalReadCompleted readCompleted:
                OnJournalRead(readCompleted);
                break;
            case JournalReadFailed readFailed:
                OnJournalReadFailed(readFailed);
                break;
            case FlushDeliveredTick:
                PersistDelivered();
                break;
            case CommitTick:
                TryFlush();
                break;
            case RefreshMetrics:
                UpdateMetrics(refreshFileSize: true);
                break;
            case Flush:
                if (!_sequenceKnown)
                {
                    Stash.Stash();
                    break;
                }
                _flushWaiters.Add(Sender);
                TryFlush();
                PersistDelivered();
                CheckFlushed();
                break;
            case GetStatus:
                Sender.Tell(Status());
                break;
            case ApplyLimits limits:
                OnApplyLimits(limits);
                break;
            case SaveSnapshotSuccess saved:
                OnSnapshotSaved(saved);
                break;
            // A damaged file found by a snapshot or a deletion is quarantined like one found by a write;
            // the log goes on (OnQuarantined saves the snapshot again in the fresh file).
            case SaveSnapshotFailure snapshotFailure:
                _snapshotInFlight = false;
                if (!ReportDamage(snapshotFailure.Cause)) _log.Warning(snapshotFailure.Cause, "Snapshot of the log failed; acknowledged rows stay until the next one");
                break;
            case DeleteMessagesSuccess deleted:
                _log.Debug("Deleted journal rows up to {0}", deleted.ToSequenceNr);
                break;
            case DeleteMessagesFailure deleteFailure:
                if (!ReportDamage(deleteFailure.Cause)) _log.Warning(deleteFailure.Cause, "Deleting journal rows up to {0} failed", deleteFailure.ToSequenceNr);
                break;
            case DeleteSnapshotsSuccess:
                break;
            case DeleteSnapshotsFailure snapshotsFailure:
                if (!ReportDamage(snapshotsFailure.Cause)) _log.Warning(snapshotsFailure.Cause, "Deleting old snapshots failed");
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The persistence id of a vehicle's log.</summary>
    public static string PersistenceIdFor(string vehicleId) => "wal-" + Uri.EscapeDataString(vehicleId);

    /// <summary>
    /// Props for the log of <paramref name="vehicleId"/>. <paramref name="acceptedListener"/>, when
    /// given, is told <see cref="ReadingsAccepted"/> after every group commit.
    /// </summary>
    public static Props Props(string vehicleId, WalSettings settings, WalMetrics metrics, TimeProvider? time = null, IActorRef? acceptedListener = null) =>
        Props(vehicleId, new LiveSettings<WalSettings>(settings), metrics, time, acceptedListener);

    /// <summary>
    /// Props for a log whose limits can change while the agent runs: each incarnation (after a
    /// restart by its supervisor) starts with <paramref name="settings"/>' value of that moment;
    /// a running one is told <see cref="ApplyLimits"/>.
    /// </summary>
    public static Props Props(string vehicleId, LiveSettings<WalSettings> settings, WalMetrics metrics, TimeProvider? time = null, IActorRef? acceptedListener = null) =>
        Akka.Actor.Props.Create(() => new WalActor(vehicleId, settings, metrics, time ?? TimeProvider.System, acceptedListener ?? ActorRefs.Nobody));

    private bool Notifies => !_acceptedListener.IsNobody();

    /// <inheritdoc />
    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(JournalQuarantined));
        base.PreStart();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        // Readings the log took in but had not committed (waiting for the commit interval, or in a
        // commit it will not hear the end of) were never accepted here: count them, so that every
        // reading is either accepted or counted. One in flight may still have reached the journal and
        // be delivered after the restart: counted as lost, delivered all the same.
        CountLostPending("the log stopped before committing them");
        Context.System.EventStream.Unsubscribe(Self);
        base.PostStop();
    }

    private long ConsumedJournalSeq => Math.Max(_ackedJournalSeq, _state.ConsumedJournalSeq);

    private long ConsumedSequence => Math.Max(_ackedSequence, _state.ConsumedSequence);

    private ICurrentEventsByPersistenceIdQuery ReadJournal =>
        _readJournal ??= PersistenceQuery.Get(Context.System).ReadJournalFor<ICurrentEventsByPersistenceIdQuery>(_settings.ReadJournalPluginId);

    // ---------------------------------------------------------------- intake and writes

    private void HandleReadings(LogReadings message)
    {
        long dropped = 0;
        var urgent = false;
        var refused = false;
        if (message.ConfirmId != 0 && _waitingRecords + _inFlightRecords + message.Readings.Count > _settings.MaxPendingReadings)
        {
            // All or nothing: a record whose write is then not made must not be in the log either.
            CountDropped(message.Readings.Count);
            Sender.Tell(new NotLogged(message.ConfirmId, $"the log is behind ({_waitingRecords + _inFlightRecords} readings waiting for the disk)"));
            return;
        }
        foreach (var reading in message.Readings)
        {
            if (_waitingRecords + _inFlightRecords >= _settings.MaxPendingReadings)
            {
                dropped++;
                continue;
            }
            try
            {
                _writer.Append(_nextSequence, reading);
            }
            catch (Exception ex) when (ex is OverflowException or ArgumentException)
            {
                _metrics.EncodeErrors.Inc();
                _log.Warning("Refusing a reading of {0} that cannot be encoded: {1}", reading.DeviceId, ex.Message);
                refused = true;
                continue;
            }
            if (Notifies) Notify(reading);
            // Alerts and the record of a write to the world (a script's or a command's) do not wait for the commit interval.
            urgent |= reading.Value is AlertValue or ScriptWriteValue;
            _nextSequence++;
            _waitingRecords++;
            if (_writer.Count >= _settings.MaxEntryRecords || _writer.Bytes >= _settings.MaxEntryBytes) SealCurrent();
        }

        if (dropped > 0) CountDropped(dropped);
        if (message.ConfirmId != 0)
        {
            if (refused) Sender.Tell(new NotLogged(message.ConfirmId, "a record could not be encoded"));
            else _confirmsToSend.Add((Sender, message.ConfirmId));
            // Somebody waits for these (a write to the world): they do not wait for the commit interval either.
            urgent = true;
        }
        if (_reservation.RunningLow(_nextSequence)) Reserve();
        _urgentWaiting |= urgent;
        if (_urgentWaiting || _sealed.Count > 0) TryFlush();
        else ScheduleCommit();
    }

    /// <summary>
    /// Group commit paced by <c>commit-interval</c>: readings commit at once when the last commit
    /// began at least that long ago, otherwise when it has passed, or as soon as <c>commit-records</c>
    /// of them wait (a batch's worth for the uplink, which sends it at once: waiting longer would
    /// only delay it). A trickle commits each reading at once; a steady rate commits a few times a
    /// second instead of once per reading (each commit is a journal write, an fsync and a round of
    /// notifications); 1,000 readings/s commit every <c>commit-records</c> readings (about 32 ms).
    /// Full entries and alerts do not wait.
    /// </summary>
    private void ScheduleCommit()
    {
        if (_writer.Count == 0 && _sealed.Count == 0) return;
        var wait = _settings.CommitInterval - _time.GetElapsedTime(_lastCommitAt);
        if (_lastCommitAt == 0 || wait <= TimeSpan.Zero || _waitingRecords >= _settings.CommitRecords) TryFlush();
        else if (!Timers.IsTimerActive(CommitTimer)) Timers.StartSingleTimer(CommitTimer, CommitTick.Instance, wait);
    }

    /// <summary>Keeps <paramref name="reading"/> (sequence <c>_nextSequence</c>) for the listener, with where its sequence run starts and whether it is an alert.</summary>
    private void Notify(Reading reading)
    {
        if (_toNotify.Count == 0 || _lastNotifiedSequence + 1 != _nextSequence) _runsToNotify.Add(new SequenceRun(_toNotify.Count, _nextSequence));
        _lastNotifiedSequence = _nextSequence;
        _toNotify.Add(reading);
        if (reading.Value is AlertValue) _alertsToNotify.Add(new LoggedReading(_nextSequence, reading));
    }

    private void CountDropped(long dropped)
    {
        _metrics.IntakeDropped.Inc(dropped);
        _droppedSinceWarning += dropped;
        var now = _time.GetTimestamp();
        if (_lastDropWarning == 0 || _time.GetElapsedTime(_lastDropWarning, now) >= WarningInterval)
        {
            _log.Warning("Log is behind: dropped {0} readings at intake ({1} waiting for the disk)",
                _droppedSinceWarning, _waitingRecords + _inFlightRecords);
            _droppedSinceWarning = 0;
            _lastDropWarning = now;
        }
    }

    private void SealCurrent(Eviction? eviction = null, ImmutableArray<GapValue> gaps = default)
    {
        if (_writer.Count == 0) return;
        var first = _writer.FirstSequence;
        var count = _writer.Count;
        var firstTs = _writer.FirstTimestampMs;
        var lastTs = _writer.LastTimestampMs;
        _sealed.Enqueue(new LogEntry(first, count, firstTs, lastTs, _writer.Seal(), eviction)
        {
            Gaps = gaps.IsDefault ? ImmutableArray<GapValue>.Empty : gaps,
        });
    }

    /// <summary>One write at a time; whatever gathers meanwhile goes out together in the next.</summary>
    private void TryFlush()
    {
        if (_inFlightEvents > 0 || IsRecovering) return;
        SealCurrent();
        if (_sealed.Count == 0) return;
        if (_sealed.Last().LastSequence > _reservation.ReservedUpTo)
        {
            Reserve();
            return;
        }

        var entries = _sealed.ToArray();
        _sealed.Clear();
        _lastCommitAt = _time.GetTimestamp();
        _urgentWaiting = false;
        Timers.Cancel(CommitTimer);
        _inFlightEvents = entries.Length;
        foreach (var entry in entries) _inFlightRecords += entry.Count;
        _waitingRecords = 0;
        // Everything appended so far is in this commit (the writer was sealed above).
        (_notifyInFlight, _toNotify) = (_toNotify, _notifyInFlight);
        (_runsInFlight, _runsToNotify) = (_runsToNotify, _runsInFlight);
        (_alertsInFlight, _alertsToNotify) = (_alertsToNotify, _alertsInFlight);
        (_confirmsInFlight, _confirmsToSend) = (_confirmsToSend, _confirmsInFlight);
        // What the uplink has had acknowledged since the last offset was journaled goes in the same
        // commit (one transaction, one fsync) instead of a commit of its own.
        if (_deliveredPersistInFlight || _ackedJournalSeq <= _state.ConsumedJournalSeq)
        {
            PersistAllAsync(entries, OnEntryPersisted);
            return;
        }
        _deliveredPersistInFlight = true;
        Timers.Cancel(FlushDeliveredTimer);
        var events = new object[entries.Length + 1];
        events[0] = new DeliveredUpTo(_ackedJournalSeq, _ackedSequence);
        entries.CopyTo(events, 1);
        PersistAllAsync(events, persisted =>
        {
            if (persisted is DeliveredUpTo delivered) OnDeliveredPersisted(delivered);
            else OnEntryPersisted((LogEntry)persisted);
        });
    }

    private void OnEntryPersisted(LogEntry entry)
    {
        var journalSeq = LastSequenceNr;
        _state = _state.Apply(entry, journalSeq, _settings.SegmentBytes);
        _inFlightEvents--;
        _inFlightRecords -= entry.Count;
        _eventsSinceSnapshot++;

        if (entry.Eviction is { Count: 0 })
        {
            // Not an eviction of data this log held: the announcement of sequences a lost journal took.
            _metrics.Accepted.Inc(entry.Count);
        }
        else if (entry.Eviction is { } eviction)
        {
            _evictionInFlight = false;
            _cache.RemoveUpTo(eviction.UpToJournalSeq);
            _metrics.Evicted.Inc(eviction.Count);
            _log.Warning("Disk budget exceeded: evicted unsent sequences {0}..{1} ({2} records, {3} bytes); gap records from {4} announce {5}",
                eviction.FromSequence, eviction.ToSequence, eviction.Count, eviction.Bytes, entry.FirstSequence,
                string.Join(", ", entry.Gaps.Select(g => $"{g.FromSequence}..{g.ToSequence}")));
        }
        else
        {
            _metrics.Accepted.Inc(entry.Count);
            _metrics.AcceptedBytes.Inc(entry.Records.Length);
        }

        if (journalSeq > ConsumedJournalSeq) _cache.Add(new StoredEntry(journalSeq, entry));
        _metrics.LastSequence.Set(_state.LastSequence);

        ServeParked();
        MaybeEvict();
        MaybeSnapshot();
        if (_inFlightEvents == 0)
        {
            if (_notifyInFlight.Count > 0 || _alertsInFlight.Count > 0)
            {
                _acceptedListener.Tell(new ReadingsAccepted(_notifyInFlight) { Sequences = _runsInFlight, Alerts = _alertsInFlight });
                _notifyInFlight = new List<Reading>();
                _runsInFlight = new List<SequenceRun>();
                _alertsInFlight = new List<LoggedReading>();
            }
            foreach (var (requester, id) in _confirmsInFlight) requester.Tell(new Logged(id));
            _confirmsInFlight.Clear();
            // An alert or a write record that arrived during this commit goes out next, without waiting for the interval.
            if (_sealed.Count > 0 || _urgentWaiting) TryFlush();
            else ScheduleCommit();
            CheckFlushed();
        }
    }

    /// <summary>
    /// New limits (<see cref="WalSettings.LiveLimits"/>) while running: a smaller disk budget evicts
    /// at once (announced by gap records as always), the others apply from the next entry, flush or refresh.
    /// </summary>
    private void OnApplyLimits(ApplyLimits apply)
    {
        var before = _settings;
        _settings = before.WithLiveLimitsOf(apply.Settings);
        var changes = WalSettings.DescribeChanges(before, _settings);
        if (changes.Length == 0) return;
        _log.Info("Log limits changed: {0}", changes);
        if (_settings.MetricsInterval != before.MetricsInterval)
            Timers.StartPeriodicTimer(MetricsTimer, RefreshMetrics.Instance, _settings.MetricsInterval);
        if (_sequenceKnown) MaybeEvict();
    }

    private void MaybeEvict()
    {
        if (_evictionInFlight || _state.UnsentBytes <= _settings.MaxUnsentBytes) return;
        var plan = _state.PlanEviction(_settings.MaxUnsentBytes * 9 / 10, ConsumedSequence, "disk-budget");
        if (plan is null) return;
        _evictionInFlight = true;
        AppendGaps(plan.Gaps, plan.Eviction);
    }

    /// <summary>Gap records take the next sequences, in their own entry (which carries the eviction, if any).</summary>
    private void AppendGaps(ImmutableArray<GapValue> gaps, Eviction? eviction)
    {
        SealCurrent();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var gap in gaps) _writer.Append(_nextSequence++, new Reading(GapDeviceId, now, gap));
        _waitingRecords += gaps.Length;
        SealCurrent(eviction, gaps);
        TryFlush();
    }

    private void MaybeSnapshot()
    {
        if (_snapshotInFlight || _eventsSinceSnapshot < _settings.SnapshotEvery) return;
        _snapshotInFlight = true;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(_state.ToSnapshot());
    }

    private void OnSnapshotSaved(SaveSnapshotSuccess success)
    {
        _snapshotInFlight = false;
        // Rows up to the snapshot that were delivered (or evicted) are no longer needed.
        var deleteTo = Math.Min(success.Metadata.SequenceNr, _state.ConsumedJournalSeq);
        if (deleteTo > _lastDeletedTo)
        {
            _lastDeletedTo = deleteTo;
            DeleteMessages(deleteTo);
        }
        DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1));
    }

    // ---------------------------------------------------------------- delivery

    private void HandleDelivered(Delivered delivered)
    {
        if (delivered.UpToJournalSeq <= _ackedJournalSeq) return;
        _ackedJournalSeq = delivered.UpToJournalSeq;
        _ackedSequence = Math.Max(_ackedSequence, delivered.UpToSequence);
        _cache.RemoveUpTo(delivered.UpToJournalSeq);
        if (!Timers.IsTimerActive(FlushDeliveredTimer))
            Timers.StartSingleTimer(FlushDeliveredTimer, FlushDeliveredTick.Instance, _settings.DeliveredFlushInterval);
        UpdateMetrics(refreshFileSize: false);
    }

    /// <summary>Journals the acknowledged offset; coalesced so that acknowledgements never flood the journal.</summary>
    private void PersistDelivered()
    {
        if (_deliveredPersistInFlight || _ackedJournalSeq <= _state.ConsumedJournalSeq) return;
        // Readings wait for the next commit (due within commit-interval): the offset goes with it.
        if (_writer.Count > 0 || _sealed.Count > 0) return;
        _deliveredPersistInFlight = true;
        PersistAsync(new DeliveredUpTo(_ackedJournalSeq, _ackedSequence), OnDeliveredPersisted);
    }

    private void OnDeliveredPersisted(DeliveredUpTo delivered)
    {
        _state = _state.Apply(delivered);
        if (_sequenceKnown && _settings.SequenceFile is not null) WriteMark(_reservation.Refresh(ConsumedSequence));
        _deliveredPersistInFlight = false;
        _eventsSinceSnapshot++;
        MaybeSnapshot();
        if (_ackedJournalSeq > _state.ConsumedJournalSeq && !Timers.IsTimerActive(FlushDeliveredTimer))
            Timers.StartSingleTimer(FlushDeliveredTimer, FlushDeliveredTick.Instance, _settings.DeliveredFlushInterval);
        CheckFlushed();
    }

    private void CheckFlushed()
    {
        if (_flushWaiters.Count == 0) return;
        if (_writer.Count > 0 || _sealed.Count > 0 || _inFlightEvents > 0 || _deliveredPersistInFlight) return;
        if (_ackedJournalSeq > _state.ConsumedJournalSeq) return;
        var flushed = new Flushed(_state.LastSequence);
        foreach (var waiter in _flushWaiters) waiter.Tell(flushed);
        _flushWaiters.Clear();
    }

    // ---------------------------------------------------------------- status and metrics

    private WalStatus Status() => new(
        _state.LastSequence,
        ConsumedSequence,
        Math.Max(0, _state.LastSequence - ConsumedSequence),
        Unsent().Bytes,
        _waitingRecords + _inFlightRecords,
        _state.EvictedTotal,
        _state.GapRecords,
        Unsent().OldestTimestampMs,
        (long)_metrics.AcceptedBytes.Value,
        _settings.MaxUnsentBytes);

    /// <summary>
    /// Unsent bytes and the oldest unsent entry's timestamp, for status and metrics: by entry while the
    /// cache holds every unsent entry (always while the uplink keeps up), else by segment (the disk
    /// budget's granularity). By segment alone, a trickle online showed up to a segment's worth
    /// (1 MiB, half an hour at the default truck's rate) as unsent and the segment's first reading as
    /// the oldest, though everything but the last few readings was acknowledged.
    /// </summary>
    private (long Bytes, long? OldestTimestampMs) Unsent() =>
        _cache.Floor <= ConsumedJournalSeq
            ? (_cache.Bytes, _cache.Oldest?.Entry.FirstTimestampMs)
            : (_state.UnsentBytes, _state.OldestUnsentTimestampMs);

    private void UpdateMetrics(bool refreshFileSize)
    {
        var unsent = Unsent();
        _metrics.UnsentEvents.Set(Math.Max(0, _state.LastSequence - ConsumedSequence));
        _metrics.UnsentBytes.Set(unsent.Bytes);
        if (!refreshFileSize) return;
        _metrics.LastSequence.Set(_state.LastSequence);
        var oldest = unsent.OldestTimestampMs;
        _metrics.OldestUnsentAge.Set(oldest is { } ts
            ? Math.Max(0, (_time.GetUtcNow().ToUnixTimeMilliseconds() - ts) / 1000.0)
            : 0);
        if (_settings.JournalPath is { } path) _metrics.SizeBytes.Set(SqliteWal.SizeOnDisk(path));
    }

    private sealed record JournalReadCompleted(IActorRef Requester, ReadEntries Request, long UpTo, IReadOnlyList<StoredEntry> Entries);

    private sealed record JournalReadFailed(IActorRef Requester, ReadEntries Request, Exception Cause);

    private sealed record IdentityChecked(SequenceMark? Mark, string JournalId, string SnapshotId, string? MarkProblem);

    private sealed record SequencesReserved(long UpTo);

    private sealed record ReservationFailed(Exception Cause);

    private sealed class RetryReservation
    {
        public static readonly RetryReservation Instance = new();
    }

    private sealed class FlushDeliveredTick
    {
        public static readonly FlushDeliveredTick Instance = new();
    }

    private sealed class RefreshMetrics
    {
        public static readonly RefreshMetrics Instance = new();
    }

    private sealed class CommitTick
    {
        public static readonly CommitTick Instance = new();
    }
}

/// <summary>The journal refused to store a log entry (typically a serialization problem).</summary>
public sealed class WalWriteRejectedException(string message, Exception inner) : Exception(message, inner);
