using System.Diagnostics;
using Fleet.Actors.Host.Chaos;

namespace Fleet.Actors.IntegrationTests;

/// <summary>What a fleet-agent command printed and returned.</summary>
internal sealed record CliResult(int Exit, string Out, string Err)
{
    public override string ToString() => $"exit {Exit}\n{Out}\n{Err}";
}

/// <summary>Runs the real fleet-agent program (a one-shot command such as <c>status</c> or <c>command send</c>) to its end.</summary>
internal static class FleetAgentCli
{
    public static async Task<CliResult> RunAsync(params string[] arguments)
    {
        var start = AgentProcess.StartInfo(AgentProcess.Program, arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new CliResult(process.ExitCode, await output, await errors);
    }
}
