using Fleet.Actors.Host.Configuration;

namespace Fleet.Actors.Host.Tests.Support;

/// <summary>
/// A temporary configuration folder, by default holding copies of the shipped <c>akka.conf</c> and
/// <c>agent.conf</c>, plus overlay files written by the test. Deleted on dispose.
/// </summary>
internal sealed class ConfigFolder : IDisposable
{
    /// <summary>An environment in which no variable is set, so the machine's own variables cannot leak in.</summary>
    public static readonly Func<string, string?> NoEnvironment = _ => null;

    public ConfigFolder(bool withShippedFiles = true)
    {
        Root = Path.Combine(Path.GetTempPath(), "fleet-host-tests", Guid.NewGuid().ToString("N"));
        Directory = Path.Combine(Root, "hocon");
        System.IO.Directory.CreateDirectory(Directory);
        if (!withShippedFiles) return;
        foreach (var file in new[] { AgentConfiguration.AkkaFile, AgentConfiguration.AgentFile })
            File.Copy(Path.Combine(RepoPaths.ShippedHocon, file), Path.Combine(Directory, file));
    }

    /// <summary>A scratch folder around the configuration folder (a working directory, a data folder).</summary>
    public string Root { get; }

    /// <summary>The configuration folder (what <c>--config-dir</c> points at).</summary>
    public string Directory { get; }

    public string AgentConf => Path.Combine(Directory, AgentConfiguration.AgentFile);

    public string AkkaConf => Path.Combine(Directory, AgentConfiguration.AkkaFile);

    /// <summary>Writes an overlay file next to (not inside) the configuration folder and returns its path.</summary>
    public string Overlay(string text, string name = "overlay.conf")
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Rewrites agent.conf; the edit must change it, so a stale replacement cannot pass silently.</summary>
    public void EditAgentConf(Func<string, string> edit)
    {
        var before = File.ReadAllText(AgentConf);
        var after = edit(before);
        if (after == before) throw new InvalidOperationException("The edit did not change agent.conf");
        File.WriteAllText(AgentConf, after);
    }

    public AgentSettings Load(params string[] overlays) => AgentConfiguration.Load(Directory, overlays, NoEnvironment);

    public AgentSettings Load(Func<string, string?> environment, params string[] overlays) =>
        AgentConfiguration.Load(Directory, overlays, environment);

    /// <summary>Loads and expects a <see cref="ConfigurationException"/>.</summary>
    public ConfigurationException LoadFails(params string[] overlays) =>
        Assert.Throws<ConfigurationException>(() => Load(overlays));

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Something may still hold a file; the folder is under the temp path.
        }
    }
}
