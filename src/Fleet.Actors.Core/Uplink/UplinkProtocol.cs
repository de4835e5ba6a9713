using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Core.Uplink;

/// <summary>Messages of the uplink.</summary>
public static class UplinkProtocol
{
    /// <summary>
    /// Shutdown: finish the batches in flight, publish the retained offline status with the log's
    /// position and disconnect cleanly; answers <see cref="WentOffline"/>.
    /// </summary>
    /// <param name="LastSequence">The log's last accepted sequence, for the offline status.</param>
    /// <param name="DeliveredSequence">The log's delivered sequence, for the offline status.</param>
    /// <param name="Abandon">
    /// The operator asked twice: drop the link at once, without waiting for batches in flight or
    /// for the broker to take the offline status (it publishes the last will instead).
    /// </param>
    public sealed record GoOffline(long LastSequence, long DeliveredSequence, bool Abandon = false);

    /// <summary>Shutdown: send whatever the log holds without lingering; answers <see cref="Draining"/>.</summary>
    public sealed class Drain
    {
        public static readonly Drain Instance = new();
        private Drain() { }
    }

    /// <summary>Answer to <see cref="Drain"/>.</summary>
    public sealed class Draining
    {
        public static readonly Draining Instance = new();
        private Draining() { }
    }

    /// <summary>Answer to <see cref="GoOffline"/>; <paramref name="Clean"/> is false when no clean goodbye was possible.</summary>
    public sealed record WentOffline(bool Clean);

    /// <summary>Asks for an <see cref="UplinkStatus"/>.</summary>
    public sealed class GetStatus
    {
        public static readonly GetStatus Instance = new();
        private GetStatus() { }
    }

    /// <summary>Link state for status displays and tests; <paramref name="OfflineSince"/>: since when it has not been online (null while it is).</summary>
    public sealed record UplinkStatus(bool Connected, long AcknowledgedSequence, long Batches, string State, DateTimeOffset? OfflineSince = null);

    /// <summary>New batching, compression and in-flight settings (a configuration change); the stream restarts on the same connection.</summary>
    public sealed record ApplySettings(UplinkSettings Settings);

    /// <summary>
    /// The running configuration: its version, and how many changes were applied while running and
    /// how many refused. It goes into the retained status (now when online).
    /// </summary>
    public sealed record SetConfigVersion(string Version, long Reloads = 0, long Errors = 0);

    /// <summary>
    /// Alerts the log has accepted, with their sequences: the high-priority lane publishes each at
    /// once on the alerts topic (QoS 1), ahead of the telemetry backlog, while they also stay in the
    /// ordered telemetry stream. Waiting ones (offline) are bounded; an alert the telemetry stream has
    /// already delivered is not sent again.
    /// </summary>
    public sealed record PublishAlerts(IReadOnlyList<LoggedReading> Alerts);

    /// <summary>The vehicle's operational state changed: it goes into the retained status (now when online).</summary>
    public sealed record SetOperationalState(string State);

    /// <summary>
    /// The stall detector found the link stuck (online with unsent data, nothing acknowledged for too
    /// long): the connection is dropped and made again after the usual backoff. Ignored when not online.
    /// </summary>
    public sealed record Restart(string Reason);

    /// <summary>The latest health sample, carried by the retained online status (the health monitor's heartbeat).</summary>
    public sealed record SetHealth(Health.HealthSample Sample);

    /// <summary>
    /// Published on the event stream for every acknowledged batch when
    /// <see cref="UplinkSettings.PublishAcknowledgements"/> is on.
    /// </summary>
    public sealed record BatchAcknowledged(string VehicleId, IReadOnlyList<StoredEntry> Entries, int WireBytes, long AcknowledgedAtMs);
}

/// <summary>A batch ready to publish: the compressed payload and the entries it carries.</summary>
public sealed record EncodedBatch(byte[] Payload, int RawBytes, IReadOnlyList<StoredEntry> Entries)
{
    /// <summary>Sequence of the first record.</summary>
    public long FirstSequence => Entries[0].Entry.FirstSequence;

    /// <summary>Sequence of the last record.</summary>
    public long LastSequence => Entries[^1].Entry.LastSequence;

    /// <summary>Journal position of the last entry.</summary>
    public long LastJournalSeq => Entries[^1].JournalSeq;

    /// <summary>Number of records.</summary>
    public int Records => Entries.Sum(e => e.Entry.Count);

    /// <summary>
    /// False for a part of a log entry that was split to fit the broker's maximum packet size and is
    /// not its last part: its PUBACK does not yet mean the entry is delivered.
    /// </summary>
    public bool Acknowledges { get; init; } = true;
}

/// <summary>What the retained online status carries besides the link state (docs/wire-format.md).</summary>
/// <param name="OperationalState">The operational state machine's state.</param>
/// <param name="Configuration">The running configuration's version, reloads and errors.</param>
/// <param name="Health">The latest heartbeat's health sample.</param>
public sealed record StatusDetails(string? OperationalState = null, UplinkProtocol.SetConfigVersion? Configuration = null, Health.HealthSample? Health = null)
{
    /// <summary>Nothing known yet.</summary>
    public static readonly StatusDetails None = new();
}
