using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
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
/// </remarks>
internal sealed class WalActor : ReceivePersistentActor, IWithTimers
{
    private const string FlushDeliveredTimer = "flush-delivered";
    private const string MetricsTimer = "metrics";
    private const string GapDeviceId = "wal";
    private static readonly TimeSpan WarningInterval = TimeSpan.FromSeconds(10);

    private readonly WalSettings _settings;
    private readonly WalMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly EntryWriter _writer = new();
    private readonly Queue<LogEntry> _sealed = new();
    private readonly List<IActorRef> _flushWaiters = new();
    private readonly List<(long From, long To)> _recoveredHoles = new();
    private readonly IActorRef _acceptedListener;
    private List<Reading> _toNotify = new();
    private List<Reading> _notifyInFlight = new();
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

    public WalActor(string vehicleId, WalSettings settings, WalMetrics metrics, TimeProvider time, IActorRef acceptedListener)
    {
        _acceptedListener = acceptedListener;
        PersistenceId = PersistenceIdFor(vehicleId);
        _settings = settings;
        _metrics = metrics;
        _time = time;
        _cache = new EntryCache(settings.CacheBytes);
        _recoveryStarted = time.GetTimestamp();
        _reservation = new SequenceReservation(time);

        Recover<SnapshotOffer>(OnSnapshotOffer);
        Recover<LogEntry>(OnEntryRecovered);
        Recover<DeliveredUpTo>(d =>
        {
            _state = _state.Apply(d);
            _cache.RemoveUpTo(d.JournalSeq);
        });
        Recover<CorruptWalRecord>(c => ReportCorrupt(c, LastSequenceNr));
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<LogReadings>(readings =>
        {
            if (_sequenceKnown) HandleReadings(readings);
            else Stash.Stash();
        });
        Command<IdentityChecked>(OnIdentityChecked);
        Command<Status.Failure>(failure =>
        {
            // Only the sequence-mark check pipes without a failure message of its own.
            ReportDamage(failure.Cause);
            throw new WalWriteRejectedException($"Checking the sequence mark of {PersistenceId} failed", failure.Cause);
        });
        Command<SequencesReserved>(OnReserved);
        Command<ReservationFailed>(OnReservationFailed);
        Command<RetryReservation>(_ => Reserve());
        Command<JournalQuarantined>(OnQuarantined);
        Command<ReadEntries>(r => HandleRead(Sender, r));
        Command<Delivered>(HandleDelivered);
        Command<JournalReadCompleted>(OnJournalRead);
        Command<JournalReadFailed>(OnJournalReadFailed);
        Command<FlushDeliveredTick>(_ => PersistDelivered());
        Command<RefreshMetrics>(_ => UpdateMetrics(refreshFileSize: true));
        Command<Flush>(_ =>
        {
            if (!_sequenceKnown)
            {
                Stash.Stash();
                return;
            }
            _flushWaiters.Add(Sender);
            TryFlush();
            PersistDelivered();
            CheckFlushed();
        });
        Command<GetStatus>(_ => Sender.Tell(Status()));
        Command<SaveSnapshotSuccess>(OnSnapshotSaved);
        Command<SaveSnapshotFailure>(f =>
        {
            _snapshotInFlight = false;
            _log.Warning(f.Cause, "Snapshot of the log failed; acknowledged rows stay until the next one");
        });
        Command<DeleteMessagesSuccess>(d => _log.Debug("Deleted journal rows up to {0}", d.ToSequenceNr));
        Command<DeleteMessagesFailure>(f => _log.Warning(f.Cause, "Deleting journal rows up to {0} failed", f.ToSequenceNr));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning(f.Cause, "Deleting old snapshots failed"));
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
        Context.System.EventStream.Unsubscribe(Self);
        base.PostStop();
    }

    private long ConsumedJournalSeq => Math.Max(_ackedJournalSeq, _state.ConsumedJournalSeq);

    private long ConsumedSequence => Math.Max(_ackedSequence, _state.ConsumedSequence);

    private ICurrentEventsByPersistenceIdQuery ReadJournal =>
        _readJournal ??= PersistenceQuery.Get(Context.System).ReadJournalFor<ICurrentEventsByPersistenceIdQuery>(_settings.ReadJournalPluginId);

    // ---------------------------------------------------------------- recovery

    private void OnSnapshotOffer(SnapshotOffer offer)
    {
        if (offer.Snapshot is WalSnapshot snapshot) _state = WalState.From(snapshot);
        else if (offer.Snapshot is CorruptWalRecord corrupt) ReportCorrupt(corrupt, offer.Metadata.SequenceNr);
        // Entries up to the snapshot are not replayed: unsent ones among them are read from the journal.
        _cache = new EntryCache(_settings.CacheBytes, offer.Metadata.SequenceNr);
    }

    private void OnEntryRecovered(LogEntry entry)
    {
        // A hole, unless the entry announces it itself (the log resumed above its mark after a lost journal).
        if (entry.FirstSequence > _state.NextSequence && !entry.Gaps.Any(g => g.FromSequence <= _state.NextSequence && g.ToSequence >= entry.FirstSequence - 1))
            _recoveredHoles.Add((_state.NextSequence, entry.FirstSequence - 1));
        _state = _state.Apply(entry, LastSequenceNr, _settings.SegmentBytes);
        if (LastSequenceNr > _state.ConsumedJournalSeq)
        {
            _cache.Add(new StoredEntry(LastSequenceNr, entry));
            _replayedRecords += entry.Count;
        }
    }

    private void OnRecovered()
    {
        _nextSequence = _state.NextSequence;
        _ackedJournalSeq = _state.ConsumedJournalSeq;
        _ackedSequence = _state.ConsumedSequence;
        var elapsed = _time.GetElapsedTime(_recoveryStarted);
        _metrics.ReplayDuration.Set(elapsed.TotalSeconds);
        _log.Info(
            "Log {0} recovered in {1:F0} ms ({2} records replayed): last sequence {3}, {4} unsent, {5} evicted so far",
            PersistenceId, elapsed.TotalMilliseconds, _replayedRecords, _state.LastSequence, _state.UnsentCount, _state.EvictedTotal);

        Timers.StartPeriodicTimer(MetricsTimer, RefreshMetrics.Instance, _settings.MetricsInterval);
        UpdateMetrics(refreshFileSize: true);
        if (_settings.SequenceFile is null)
        {
            _sequenceKnown = true;
            _reservation.Written(long.MaxValue, _nextSequence, 0);
            AnnounceRecoveredHoles();
            TryFlush();
            return;
        }
        // Readings wait (stashed) until the mark says where sequences go on: a few milliseconds.
        var (file, journal, snapshot) = (_settings.SequenceFile, _settings.JournalPath, _settings.SnapshotPath);
        Task.Run(() => new IdentityChecked(
                SequenceMark.Read(file),
                journal is null ? "" : JournalFiles.Identity(journal) ?? "",
                snapshot is null ? "" : JournalFiles.Identity(snapshot) ?? ""))
            .PipeTo(Self);
    }

    /// <summary>
    /// Compares the recovered log with its sequence mark. When the journal is not the one the mark
    /// belongs to (it was quarantined and replaced, or deleted), what the log recovered says
    /// nothing of the sequences used before: resume above the reserved mark and announce as lost
    /// everything after what was known to be delivered. When only the snapshot file was replaced,
    /// the journal still holds the truth; sequences still resume above the mark, to be safe.
    /// </summary>
    private void OnIdentityChecked(IdentityChecked check)
    {
        _reservation.Files = (check.JournalId, check.SnapshotId);
        if (check.Mark is { } mark)
        {
            var journalReplaced = mark.JournalId != check.JournalId;
            var snapshotReplaced = mark.SnapshotId != check.SnapshotId;
            if ((journalReplaced || snapshotReplaced) && mark.Reserved >= _nextSequence)
                ResumeAboveMark(mark, journalReplaced);
        }
        _sequenceKnown = true;
        AnnounceRecoveredHoles();
        Reserve();
        Stash.UnstashAll();
    }

    /// <summary>Gap records for sequences lost to corrupt journal rows found during recovery.</summary>
    private void AnnounceRecoveredHoles()
    {
        foreach (var (from, to) in _recoveredHoles)
            _log.Error("Sequences {0}..{1} were lost to a corrupt journal row; recording a gap", from, to);
        if (_recoveredHoles.Count > 0)
            AppendGaps(WalState.MergeAnnouncements(_recoveredHoles.Select(h => new GapValue(h.From, h.To, h.To - h.From + 1, "corrupt-record")), int.MaxValue), eviction: null);
        _recoveredHoles.Clear();
    }

    private void ResumeAboveMark(SequenceMark mark, bool journalReplaced)
    {
        var known = Math.Max(mark.Delivered, ConsumedSequence);
        var announcements = new List<GapValue>();
        if (journalReplaced)
        {
            // Nothing recovered refers to the files now in place: start over above the mark, and
            // announce again what pending gap records announced (they are gone with the journal).
            announcements.AddRange(_state.PendingGaps.Select(p => p.Gap));
            _state = WalState.Empty with { EvictedTotal = _state.EvictedTotal, GapRecords = _state.GapRecords, ConsumedJournalSeq = LastSequenceNr };
            _ackedJournalSeq = LastSequenceNr;
            _cache = new EntryCache(_settings.CacheBytes, LastSequenceNr);
        }
        var from = journalReplaced ? known + 1 : Math.Max(known, _state.LastSequence) + 1;
        _nextSequence = mark.Reserved + 1;
        _metrics.Quarantined.Inc();
        _log.Error("The {0} of {1} is not the one its sequence mark belongs to (replaced after damage, or deleted): sequences go on at {2}; {3}..{4} announced as lost (corrupt-journal)",
            journalReplaced ? "journal" : "snapshot file", PersistenceId, _nextSequence, from, mark.Reserved);
        if (from <= mark.Reserved) announcements.Add(new GapValue(from, mark.Reserved, mark.Reserved - from + 1, "corrupt-journal"));
        // Everything up to the mark is now delivered or announced: the entry consumes it (counting
        // nothing as evicted), so status and later recoveries agree on where sequences go on.
        if (announcements.Count > 0)
            AppendGaps(WalState.MergeAnnouncements(announcements, WalState.MaxGapRecordsPerEviction),
                new Eviction(_state.ConsumedJournalSeq, Math.Min(from, mark.Reserved), mark.Reserved, 0, 0, "corrupt-journal"));
        AppendAlert(new AlertValue("journal-replaced", AlertSeverity.Critical, PersistenceId,
            $"{(journalReplaced ? "journal" : "snapshot file")} replaced after damage; sequences {from}..{mark.Reserved} may be lost"));
    }

    private void AppendAlert(AlertValue alert)
    {
        _writer.Append(_nextSequence++, new Reading(GapDeviceId, _time.GetUtcNow().ToUnixTimeMilliseconds(), alert));
        _waitingRecords++;
        TryFlush();
    }

    // ---------------------------------------------------------------- sequence reservation

    /// <summary>Reserves the next block of sequences in the mark (fsynced) unless a reservation is under way.</summary>
    private void Reserve()
    {
        if (_sequenceKnown && _settings.SequenceFile is not null) WriteMark(_reservation.Reserve(_nextSequence, ConsumedSequence));
    }

    /// <summary>Writes <paramref name="mark"/> off the actor's thread; the result comes back as a message.</summary>
    private void WriteMark(SequenceMark? mark)
    {
        if (mark is null || _settings.SequenceFile is not { } file) return;
        Task.Run(() =>
            {
                SequenceMark.Write(file, mark);
                return mark.Reserved;
            })
            .PipeTo(Self, success: reserved => new SequencesReserved(reserved), failure: ex => new ReservationFailed(ex));
    }

    private void OnReserved(SequencesReserved reserved)
    {
        WriteMark(_reservation.Written(reserved.UpTo, _nextSequence, ConsumedSequence));
        TryFlush();
    }

    private void OnReservationFailed(ReservationFailed failed)
    {
        _reservation.Failed();
        _log.Warning("Cannot write the sequence mark {0}: {1}; readings wait (bounded by max-pending-readings), retrying in 1 s",
            _settings.SequenceFile, failed.Cause.GetBaseException().Message);
        Timers.StartSingleTimer(ReservationRetryTimer, RetryReservation.Instance, TimeSpan.FromSeconds(1));
    }

    /// <summary>Another actor had a file replaced; the snapshot file holds this log's state, so save it there again.</summary>
    private void OnQuarantined(JournalQuarantined quarantined)
    {
        if (quarantined.Journal || quarantined.File.Path != _settings.SnapshotPath || IsRecovering) return;
        if (!_snapshotInFlight)
        {
            _snapshotInFlight = true;
            _eventsSinceSnapshot = 0;
            SaveSnapshot(_state.ToSnapshot());
        }
        if (_sequenceKnown) WriteMark(_reservation.FilesChanged((_reservation.Files.Journal, quarantined.File.NewIdentity), ConsumedSequence));
    }

    private void ReportCorrupt(CorruptWalRecord corrupt, long journalSeq)
    {
        _metrics.CorruptRecords.Inc();
        _log.Error("Skipping corrupt journal row {0} of {1} ({2}, {3} bytes): {4}",
            journalSeq, PersistenceId, corrupt.Manifest, corrupt.Length, corrupt.Error);
    }

    // ---------------------------------------------------------------- intake and writes

    private void HandleReadings(LogReadings message)
    {
        long dropped = 0;
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
                continue;
            }
            _nextSequence++;
            _waitingRecords++;
            if (Notifies) _toNotify.Add(reading);
            if (_writer.Count >= _settings.MaxEntryRecords || _writer.Bytes >= _settings.MaxEntryBytes) SealCurrent();
        }

        if (dropped > 0) CountDropped(dropped);
        if (_reservation.RunningLow(_nextSequence)) Reserve();
        TryFlush();
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
        _inFlightEvents = entries.Length;
        foreach (var entry in entries) _inFlightRecords += entry.Count;
        _waitingRecords = 0;
        // Everything appended so far is in this commit (the writer was sealed above).
        (_notifyInFlight, _toNotify) = (_toNotify, _notifyInFlight);
        PersistAllAsync(entries, OnEntryPersisted);
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
        }

        if (journalSeq > ConsumedJournalSeq) _cache.Add(new StoredEntry(journalSeq, entry));
        _metrics.LastSequence.Set(_state.LastSequence);

        ServeParked();
        MaybeEvict();
        MaybeSnapshot();
        if (_inFlightEvents == 0)
        {
            if (_notifyInFlight.Count > 0)
            {
                _acceptedListener.Tell(new ReadingsAccepted(_notifyInFlight));
                _notifyInFlight = new List<Reading>();
            }
            TryFlush();
            CheckFlushed();
        }
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

    // ---------------------------------------------------------------- reads for the uplink

    private void HandleRead(IActorRef requester, ReadEntries request)
    {
        if (IsRecovering) return;
        if (_journalReadInFlight)
        {
            _deferred = (requester, request);
            return;
        }

        var after = Math.Max(request.AfterJournalSeq, ConsumedJournalSeq);
        if (after < _cache.Floor)
        {
            StartJournalRead(requester, request, after, _cache.Floor);
            return;
        }

        var entries = _cache.ReadAfter(after, request.MaxBytes);
        if (entries.Count > 0) requester.Tell(new EntriesRead(request.RequestId, entries));
        else _parked = (requester, request);
    }

    private void ServeParked()
    {
        if (_parked is not { } parked) return;
        _parked = null;
        HandleRead(parked.Requester, parked.Request);
    }

    private void StartJournalRead(IActorRef requester, ReadEntries request, long after, long upTo)
    {
        _journalReadInFlight = true;
        _metrics.JournalReads.Inc();
        var maxBytes = request.MaxBytes;
        var metrics = _metrics;
        long bytes = 0;
        ReadJournal.CurrentEventsByPersistenceId(PersistenceId, after + 1, upTo)
            .Where(envelope =>
            {
                if (envelope.Event is CorruptWalRecord) metrics.CorruptRecords.Inc();
                return envelope.Event is LogEntry;
            })
            .Select(envelope => new StoredEntry(envelope.SequenceNr, (LogEntry)envelope.Event))
            .TakeWhile(stored =>
            {
                var fits = bytes == 0 || bytes + stored.Entry.Bytes <= maxBytes;
                bytes += stored.Entry.Bytes;
                return fits;
            })
            .RunWith(Sink.Seq<StoredEntry>(), Context.Materializer())
            .PipeTo(Self,
                success: entries => new JournalReadCompleted(requester, request, upTo, entries),
                failure: ex => new JournalReadFailed(requester, request, ex));
    }

    private void OnJournalRead(JournalReadCompleted read)
    {
        _journalReadInFlight = false;
        var consumed = ConsumedJournalSeq;
        var unsent = read.Entries.Where(e => e.JournalSeq > consumed).ToList();
        if (unsent.Count > 0)
            read.Requester.Tell(new EntriesRead(read.Request.RequestId, unsent));
        else
            // Nothing unsent below the floor (only markers, or evicted meanwhile): go on from there.
            HandleRead(read.Requester, read.Request with { AfterJournalSeq = Math.Max(read.Request.AfterJournalSeq, read.UpTo) });

        if (_deferred is { } deferred)
        {
            _deferred = null;
            HandleRead(deferred.Requester, deferred.Request);
        }
    }

    private void OnJournalReadFailed(JournalReadFailed failed)
    {
        _journalReadInFlight = false;
        // The requester asks again after its retry interval.
        if (!ReportDamage(failed.Cause)) _log.Warning(failed.Cause, "Reading unsent entries back from the journal failed");
        if (_deferred is { } deferred)
        {
            _deferred = null;
            HandleRead(deferred.Requester, deferred.Request);
        }
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
        _deliveredPersistInFlight = true;
        PersistAsync(new DeliveredUpTo(_ackedJournalSeq, _ackedSequence), delivered =>
        {
            _state = _state.Apply(delivered);
            if (_sequenceKnown && _settings.SequenceFile is not null) WriteMark(_reservation.Refresh(ConsumedSequence));
            _deliveredPersistInFlight = false;
            _eventsSinceSnapshot++;
            MaybeSnapshot();
            if (_ackedJournalSeq > _state.ConsumedJournalSeq && !Timers.IsTimerActive(FlushDeliveredTimer))
                Timers.StartSingleTimer(FlushDeliveredTimer, FlushDeliveredTick.Instance, _settings.DeliveredFlushInterval);
            CheckFlushed();
        });
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
        _state.UnsentBytes,
        _waitingRecords + _inFlightRecords,
        _state.EvictedTotal,
        _state.GapRecords,
        _state.OldestUnsentTimestampMs);

    private void UpdateMetrics(bool refreshFileSize)
    {
        _metrics.UnsentEvents.Set(Math.Max(0, _state.LastSequence - ConsumedSequence));
        _metrics.UnsentBytes.Set(_state.UnsentBytes);
        if (!refreshFileSize) return;
        _metrics.LastSequence.Set(_state.LastSequence);
        var oldest = _state.OldestUnsentTimestampMs;
        _metrics.OldestUnsentAge.Set(oldest is { } ts
            ? Math.Max(0, (_time.GetUtcNow().ToUnixTimeMilliseconds() - ts) / 1000.0)
            : 0);
        if (_settings.JournalPath is { } path) _metrics.SizeBytes.Set(SqliteWal.SizeOnDisk(path));
    }

    // ---------------------------------------------------------------- failures

    /// <inheritdoc />
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "Journal rejected event {0}; restarting the log to recover its sequence", sequenceNr);
        CountLostPending();
        // Sequences were handed out for the rejected entry: a restart recovers them from the journal.
        throw new WalWriteRejectedException($"Journal rejected event {sequenceNr} of {PersistenceId}", cause);
    }

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        CountLostPending();
        if (ReportDamage(cause)) return; // one line said it; the base class would log the stack trace
        _log.Error(cause, "Journal write {0} failed; the log stops and its supervisor restarts it", sequenceNr);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <summary>The readings the failed write and the ones waiting behind it carried never reach the journal.</summary>
    private void CountLostPending()
    {
        var lost = _waitingRecords + _inFlightRecords;
        _waitingRecords = _inFlightRecords = 0;
        if (lost == 0) return;
        _metrics.Lost.Inc(lost);
        _log.Warning("{0} readings waiting for the failed write are lost (counted in wal_readings_lost_total)", lost);
    }

    /// <inheritdoc />
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        if (ReportDamage(reason)) return; // one line said it; the base class would log the stack trace
        _log.Error(reason, "Recovery of {0} failed", PersistenceId);
        base.OnRecoveryFailure(reason, message);
    }

    /// <summary>
    /// When SQLite calls a file damaged, has the files checked and the damaged one quarantined
    /// (before the supervisor starts this log again, at least a second later). True when it did.
    /// </summary>
    private bool ReportDamage(Exception cause)
    {
        if (!JournalFiles.IsDamage(cause) || _settings.JournalPath is not { } journal || _settings.SnapshotPath is not { } snapshot) return false;
        _log.Error("The log {0} met a damaged file ({1}); checking and quarantining it", PersistenceId, cause.GetBaseException().Message);
        _log.Debug("{0}", cause);
        JournalQuarantine.Get(Context.System).CheckAsync(journal, snapshot);
        return true;
    }

    private sealed record JournalReadCompleted(IActorRef Requester, ReadEntries Request, long UpTo, IReadOnlyList<StoredEntry> Entries);

    private sealed record JournalReadFailed(IActorRef Requester, ReadEntries Request, Exception Cause);

    private sealed record IdentityChecked(SequenceMark? Mark, string JournalId, string SnapshotId);

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
}

/// <summary>The journal refused to store a log entry (typically a serialization problem).</summary>
public sealed class WalWriteRejectedException(string message, Exception inner) : Exception(message, inner);
