using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using static Fleet.Actors.Core.Wal.WalProtocol;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// Serving the uplink: entries from the memory cache, or read back from the journal (through
/// Akka.Persistence.Query) when they have left it, one journal read at a time.
/// </summary>
internal sealed partial class WalActor
{
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
}
