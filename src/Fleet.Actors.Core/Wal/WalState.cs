using System.Collections.Immutable;
using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// What the log knows about itself, folded from its events: the next sequence to accept, how far
/// the fleet has the data (delivered or evicted: "consumed"), the unsent data by segment, and the
/// gap records not yet delivered. Immutable; <see cref="Apply(LogEntry, long, long)"/> and friends
/// return the next state.
/// </summary>
/// <remarks>
/// The invariant the log keeps, across any number of evictions, restarts and crashes: every
/// sequence up to the last accepted one is delivered, or announced by a gap record that is
/// delivered, or still unsent in the log. An eviction may give up gap records of earlier
/// evictions; their announcements (<see cref="PendingGaps"/>) are then repeated by the new one.
/// </remarks>
public sealed record WalState(
    long NextSequence,
    long ConsumedJournalSeq,
    long ConsumedSequence,
    long EvictedTotal,
    long GapRecords,
    ImmutableList<WalSegment> Segments,
    ImmutableList<PendingGap> PendingGaps)
{
    /// <summary>Most gap records one eviction writes; closer announcements are merged beyond it.</summary>
    public const int MaxGapRecordsPerEviction = 32;

    /// <summary>The state of a log that never accepted anything.</summary>
    public static WalState Empty { get; } = new(1, 0, 0, 0, 0, ImmutableList<WalSegment>.Empty, ImmutableList<PendingGap>.Empty);

    /// <summary>Highest accepted sequence (0 when none).</summary>
    public long LastSequence => NextSequence - 1;

    /// <summary>Accepted records that the broker has not acknowledged and that were not evicted.</summary>
    public long UnsentCount => Math.Max(0, LastSequence - ConsumedSequence);

    /// <summary>Encoded bytes of unsent data, counted by whole segments.</summary>
    public long UnsentBytes => Segments.Sum(s => s.Bytes);

    /// <summary>Timestamp of the oldest unsent segment, or null when everything is consumed.</summary>
    public long? OldestUnsentTimestampMs => Segments.IsEmpty ? null : Segments[0].FirstTimestampMs;

    /// <summary>Folds a persisted entry (and the eviction and gap records it may carry) into the state.</summary>
    public WalState Apply(LogEntry entry, long journalSeq, long segmentBytes)
    {
        var state = this;
        if (entry.Eviction is { } eviction)
            state = state.Consume(eviction.UpToJournalSeq, eviction.ToSequence) with { EvictedTotal = EvictedTotal + eviction.Count };
        if (!entry.Gaps.IsEmpty)
        {
            state = state with
            {
                GapRecords = state.GapRecords + entry.Gaps.Length,
                PendingGaps = state.PendingGaps.AddRange(entry.Gaps.Select((gap, i) => new PendingGap(entry.FirstSequence + i, gap))),
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
        new(s.NextSequence, s.ConsumedJournalSeq, s.ConsumedSequence, s.EvictedTotal, s.GapRecords, s.Segments, s.PendingGaps);

    /// <summary>The state as a snapshot.</summary>
    public WalSnapshot ToSnapshot() =>
        new(NextSequence, ConsumedJournalSeq, ConsumedSequence, EvictedTotal, GapRecords, Segments, PendingGaps);

    /// <summary>
    /// Chooses the oldest segments to give up so that unsent bytes fall to <paramref name="targetBytes"/>,
    /// and the gap records that announce it. Never picks the newest segment, which may still be
    /// growing. <paramref name="consumedSequence"/> is the highest sequence already acknowledged
    /// (possibly ahead of the journaled offset). Null when nothing can be evicted.
    /// </summary>
    public EvictionPlan? PlanEviction(long targetBytes, long consumedSequence, string reason)
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
        var eviction = new Eviction(last.LastJournalSeq, from, to, to - from + 1, bytes, reason);

        // Gap records of earlier announcements that were not acknowledged are given up with the
        // rest: this eviction's records announce their ranges again.
        var announced = PendingGaps
            .Where(p => p.Sequence > consumedSequence && p.Sequence <= to)
            .Select(p => p.Gap)
            .Append(new GapValue(from, to, eviction.Count, reason));
        return new EvictionPlan(eviction, MergeAnnouncements(announced, MaxGapRecordsPerEviction));
    }

    /// <summary>
    /// Sorts announcements by range and joins adjacent ones of the same reason; beyond
    /// <paramref name="maxRecords"/> it also joins the closest neighbours (the joined range then
    /// names sequences between them that were delivered, which a consumer ignores as duplicates).
    /// </summary>
    public static ImmutableArray<GapValue> MergeAnnouncements(IEnumerable<GapValue> announcements, int maxRecords)
    {
        var merged = new List<GapValue>();
        foreach (var gap in announcements.OrderBy(g => g.FromSequence))
        {
            if (merged.Count > 0 && merged[^1] is var tail && gap.FromSequence <= tail.ToSequence + 1 && gap.Reason == tail.Reason)
                merged[^1] = Join(tail, gap);
            else
                merged.Add(gap);
        }
        while (merged.Count > maxRecords)
        {
            var closest = 0;
            for (var i = 1; i < merged.Count - 1; i++)
                if (merged[i + 1].FromSequence - merged[i].ToSequence < merged[closest + 1].FromSequence - merged[closest].ToSequence) closest = i;
            merged[closest] = Join(merged[closest], merged[closest + 1]);
            merged.RemoveAt(closest + 1);
        }
        return [.. merged];
    }

    private static GapValue Join(GapValue a, GapValue b) => new(
        Math.Min(a.FromSequence, b.FromSequence),
        Math.Max(a.ToSequence, b.ToSequence),
        a.Count + b.Count,
        a.Reason == b.Reason ? a.Reason : a.Reason + "," + b.Reason);

    private WalState Consume(long journalSeq, long sequence)
    {
        // Nothing more of the journal, but sequences may be (an announcement of what a lost journal took).
        if (journalSeq <= ConsumedJournalSeq)
            return sequence <= ConsumedSequence ? this : this with { ConsumedSequence = sequence, PendingGaps = PendingGaps.RemoveAll(p => p.Sequence <= sequence) };
        var segments = Segments;
        while (!segments.IsEmpty && segments[0].LastJournalSeq <= journalSeq) segments = segments.RemoveAt(0);
        var consumed = Math.Max(ConsumedSequence, sequence);
        return this with
        {
            ConsumedJournalSeq = journalSeq,
            ConsumedSequence = consumed,
            Segments = segments,
            PendingGaps = PendingGaps.IsEmpty ? PendingGaps : PendingGaps.RemoveAll(p => p.Sequence <= consumed),
        };
    }
}

/// <summary>What an eviction gives up and the gap records that announce it.</summary>
/// <param name="Eviction">The range given up.</param>
/// <param name="Gaps">One gap record each: this range and earlier announcements whose records it gives up.</param>
public sealed record EvictionPlan(Eviction Eviction, ImmutableArray<GapValue> Gaps);
