using Fleet.Actors.Core.Observability;
using Prometheus;

namespace Fleet.Actors.Core.Wal;

/// <summary>The write-ahead log's metrics for one vehicle (names as in SPEC.md, capability 4).</summary>
public sealed class WalMetrics
{
    /// <summary>Creates (or finds) the collectors for <paramref name="vehicleId"/>.</summary>
    public WalMetrics(AgentMetrics metrics, string vehicleId)
    {
        SizeBytes = metrics.Gauge("wal_size_bytes", "Bytes of the journal file (with its SQLite -wal file).", vehicleId);
        UnsentEvents = metrics.Gauge("unsent_events_count", "Accepted records not yet acknowledged by the broker.", vehicleId);
        UnsentBytes = metrics.Gauge("wal_unsent_bytes", "Encoded bytes of unsent records (by log entry while they are all in memory, else by segment).", vehicleId);
        OldestUnsentAge = metrics.Gauge("oldest_unsent_age_seconds", "Age of the oldest unsent log entry (of its segment when it is only on disk).", vehicleId);
        ReplayDuration = metrics.Gauge("replay_duration_seconds", "How long the last recovery of the log took.", vehicleId);
        Evicted = metrics.Counter("evicted_events_total", "Accepted records given up to stay within the disk budget.", vehicleId);
        Accepted = metrics.Counter("wal_accepted_total", "Readings whose persist completed.", vehicleId);
        AcceptedBytes = metrics.Counter("wal_accepted_bytes_total", "Encoded bytes of the readings whose persist completed (the rate the disk budget fills at while offline).", vehicleId);
        IntakeDropped = metrics.Counter("wal_intake_dropped_total", "Readings refused because the pending buffer was full (never accepted).", vehicleId);
        EncodeErrors = metrics.Counter("wal_encode_errors_total", "Readings that could not be encoded (never accepted).", vehicleId);
        Lost = metrics.Counter("wal_readings_lost_total",
            "Readings sent to the log that never reached the journal: the log was restarting (dead letters) or its write failed (never accepted).", vehicleId);
        CorruptRecords = metrics.Counter("wal_corrupt_records_total", "Journal rows that could not be decoded and were skipped.", vehicleId);
        Quarantined = metrics.Counter("wal_journal_replaced_total",
            "Times the log found its journal or snapshot file replaced (quarantined after damage, or deleted) and resumed above its sequence mark.", vehicleId);
        LastSequence = metrics.Gauge("wal_last_sequence", "Highest accepted sequence number.", vehicleId);
        JournalReads = metrics.Counter("wal_journal_reads_total", "Reads of unsent entries back from the journal (cache misses).", vehicleId);
    }

    public Gauge.Child SizeBytes { get; }

    /// <summary>Encoded bytes of accepted readings.</summary>
    public Counter.Child AcceptedBytes { get; }
    public Gauge.Child UnsentEvents { get; }
    public Gauge.Child UnsentBytes { get; }
    public Gauge.Child OldestUnsentAge { get; }
    public Gauge.Child ReplayDuration { get; }
    public Counter.Child Evicted { get; }
    public Counter.Child Accepted { get; }
    public Counter.Child IntakeDropped { get; }
    public Counter.Child EncodeErrors { get; }
    public Counter.Child Lost { get; }

    /// <summary>Readings sent to the log that were never accepted, for whatever reason.</summary>
    public double NeverAccepted => IntakeDropped.Value + EncodeErrors.Value + Lost.Value;
    public Counter.Child CorruptRecords { get; }
    public Counter.Child Quarantined { get; }
    public Gauge.Child LastSequence { get; }
    public Counter.Child JournalReads { get; }
}
