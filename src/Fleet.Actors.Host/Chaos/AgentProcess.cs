using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Fleet.Actors.Host.Chaos;

/// <summary>
/// A <c>fleet-agent run</c> child process with its own data folder and an overlay configuration,
/// for chaos runs, benchmarks and integration tests. Captures its output lines.
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Action<string>? _echo;

    private AgentProcess(Process process, Action<string>? echo)
    {
        _process = process;
        _echo = echo;
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>When it was started.</summary>
    public DateTime StartedAt { get; private init; }

    /// <summary>True once it exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Its exit code (after exit).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Everything it printed so far.</summary>
    public IReadOnlyCollection<string> Output => _lines;

    /// <summary>
    /// Starts the agent with the shipped configuration folder and an overlay file containing
    /// <paramref name="overlayHocon"/>. <paramref name="echo"/> receives every output line.
    /// <paramref name="program"/>: another build of the agent (a published executable, or a dll run
    /// under dotnet) with its own shipped configuration folder; null: this one.
    /// </summary>
    public static AgentProcess Start(string overlayHocon, string workDirectory, Action<string>? echo = null,
        IReadOnlyDictionary<string, string>? environment = null, string? program = null)
    {
        Directory.CreateDirectory(workDirectory);
        var overlay = Path.Combine(workDirectory, $"overlay-{Guid.NewGuid():N}.conf");
        File.WriteAllText(overlay, overlayHocon);
        program ??= Program;
        var configDirectory = Path.Combine(Path.GetDirectoryName(program)!, "hocon");
        var info = StartInfo(program, "run", "--config-dir", configDirectory, "--config", overlay);
        info.WorkingDirectory = workDirectory;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        var started = DateTime.UtcNow;
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start fleet-agent");
        return new AgentProcess(process, echo) { StartedAt = started, OverlayPath = overlay };
    }

    /// <summary>The overlay file the agent was started with (tests edit it to reload the configuration).</summary>
    public string OverlayPath { get; private init; } = "";

    /// <summary>
    /// The agent program started when none is given: <c>FLEET_AGENT_PROGRAM</c> if set (a published
    /// build; CI runs the integration tests against the native one), else this build: its dll under
    /// dotnet, or this executable when it is the published agent (which has no dll).
    /// </summary>
    public static string Program
    {
        [UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "An empty location is the native agent's case, handled: its own path.")]
        get => Environment.GetEnvironmentVariable("FLEET_AGENT_PROGRAM") is { Length: > 0 } given ? Path.GetFullPath(given)
            : typeof(AgentProcess).Assembly.Location is { Length: > 0 } dll ? dll
            : Environment.ProcessPath ?? throw new InvalidOperationException("the path of this program is unknown");
    }

    /// <summary>The command line that runs <paramref name="program"/> with <paramref name="arguments"/>: a dll under dotnet, anything else directly.</summary>
    public static (string FileName, string[] Arguments) Command(string program, params string[] arguments) =>
        program.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? ("dotnet", [program, .. arguments]) : (program, arguments);

    /// <summary>How to start <paramref name="program"/> with <paramref name="arguments"/> (<see cref="Command"/>).</summary>
    public static ProcessStartInfo StartInfo(string program, params string[] arguments)
    {
        var (fileName, all) = Command(program, arguments);
        return new ProcessStartInfo(fileName, all);
    }

    /// <summary>The shipped configuration folder next to <see cref="Program"/>.</summary>
    public static string ConfigDirectory => Path.Combine(Path.GetDirectoryName(Program)!, "hocon");

    /// <summary>kill -9: no shutdown at all.</summary>
    public void KillHard()
    {
        if (!_process.HasExited) Posix.Signal(_process.Id, Posix.SigKill);
    }

    /// <summary>SIGTERM and wait for the exit code (forced kill after <paramref name="timeout"/>).</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited) Posix.Signal(_process.Id, Posix.SigTerm);
        return await WaitForExitAsync(timeout);
    }

    /// <summary>Waits for the process to end by itself; kills it after <paramref name="timeout"/> and returns -1.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancellation.Token);
            _process.WaitForExit(); // flushes the redirected output
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
            return -1;
        }
    }

    /// <summary>Waits until a line contains <paramref name="text"/>; false on timeout or exit.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_lines.Any(l => l.Contains(text, StringComparison.Ordinal))) return true;
            if (_process.HasExited) return _lines.Any(l => l.Contains(text, StringComparison.Ordinal));
            await Task.Delay(20);
        }
        return false;
    }

    /// <summary>Peak resident memory of the running process in bytes (VmHWM), or null.</summary>
    public long? PeakResidentBytes() => ReadStatusKilobytes("VmHWM") * 1024;

    /// <summary>Current resident memory of the running process in bytes (VmRSS), or null.</summary>
    public long? ResidentBytes() => ReadStatusKilobytes("VmRSS") * 1024;

    /// <summary>CPU time the process has used so far (user and system, from <c>/proc/PID/stat</c>), or null once it has gone.</summary>
    public TimeSpan? CpuTime()
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
            // After the command name in parentheses: state is field 3, utime 14 and stime 15, in clock ticks (100 per second on Linux).
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private long? ReadStatusKilobytes(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        catch (IOException)
        {
            // The process is gone.
        }
        return null;
    }

    private void Capture(string? line)
    {
        if (line is null) return;
        _lines.Enqueue(line);
        _echo?.Invoke(line);
    }
}
