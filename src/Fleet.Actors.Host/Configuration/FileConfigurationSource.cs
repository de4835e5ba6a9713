using Akka.Configuration;
using Akka.Configuration.Hocon;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Configuration;

namespace Fleet.Actors.Host.Configuration;

/// <summary>
/// The agent's configuration files as the source of live changes: the configuration folder, the
/// <c>--config</c> overlays, and the overlays accepted by CONFIGURATION_UPDATE commands, kept in
/// <c>{data-dir}/config/remote.conf</c> (mode 0600, written atomically) and read last at every start.
/// A candidate overlay is written next to it only while it is checked.
/// </summary>
public sealed class FileConfigurationSource(string configDirectory, IReadOnlyList<string> overlays, string dataDirectory) : IConfigurationSource
{
    private const string CandidateName = "the CONFIGURATION_UPDATE overlay";

    /// <summary>Where accepted remote overlays are kept.</summary>
    public string RemoteOverlayPath { get; } = Path.Combine(dataDirectory, "config", "remote.conf");

    /// <summary>The overlays to read: the command line's, then the kept remote one when it exists.</summary>
    public IReadOnlyList<string> Overlays => File.Exists(RemoteOverlayPath) ? [.. overlays, RemoteOverlayPath] : overlays;

    /// <summary>The files whose change reloads the configuration: those the settings were read from, but the kept remote overlay (the agent writes it itself).</summary>
    public IReadOnlyList<string> WatchedFiles(AgentSettings settings) =>
        settings.Files.Select(Path.GetFullPath).Where(f => f != Path.GetFullPath(RemoteOverlayPath)).ToList();

    /// <summary>Loads the configuration of a start: the files plus the kept remote overlay.</summary>
    public AgentSettings LoadSettings() => AgentConfiguration.Load(configDirectory, Overlays);

    /// <summary>What the agent runs with, as a candidate (to compare later ones against).</summary>
    public static ConfigurationCandidate Describe(AgentSettings settings) =>
        new(settings.Vehicle, [], settings.Vehicle.ConfigVersion, Parts(settings.Hocon));

    /// <inheritdoc />
    public ConfigurationCandidate Load(string? overlay)
    {
        string? candidate = null;
        try
        {
            var files = Overlays;
            if (overlay is not null && overlay.Contains("${", StringComparison.Ordinal))
                return new ConfigurationCandidate(null,
                    [$"{CandidateName}: substitutions (${{...}}) are not allowed in an overlay sent by command (they would read the vehicle's environment)"],
                    "", new Dictionary<string, string>());
            if (overlay is not null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(RemoteOverlayPath)!);
                candidate = Path.Combine(Path.GetDirectoryName(RemoteOverlayPath)!, $"candidate-{Guid.NewGuid():N}.conf");
                File.WriteAllText(candidate, overlay);
                files = [.. files, candidate];
            }
            var loaded = AgentConfiguration.Load(configDirectory, files);
            if (overlay is not null)
            {
                // What the files alone make the agent use: a command may not add to it.
                var newPaths = ConfigurationPaths.NewPaths(AgentConfiguration.Load(configDirectory, Overlays).Hocon, loaded.Hocon, CandidateName);
                if (newPaths.Count > 0) return new ConfigurationCandidate(null, newPaths, "", new Dictionary<string, string>());
            }
            if (overlay is null && File.Exists(RemoteOverlayPath))
            {
                // A file edit of a key that a command set does not take effect: say which parts those are.
                var filesAlone = Parts(AgentConfiguration.Load(configDirectory, overlays).Hocon);
                var running = Describe(loaded);
                return running with
                {
                    OverriddenByCommands = running.Parts.Keys.Union(filesAlone.Keys)
                        .Where(part => running.Parts.GetValueOrDefault(part) != filesAlone.GetValueOrDefault(part)).Order(StringComparer.Ordinal).ToList(),
                };
            }
            return Describe(loaded);
        }
        catch (ConfigurationException ex)
        {
            var problems = ex.Problems.Select(p => candidate is null ? p : p.Replace(candidate, CandidateName, StringComparison.Ordinal)).ToList();
            return new ConfigurationCandidate(null, problems, "", new Dictionary<string, string>());
        }
        finally
        {
            if (candidate is not null) File.Delete(candidate);
        }
    }

    /// <inheritdoc />
    public void Keep(string overlay)
    {
        var folder = Path.GetDirectoryName(RemoteOverlayPath)!;
        Directory.CreateDirectory(folder);
        var before = File.Exists(RemoteOverlayPath) ? File.ReadAllText(RemoteOverlayPath) : "# Overlays accepted by CONFIGURATION_UPDATE commands, read last at every start.\n";
        var text = $"{before.TrimEnd()}\n\n# accepted {DateTimeOffset.UtcNow:yyyy-MM-dd'T'HH:mm:ss'Z'}\n{overlay.Trim()}\n";
        var temporary = RemoteOverlayPath + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temporary, options))
        {
            using var writer = new StreamWriter(stream);
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, RemoteOverlayPath, overwrite: true);
    }

    /// <summary>
    /// The text of each part of a merged configuration, to see what a change touches: every key
    /// under <c>fleet</c> on its own, each sensor and PLC by id (<c>sensors/gps</c>, <c>plcs/press</c>),
    /// the uplink's broker apart from the rest of the uplink, the log's limits (<c>wal</c>) apart from
    /// what shapes its storage (<c>wal.storage</c>), and <c>akka</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Parts(Config merged)
    {
        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        if (merged.HasPath("akka")) parts["akka"] = merged.GetValue("akka").ToString();
        if (!merged.HasPath("fleet")) return parts;
        foreach (var (key, value) in merged.GetValue("fleet").GetObject().Items)
        {
            switch (key)
            {
                case "sensors" or "plcs" when value.IsArray():
                    foreach (var item in value.GetArray().Where(i => i.IsObject()))
                    {
                        var id = item.GetObject().Items.TryGetValue("id", out var idValue) ? idValue.GetString() : "?";
                        parts[key + "/" + id] = item.ToString();
                    }
                    break;
                case "wal" or "uplink" when value.IsObject():
                    // Split in what applies live and what applies only at start.
                    foreach (var (name, child) in value.GetObject().Items)
                    {
                        var part = key == "wal" ? (WalSettings.LiveLimits.Contains(name) ? "wal" : "wal.storage")
                            : name == "broker" ? "uplink.broker" : "uplink";
                        parts[part] = parts.GetValueOrDefault(part, "") + $"{name}={child}\n";
                    }
                    break;
                default:
                    parts[key] = value.ToString();
                    break;
            }
        }
        return parts;
    }
}
