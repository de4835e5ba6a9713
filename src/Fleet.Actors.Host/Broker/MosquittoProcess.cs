using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Fleet.Actors.Host.Chaos;

namespace Fleet.Actors.Host.Broker;

/// <summary>
/// A real mosquitto broker (Debian's <c>mosquitto</c> package) on a free loopback port, with its
/// own configuration and persistence folder, that can be stopped and started again on the same port.
/// Used by the integration tests, the chaos runs and the benchmark.
/// </summary>
public sealed class MosquittoProcess : IAsyncDisposable
{
    private readonly string _directory;
    private Process? _process;

    /// <summary>
    /// Prepares a broker in <paramref name="directory"/> (a new temporary folder when null).
    /// <paramref name="tcpNoDelay"/> sets mosquitto's <c>set_tcp_nodelay</c> (off by default, as in
    /// mosquitto: small messages to a subscriber may then wait for the TCP acknowledgement of the
    /// previous one, up to the receiver's delayed-ACK time).
    /// </summary>
    public MosquittoProcess(string? directory = null, int? port = null, bool tcpNoDelay = false)
    {
        _directory = directory ?? Path.Combine(Path.GetTempPath(), "fleet-mosquitto-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_directory);
        // Started as root, mosquitto drops to the 'mosquitto' user: it must still be able to write
        // its persistence file and log here, or sessions silently do not survive a restart.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
        Port = port ?? FreePort();
        File.WriteAllText(ConfigPath, $"""
            # Written by Fleet.Actors for a test, chaos or benchmark run.
            listener {Port} 127.0.0.1
            allow_anonymous true
            # Sessions and queued messages survive a graceful restart, like a production broker's.
            persistence true
            persistence_location {_directory}/
            autosave_interval 0
            # A subscriber that falls behind must not lose QoS 1 messages.
            max_queued_messages 0
            max_queued_bytes 0
            max_inflight_messages 100
            set_tcp_nodelay {(tcpNoDelay ? "true" : "false")}
            log_dest file {_directory}/mosquitto.log
            log_type error
            log_type warning
            log_type notice
            """);
    }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The broker URL for <c>MQTT_BROKER</c>.</summary>
    public string Url => $"mqtt://127.0.0.1:{Port}";

    /// <summary>Its configuration file.</summary>
    public string ConfigPath => Path.Combine(_directory, "mosquitto.conf");

    /// <summary>True while the process runs.</summary>
    public bool Running => _process is { HasExited: false };

    /// <summary>The broker's process id while it runs (to freeze it with SIGSTOP: a hung broker).</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>The mosquitto executable, or null when it is not installed.</summary>
    public static string? Executable() =>
        new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto" }.FirstOrDefault(File.Exists);

    /// <summary>Starts the broker and waits until it accepts connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var executable = Executable() ?? throw new InvalidOperationException(
            "mosquitto is not installed: run the README's test command, which installs it (apt-get install mosquitto)");
        _process = Process.Start(new ProcessStartInfo(executable, ["-c", ConfigPath])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("mosquitto did not start");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"mosquitto exited with {_process.ExitCode}: {await _process.StandardError.ReadToEndAsync(cancellationToken)}");
            if (await AcceptsAsync(cancellationToken)) return;
            await Task.Delay(50, cancellationToken);
        }
        throw new TimeoutException($"mosquitto did not listen on {Port} within 15 s");
    }

    /// <summary>Stops the broker gracefully (SIGTERM: it saves sessions and queued messages).</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process) return;
        Posix.Signal(process.Id, Posix.SigTerm);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        process.Dispose();
        _process = null;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Temporary folder; nothing depends on it being gone.
        }
    }

    private async Task<bool> AcceptsAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>A TCP port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
