using System.Collections.Immutable;
using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Core.Wal;

/// <summary>Marker for everything the write-ahead log persists; bound to <see cref="WalSerializer"/>.</summary>
public interface IWalEvent;

/// <summary>
/// One journal row of readings: consecutive records already encoded in the wire format (see
/// <see cref="Telemetry.EntryWriter"/>), so the uplink sends them without decoding them again.
/// </summary>
/// <param name="FirstSequence">Sequence number of the first record.</param>
/// <param name="Count">Number of records; sequences are FirstSequence..FirstSequence+Count-1.</param>
/// <param name="FirstTimestampMs">Timestamp of the first record.</param>
/// <param name="LastTimestampMs">Timestamp of the last record.</param>
/// <param name="Records">The encoded records.</param>
/// <param name="Eviction">Set when this entry's gap records announce an eviction.</param>
public sealed record LogEntry(
    long FirstSequence,
    int Count,
    long FirstTimestampMs,
    long LastTimestampMs,
    ReadOnlyMemory<byte> Records,
    Eviction? Eviction = null) : IWalEvent
{
    /// <summary>
    /// When the entry holds gap records (and only then): what each record announces, in record
    /// order, so that the log knows which of its gap records the fleet has not received yet
    /// without decoding the records again. Empty for readings.
    /// </summary>
    public ImmutableArray<GapValue> Gaps { get; init; } = ImmutableArray<GapValue>.Empty;

    /// <summary>Sequence number of the last record.</summary>
    public long LastSequence => FirstSequence + Count - 1;

    /// <summary>Encoded size of the records.</summary>
    public int Bytes => Records.Length;
}

/// <summary>
/// The oldest unsent data up to <paramref name="UpToJournalSeq"/> (sequences
/// <paramref name="FromSequence"/>..<paramref name="ToSequence"/>) was given up; persisted
/// atomically with the gap records that tell the fleet about it. Those records announce this range
/// and again every earlier announcement whose own gap record the eviction gives up
/// (<see cref="LogEntry.Gaps"/>), so an eviction never makes an earlier one silent.
/// </summary>
public sealed record Eviction(long UpToJournalSeq, long FromSequence, long ToSequence, long Count, long Bytes, string Reason);

/// <summary>A gap record the log wrote and the broker has not acknowledged yet.</summary>
/// <param name="Sequence">The gap record's own sequence.</param>
/// <param name="Gap">What it announces.</param>
public sealed record PendingGap(long Sequence, GapValue Gap);

/// <summary>The broker acknowledged everything up to this journal position and sequence.</summary>
public sealed record DeliveredUpTo(long JournalSeq, long Sequence) : IWalEvent;

/// <summary>
/// A journal row that could not be decoded. The serializer returns it instead of throwing, so a
/// single bad row is skipped and counted rather than stopping recovery.
/// </summary>
public sealed record CorruptWalRecord(string Manifest, int Length, string Error) : IWalEvent;

/// <summary>A run of consecutive log entries, kept to account for unsent bytes and age cheaply.</summary>
public sealed record WalSegment(
    long FirstJournalSeq,
    long LastJournalSeq,
    long FirstSequence,
    long LastSequence,
    long Bytes,
    long FirstTimestampMs);

/// <summary>The log's state as saved in a snapshot.</summary>
public sealed record WalSnapshot(
    long NextSequence,
    long ConsumedJournalSeq,
    long ConsumedSequence,
    long EvictedTotal,
    long GapRecords,
    ImmutableList<WalSegment> Segments,
    ImmutableList<PendingGap> PendingGaps) : IWalEvent;

/// <summary>A log entry together with its position in the journal.</summary>
public sealed record StoredEntry(long JournalSeq, LogEntry Entry);
