using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;
using Fleet.Actors.Host.Verification;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests.SecureLink;

/// <summary>
/// The <c>fleet-agent run</c> process configured the way a vehicle is (mqtts:// URL, CA, client
/// certificate and key from files named by environment variables) against mosquitto that requires
/// client certificates and confines the vehicle with its ACL.
/// </summary>
public sealed class SecureAgentProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Tenant = "chaos";
    private const string VehicleId = "e2e-tls";
    private static readonly MosquittoUser Agent = MosquittoUser.Vehicle(Tenant, VehicleId);
    private static readonly MosquittoUser Observer = MosquittoUser.Reader("fleet-observer");
    private readonly MosquittoProcess _broker = new(new MosquittoSecurity { Tls = true, RequireCertificate = true, Devices = [Agent, Observer] });
    private readonly string _work = Path.Combine(Path.GetTempPath(), "fleet-e2e-tls-" + Guid.NewGuid().ToString("N")[..8]);

    public Task InitializeAsync() => _broker.StartAsync();

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Agent_should_deliver_everything_over_mutual_TLS_with_credentials_from_files()
    {
        var client = _broker.IssueClientCertificate(Agent.UserName, Path.Combine(_work, "credentials"));
        var observer = _broker.IssueClientCertificate(Observer.UserName, Path.Combine(_work, "credentials"));
        var observerSettings = BrokerSettings.TryParseUrl(_broker.Url, new BrokerSettings(), out _)! with
        {
            Tls = new BrokerTls { CaFile = _broker.CaFile, ClientCertificateFile = observer.CertificateFile, ClientKeyFile = observer.KeyFile },
        };
        await using var verifier = await MqttVerifier.StartAsync(observerSettings, "fleet/+/+/telemetry", "fleet/+/+/status", "e2e-tls-observer", persistentSession: false);
        var environment = new Dictionary<string, string>
        {
            ["MQTT_CA_FILE"] = _broker.CaFile,
            ["MQTT_CLIENT_CERT_FILE"] = client.CertificateFile,
            ["MQTT_CLIENT_KEY_FILE"] = client.KeyFile,
        };
        var overlay = ChaosScenarios.Overlay(_broker, VehicleId, Path.Combine(_work, "data"), obdRateHz: 20);
        await using var agent = AgentProcess.Start(overlay, _work, output.WriteLine, environment);

        Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", TimeSpan.FromSeconds(30)), "no batch was acknowledged");
        Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));

        Assert.True(await verifier.WaitUntilAsync(v => v.AllOfflineVehiclesComplete(1), TimeSpan.FromSeconds(20)));
        var vehicle = verifier.Verifier.Report().Vehicles.Single();
        Assert.Equal((VehicleId, 0L), (vehicle.VehicleId, vehicle.Missing));
        Assert.Equal(vehicle.StatusLastSequence, vehicle.HighestReceived);
        Assert.Contains(agent.Output, line => line.Contains($"Uplink online: 127.0.0.1:{_broker.Port}", StringComparison.Ordinal));
        Assert.DoesNotContain(agent.Output, line => line.Contains(" WRN]", StringComparison.Ordinal) || line.Contains(" ERR]", StringComparison.Ordinal));
    }
}
