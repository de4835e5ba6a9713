using System.Diagnostics;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Verification;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests.SecureLink;

/// <summary>
/// Renewal of the client certificate while the agent runs, against mosquitto with mutual TLS: the uplink
/// checks its TLS files every 200 ms (<c>tls.check-interval</c>) and reconnects at once to use new
/// ones that load, without the offline status and without losing a reading; new files that do not
/// load are one warning and change nothing.
/// </summary>
public sealed class TlsRenewalTests : SecureLinkTestKit
{
    private static readonly MosquittoUser Agent = MosquittoUser.Vehicle(Vehicle.Tenant, Vehicle.VehicleId);
    private static readonly MosquittoUser Observer = MosquittoUser.Reader("fleet-observer");
    private static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(200);

    public TlsRenewalTests(ITestOutputHelper output) : base(output)
    {
    }

    /// <summary>
    /// cert-manager in Kubernetes: the certificate and key are renewed together (a symlinked folder
    /// swapped in one rename) while readings flow. The uplink reconnects with the new certificate; the
    /// broker sees a clean disconnect and a new connection, the retained status never says offline,
    /// and the fleet side receives every reading once.
    /// </summary>
    [Fact]
    public async Task Client_certificate_renewed_while_connected_should_reconnect_at_once_without_offline_status_or_loss()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Tls = true, RequireCertificate = true, Devices = [Agent, Observer] });
        var observer = broker.IssueClientCertificate(Observer.UserName, Work);
        await using var verifier = await MqttVerifier.StartAsync(Settings(broker, b => WithClientCertificate(b, observer)).Broker,
            "fleet/+/+/telemetry", "fleet/+/+/status", "renewal-observer", persistentSession: false, checkConflicts: true);
        await using var statuses = await ClientAsync(broker, Observer, "status");
        await statuses.SubscribeAsync($"fleet/{Vehicle.Tenant}/{Vehicle.VehicleId}/status");
        var folder = new SecretFolder(Path.Combine(Work, "secret"));
        folder.Swap(broker.IssueClientCertificate(Agent.UserName, Work, notAfter: DateTimeOffset.UtcNow.AddDays(1)));
        var (log, uplink) = Start(Renewable(broker, folder.Certificate, folder.Key));
        await Testing.Poll.UntilAsync(() => States(statuses).Count(s => s == "online") == 1, "the status says online");

        var sent = 0;
        using var stop = new CancellationTokenSource();
        var feeder = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                log.Tell(Readings(sent + 1, 20));
                sent += 20;
                await Task.Delay(20);
            }
        });
        AwaitDelivered(log, 200, TimeSpan.FromSeconds(10));

        var renewal = broker.IssueClientCertificate(Agent.UserName, Work);
        var renewalNotAfter = X509NotAfter(renewal.CertificateFile);
        folder.Swap(renewal);

        await Testing.Poll.UntilAsync(() => BrokerLog(broker).Count(IsAgentConnecting) == 2, "the broker logs the agent's second connection");
        await Testing.Poll.UntilAsync(() => States(statuses).Count(s => s == "online") == 2, "the second connection's online status arrives");
        Assert.Single(Lines(LogLevel.InfoLevel, $"TLS files changed (client certificate CN={Agent.UserName}, valid until {renewalNotAfter}): reconnecting to use them"));
        // Readings keep flowing on the new connection.
        var delivered = Status(log).DeliveredSequence;
        AwaitDelivered(log, delivered + 200, TimeSpan.FromSeconds(10));
        await stop.CancelAsync();
        await feeder;
        AwaitDelivered(log, sent, TimeSpan.FromSeconds(10));
        Assert.True(await verifier.WaitUntilAsync(v => v.Report().Received >= sent, TimeSpan.FromSeconds(10)), $"the verifier did not receive all {sent} readings");

        var report = verifier.Verifier.Report();
        Assert.Equal((sent, 0L, 0L, 0L), (report.Received, report.Missing, report.Duplicates, report.Conflicts));
        Assert.DoesNotContain("offline", States(statuses));
        var brokerLog = BrokerLog(broker);
        foreach (var line in brokerLog) Output.WriteLine(line);
        // A clean DISCONNECT (the broker discards the last will), not a dropped socket or a takeover.
        Assert.Single(brokerLog, l => l.EndsWith($"Client {MqttLink.ClientId(Vehicle)} disconnected.", StringComparison.Ordinal));
        Assert.DoesNotContain(brokerLog, l => l.Contains($"Client {MqttLink.ClientId(Vehicle)} closed its connection", StringComparison.Ordinal)
            || l.Contains("already connected", StringComparison.Ordinal));
        Assert.Equal(2, UplinkMetrics.Reconnects.Value);
        Assert.Equal(0, UplinkMetrics.SendErrors.Value);
        Assert.Equal("online", LinkStatus(uplink).State);
        Assert.Empty(Lines(LogLevel.WarningLevel));
        Assert.Empty(Lines(LogLevel.ErrorLevel));
    }

    /// <summary>
    /// The client certificate expires while connected; the link then drops (the broker restarts) and
    /// the agent cannot reconnect ("not attempted: expired"), its backoff growing. Writing the renewed
    /// files makes it connect within about the check interval, not after the next backoff (10 s).
    /// </summary>
    [Fact]
    public async Task Renewed_files_should_end_the_backoff_after_an_expired_client_certificate()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Tls = true, RequireCertificate = true, Devices = [Agent] });
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(5);
        var folder = new SecretFolder(Path.Combine(Work, "secret"));
        folder.Swap(broker.IssueClientCertificate(Agent.UserName, Work, notAfter: expiresAt));
        var settings = Renewable(broker, folder.Certificate, folder.Key) with
        {
            ReconnectMinBackoff = TimeSpan.FromSeconds(5),
            ReconnectMaxBackoff = TimeSpan.FromMinutes(5),
        };
        var (log, uplink) = Start(settings);
        log.Tell(Readings(1, 100));
        AwaitDelivered(log, 100, TimeSpan.FromSeconds(5));

        await Testing.Poll.UntilAsync(() => DateTimeOffset.UtcNow > expiresAt.AddSeconds(0.5), "the certificate expired", TimeSpan.FromSeconds(10));
        await broker.StopAsync();
        await broker.StartAsync();
        log.Tell(Readings(101, 100));
        // The first attempt, 5 s after the link dropped, refuses to present the expired certificate; the next waits 10 s.
        await Testing.Poll.UntilAsync(() => Lines(LogLevel.WarningLevel, $"the client certificate {folder.Certificate} expired on ").Count == 1,
            "the attempt with the expired certificate", TimeSpan.FromSeconds(15));
        Assert.False(LinkStatus(uplink).Connected);

        var renewed = Stopwatch.StartNew();
        folder.Swap(broker.IssueClientCertificate(Agent.UserName, Work));

        await Testing.Poll.UntilAsync(() => LinkStatus(uplink).Connected, "the uplink is online with the renewed certificate", TimeSpan.FromSeconds(4));
        Output.WriteLine($"online {renewed.ElapsedMilliseconds} ms after the renewal");
        AwaitDelivered(log, 200, TimeSpan.FromSeconds(10));
        Assert.Single(Lines(LogLevel.InfoLevel, "): reconnecting now instead of after the backoff"));
        Assert.Equal(2, BrokerLog(broker).Count(IsAgentConnecting));
        Assert.Equal(1, UplinkMetrics.ConnectFailures.Value);
    }

    /// <summary>
    /// certbot-style renewal, one file after the other: first only the certificate (of a new key) is
    /// replaced, so it does not match the key on disk. One warning with the reason, no reconnect, the
    /// data keeps flowing on the current connection, and the checks that follow stay quiet. Then the
    /// matching key arrives, and the uplink reconnects with the pair.
    /// </summary>
    [Fact]
    public async Task Certificate_that_does_not_match_the_key_should_be_one_warning_and_keep_the_connection_until_the_key_arrives()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Tls = true, RequireCertificate = true, Devices = [Agent] });
        var certificate = Path.Combine(Work, "agent.crt");
        var key = Path.Combine(Work, "agent.key");
        var first = broker.IssueClientCertificate(Agent.UserName, Work);
        ReplaceAtomically(first.CertificateFile, certificate);
        ReplaceAtomically(first.KeyFile, key);
        var (log, uplink) = Start(Renewable(broker, certificate, key));
        log.Tell(Readings(1, 100));
        AwaitDelivered(log, 100, TimeSpan.FromSeconds(5));

        var renewal = broker.IssueClientCertificate(Agent.UserName, Work);
        ReplaceAtomically(renewal.CertificateFile, certificate);

        await Testing.Poll.UntilAsync(() => Lines(LogLevel.WarningLevel, "TLS files changed but cannot be used").Count == 1, "the warning about the mismatched pair");
        var warning = Assert.Single(Lines(LogLevel.WarningLevel));
        Output.WriteLine(warning);
        Assert.StartsWith($"TLS files changed but cannot be used (the current connection stays): Cannot load the client certificate {certificate} with the key {key}", warning);
        Assert.Contains("does not match", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", warning, StringComparison.Ordinal);
        // Five more checks see the same mismatched pair and say nothing; the data goes out on the same connection.
        var checks = UplinkMetrics.TlsFileChecks.Value;
        await Testing.Poll.UntilAsync(() => UplinkMetrics.TlsFileChecks.Value >= checks + 5, "five more checks");
        log.Tell(Readings(101, 100));
        AwaitDelivered(log, 200, TimeSpan.FromSeconds(5));
        Assert.Single(Lines(LogLevel.WarningLevel));
        Assert.Equal(1, BrokerLog(broker).Count(IsAgentConnecting));
        Assert.Empty(Lines(LogLevel.InfoLevel, "TLS files changed ("));

        ReplaceAtomically(renewal.KeyFile, key);

        await Testing.Poll.UntilAsync(() => Lines(LogLevel.InfoLevel, $"TLS files changed (client certificate CN={Agent.UserName}, valid until ").Count == 1,
            "the uplink reconnects for the matching pair");
        await Testing.Poll.UntilAsync(() => BrokerLog(broker).Count(IsAgentConnecting) == 2, "the broker logs the agent's second connection");
        log.Tell(Readings(201, 100));
        AwaitDelivered(log, 300, TimeSpan.FromSeconds(10));
        Assert.Single(Lines(LogLevel.WarningLevel));
        Assert.Empty(Lines(LogLevel.ErrorLevel));
        Assert.Equal("online", LinkStatus(uplink).State);
        AssertNoStackTraces();
    }

    /// <summary>
    /// Found by a new user: a CA file replaced by another, valid CA (not the broker's) made the uplink
    /// drop a working connection and then fail "unknown CA", offline while its status said online. New
    /// files must get through a trial handshake first: one warning, and the connection stays.
    /// </summary>
    [Fact]
    public async Task A_CA_file_renewed_with_a_CA_that_does_not_sign_the_broker_should_be_one_warning_and_keep_the_connection()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Tls = true, RequireCertificate = true, Devices = [Agent] });
        var certificate = Path.Combine(Work, "agent.crt");
        var key = Path.Combine(Work, "agent.key");
        var ca = Path.Combine(Work, "ca.crt");
        var files = broker.IssueClientCertificate(Agent.UserName, Work);
        ReplaceAtomically(files.CertificateFile, certificate);
        ReplaceAtomically(files.KeyFile, key);
        File.Copy(broker.CaFile, ca);
        var settings = Renewable(broker, certificate, key);
        var (log, uplink) = Start(settings with { Broker = settings.Broker with { Tls = settings.Broker.Tls! with { CaFile = ca } } });
        log.Tell(Readings(1, 100));
        AwaitDelivered(log, 100, TimeSpan.FromSeconds(5));

        using var other = new TestCertificateAuthority("Some Other CA");
        ReplaceAtomically(other.WriteCertificate(Path.Combine(Work, "other-ca.crt")), ca);

        await Testing.Poll.UntilAsync(() => Lines(LogLevel.WarningLevel, "TLS files changed but cannot be used").Count == 1, "the warning about the CA");
        var warning = Assert.Single(Lines(LogLevel.WarningLevel));
        Output.WriteLine(warning);
        Assert.Contains("(the current connection stays): a trial handshake with them failed: unknown CA: the broker's certificate", warning, StringComparison.Ordinal);
        log.Tell(Readings(101, 100));
        AwaitDelivered(log, 200, TimeSpan.FromSeconds(5));
        Assert.Equal(1, BrokerLog(broker).Count(IsAgentConnecting));
        Assert.Empty(Lines(LogLevel.InfoLevel, "TLS files changed ("));
        Assert.Equal("online", LinkStatus(uplink).State);
        AssertNoStackTraces();
    }

    /// <summary>
    /// Settings with the client certificate at <paramref name="certificate"/> and <paramref name="key"/>, checked every 200 ms;
    /// a short linger, so that the last readings do not wait 10 s for more.
    /// </summary>
    private static UplinkSettings Renewable(MosquittoProcess broker, string certificate, string key) => Settings(broker, b =>
    {
        var mutual = WithClientCertificate(b, new PemFiles(certificate, key));
        return mutual with { Tls = mutual.Tls! with { CheckInterval = CheckInterval } };
    }) with { Linger = TimeSpan.FromMilliseconds(100) };

    /// <summary>The state of every status document <paramref name="client"/> received, in the broker's order.</summary>
    private static List<string> States(TestClient client) =>
        client.Received.Select(m => JsonNode.Parse(m[(m.IndexOf(' ') + 1)..])!["state"]!.GetValue<string>()).ToList();

    private static string[] BrokerLog(MosquittoProcess broker)
    {
        var path = Path.Combine(broker.Directory, "mosquitto.log");
        return File.Exists(path) ? File.ReadAllLines(path) : [];
    }

    private static bool IsAgentConnecting(string line) =>
        line.Contains("New client connected from ", StringComparison.Ordinal) && line.Contains($" as {MqttLink.ClientId(Vehicle)} ", StringComparison.Ordinal);

    private static string X509NotAfter(string certificateFile)
    {
        using var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(certificateFile);
        return certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Writes <paramref name="source"/>'s content to <paramref name="target"/> in one rename, with the source's mode, as a renewal tool does.</summary>
    private static void ReplaceAtomically(string source, string target)
    {
        var temporary = target + ".tmp";
        File.Copy(source, temporary, overwrite: true);
        File.Move(temporary, target, overwrite: true);
    }

    /// <summary>
    /// A folder laid out as Kubernetes mounts a secret: <c>tls.crt</c> and <c>tls.key</c> are links into
    /// <c>..data</c>, itself a link to a folder of one version; a new version is swapped in with one rename.
    /// </summary>
    private sealed class SecretFolder
    {
        private readonly string _root;
        private int _version;

        public SecretFolder(string root)
        {
            _root = root;
            Directory.CreateDirectory(root);
            File.CreateSymbolicLink(Certificate, Path.Combine("..data", "tls.crt"));
            File.CreateSymbolicLink(Key, Path.Combine("..data", "tls.key"));
        }

        public string Certificate => Path.Combine(_root, "tls.crt");

        public string Key => Path.Combine(_root, "tls.key");

        public void Swap(PemFiles files)
        {
            var version = $"..v{++_version}";
            Directory.CreateDirectory(Path.Combine(_root, version));
            File.Copy(files.CertificateFile, Path.Combine(_root, version, "tls.crt"));
            File.Copy(files.KeyFile, Path.Combine(_root, version, "tls.key"));
            var link = Path.Combine(_root, "..data_tmp");
            File.CreateSymbolicLink(link, version);
            // rename(2) over the old link: both files change at once (mv -T does not follow the link).
            using var mv = Process.Start(new ProcessStartInfo("mv", ["-T", link, Path.Combine(_root, "..data")]) { UseShellExecute = false })!;
            mv.WaitForExit();
            Assert.Equal(0, mv.ExitCode);
        }
    }
}
