using Fleet.Actors.Devices.Vehicle;

namespace Fleet.Actors.Devices.Configuration;

/// <summary>
/// A configuration read and checked exactly as at start: the vehicle's settings, or the problems
/// ("file: key: problem"), with a version (a digest of the files) and the text of each part of the
/// configuration (<c>wal</c>, <c>uplink</c>, <c>uplink.broker</c>, <c>sensors/gps</c>, ...) to tell which parts changed.
/// </summary>
public sealed record ConfigurationCandidate(VehicleSettings? Settings, IReadOnlyList<string> Problems, string Version,
    IReadOnlyDictionary<string, string> Parts)
{
    /// <summary>Parts whose value comes from overlays kept from CONFIGURATION_UPDATE commands, overriding the files (a file edit of them does not take effect).</summary>
    public IReadOnlyList<string> OverriddenByCommands { get; init; } = [];

    /// <summary>The parts whose text differs between <paramref name="before"/> and this one (added and removed included).</summary>
    public IReadOnlyList<string> ChangedSince(ConfigurationCandidate before) =>
        Parts.Keys.Union(before.Parts.Keys).Where(key => Parts.GetValueOrDefault(key) != before.Parts.GetValueOrDefault(key)).Order(StringComparer.Ordinal).ToList();

    /// <summary>The <paramref name="changed"/> parts for an operator: <c>sensors/obd (removed), sensors/can (added), uplink</c>.</summary>
    public string Describe(IEnumerable<string> changed, ConfigurationCandidate before) => string.Join(", ", changed.Select(part =>
        !before.Parts.ContainsKey(part) ? part + " (added)" : !Parts.ContainsKey(part) ? part + " (removed)" : part));
}

/// <summary>
/// Where the running configuration comes from (the host's files): the vehicle's configuration actor
/// asks it to read the files again, with an overlay from a command or without, and to keep an
/// accepted overlay so that the next start reads it too. Called off the actor's thread (it reads files).
/// </summary>
public interface IConfigurationSource
{
    /// <summary>Reads the configuration as at start, plus <paramref name="overlay"/> (HOCON) when given.</summary>
    ConfigurationCandidate Load(string? overlay);

    /// <summary>Keeps <paramref name="overlay"/> on top of the overlays accepted before; the next start reads them.</summary>
    void Keep(string overlay);
}

/// <summary>The source of a running agent's configuration and what it started with (given to the vehicle agent to enable reloads).</summary>
public sealed record LiveConfigurationSource(IConfigurationSource Source, ConfigurationCandidate Running);
