using Akka.Configuration;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Vehicle;

namespace Fleet.Actors.Host.Configuration;

/// <summary>The in-process MQTT broker of the out-of-the-box run (HOCON: <c>fleet.embedded-broker</c>).</summary>
public sealed record EmbeddedBrokerSettings(bool Enabled, string Host, int Port);

/// <summary>Logging (HOCON: <c>fleet.logging</c>).</summary>
/// <param name="Level">Minimum level: verbose, debug, information, warning or error.</param>
/// <param name="File">Rolling log file (relative to the data folder), or null for console only.</param>
/// <param name="RetainedFiles">Daily files kept.</param>
public sealed record LoggingSettings(string Level, string? File, int RetainedFiles);

/// <summary>
/// The one typed, validated settings object of an agent process, read from the HOCON files once
/// at start (<see cref="AgentConfiguration.Load"/>).
/// </summary>
public sealed record AgentSettings
{
    /// <summary>The vehicle this process is.</summary>
    public required VehicleSettings Vehicle { get; init; }

    /// <summary>Folder of the log, snapshots and log files.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>How durable each commit of the log is.</summary>
    public SqliteSynchronous Synchronous { get; init; } = SqliteSynchronous.Full;

    /// <summary>The in-process broker.</summary>
    public required EmbeddedBrokerSettings EmbeddedBroker { get; init; }

    /// <summary>Logging.</summary>
    public required LoggingSettings Logging { get; init; }

    /// <summary>The whole merged configuration (Akka reads its own part).</summary>
    public required Config Hocon { get; init; }

    /// <summary>The files it was read from, in order of precedence (last wins).</summary>
    public required IReadOnlyList<string> Files { get; init; }

    /// <summary>The journal (SQLite) file.</summary>
    public string JournalPath => Path.Combine(DataDirectory, "journal.db");

    /// <summary>The snapshot store (SQLite) file.</summary>
    public string SnapshotPath => Path.Combine(DataDirectory, "snapshots.db");
}
