namespace Fleet.Actors.Devices.Configuration;

/// <summary>Which parts of the configuration the running agent applies without a restart.</summary>
public static class LiveConfiguration
{
    /// <summary>
    /// The sensors and the PLCs (each one restarted alone when its settings change, added or
    /// stopped), the uplink's batching, compression and in-flight limits (its stream restarts on the
    /// same connection) and the log's limits and disk budget (<c>wal</c>; see
    /// <see cref="Core.Wal.WalSettings.LiveLimits"/>) and the alert rules, debounce and outputs (rules
    /// that read back equal keep their state). Everything else (identity, data folder, broker,
    /// the log's storage, GPIO, scripts, commands, operations, logging, Akka) is read at start only.
    /// </summary>
    public static bool AppliesLive(string part) =>
        part.StartsWith(SensorPrefix, StringComparison.Ordinal) || part.StartsWith(PlcPrefix, StringComparison.Ordinal)
        || part is "uplink" or "sensors" or "wal" or "alerts";

    /// <summary>A part as an operator reads it: the keys it stands for (<c>fleet.sensors:gps</c>, <c>fleet.uplink.broker</c>).</summary>
    public static string Describe(string part) => part switch
    {
        "wal.storage" => "fleet.wal (synchronous, segment-bytes or cache-bytes)",
        "akka" => "akka",
        _ => "fleet." + part.Replace('/', ':'),
    };

    /// <summary>The sensors among <paramref name="changed"/> parts, by id.</summary>
    public static IReadOnlyList<string> ChangedSensors(IEnumerable<string> changed) => Ids(changed, SensorPrefix);

    /// <summary>The PLCs among <paramref name="changed"/> parts, by id.</summary>
    public static IReadOnlyList<string> ChangedPlcs(IEnumerable<string> changed) => Ids(changed, PlcPrefix);

    private const string SensorPrefix = "sensors/";
    private const string PlcPrefix = "plcs/";

    private static List<string> Ids(IEnumerable<string> changed, string prefix) =>
        changed.Where(p => p.StartsWith(prefix, StringComparison.Ordinal)).Select(p => p[prefix.Length..]).ToList();
}
