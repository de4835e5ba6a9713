namespace Fleet.Actors.Devices.Configuration;

/// <summary>Which parts of the configuration the running agent applies without a restart.</summary>
public static class LiveConfiguration
{
    /// <summary>
    /// The sensors (each one restarted alone when its settings change, added or stopped) and the
    /// uplink's batching, compression and in-flight limits (its stream restarts on the same connection).
    /// Everything else (identity, data folder, broker, log, GPIO, PLCs, scripts, commands, operations,
    /// logging, Akka) is read at start only.
    /// </summary>
    public static bool AppliesLive(string part) => part.StartsWith("sensors/", StringComparison.Ordinal) || part is "uplink" or "sensors";

    /// <summary>The sensors among <paramref name="changed"/> parts, by id.</summary>
    public static IReadOnlyList<string> ChangedSensors(IEnumerable<string> changed) =>
        changed.Where(p => p.StartsWith("sensors/", StringComparison.Ordinal)).Select(p => p["sensors/".Length..]).ToList();
}
