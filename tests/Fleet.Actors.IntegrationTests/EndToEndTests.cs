using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;
using Fleet.Actors.Host.Verification;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests;

/// <summary>The agent process against a real mosquitto, checked by the fleet-side verifier.</summary>
public sealed class EndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly MosquittoProcess _broker = new();
    private readonly string _work = Path.Combine(Path.GetTempPath(), "fleet-e2e-" + Guid.NewGuid().ToString("N")[..8]);

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
    public async Task Agent_should_deliver_every_accepted_reading_and_say_goodbye_on_SIGTERM()
    {
        await using var verifier = await MqttVerifier.StartAsync(new BrokerSettings { Host = "127.0.0.1", Port = _broker.Port },
            "fleet/+/+/telemetry", "fleet/+/+/status", "e2e-verifier", persistentSession: false);
        var overlay = ChaosScenarios.Overlay(_broker, "e2e-truck", Path.Combine(_work, "data"), obdRateHz: 50);
        await using var agent = AgentProcess.Start(overlay, _work, output.WriteLine);

        Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", TimeSpan.FromSeconds(30)), "no batch was acknowledged");
        Assert.True(await agent.WaitForOutputAsync("sensors 3/3", TimeSpan.FromSeconds(10)), "the console summary did not show three sensors");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));

        Assert.True(await verifier.WaitUntilAsync(v => v.AllOfflineVehiclesComplete(1), TimeSpan.FromSeconds(20)));
        var vehicle = verifier.Verifier.Report().Vehicles.Single();
        output.WriteLine($"received {vehicle.Received}, duplicates {vehicle.Duplicates}, last {vehicle.StatusLastSequence}");
        Assert.Equal("e2e-truck", vehicle.VehicleId);
        Assert.Equal(0, vehicle.Missing);
        Assert.Equal(vehicle.StatusLastSequence, vehicle.HighestReceived);
        Assert.True(vehicle.Received > 500, $"only {vehicle.Received} readings in several seconds at ~470/s");
        Assert.Contains(agent.Output, line => line.Contains("fully drained", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Restarted_agent_should_continue_the_sequence_where_it_stopped()
    {
        await using var verifier = await MqttVerifier.StartAsync(new BrokerSettings { Host = "127.0.0.1", Port = _broker.Port },
            "fleet/+/+/telemetry", "fleet/+/+/status", "e2e-restart", persistentSession: false);
        var overlay = ChaosScenarios.Overlay(_broker, "e2e-restart", Path.Combine(_work, "data"), obdRateHz: 20);
        for (var run = 0; run < 2; run++)
        {
            await using var agent = AgentProcess.Start(overlay, _work, output.WriteLine);
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", TimeSpan.FromSeconds(30)));
            Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));
        }

        Assert.True(await verifier.WaitUntilAsync(v => v.AllOfflineVehiclesComplete(1), TimeSpan.FromSeconds(20)));
        var vehicle = verifier.Verifier.Report().Vehicles.Single();
        Assert.Equal(0, vehicle.Missing);
        Assert.Equal(0, vehicle.Duplicates);
    }
}
