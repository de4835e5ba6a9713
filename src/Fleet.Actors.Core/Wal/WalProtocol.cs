using Akka.Event;
using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Core.Wal;

/// <summary>Messages of the write-ahead log.</summary>
public static class WalProtocol
{
    /// <summary>
    /// Readings from a device actor. Fire-and-forget: the log never makes a device wait. Each
    /// reading is accepted (given a sequence and persisted) or, when the log is overwhelmed,
    /// dropped and counted in <c>wal_intake_dropped_total</c>.
    /// </summary>
    public sealed record LogReadings(IReadOnlyList<Reading> Readings) : IDeadLetterSuppression
    {
        /// <summary>
        /// Not 0: the sender hears <see cref="Logged"/> with this id once the commit that made all
        /// of them durable is done, or <see cref="NotLogged"/> when the log could not take all of them
        /// (then none is taken when it was full) or stopped before committing them. For records that
        /// must be durable before something is done in the world (a write to an output or a PLC).
        /// </summary>
        public long ConfirmId { get; init; }
    }

    /// <summary>Answer to <see cref="LogReadings"/> with a <see cref="LogReadings.ConfirmId"/>: all of them are durable.</summary>
    public sealed record Logged(long ConfirmId);

    /// <summary>Answer to <see cref="LogReadings"/> with a <see cref="LogReadings.ConfirmId"/>: they are not (all) durable, and why.</summary>
    public sealed record NotLogged(long ConfirmId, string Reason);

    /// <summary>
    /// New values for the limits a running log takes (<see cref="WalSettings.LiveLimits"/>; the other
    /// settings in it are ignored): a smaller disk budget evicts at once, with gap records.
    /// </summary>
    public sealed record ApplyLimits(WalSettings Settings);

    /// <summary>
    /// The uplink asks for unsent entries after a journal position (-1: from the oldest unsent).
    /// The log answers with <see cref="EntriesRead"/> as soon as it has at least one entry; until
    /// then it holds the request (the latest one per requester replaces an earlier one).
    /// </summary>
    /// <remarks>While the log restarts (after damage, say) the uplink's requests end in dead letters; it asks again, so they are not logged.</remarks>
    public sealed record ReadEntries(long RequestId, long AfterJournalSeq, int MaxBytes) : IDeadLetterSuppression;

    /// <summary>Answer to <see cref="ReadEntries"/>: consecutive unsent entries in journal order.</summary>
    public sealed record EntriesRead(long RequestId, IReadOnlyList<StoredEntry> Entries);

    /// <summary>The broker acknowledged everything up to this journal position and sequence.</summary>
    public sealed record Delivered(long UpToJournalSeq, long UpToSequence);

    /// <summary>
    /// Persist everything pending, including the delivered offset, then answer <see cref="Flushed"/>.
    /// Used by shutdown after intake has stopped.
    /// </summary>
    public sealed class Flush
    {
        public static readonly Flush Instance = new();
        private Flush() { }
    }

    /// <summary>
    /// Told to the log's accepted-readings listener (a <see cref="WalActor"/> Props argument) after
    /// each group commit: the readings that commit made durable, in sequence order. Gap records the
    /// log writes itself are not included, nor readings replayed at recovery. Consumers act on
    /// readings only once they are journaled (scripts and alert rules).
    /// </summary>
    public sealed record ReadingsAccepted(IReadOnlyList<Reading> Readings)
    {
        /// <summary>
        /// The sequences of <see cref="Readings"/>, run by run: each run says that the reading at its
        /// index has its sequence and the readings after it the next ones, up to the next run (the log
        /// writes gap records in between). Empty when not known; <see cref="SequenceOf"/> reads it.
        /// </summary>
        public IReadOnlyList<SequenceRun> Sequences { get; init; } = [];

        /// <summary>
        /// The alerts this commit made durable, with their sequences: those among <see cref="Readings"/>
        /// and those the log wrote itself (<c>journal-replaced</c>). The vehicle agent hands them to the
        /// uplink's high-priority lane, so nobody has to look through the readings for them.
        /// </summary>
        public IReadOnlyList<LoggedReading> Alerts { get; init; } = [];

        /// <summary>The sequence of <c>Readings[index]</c>, or null when the log did not say.</summary>
        public long? SequenceOf(int index)
        {
            var runs = Sequences;
            if (runs.Count == 0 || index < runs[0].Index || index >= Readings.Count) return null;
            int lo = 0, hi = runs.Count - 1;
            while (lo < hi)
            {
                var mid = (lo + hi + 1) >>> 1;
                if (runs[mid].Index <= index) lo = mid;
                else hi = mid - 1;
            }
            return runs[lo].Sequence + (index - runs[lo].Index);
        }
    }

    /// <summary>In <see cref="ReadingsAccepted.Sequences"/>: <c>Readings[Index]</c> has <paramref name="Sequence"/>, and the following ones the next sequences.</summary>
    public readonly record struct SequenceRun(int Index, long Sequence);

    /// <summary>Answer to <see cref="Flush"/>.</summary>
    public sealed record Flushed(long LastSequence);

    /// <summary>Asks for a <see cref="WalStatus"/>.</summary>
    /// <remarks>Asked every summary interval: while the log restarts it ends in dead letters, which must not use up their log budget.</remarks>
    public sealed class GetStatus : IDeadLetterSuppression
    {
        public static readonly GetStatus Instance = new();
        private GetStatus() { }
    }

    /// <summary>A view of the log for status displays, shutdown and tests.</summary>
    /// <param name="LastSequence">Highest accepted (persisted) sequence.</param>
    /// <param name="DeliveredSequence">Highest sequence the broker acknowledged or that was evicted.</param>
    /// <param name="UnsentCount">Accepted records not yet acknowledged.</param>
    /// <param name="UnsentBytes">Encoded bytes of unsent data (segment granularity).</param>
    /// <param name="PendingReadings">Readings waiting for their persist.</param>
    /// <param name="EvictedTotal">Accepted records given up to the disk budget so far.</param>
    /// <param name="GapRecords">Gap records written so far.</param>
    /// <param name="OldestUnsentTimestampMs">Timestamp of the oldest unsent segment.</param>
    /// <param name="AcceptedBytesTotal">Encoded bytes of readings accepted since the agent started (its fill rate, for the hours of buffer left).</param>
    /// <param name="MaxUnsentBytes">The disk budget for unsent data (<c>max-unsent-bytes</c>) in force.</param>
    public sealed record WalStatus(
        long LastSequence,
        long DeliveredSequence,
        long UnsentCount,
        long UnsentBytes,
        int PendingReadings,
        long EvictedTotal,
        long GapRecords,
        long? OldestUnsentTimestampMs,
        long AcceptedBytesTotal = 0,
        long MaxUnsentBytes = 0);
}
