using System.CommandLine;
using Fleet.Actors.Host.Configuration;
using Fleet.Actors.Host.Hosting;
using Serilog;

namespace Fleet.Actors.Host.Cli;

/// <summary><c>fleet-agent run</c>: the agent itself.</summary>
public static class RunCommand
{
    /// <summary>Exit code for an unusable configuration.</summary>
    public const int ConfigurationError = 1;

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("run", "Run the agent: read sensors, journal every reading, uplink to the broker");
        var options = ConfigOptions.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
            await ExecuteAsync(parse.GetValue(options.Directory), parse.GetValue(options.Overlays) ?? [], cancellationToken));
        return command;
    }

    /// <summary>Loads the configuration (exit code 1 when invalid) and runs the agent.</summary>
    public static async Task<int> ExecuteAsync(string? configDirectory, IReadOnlyList<string> overlays, CancellationToken cancellationToken)
    {
        // First of all: a SIGHUP (an SSH session closed right after the start) is ignored until the agent can reload.
        using var signals = new AgentSignals();
        // The start's one-time costs on the other core while this one reads the configuration (ADR 0020).
        _ = StartupWarmUp.Start();
        var settings = await LoadWithRemoteOverlayOrReportAsync(configDirectory, overlays);
        if (settings is null) return ConfigurationError;
        var source = new FileConfigurationSource(ResolveConfigDirectory(configDirectory), overlays, settings.DataDirectory);

        try
        {
            Directory.CreateDirectory(settings.DataDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"fleet-agent: cannot use the data folder {Path.GetFullPath(settings.DataDirectory)} (fleet.data-dir): {ex.Message}");
            return ConfigurationError;
        }
        // Before anything writes to the folder (logs, journal): one agent per data folder.
        using var folderLock = DataFolderLock.TryAcquire(settings.DataDirectory, out var lockProblem);
        if (folderLock is null)
        {
            await Console.Error.WriteLineAsync($"fleet-agent: {lockProblem}");
            return ConfigurationError;
        }
        using var logger = Logs.Create(settings.Logging, settings.DataDirectory);
        Log.Logger = logger;
        logger.Information("Configuration from {Files} (later files win); from the environment: {Variables}",
            string.Join(", ", settings.Files.Select(Path.GetFullPath)),
            settings.EnvironmentKeys.Count == 0 ? "nothing" : string.Join(", ", settings.EnvironmentKeys.Select(k => $"{k.Value} ({k.Key})")));
        try
        {
            return await AgentHost.RunAsync(settings, logger, signals, cancellationToken, source);
        }
        finally
        {
            await Log.CloseAndFlushAsync();
        }
    }

    /// <summary>The settings, or null after writing every problem to stderr.</summary>
    /// <summary>
    /// The settings as <c>run</c> uses them: the files, then the overlays accepted by CONFIGURATION_UPDATE
    /// commands (<c>{data-dir}/config/remote.conf</c>, read last); null after writing every problem to stderr.
    /// </summary>
    internal static async Task<AgentSettings?> LoadWithRemoteOverlayOrReportAsync(string? configDirectory, IReadOnlyList<string> overlays)
    {
        var settings = await LoadOrReportAsync(configDirectory, overlays);
        if (settings is null) return null;
        var source = new FileConfigurationSource(ResolveConfigDirectory(configDirectory), overlays, settings.DataDirectory);
        return File.Exists(source.RemoteOverlayPath) ? await LoadOrReportAsync(source.LoadSettings) : settings;
    }

    internal static Task<AgentSettings?> LoadOrReportAsync(string? configDirectory, IReadOnlyList<string> overlays) =>
        LoadOrReportAsync(() => AgentConfiguration.Load(ResolveConfigDirectory(configDirectory), overlays));

    private static async Task<AgentSettings?> LoadOrReportAsync(Func<AgentSettings> load)
    {
        try
        {
            return load();
        }
        catch (ConfigurationException ex)
        {
            await Console.Error.WriteLineAsync("fleet-agent: invalid configuration");
            foreach (var problem in ex.Problems) await Console.Error.WriteLineAsync("  " + problem);
            return null;
        }
        catch (InsecureFileException ex)
        {
            foreach (var problem in ex.Problems) await Console.Error.WriteLineAsync("fleet-agent: " + problem);
            return null;
        }
    }

    /// <summary>The explicit folder, else ./hocon, else the hocon folder shipped next to the program.</summary>
    public static string ResolveConfigDirectory(string? explicitDirectory)
    {
        if (!string.IsNullOrEmpty(explicitDirectory)) return explicitDirectory;
        var local = Path.Combine(Directory.GetCurrentDirectory(), "hocon");
        return File.Exists(Path.Combine(local, AgentConfiguration.AgentFile)) ? local : Path.Combine(AppContext.BaseDirectory, "hocon");
    }
}

/// <summary>The options that say where the configuration is, shared by <c>run</c> and <c>check</c>.</summary>
internal sealed record ConfigOptions(Option<string?> Directory, Option<string[]> Overlays)
{
    /// <summary>Adds <c>--config-dir</c> and <c>--config</c> to <paramref name="command"/>.</summary>
    public static ConfigOptions AddTo(Command command)
    {
        var options = new ConfigOptions(
            new Option<string?>("--config-dir")
            {
                Description = "Folder with akka.conf and agent.conf (default: ./hocon, else the one next to the program)",
            },
            new Option<string[]>("--config")
            {
                Description = "Extra HOCON file applied over agent.conf; repeatable, later files win",
                AllowMultipleArgumentsPerToken = false,
            });
        command.Options.Add(options.Directory);
        command.Options.Add(options.Overlays);
        return options;
    }
}
