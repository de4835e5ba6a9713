using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Fleet.Actors.Host.Chaos;

namespace Fleet.Actors.Host.Broker;

/// <summary>
/// A real mosquitto broker (Debian's <c>mosquitto</c> package) on a free loopback port, with its
/// own configuration and persistence folder, that can be stopped and started again on the same port.
/// Used by the integration tests, the chaos runs and the benchmark. With <see cref="MosquittoSecurity"/>
/// it listens with TLS (certificates from a CA it creates on every run), wants per-device
/// credentials and confines every vehicle to its own topics with an ACL.
/// </summary>
public sealed class MosquittoProcess : IAsyncDisposable
{
    private readonly string _directory;
    private readonly TestCertificateAuthority? _ca;
    private Process? _process;

    /// <summary>
    /// Prepares a broker in <paramref name="directory"/> (a new temporary folder when null).
    /// <paramref name="tcpNoDelay"/> sets mosquitto's <c>set_tcp_nodelay</c> (off by default, as in
    /// mosquitto: small messages to a subscriber may then wait for the TCP acknowledgement of the
    /// previous one, up to the receiver's delayed-ACK time).
    /// </summary>
    public MosquittoProcess(string? directory = null, int? port = null, bool tcpNoDelay = false) : this(null, directory, port, tcpNoDelay)
    {
    }

    /// <summary>
    /// Prepares a broker with <paramref name="security"/> (TLS, credentials, ACL, limits; null: plain
    /// and anonymous) in <paramref name="directory"/> (a new temporary folder when null).
    /// </summary>
    public MosquittoProcess(MosquittoSecurity? security, string? directory = null, int? port = null, bool tcpNoDelay = false)
    {
        Security = security ?? new MosquittoSecurity();
        _directory = directory ?? Path.Combine(Path.GetTempPath(), "fleet-mosquitto-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(_directory);
        // Started as root, mosquitto drops to the 'mosquitto' user: it must still be able to write
        // its persistence file and log here, or sessions silently do not survive a restart.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
        Port = port ?? FreePort();
        if (Security.Tls) _ca = new TestCertificateAuthority("Fleet test CA " + Path.GetFileName(_directory));
        File.WriteAllText(ConfigPath, $"""
            # Written by Fleet.Actors for a test, chaos or benchmark run.
            listener {Port} 127.0.0.1
            {SecurityConfiguration()}
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

    /// <summary>TLS, credentials, ACL and limits of this broker.</summary>
    public MosquittoSecurity Security { get; }

    /// <summary>The broker URL for <c>MQTT_BROKER</c> (mqtts:// with TLS).</summary>
    public string Url => $"{(Security.Tls ? "mqtts" : "mqtt")}://127.0.0.1:{Port}";

    /// <summary>The folder of the broker's configuration, persistence, log, certificates and credentials.</summary>
    public string Directory => _directory;

    /// <summary>The CA that signed the broker's and the clients' certificates (with TLS).</summary>
    public TestCertificateAuthority CertificateAuthority => _ca ?? throw new InvalidOperationException("this broker has no TLS");

    /// <summary>The CA certificate clients trust (PEM, with TLS).</summary>
    public string CaFile => Path.Combine(_directory, "tls", "ca.crt");

    /// <summary>
    /// A new client certificate (PEM, key 0600) in <paramref name="directory"/> (default: the broker's
    /// folder) whose common name is <paramref name="userName"/>: with <see cref="MosquittoSecurity.RequireCertificate"/>
    /// that is the MQTT user the ACL applies to. Each call issues a fresh certificate (a renewal).
    /// </summary>
    public PemFiles IssueClientCertificate(string userName, string? directory = null, DateTimeOffset? notAfter = null) =>
        CertificateAuthority.IssueClient(directory ?? Path.Combine(_directory, "clients"), userName + "-" + Guid.NewGuid().ToString("N")[..6], userName, notAfter: notAfter);

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
        _ca?.Dispose();
        try
        {
            System.IO.Directory.Delete(_directory, recursive: true);
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

    /// <summary>
    /// The listener's security and the broker's limits as mosquitto configuration lines; writes the
    /// certificates, the password file (hashed with mosquitto_passwd) and the ACL file it refers to.
    /// The broker starts as root and drops to the user mosquitto, which must still read them.
    /// </summary>
    private string SecurityConfiguration()
    {
        var lines = new List<string>();
        if (_ca is not null)
        {
            var tls = Path.Combine(_directory, "tls");
            System.IO.Directory.CreateDirectory(tls);
            _ca.WriteCertificate(CaFile);
            var server = _ca.IssueServer(tls, "server", Security.ServerNames, notAfter: Security.ServerCertificateExpired ? DateTimeOffset.UtcNow.AddDays(-1) : null,
                notBefore: Security.ServerCertificateExpired ? DateTimeOffset.UtcNow.AddDays(-30) : null);
            lines.Add($"cafile {CaFile}");
            lines.Add($"certfile {server.CertificateFile}");
            lines.Add($"keyfile {server.KeyFile}");
            if (Security.RequireCertificate)
            {
                lines.Add("require_certificate true");
                lines.Add("use_identity_as_username true");
            }
        }
        var secured = Security.Devices.Count > 0 || Security.RequireCertificate;
        lines.Add($"allow_anonymous {(secured ? "false" : "true")}");
        if (Security.Devices.Any(d => d.Password is not null))
        {
            var passwords = Path.Combine(_directory, "passwords");
            File.WriteAllLines(passwords, Security.Devices.Where(d => d.Password is not null).Select(d => $"{d.UserName}:{d.Password}"));
            RunPasswd(passwords);
            lines.Add($"password_file {passwords}");
        }
        if (Security.Devices.Count > 0)
        {
            var acl = Path.Combine(_directory, "acl");
            File.WriteAllLines(acl, Security.Devices.SelectMany(d => d.AclLines()));
            lines.Add($"acl_file {acl}");
        }
        if (Security.MaxPacketSize is { } maxPacketSize) lines.Add($"max_packet_size {maxPacketSize}");
        if (!Security.RetainAvailable) lines.Add("retain_available false");
        if (Security.MaxQos is { } maxQos) lines.Add($"max_qos {maxQos}");
        return string.Join("\n", lines);
    }

    private static void RunPasswd(string file)
    {
        var passwd = new[] { "/usr/bin/mosquitto_passwd", "/usr/sbin/mosquitto_passwd" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("mosquitto_passwd is not installed (Debian package mosquitto)");
        using var process = Process.Start(new ProcessStartInfo(passwd, ["-U", file]) { RedirectStandardError = true, UseShellExecute = false })
            ?? throw new InvalidOperationException("mosquitto_passwd did not start");
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"mosquitto_passwd -U {file} failed: {process.StandardError.ReadToEnd()}");
        // Read by mosquitto after it dropped to its own user; hashed, and a throwaway test file.
        SetMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    private static void SetMode(string file, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, mode);
    }

    /// <summary>A TCP port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>How a test broker is secured and limited. The default is the plain, anonymous broker.</summary>
public sealed record MosquittoSecurity
{
    /// <summary>The listener speaks TLS with a server certificate of the broker's own test CA.</summary>
    public bool Tls { get; init; }

    /// <summary>Clients must present a certificate of that CA; its common name is their user name (mutual TLS).</summary>
    public bool RequireCertificate { get; init; }

    /// <summary>Names in the server certificate (default 127.0.0.1 and localhost): another name gives a host name mismatch.</summary>
    public IReadOnlyList<string>? ServerNames { get; init; }

    /// <summary>The server certificate expired yesterday.</summary>
    public bool ServerCertificateExpired { get; init; }

    /// <summary>The only clients allowed in (anonymous ones are refused when there are any), each confined by the ACL.</summary>
    public IReadOnlyList<MosquittoUser> Devices { get; init; } = [];

    /// <summary><c>max_packet_size</c>: the broker announces it in CONNACK and drops clients that send larger packets.</summary>
    public int? MaxPacketSize { get; init; }

    /// <summary>False: <c>retain_available false</c>.</summary>
    public bool RetainAvailable { get; init; } = true;

    /// <summary><c>max_qos</c> (0, 1 or 2).</summary>
    public int? MaxQos { get; init; }
}

/// <summary>
/// A user of a test broker: a vehicle (may read and write only <c>fleet/{tenant}/{vehicle}/#</c>) or,
/// with <see cref="Observer"/>, a fleet-side reader of everything.
/// </summary>
/// <param name="UserName">The MQTT user name (and client certificate common name).</param>
/// <param name="Tenant">The vehicle's tenant.</param>
/// <param name="VehicleId">The vehicle id.</param>
/// <param name="Password">Its password (null: certificate only).</param>
/// <param name="Observer">Reads every topic, writes none.</param>
public sealed record MosquittoUser(string UserName, string Tenant, string VehicleId, string? Password = null, bool Observer = false)
{
    /// <summary>A vehicle whose user name is <c>{tenant}.{vehicle}</c>.</summary>
    public static MosquittoUser Vehicle(string tenant, string vehicleId, string? password = null) => new($"{tenant}.{vehicleId}", tenant, vehicleId, password);

    /// <summary>A fleet-side observer that reads every topic.</summary>
    public static MosquittoUser Reader(string userName, string? password = null) => new(userName, "", "", password, Observer: true);

    /// <summary>Its lines of the ACL file.</summary>
    internal IEnumerable<string> AclLines() =>
        Observer ? [$"user {UserName}", "topic read #", ""] : [$"user {UserName}", $"topic readwrite fleet/{Tenant}/{VehicleId}/#", ""];
}
