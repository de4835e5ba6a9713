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
        var configDir = new Option<string?>("--config-dir")
        {
            Description = "Folder with akka.conf and agent.conf (default: ./hocon, else the one next to the program)",
        };
        var overlays = new Option<string[]>("--config")
        {
            Description = "Extra HOCON file applied over agent.conf; repeatable, later files win",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("run", "Run the agent: read sensors, journal every reading, uplink to the broker");
        command.Options.Add(configDir);
        command.Options.Add(overlays);
        command.SetAction(async (parse, cancellationToken) =>
            await ExecuteAsync(parse.GetValue(configDir), parse.GetValue(overlays) ?? [], cancellationToken));
        return command;
    }

    /// <summary>Loads the configuration (exit code 1 when invalid) and runs the agent.</summary>
    public static async Task<int> ExecuteAsync(string? configDirectory, IReadOnlyList<string> overlays, CancellationToken cancellationToken)
    {
        AgentSettings settings;
        try
        {
            settings = AgentConfiguration.Load(ResolveConfigDirectory(configDirectory), overlays);
        }
        catch (ConfigurationException ex)
        {
            await Console.Error.WriteLineAsync("fleet-agent: invalid configuration");
            foreach (var problem in ex.Problems) await Console.Error.WriteLineAsync("  " + problem);
            return ConfigurationError;
        }

        try
        {
            Directory.CreateDirectory(settings.DataDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"fleet-agent: cannot use the data folder {Path.GetFullPath(settings.DataDirectory)} (fleet.data-dir): {ex.Message}");
            return ConfigurationError;
        }
        using var logger = Logs.Create(settings.Logging, settings.DataDirectory);
        Log.Logger = logger;
        try
        {
            return await AgentHost.RunAsync(settings, logger, cancellationToken);
        }
        finally
        {
            await Log.CloseAndFlushAsync();
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
