using Akka.Configuration;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Vehicle;

namespace Fleet.Actors.Host.Configuration;

/// <summary>Whether the embedded broker runs (HOCON: <c>fleet.embedded-broker.enabled</c>).</summary>
public enum EmbeddedBrokerMode
{
    /// <summary>Runs when the uplink's broker is the embedded broker's own address, not otherwise.</summary>
    Auto,

    /// <summary>Always runs.</summary>
    On,

    /// <summary>Never runs.</summary>
    Off,
}

/// <summary>The in-process MQTT broker of the out-of-the-box run (HOCON: <c>fleet.embedded-broker</c>).</summary>
/// <param name="Mode">What the configuration says.</param>
/// <param name="Enabled">Whether it runs: the mode, with <see cref="EmbeddedBrokerMode.Auto"/> decided by the uplink's broker address.</param>
/// <param name="Host">Address it listens on.</param>
/// <param name="Port">Port it listens on.</param>
public sealed record EmbeddedBrokerSettings(EmbeddedBrokerMode Mode, bool Enabled, string Host, int Port);

/// <summary>How log events are written (HOCON: <c>fleet.logging.format</c>).</summary>
public enum LogFormat
{
    /// <summary>Lines for people.</summary>
    Text,

    /// <summary>One JSON object per line (Serilog's compact format, CLEF) for log shippers.</summary>
    Json,
}

/// <summary>Logging (HOCON: <c>fleet.logging</c>).</summary>
/// <param name="Level">Minimum level: verbose, debug, information, warning or error.</param>
/// <param name="File">Rolling log file (relative to the data folder), or null for console only.</param>
/// <param name="RetainedFiles">Files kept: daily files and the parts of a day cut at <paramref name="FileSizeLimitBytes"/>.</param>
/// <param name="FileSizeLimitBytes">Size at which the file is closed and a new one begun.</param>
/// <param name="Format">Text or JSON lines, on the console and in the file.</param>
public sealed record LoggingSettings(string Level, string? File, int RetainedFiles, long FileSizeLimitBytes, LogFormat Format);

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

    /// <summary>The HTTP endpoint (metrics, health).</summary>
    public Health.HttpEndpointSettings Http { get; init; } = new(true, "127.0.0.1", Health.HttpEndpointSettings.DefaultPort, TimeSpan.FromMinutes(5));

    /// <summary>The thread pool runs one worker while the agent is at rest (<see cref="Hosting.WorkerGovernor"/>).</summary>
    public bool OneWorkerAtRest { get; init; } = true;

    /// <summary>The whole merged configuration (Akka reads its own part).</summary>
    public required Config Hocon { get; init; }

    /// <summary>The files it was read from, in order of precedence (last wins).</summary>
    public required IReadOnlyList<string> Files { get; init; }

    /// <summary>The keys whose value came from an environment variable, with the variable's name.</summary>
    public IReadOnlyDictionary<string, string> EnvironmentKeys { get; init; } = new Dictionary<string, string>();

    /// <summary>The journal (SQLite) file.</summary>
    public string JournalPath => Path.Combine(DataDirectory, "journal.db");

    /// <summary>The snapshot store (SQLite) file.</summary>
    public string SnapshotPath => Path.Combine(DataDirectory, "snapshots.db");
}
