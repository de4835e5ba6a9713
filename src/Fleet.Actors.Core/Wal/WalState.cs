using System.Collections.Immutable;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// What the log knows about itself, folded from its events: the next sequence to accept, how far
/// the fleet has the data (delivered or evicted: "consumed"), and the unsent data by segment.
/// Immutable; <see cref="Apply(LogEntry, long, long)"/> and friends return the next state.
/// </summary>
public sealed record WalState(
    long NextSequence,
    long ConsumedJournalSeq,
    long ConsumedSequence,
    long EvictedTotal,
    long GapRecords,
    ImmutableList<WalSegment> Segments)
{
    /// <summary>The state of a log that never accepted anything.</summary>
    public static WalState Empty { get; } = new(1, 0, 0, 0, 0, ImmutableList<WalSegment>.Empty);

    /// <summary>Highest accepted sequence (0 when none).</summary>
    public long LastSequence => NextSequence - 1;

    /// <summary>Accepted records that the broker has not acknowledged and that were not evicted.</summary>
    public long UnsentCount => Math.Max(0, LastSequence - ConsumedSequence);

    /// <summary>Encoded bytes of unsent data, counted by whole segments.</summary>
    public long UnsentBytes => Segments.Sum(s => s.Bytes);

    /// <summary>Timestamp of the oldest unsent segment, or null when everything is consumed.</summary>
    public long? OldestUnsentTimestampMs => Segments.IsEmpty ? null : Segments[0].FirstTimestampMs;

    /// <summary>Folds a persisted entry (and the eviction it may carry) into the state.</summary>
    public WalState Apply(LogEntry entry, long journalSeq, long segmentBytes)
    {
        var state = this;
        if (entry.Eviction is { } eviction)
        {
            state = state.Consume(eviction.UpToJournalSeq, eviction.ToSequence) with
            {
                EvictedTotal = EvictedTotal + eviction.Count,
                GapRecords = GapRecords + 1,
            };
        }

        var segments = state.Segments;
        if (segments.IsEmpty || segments[^1].Bytes >= segmentBytes)
        {
            segments = segments.Add(new WalSegment(journalSeq, journalSeq, entry.FirstSequence, entry.LastSequence, entry.Bytes, entry.FirstTimestampMs));
        }
        else
        {
            var tail = segments[^1];
            segments = segments.SetItem(segments.Count - 1, tail with
            {
                LastJournalSeq = journalSeq,
                LastSequence = entry.LastSequence,
                Bytes = tail.Bytes + entry.Bytes,
            });
        }

        return state with { NextSequence = Math.Max(state.NextSequence, entry.LastSequence + 1), Segments = segments };
    }

    /// <summary>
    /// Folds a delivery acknowledgement into the state. The acknowledged sequence also bounds the next
    /// sequence from below, so that sequence numbers never go back even if older rows were deleted
    /// and a snapshot could not be read.
    /// </summary>
    public WalState Apply(DeliveredUpTo delivered)
    {
        var state = Consume(delivered.JournalSeq, delivered.Sequence);
        return state.NextSequence > delivered.Sequence ? state : state with { NextSequence = delivered.Sequence + 1 };
    }

    /// <summary>Restores the state from a snapshot.</summary>
    public static WalState From(WalSnapshot s) =>
        new(s.NextSequence, s.ConsumedJournalSeq, s.ConsumedSequence, s.EvictedTotal, s.GapRecords, s.Segments);

    /// <summary>The state as a snapshot.</summary>
    public WalSnapshot ToSnapshot() =>
        new(NextSequence, ConsumedJournalSeq, ConsumedSequence, EvictedTotal, GapRecords, Segments);

    /// <summary>
    /// Chooses the oldest segments to give up so that unsent bytes fall to <paramref name="targetBytes"/>.
    /// Never picks the newest segment, which may still be growing. <paramref name="consumedSequence"/>
    /// is the highest sequence already acknowledged (possibly ahead of the journaled offset).
    /// Null when nothing can be evicted.
    /// </summary>
    public Eviction? PlanEviction(long targetBytes, long consumedSequence, string reason)
    {
        if (Segments.Count < 2) return null;
        var remaining = UnsentBytes;
        WalSegment? last = null;
        long bytes = 0;
        for (var i = 0; i < Segments.Count - 1 && remaining > targetBytes; i++)
        {
            last = Segments[i];
            bytes += last.Bytes;
            remaining -= last.Bytes;
        }
        if (last is null) return null;
        var from = Math.Max(ConsumedSequence, consumedSequence) + 1;
        if (from > last.LastSequence) return null;
        var to = last.LastSequence;
        return new Eviction(last.LastJournalSeq, from, to, to - from + 1, bytes, reason);
    }

    private WalState Consume(long journalSeq, long sequence)
    {
        if (journalSeq <= ConsumedJournalSeq) return this;
        var segments = Segments;
        while (!segments.IsEmpty && segments[0].LastJournalSeq <= journalSeq) segments = segments.RemoveAt(0);
        return this with
        {
            ConsumedJournalSeq = journalSeq,
            ConsumedSequence = Math.Max(ConsumedSequence, sequence),
            Segments = segments,
        };
    }
}
