using System.CommandLine;
using Fleet.Actors.Host.Configuration;

namespace Fleet.Actors.Host.Cli;

/// <summary>
/// <c>fleet-agent check</c>: validates the configuration exactly as <c>run</c> would, starts nothing
/// and writes nothing, and prints the effective configuration with secrets masked. Exit code 0 when
/// valid; 1 with every problem on stderr otherwise.
/// </summary>
public static class CheckCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("check", "Validate the configuration without starting anything and print it (secrets masked)");
        var options = ConfigOptions.AddTo(command);
        command.SetAction(async (parse, _) =>
        {
            var settings = await RunCommand.LoadWithRemoteOverlayOrReportAsync(parse.GetValue(options.Directory), parse.GetValue(options.Overlays) ?? []);
            if (settings is null) return RunCommand.ConfigurationError;
            await Console.Out.WriteAsync(EffectiveConfiguration.Describe(settings));
            return 0;
        });
        return command;
    }
}
