using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;
using Fleet.Actors.Host.Verification;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests.SecureLink;

/// <summary>mqtts:// against mosquitto with a TLS listener whose CA, server and client certificates the fixture makes on every run.</summary>
public sealed class TlsUplinkTests : SecureLinkTestKit
{
    private static readonly MosquittoUser Agent = MosquittoUser.Vehicle(Vehicle.Tenant, Vehicle.VehicleId);
    private static readonly MosquittoUser Observer = MosquittoUser.Reader("fleet-observer");

    public TlsUplinkTests(ITestOutputHelper output) : base(output)
    {
    }

    [Fact]
    public async Task Uplink_should_deliver_over_mutual_TLS_checked_against_the_CA_file()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Tls = true, RequireCertificate = true, Devices = [Agent, Observer] });
        var client = broker.IssueClientCertificate(Agent.UserName, Work);
        var observer = broker.IssueClientCertificate(Observer.UserName, Work);
        await using var verifier = await MqttVerifier.StartAsync(Settings(broker, b => WithClientCertificate(b, observer)).Broker,
            "fleet/+/+/telemetry", "fleet/+/+/status", "tls-observer", persistentSession: false);
        var (log, _) = Start(Settings(broker, b => WithClientCertificate(b, client)));

        log.Tell(Readings(1, 500));

        AwaitDelivered(log, 500, TimeSpan.FromSeconds(20));
        Assert.True(await verifier.WaitUntilAsync(v => v.Report().Vehicles.Any(r => r.HighestReceived == 500), TimeSpan.FromSeconds(10)));
        var report = verifier.Verifier.Report().Vehicles.Single();
        Assert.Equal((500L, 0L), (report.Received, report.Missing));
        Assert.Equal(0, UplinkMetrics.ConnectFailures.Value);
    }

    /// <summary>
    /// The client certificate on disk is renewed while the agent runs (the old one expires): the next
    /// connection uses the new files without a restart.
    /// </summary>
    [Fact]
    public async Task Renewed_client_certificate_on_disk_should_be_used_by_the_next_connection()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Tls = true, RequireCertificate = true, Devices = [Agent] });
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(6);
        var first = broker.IssueClientCertificate(Agent.UserName, Work, notAfter: expiresAt);
        var certificate = Path.Combine(Work, "agent.crt");
        var key = Path.Combine(Work, "agent.key");
        Install(first, certificate, key);
        var (log, uplink) = Start(Settings(broker, b => WithClientCertificate(b, new PemFiles(certificate, key))));
        log.Tell(Readings(1, 100));
        AwaitDelivered(log, 100, TimeSpan.FromSeconds(5));

        // The first certificate expires; its renewal is written over the same files.
        await Testing.Poll.UntilAsync(() => DateTimeOffset.UtcNow > expiresAt.AddSeconds(1), "the first certificate expired", TimeSpan.FromSeconds(15));
        Install(broker.IssueClientCertificate(Agent.UserName, Work), certificate, key);
        // A forced reconnect: the broker restarts.
        var connects = UplinkMetrics.Reconnects.Value;
        await broker.StopAsync();
        log.Tell(Readings(101, 100));
        await broker.StartAsync();

        AwaitDelivered(log, 200, TimeSpan.FromSeconds(20));
        Assert.True(UplinkMetrics.Reconnects.Value > connects);
        Assert.Equal("online", LinkStatus(uplink).State);
    }

    /// <summary>
    /// The <c>fleet-agent run</c> process configured the way a vehicle is (mqtts:// URL; CA, client
    /// certificate and key from files named by environment variables) delivers everything and says
    /// goodbye, without a warning.
    /// </summary>
    [Fact]
    public async Task Agent_process_should_deliver_everything_over_mutual_TLS_with_credentials_from_files()
    {
        const string vehicleId = "e2e-tls";
        var agentUser = MosquittoUser.Vehicle("chaos", vehicleId); // the tenant of ChaosScenarios.Overlay
        var broker = await StartBrokerAsync(new MosquittoSecurity { Tls = true, RequireCertificate = true, Devices = [agentUser, Observer] });
        var client = broker.IssueClientCertificate(agentUser.UserName, Path.Combine(Work, "credentials"));
        var observer = broker.IssueClientCertificate(Observer.UserName, Work);
        await using var verifier = await MqttVerifier.StartAsync(Settings(broker, b => WithClientCertificate(b, observer)).Broker,
            "fleet/+/+/telemetry", "fleet/+/+/status", "e2e-tls-observer", persistentSession: false);
        var environment = new Dictionary<string, string>
        {
            ["MQTT_CA_FILE"] = broker.CaFile,
            ["MQTT_CLIENT_CERT_FILE"] = client.CertificateFile,
            ["MQTT_CLIENT_KEY_FILE"] = client.KeyFile,
        };
        var overlay = ChaosScenarios.Overlay(broker, vehicleId, Path.Combine(Work, "agent-data"), obdRateHz: 20);
        await using var agent = AgentProcess.Start(overlay, Path.Combine(Work, "agent"), Output!.WriteLine, environment);

        Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", TimeSpan.FromSeconds(30)), "no batch was acknowledged");
        Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));

        Assert.True(await verifier.WaitUntilAsync(v => v.AllOfflineVehiclesComplete(1), TimeSpan.FromSeconds(20)));
        var vehicle = verifier.Verifier.Report().Vehicles.Single();
        Assert.Equal((vehicleId, 0L), (vehicle.VehicleId, vehicle.Missing));
        Assert.Equal(vehicle.StatusLastSequence, vehicle.HighestReceived);
        Assert.Contains(agent.Output, line => line.Contains($"Uplink online: 127.0.0.1:{broker.Port}", StringComparison.Ordinal));
        Assert.DoesNotContain(agent.Output, line => line.Contains(" WRN]", StringComparison.Ordinal) || line.Contains(" ERR]", StringComparison.Ordinal));
    }

    /// <summary>An expired client certificate: the broker would just close the connection; the agent says why, on every attempt.</summary>
    [Fact]
    public async Task Expired_client_certificate_should_be_one_warning_per_attempt_naming_the_file()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Tls = true, RequireCertificate = true, Devices = [Agent] });
        var expired = broker.IssueClientCertificate(Agent.UserName, Work, notAfter: DateTimeOffset.UtcNow.AddMinutes(-5));
        Start(Settings(broker, b => WithClientCertificate(b, expired)));

        await AssertEveryAttemptWarnsAsync($"TLS to 127.0.0.1:{broker.Port} not attempted: the client certificate {expired.CertificateFile} expired on ", "TLS to ");
    }

    [Fact]
    public async Task Broker_certificate_of_an_unknown_CA_should_be_one_warning_per_attempt_naming_the_reason()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Tls = true });
        using var other = new TestCertificateAuthority("Some other CA");
        var otherCa = other.WriteCertificate(Path.Combine(Work, "other-ca.crt"));
        var (log, _) = Start(Settings(broker, b => b with { Tls = b.Tls! with { CaFile = otherCa } }));
        log.Tell(Readings(1, 10));

        await AssertEveryAttemptWarnsAsync("unknown CA: the broker's certificate (issued by CN=Fleet test CA");
        Assert.Equal(0, Status(log).DeliveredSequence);
    }

    [Fact]
    public async Task Expired_broker_certificate_should_be_reported_as_expired()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Tls = true, ServerCertificateExpired = true });
        Start(Settings(broker));

        await AssertEveryAttemptWarnsAsync("the broker's certificate expired on ");
    }

    [Fact]
    public async Task Broker_certificate_for_another_name_should_be_reported_as_a_host_name_mismatch()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Tls = true, ServerNames = ["broker.example.com"] });
        Start(Settings(broker));

        await AssertEveryAttemptWarnsAsync("host name mismatch: expected 127.0.0.1, the certificate is for broker.example.com");
    }

    [Fact]
    public async Task Trusted_broker_certificate_should_connect_without_any_warning()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Tls = true });
        var (log, _) = Start(Settings(broker));
        log.Tell(Readings(1, 10));

        AwaitDelivered(log, 10, TimeSpan.FromSeconds(10));
        Assert.Empty(Lines(LogLevel.WarningLevel));
        Assert.Empty(Lines(LogLevel.ErrorLevel));
    }

    /// <summary>Three failed attempts, each exactly one warning line with the reason; no error, no stack trace.</summary>
    private async Task AssertEveryAttemptWarnsAsync(string reason, string start = "TLS handshake with 127.0.0.1:")
    {
        await Testing.Poll.UntilAsync(() => Lines(LogLevel.WarningLevel, reason).Count >= 3, $"three warnings \"{reason}\"", TimeSpan.FromSeconds(15));
        var warnings = Lines(LogLevel.WarningLevel);
        var failures = (int)UplinkMetrics.ConnectFailures.Value;
        foreach (var line in warnings) Output.WriteLine(line);
        var tls = warnings.Where(w => w.Contains(reason, StringComparison.Ordinal)).ToList();
        // One line per failed attempt (the next attempt may have failed since the lines were read).
        Assert.InRange(failures, tls.Count, tls.Count + 1);
        Assert.All(tls, line => Assert.StartsWith(start, line, StringComparison.Ordinal));
        Assert.Equal(tls.Count, warnings.Count);
        Assert.Empty(Lines(LogLevel.ErrorLevel));
        AssertNoStackTraces();
    }

    private static void Install(PemFiles from, string certificate, string key)
    {
        File.Copy(from.CertificateFile, certificate, overwrite: true);
        File.Copy(from.KeyFile, key, overwrite: true);
    }
}
