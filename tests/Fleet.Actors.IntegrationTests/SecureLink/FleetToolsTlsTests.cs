using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests.SecureLink;

/// <summary>
/// The fleet-side tools reach a secured broker as the agent does: <c>fleet-agent verify</c> over
/// mutual TLS (a CA file and a client certificate the broker's ACL lets read telemetry), run as its
/// own process, checks what an agent's uplink delivered.
/// </summary>
public sealed class FleetToolsTlsTests(ITestOutputHelper output) : SecureLinkTestKit(output)
{
    private static readonly MosquittoUser Agent = MosquittoUser.Vehicle(Vehicle.Tenant, Vehicle.VehicleId);
    private static readonly MosquittoUser Observer = MosquittoUser.Reader("fleet-observer");

    [Fact]
    public async Task Verify_should_read_the_telemetry_over_mutual_TLS_with_a_CA_file_and_a_client_certificate()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Tls = true, RequireCertificate = true, Devices = [Agent, Observer] });
        var observer = broker.IssueClientCertificate(Observer.UserName, Work);
        using var verify = StartTool("verify", "--broker", broker.Url, "--ca-file", broker.CaFile, "--client-cert-file", observer.CertificateFile,
            "--client-key-file", observer.KeyFile, "--topic", "fleet/+/+/telemetry", "--status-topic", "fleet/+/+/status", "--idle-timeout", "3s",
            "--duration", "60s", "--json");
        await Testing.Poll.UntilAsync(() => verify.Errors.Any(l => l.StartsWith("Listening on", StringComparison.Ordinal)) || verify.Process.HasExited,
            "verify subscribed", TimeSpan.FromSeconds(20));
        Assert.False(verify.Process.HasExited, string.Join("\n", verify.Errors));

        var (log, _) = Start(Settings(broker, b => WithClientCertificate(b, broker.IssueClientCertificate(Agent.UserName, Work))));
        log.Tell(Readings(1, 300));
        AwaitDelivered(log, 300, TimeSpan.FromSeconds(20));

        Assert.True(verify.Exited(TimeSpan.FromSeconds(30)), "verify did not stop after 3 s without messages");
        Assert.True(verify.Process.ExitCode == 0, $"exit {verify.Process.ExitCode}: {string.Join("\n", verify.Errors)}");
        using var report = JsonDocument.Parse(string.Join("\n", verify.Output));
        var vehicle = report.RootElement.GetProperty("vehicles").EnumerateArray().Single();
        Assert.Equal(Vehicle.VehicleId, vehicle.GetProperty("vehicle_id").GetString());
        Assert.Equal(300, vehicle.GetProperty("received").GetInt64());
        Assert.Equal(0, vehicle.GetProperty("missing").GetInt64());
    }

    /// <summary>Found by a new user: the fleet-side tools printed .NET's and MQTTnet's raw errors where the agent explains.</summary>
    [Fact]
    public async Task Verify_should_explain_a_wrong_CA_a_missing_client_certificate_and_a_wrong_password_in_one_line()
    {
        var secured = await StartBrokerAsync(new MosquittoSecurity { Tls = true, RequireCertificate = true, Devices = [Observer] });
        using var otherCa = new TestCertificateAuthority("Other CA");
        var wrongCa = otherCa.WriteCertificate(Path.Combine(Work, "other-ca.crt"));
        var observer = secured.IssueClientCertificate(Observer.UserName, Work);

        using var unknownCa = StartTool("verify", "--broker", secured.Url, "--ca-file", wrongCa, "--client-cert-file", observer.CertificateFile,
            "--client-key-file", observer.KeyFile, "--duration", "5s");
        Assert.True(unknownCa.Exited(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, unknownCa.Process.ExitCode);
        var line = Assert.Single(unknownCa.Errors);
        Assert.Contains($"TLS handshake with 127.0.0.1:{secured.Port} failed: unknown CA", line, StringComparison.Ordinal);

        var passwords = await StartBrokerAsync(new MosquittoSecurity { Devices = [MosquittoUser.Reader("fleet-observer", "right-password")] });
        using var wrongPassword = StartTool("verify", "--broker", $"mqtt://fleet-observer:wrong@127.0.0.1:{passwords.Port}", "--duration", "5s");
        Assert.True(wrongPassword.Exited(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, wrongPassword.Process.ExitCode);
        Assert.Contains($"Broker 127.0.0.1:{passwords.Port} refused the connection of user 'fleet-observer'", Assert.Single(wrongPassword.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_should_exit_1_naming_the_option_for_TLS_files_without_mqtts_and_a_certificate_without_its_key()
    {
        using var plain = StartTool("verify", "--broker", "mqtt://127.0.0.1:1", "--ca-file", "/etc/hostname");
        Assert.True(plain.Exited(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, plain.Process.ExitCode);
        Assert.Equal("fleet-agent verify: --ca-file: the broker URL is not mqtts://", Assert.Single(plain.Errors));

        using var halfPair = StartTool("verify", "--broker", "mqtts://127.0.0.1:1", "--client-cert-file", "/etc/hostname");
        Assert.True(halfPair.Exited(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, halfPair.Process.ExitCode);
        Assert.Equal("fleet-agent verify: --client-cert-file needs --client-key-file", Assert.Single(halfPair.Errors));
    }

    /// <summary>Runs the real <c>fleet-agent</c> with <paramref name="arguments"/>, collecting its lines (the MQTT_* defaults cleared).</summary>
    private static Tool StartTool(params string[] arguments)
    {
        var start = AgentProcess.StartInfo(AgentProcess.Program, arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        foreach (var variable in new[] { "MQTT_BROKER", "MQTT_CA_FILE", "MQTT_CLIENT_CERT_FILE", "MQTT_CLIENT_KEY_FILE", "MQTT_PASSWORD_FILE" })
            start.Environment.Remove(variable);
        var tool = new Tool(Process.Start(start)!);
        tool.Process.OutputDataReceived += (_, e) => { if (e.Data is not null) tool.Output.Enqueue(e.Data); };
        tool.Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) tool.Errors.Enqueue(e.Data); };
        tool.Process.BeginOutputReadLine();
        tool.Process.BeginErrorReadLine();
        return tool;
    }

    private sealed record Tool(Process Process) : IDisposable
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Output { get; } = new();

        public System.Collections.Concurrent.ConcurrentQueue<string> Errors { get; } = new();

        /// <summary>Waits for the exit and for the last lines of its output (read asynchronously).</summary>
        public bool Exited(TimeSpan timeout)
        {
            if (!Process.WaitForExit(timeout)) return false;
            Process.WaitForExit();
            return true;
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }
}
