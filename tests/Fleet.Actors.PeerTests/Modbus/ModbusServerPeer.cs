using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Fleet.Actors.PeerTests.Modbus;

/// <summary>
/// The libmodbus server of <c>modbus-server.c</c> as a real peer: compiled with gcc once per test
/// run, started over TCP on a free loopback port or over RTU on a serial device, held and released
/// with SIGUSR1/SIGUSR2, killed on dispose; options make it misbehave (see <c>modbus-server.c</c>:
/// <c>late-first=MS</c>, <c>tid=N</c>, <c>garble</c>, <c>once</c>) or let a test watch it (<c>multi</c>: several
/// TCP clients at once; <c>log-writes</c>: every write it took, in <see cref="Writes"/>). Installs nothing: a
/// missing gcc or libmodbus fails with a message that says how to get them.
/// </summary>
public sealed class ModbusServerPeer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private static readonly SemaphoreSlim CompileGate = new(1, 1);
    private static string? _binary;
    private readonly string[] _arguments;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _writes = new();
    private Process? _process;

    private ModbusServerPeer(string[] arguments, int port)
    {
        _arguments = arguments;
        Port = port;
    }

    /// <summary>The TCP port (0 for RTU).</summary>
    public int Port { get; }

    /// <summary>
    /// With the option <c>log-writes</c>: every write the server's map took, in order, as
    /// <c>write fc=6 address=5 values=77</c> (the values the map holds after it; a refused write is not listed).
    /// </summary>
    public IReadOnlyList<string> Writes => _writes.ToArray();

    /// <summary>Starts the server over TCP on a free loopback port, with <c>modbus-server.c</c>'s <paramref name="options"/>.</summary>
    public static async Task<ModbusServerPeer> StartTcpAsync(params string[] options)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var server = new ModbusServerPeer(["tcp", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. options], port);
            try
            {
                await server.StartAsync();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Someone took the port between our probe and the server's bind: try another.
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>Starts the server over RTU (slave 1) on a serial device such as a pty end, with <c>modbus-server.c</c>'s <paramref name="options"/>.</summary>
    public static async Task<ModbusServerPeer> StartRtuAsync(string devicePath, params string[] options)
    {
        var server = new ModbusServerPeer(["rtu", devicePath, .. options], 0);
        await server.StartAsync();
        return server;
    }

    /// <summary>A free loopback TCP port (free when asked).</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Holds answers (SIGUSR1): a request received meanwhile is answered after <see cref="ReleaseAnswersAsync"/>.</summary>
    public Task HoldAnswersAsync() => SignalAsync("-USR1");

    /// <summary>Answers again (SIGUSR2).</summary>
    public Task ReleaseAnswersAsync() => SignalAsync("-USR2");

    /// <summary>Kills the server.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process) return;
        _process = null;
        if (!process.HasExited) process.Kill();
        await process.WaitForExitAsync();
        process.Dispose();
    }

    /// <summary>Starts the server again with the same arguments (same port or device).</summary>
    public async Task StartAsync()
    {
        if (_process is not null) return;
        var binary = await BinaryAsync();
        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in _arguments) start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("modbus-server did not start");
        _process = process;
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(StartTimeout);
        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            line = null;
        }
        if (line != "ready")
        {
            await StopAsync();
            throw new InvalidOperationException($"modbus-server {string.Join(' ', _arguments)} did not get ready: {await errors}");
        }
        // Everything after "ready" is the write log (log-writes); read to the end so the pipe never fills.
        _ = Task.Run(async () =>
        {
            try
            {
                while (await process.StandardOutput.ReadLineAsync() is { } written) _writes.Enqueue(written);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or IOException or InvalidOperationException)
            {
                // Killed and disposed: nothing more to read.
            }
        });
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync();

    /// <summary>The compiled server, built into the test output folder the first time it is asked for.</summary>
    public static async Task<string> BinaryAsync()
    {
        await CompileGate.WaitAsync();
        try
        {
            if (_binary is not null) return _binary;
            const string hint = "run ./build.sh --target=Peers to install the test peers (gcc, libmodbus-dev, mbpoll)";
            if (!File.Exists("/usr/include/modbus/modbus.h")) throw new InvalidOperationException($"libmodbus-dev is missing: {hint}");
            var source = Path.Combine(AppContext.BaseDirectory, "Modbus", "modbus-server.c");
            var binary = Path.Combine(AppContext.BaseDirectory, "modbus-peer", "modbus-server");
            Directory.CreateDirectory(Path.GetDirectoryName(binary)!);
            var (exit, output) = await RunAsync("gcc", "-O2", "-Wall", "-o", binary, source, "-I/usr/include/modbus", "-lmodbus")
                .ConfigureAwait(false);
            if (exit != 0) throw new InvalidOperationException($"gcc failed to compile {source}: {output}");
            _binary = binary;
            return binary;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"gcc is missing ({ex.Message}): run ./build.sh --target=Peers to install the test peers", ex);
        }
        finally
        {
            CompileGate.Release();
        }
    }

    /// <summary>
    /// Runs <c>mbpoll</c> once against this TCP server (unit 1) with <paramref name="arguments"/>
    /// (mbpoll's 1-based addresses); everything it printed. Throws when mbpoll is missing or fails.
    /// </summary>
    public async Task<string> MbpollAsync(params string[] arguments)
    {
        if (!File.Exists("/usr/bin/mbpoll")) throw new InvalidOperationException("mbpoll is missing: run ./build.sh --target=Peers to install the test peers");
        var (exit, output) = await RunAsync(
            "mbpoll", ["-m", "tcp", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-a", "1", .. arguments, "-1", "127.0.0.1"]);
        return exit == 0 ? output : throw new InvalidOperationException($"mbpoll failed ({exit}): {output}");
    }

    /// <summary>Runs a program to its end; its exit code and everything it printed.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await errors);
    }

    private async Task SignalAsync(string signal)
    {
        var process = _process ?? throw new InvalidOperationException("the server is not running");
        var (exit, output) = await RunAsync("kill", signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (exit != 0) throw new InvalidOperationException($"kill {signal} failed: {output}");
    }
}
