using System.Diagnostics;

namespace Fleet.Actors.Host.Tests.Support;

/// <summary>What a finished child process left behind.</summary>
internal sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() => $"exit code {ExitCode}\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";
}

/// <summary>Runs the real <c>fleet-agent</c> program as a child process.</summary>
internal static class AgentProcess
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs <c>dotnet fleet-agent.dll args</c> in <paramref name="workingDirectory"/>. The agent's own
    /// variables (FLEET_*, MQTT_*) are removed from the inherited environment so the machine's settings
    /// cannot change the outcome; <paramref name="environment"/> adds the ones a test wants.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(RepoPaths.AgentDll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("FLEET_", StringComparison.Ordinal) || k.StartsWith("MQTT_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // A configuration that was meant to be refused started the agent: stop our child and fail.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw new TimeoutException($"fleet-agent {string.Join(' ', args)} still ran after {Limit}:\n{await stdout}\n{await stderr}");
        }
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }
}
