using System.Diagnostics;
using Fleet.Actors.Host.Chaos;

namespace Fleet.Actors.Host.Bench;

/// <summary>What a running agent process costs: its CPU time over a window as a share of one core, and its resident memory.</summary>
internal static class AgentCost
{
    /// <summary>One measurement: CPU share of one core in percent, resident memory (VmRSS) at the end in MiB.</summary>
    public sealed record Sample(double CpuPercent, double ResidentMiB);

    /// <summary>
    /// Waits <paramref name="warmUp"/>, then measures the process's CPU time (utime + stime) over
    /// <paramref name="measured"/> and reads its resident memory at the end.
    /// </summary>
    public static async Task<Sample> MeasureAsync(AgentProcess agent, string name, TimeSpan warmUp, TimeSpan measured, CancellationToken cancellationToken)
    {
        await Task.Delay(warmUp, cancellationToken);
        var before = agent.CpuTime() ?? throw new InvalidOperationException($"the {name} agent has gone");
        var clock = Stopwatch.StartNew();
        await Task.Delay(measured, cancellationToken);
        var after = agent.CpuTime() ?? throw new InvalidOperationException($"the {name} agent has gone");
        var elapsed = clock.Elapsed;
        return new Sample(100 * (after - before) / elapsed, (agent.ResidentBytes() ?? 0) / 1048576.0);
    }

    /// <summary>Starts an agent and waits for its first acknowledged batch; throws with its last lines when none comes.</summary>
    public static async Task<AgentProcess> StartDeliveringAsync(string overlay, string workDirectory, string name, string? program = null)
    {
        var agent = AgentProcess.Start(overlay, workDirectory, program: program);
        if (await agent.WaitForOutputAsync("First batch acknowledged", TimeSpan.FromSeconds(60))) return agent;
        var last = string.Join(" | ", agent.Output.TakeLast(5));
        await agent.DisposeAsync();
        throw new InvalidOperationException($"the {name} agent delivered nothing: {last}");
    }

    /// <summary>Milliseconds from process start to the first acknowledged publish, from the agent's own log line.</summary>
    public static double FirstAcknowledgedMs(AgentProcess agent)
    {
        var line = agent.Output.First(l => l.Contains("First batch acknowledged", StringComparison.Ordinal));
        return double.Parse(line.Split("acknowledged ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A free TCP port on the loopback interface.</summary>
    public static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }
}
