using System.Diagnostics;
using Akka.Actor;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using static Fleet.Actors.Core.Commands.CommandProtocol;

namespace Fleet.Actors.Devices.Commands;

/// <summary>
/// The machine-level commands REBOOT and SERVICE_RESTART (HOCON <c>fleet.commands.system</c>): each
/// runs one configured program with fixed arguments (for example <c>["/usr/bin/systemctl", "reboot"]</c>),
/// started directly, never through a shell, with nothing from the command in its arguments.
/// </summary>
public sealed record SystemCommandSettings
{
    /// <summary>The program and arguments REBOOT runs; empty: REBOOT is refused as unsupported.</summary>
    public IReadOnlyList<string> Reboot { get; init; } = [];

    /// <summary>The program and arguments SERVICE_RESTART runs; empty: refused as unsupported.</summary>
    public IReadOnlyList<string> ServiceRestart { get; init; } = [];

    /// <summary>How long the program may run.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The command types that have a program configured.</summary>
    public IEnumerable<CommandType> Types
    {
        get
        {
            if (Reboot.Count > 0) yield return CommandType.Reboot;
            if (ServiceRestart.Count > 0) yield return CommandType.ServiceRestart;
        }
    }

    /// <summary>Why a program line is not allowed (relative path, a shell), or null.</summary>
    public static string? Check(IReadOnlyList<string> argv)
    {
        if (argv.Count == 0) return null;
        if (!Path.IsPathFullyQualified(argv[0])) return $"the program must be an absolute path (got \"{argv[0]}\")";
        var name = Path.GetFileName(argv[0]);
        if (name is "sh" or "bash" or "dash" or "zsh" or "ksh" or "busybox" or "env")
            return $"{name} is a shell or launcher; name the program itself (no shell execution)";
        return null;
    }
}

/// <summary>
/// Runs the configured program of a REBOOT or SERVICE_RESTART (actor <c>system-commands</c>): ACK
/// first, then the program; its exit code 0 is SUCCEEDED, anything else FAILED with its output's last
/// line. A reboot usually ends the agent first: the command actor then reports the command
/// SUCCEEDED when the agent is back (see <c>CommandActor</c>).
/// </summary>
internal sealed class SystemCommands : ReceiveActor
{
    public SystemCommands(SystemCommandSettings settings)
    {
        Receive<Execute>(execute =>
        {
            var argv = execute.Command.Type == CommandType.Reboot ? settings.Reboot : settings.ServiceRestart;
            if (argv.Count == 0)
            {
                Sender.Tell(new Refuse(execute.CommandId, CommandRefusals.Unsupported, $"no program is configured for {execute.Command.Type.ToWireName()}"));
                return;
            }
            Sender.Tell(new Accept(execute.CommandId));
            RunAsync(execute.CommandId, argv, settings.Timeout).PipeTo(Sender);
        });
    }

    /// <summary>Props for the system commands.</summary>
    public static Props Props(SystemCommandSettings settings) => Akka.Actor.Props.Create(() => new SystemCommands(settings));

    private static async Task<object> RunAsync(string commandId, IReadOnlyList<string> argv, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(argv[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in argv.Skip(1)) start.ArgumentList.Add(argument);
        var line = string.Join(' ', argv);
        try
        {
            using var process = Process.Start(start)!;
            using var cancellation = new CancellationTokenSource(timeout);
            var output = process.StandardOutput.ReadToEndAsync(cancellation.Token);
            var errors = process.StandardError.ReadToEndAsync(cancellation.Token);
            await process.WaitForExitAsync(cancellation.Token).ConfigureAwait(false);
            if (process.ExitCode == 0) return new Succeed(commandId, $"{line}: done");
            var last = (await errors.ConfigureAwait(false) + await output.ConfigureAwait(false)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .LastOrDefault() ?? "";
            return new Fail(commandId, CommandRefusals.ExecutionFailed, $"{line}: exit code {process.ExitCode}{(last.Length > 0 ? ": " + last : "")}");
        }
        catch (OperationCanceledException)
        {
            return new Fail(commandId, CommandRefusals.Timeout, $"{line}: still running after {timeout.TotalSeconds:0.#} s");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return new Fail(commandId, CommandRefusals.ExecutionFailed, $"{line}: cannot start: {ex.Message}");
        }
    }
}
