using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// The log's recovery and what follows it: replaying entries, the check of its files against the
/// sequence mark (resuming above it when the journal was replaced), the reservation of sequences,
/// and the failures of the journal, damaged files among them.
/// </summary>
internal sealed partial class WalActor
{
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
        // Sequences between the state and this entry were lost to the corrupt rows met since the last
        // one, unless the entry announces them itself. Without corrupt rows they are not a loss: rows
        // deleted after delivery whose snapshot is gone, or the first entry of a journal that replaced
        // a lost one (it announced then what it could not vouch for, from the sequence mark).
        var corruptRows = _corruptRowsSinceEntry;
        _corruptRowsSinceEntry = 0;
        if (corruptRows > 0 && entry.FirstSequence > _state.NextSequence
            && !entry.Gaps.Any(g => g.FromSequence <= _state.NextSequence && g.ToSequence >= entry.FirstSequence - 1))
            _recoveredHoles.Add((_state.NextSequence, entry.FirstSequence - 1));
        // What later entries announce (a hole found at an earlier start and announced then) is not announced again.
        if (_recoveredHoles.Count > 0) _replayedGaps.AddRange(entry.Gaps);
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
                snapshot is null ? "" : JournalFiles.Identity(snapshot) ?? "",
                SequenceMark.Problem(file)))
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
        // A first start has neither file; after it, both are written at every reservation.
        if (check.MarkProblem is { } problem && check.Mark is not null)
            _log.Info("The sequence mark of {0} is read from one of its two files ({1}); the next reservation writes both", PersistenceId, problem);
        else if (check.MarkProblem is { } lost && _nextSequence > 1)
            _log.Warning("The sequence mark of {0} is lost ({1}) although the log has used sequences up to {2}: they go on from what the journal holds; if the journal was replaced too, sequences may repeat",
                PersistenceId, lost, _nextSequence - 1);
        if (check.Mark is { } mark)
        {
            var journalReplaced = mark.JournalId != check.JournalId;
            var snapshotReplaced = mark.SnapshotId != check.SnapshotId;
            if ((journalReplaced || snapshotReplaced) && mark.Reserved >= _nextSequence)
                ResumeAboveMark(mark, journalReplaced);
            else if (_corruptRowsSinceEntry > 0 && mark.Reserved >= _nextSequence)
            {
                // The last rows were corrupt: their sequences are unknown but below the mark.
                _recoveredHoles.Add((_nextSequence, mark.Reserved));
                _nextSequence = mark.Reserved + 1;
            }
        }
        _sequenceKnown = true;
        _reservation.StartAt(_nextSequence);
        AnnounceRecoveredHoles();
        Reserve();
        Stash.UnstashAll();
    }

    /// <summary>
    /// Gap records for sequences lost to corrupt journal rows found during recovery, but for those
    /// delivered before (at or below what the fleet acknowledged) and those a gap record already
    /// announces (the rows stay corrupt until deleted; every start meets them again).
    /// </summary>
    private void AnnounceRecoveredHoles()
    {
        var lost = new List<GapValue>();
        foreach (var (from, to) in _recoveredHoles)
        foreach (var (start, end) in Uncovered(Math.Max(from, ConsumedSequence + 1), to, _replayedGaps))
        {
            _log.Error("Sequences {0}..{1} were lost to a corrupt journal row; recording a gap", start, end);
            lost.Add(new GapValue(start, end, end - start + 1, "corrupt-record"));
        }
        if (lost.Count > 0) AppendGaps(WalState.MergeAnnouncements(lost, int.MaxValue), eviction: null);
        _recoveredHoles.Clear();
        _replayedGaps.Clear();
    }

    /// <summary>The parts of <paramref name="from"/>..<paramref name="to"/> that none of <paramref name="gaps"/> covers.</summary>
    private static IEnumerable<(long From, long To)> Uncovered(long from, long to, List<GapValue> gaps)
    {
        foreach (var gap in gaps.Where(g => g.ToSequence >= from && g.FromSequence <= to).OrderBy(g => g.FromSequence))
        {
            if (gap.FromSequence > from) yield return (from, gap.FromSequence - 1);
            from = Math.Max(from, gap.ToSequence + 1);
            if (from > to) yield break;
        }
        if (from <= to) yield return (from, to);
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
            // A snapshot of the lost journal's state may still be in place: the next commit saves one
            // of this state, so that later starts do not begin from the old one.
            _eventsSinceSnapshot = _settings.SnapshotEvery;
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
        var reading = new Reading(GapDeviceId, _time.GetUtcNow().ToUnixTimeMilliseconds(), alert);
        // Not a reading for scripts and rules, but an alert for the high-priority lane.
        if (Notifies) _alertsToNotify.Add(new LoggedReading(_nextSequence, reading));
        _writer.Append(_nextSequence++, reading);
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

    /// <summary>
    /// A file was replaced after damage. The snapshot file holds this log's state: save it there
    /// again. The journal holds the rows it would read back and recover from: when another actor
    /// (the script store) had it replaced, the log stops, as after damage it found itself, and the
    /// next one its supervisor starts recovers from the fresh journal, notices its new identity and
    /// resumes above the mark, announcing what it cannot vouch for. Without a mark (tests) there is
    /// nothing to resume above, and it goes on.
    /// </summary>
    private void OnQuarantined(JournalQuarantined quarantined)
    {
        if (IsRecovering) return;
        if (quarantined.Journal)
        {
            if (!SamePath(quarantined.File.Path, _settings.JournalPath) || _settings.SequenceFile is null) return;
            // Already following the fresh file (its identity was checked after this recovery).
            if (_sequenceKnown && _reservation.Files.Journal == quarantined.File.NewIdentity) return;
            _log.Warning("The journal of {0} was replaced after damage while the log ran; it stops, and the next one resumes above its sequence mark", PersistenceId);
            CountLostPending("waiting for the failed write");
            Context.Stop(Self);
            return;
        }
        if (!SamePath(quarantined.File.Path, _settings.SnapshotPath)) return;
        if (!_snapshotInFlight)
        {
            _snapshotInFlight = true;
            _eventsSinceSnapshot = 0;
            SaveSnapshot(_state.ToSnapshot());
        }
        if (_sequenceKnown) WriteMark(_reservation.FilesChanged((_reservation.Files.Journal, quarantined.File.NewIdentity), ConsumedSequence));
    }

    private static bool SamePath(string path, string? other) =>
        other is not null && string.Equals(Path.GetFullPath(path), Path.GetFullPath(other), StringComparison.Ordinal);

    private void ReportCorrupt(CorruptWalRecord corrupt, long journalSeq)
    {
        _metrics.CorruptRecords.Inc();
        _log.Error("Skipping corrupt journal row {0} of {1} ({2}, {3} bytes): {4}",
            journalSeq, PersistenceId, corrupt.Manifest, corrupt.Length, corrupt.Error);
    }


    // ---------------------------------------------------------------- failures

    /// <inheritdoc />
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "Journal rejected event {0}; restarting the log to recover its sequence", sequenceNr);
        CountLostPending("waiting for the failed write");
        // Sequences were handed out for the rejected entry: a restart recovers them from the journal.
        throw new WalWriteRejectedException($"Journal rejected event {sequenceNr} of {PersistenceId}", cause);
    }

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        CountLostPending("waiting for the failed write");
        if (ReportDamage(cause)) return; // one line said it; the base class would log the stack trace
        _log.Error(cause, "Journal write {0} failed; the log stops and its supervisor restarts it", sequenceNr);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <summary>The readings the failed write and the ones waiting behind it carried never reach the journal.</summary>
    private void CountLostPending(string why)
    {
        var lost = _waitingRecords + _inFlightRecords;
        _waitingRecords = _inFlightRecords = 0;
        foreach (var (requester, id) in _confirmsInFlight.Concat(_confirmsToSend)) requester.Tell(new WalProtocol.NotLogged(id, why));
        _confirmsInFlight.Clear();
        _confirmsToSend.Clear();
        if (lost == 0) return;
        _metrics.Lost.Inc(lost);
        _log.Warning("{0} readings are lost, {1} (counted in wal_readings_lost_total)", lost, why);
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
    private bool ReportDamage(Exception cause) =>
        JournalQuarantine.Get(Context.System).ReportDamage(cause, _log, "The log " + PersistenceId, _settings.JournalPath, _settings.SnapshotPath);
}
