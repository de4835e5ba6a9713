namespace Fleet.Actors.Core.Wal;

/// <summary>How hard SQLite works to make a commit durable (PRAGMA synchronous).</summary>
public enum SqliteSynchronous
{
    /// <summary>fsync on every commit: survives power loss. The default.</summary>
    Full,

    /// <summary>fsync at checkpoints only: survives a process crash, may lose the last commits on power loss.</summary>
    Normal,
}

/// <summary>Settings of the write-ahead log of one vehicle (HOCON: <c>fleet.wal</c>).</summary>
public sealed record WalSettings
{
    /// <summary>Readings waiting for their persist; beyond this, new readings are dropped and counted.</summary>
    public int MaxPendingReadings { get; init; } = 100_000;

    /// <summary>Most records in one journal row.</summary>
    public int MaxEntryRecords { get; init; } = 2_000;

    /// <summary>Most encoded bytes in one journal row.</summary>
    public int MaxEntryBytes { get; init; } = 128 * 1024;

    /// <summary>Disk budget for unsent data; beyond it the oldest unsent segments are evicted with a gap record.</summary>
    public long MaxUnsentBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>Granularity of unsent-data accounting and of eviction.</summary>
    public long SegmentBytes { get; init; } = 1024 * 1024;

    /// <summary>Recent unsent entries kept in memory so the uplink need not read them back from disk.</summary>
    public long CacheBytes { get; init; } = 8L * 1024 * 1024;

    /// <summary>Events between snapshots (after which acknowledged rows are deleted).</summary>
    public int SnapshotEvery { get; init; } = 500;

    /// <summary>
    /// Group commits begin at most this often: readings that arrive within it of the last commit wait
    /// for its end and go out together (alerts and full entries do not wait). Zero: as soon as the
    /// previous commit is done. Readings that wait are not yet accepted.
    /// </summary>
    public TimeSpan CommitInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// A commit begins without waiting for the rest of <see cref="CommitInterval"/> once this many
    /// readings wait: the uplink sends a batch of its <c>min-records</c> (32) at once, so waiting
    /// longer would only delay it. At a steady 1,000 readings/s a commit every 32 ms instead of
    /// every 250 ms keeps the reading-to-PUBACK latency where it was with back-to-back commits.
    /// </summary>
    public int CommitRecords { get; init; } = 32;

    /// <summary>How long acknowledgements may gather before the delivered offset is journaled.</summary>
    public TimeSpan DeliveredFlushInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often file size and ages are refreshed in the metrics.</summary>
    public TimeSpan MetricsInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The journal file whose size is reported as <c>wal_size_bytes</c>; checked and quarantined when damaged (optional).</summary>
    public string? JournalPath { get; init; }

    /// <summary>The snapshot file; checked and quarantined when damaged (optional).</summary>
    public string? SnapshotPath { get; init; }

    /// <summary>
    /// The file of the log's sequence high-water mark (<see cref="SequenceMark"/>); without it (tests)
    /// sequences are not reserved and a lost journal could make them repeat.
    /// </summary>
    public string? SequenceFile { get; init; }

    /// <summary>Persistence query plugin used to read unsent entries back from the journal.</summary>
    public string ReadJournalPluginId { get; init; } = SqliteWal.ReadJournalPluginId;

    /// <summary>
    /// The keys a running log takes without a restart (a configuration change): its disk budget,
    /// the bounds of its pending readings and of a journal row, and how often it snapshots, journals
    /// deliveries and refreshes its metrics. <c>segment-bytes</c>, <c>cache-bytes</c> and
    /// <c>synchronous</c> shape the log's accounting, memory and database at start, and the files
    /// follow the data folder: those apply only at start.
    /// </summary>
    public static readonly IReadOnlyList<string> LiveLimits =
    [
        "max-pending-readings", "max-entry-records", "max-entry-bytes", "max-unsent-bytes", "snapshot-every",
        "delivered-flush-interval", "metrics-interval", "commit-interval", "commit-records",
    ];

    /// <summary>These settings with the <see cref="LiveLimits"/> of <paramref name="other"/>.</summary>
    public WalSettings WithLiveLimitsOf(WalSettings other) => this with
    {
        MaxPendingReadings = other.MaxPendingReadings,
        MaxEntryRecords = other.MaxEntryRecords,
        MaxEntryBytes = other.MaxEntryBytes,
        MaxUnsentBytes = other.MaxUnsentBytes,
        SnapshotEvery = other.SnapshotEvery,
        DeliveredFlushInterval = other.DeliveredFlushInterval,
        MetricsInterval = other.MetricsInterval,
        CommitInterval = other.CommitInterval,
        CommitRecords = other.CommitRecords,
    };

    /// <summary>The live limits that differ, for a log line: <c>max-unsent-bytes 268435456 -> 1048576, ...</c>; empty when none.</summary>
    public static string DescribeChanges(WalSettings before, WalSettings after)
    {
        var changes = new List<string>();
        void Compare<T>(string key, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b)) changes.Add($"{key} {a} -> {b}");
        }
        Compare(LiveLimits[0], before.MaxPendingReadings, after.MaxPendingReadings);
        Compare(LiveLimits[1], before.MaxEntryRecords, after.MaxEntryRecords);
        Compare(LiveLimits[2], before.MaxEntryBytes, after.MaxEntryBytes);
        Compare(LiveLimits[3], before.MaxUnsentBytes, after.MaxUnsentBytes);
        Compare(LiveLimits[4], before.SnapshotEvery, after.SnapshotEvery);
        Compare(LiveLimits[5], before.DeliveredFlushInterval, after.DeliveredFlushInterval);
        Compare(LiveLimits[6], before.MetricsInterval, after.MetricsInterval);
        Compare(LiveLimits[7], before.CommitInterval, after.CommitInterval);
        Compare(LiveLimits[8], before.CommitRecords, after.CommitRecords);
        return string.Join(", ", changes);
    }

    /// <summary>Checks the settings; returns the problems as (key, message) pairs, empty when valid.</summary>
    public IEnumerable<(string Key, string Problem)> Validate()
    {
        if (MaxPendingReadings < 1) yield return ("max-pending-readings", "must be at least 1");
        if (MaxEntryRecords < 1) yield return ("max-entry-records", "must be at least 1");
        if (MaxEntryBytes < 1024) yield return ("max-entry-bytes", "must be at least 1 KiB");
        if (SegmentBytes < MaxEntryBytes) yield return ("segment-bytes", "must be at least max-entry-bytes");
        if (MaxUnsentBytes < SegmentBytes * 4) yield return ("max-unsent-bytes", "must be at least four times segment-bytes");
        if (CacheBytes < MaxEntryBytes) yield return ("cache-bytes", "must be at least max-entry-bytes");
        if (SnapshotEvery < 10) yield return ("snapshot-every", "must be at least 10");
        if (DeliveredFlushInterval <= TimeSpan.Zero) yield return ("delivered-flush-interval", "must be positive");
        if (MetricsInterval <= TimeSpan.Zero) yield return ("metrics-interval", "must be positive");
        if (CommitInterval < TimeSpan.Zero || CommitInterval > TimeSpan.FromSeconds(10)) yield return ("commit-interval", "must be between 0s and 10s");
        if (CommitRecords < 1) yield return ("commit-records", "must be at least 1");
    }
}
