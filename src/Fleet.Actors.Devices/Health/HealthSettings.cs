namespace Fleet.Actors.Devices.Health;

/// <summary>The health monitor (HOCON <c>fleet.health</c>).</summary>
public sealed record HealthSettings
{
    /// <summary>Off: no monitor, no heartbeat, no stall detection.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>How often the machine and the agent are sampled (metrics, alert rules, stall checks).</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a health record is journaled and uplinked (the fleet's heartbeat); at least the sample interval.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where the data folder is: its file system's use is reported (null: the current directory).</summary>
    public string? DataDirectory { get; init; }

    /// <summary>How long a failing sample source stays quiet in the log after it reported.</summary>
    public TimeSpan ErrorLogInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The uplink counts as stalled when it is connected, has unsent data, and no batch was
    /// acknowledged for this long; it is then restarted (zero: never).
    /// </summary>
    public TimeSpan UplinkStallTimeout { get; init; } = TimeSpan.FromMinutes(2);
}
