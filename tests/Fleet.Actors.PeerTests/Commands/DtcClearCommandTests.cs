using Akka.Actor;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.PeerTests.Obd;
using Fleet.Actors.PeerTests.Support;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.PeerTests.Commands;

/// <summary>
/// DTC_CLEAR from the fleet to a car behind an ELM327 adapter on a pty: a signed command through the
/// broker, the agent's uplink and command actor to the OBD sensor; the adapter's side sees (or does
/// not see) the mode 04 request, and the car's stored codes are gone (or kept).
/// </summary>
public sealed class DtcClearCommandTests : SerialAgentTestKit
{
    private readonly FleetCommands _fleet;

    public DtcClearCommandTests(ITestOutputHelper output) : base(output)
    {
        _fleet = new FleetCommands(new VehicleIdentity(VehicleId, "acme"), output);
    }

    /// <inheritdoc />
    public override async Task DisposeAsync()
    {
        await _fleet.DisposeAsync();
        await base.DisposeAsync();
    }

    private FaultCodesValue[] Faults() => Broker.Records.Select(r => r.Value).OfType<FaultCodesValue>().ToArray();

    private async Task<IActorRef> StartAgentAsync(TimeSpan executionTimeout)
    {
        var settings = AgentSettings(Elm327AgentPortTests.Sensor(Pty.DevicePath, dtcInterval: TimeSpan.FromMilliseconds(500))) with
        {
            Commands = _fleet.Settings(executionTimeout),
        };
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, Metrics), VehicleAgent.ActorName(VehicleId));
        await _fleet.ConnectAsync(agent, Broker.Port);
        return agent;
    }

    [Fact]
    public async Task Dtc_clear_command_should_send_mode_04_to_the_car_and_succeed()
    {
        var car = Elm327AgentPortTests.Car();
        car.TroubleCodes.Enqueue("P0301");
        car.TroubleCodes.Enqueue("P0420");
        await StartAgentAsync(TimeSpan.FromSeconds(30));
        await using var adapter = new Elm327Peer(Pty, car);
        // The sensor reads: the car's codes reach the fleet.
        AwaitCondition(() => Faults().Any(f => f.Faults.Count == 2), Generous, TimeSpan.FromMilliseconds(50));
        Assert.DoesNotContain("04", car.Received);

        var responses = await _fleet.SendAsync(_fleet.DtcClear("obd"));

        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Succeeded], responses.Select(r => r.Status));
        Assert.Equal("sensor obd: trouble codes cleared", responses[^1].Message);
        Assert.Single(car.Received, c => c == "04");
        Assert.Empty(car.TroubleCodes);
        // Read again from the car afterwards: none left.
        AwaitCondition(() => Faults() is [.., { Faults.Count: 0 }], Generous, TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task Dtc_clear_command_while_the_adapter_is_unplugged_should_fail_at_once_naming_the_sensor_and_clear_nothing_until_it_is_back()
    {
        var car = Elm327AgentPortTests.Car();
        car.TroubleCodes.Enqueue("P0301");
        await StartAgentAsync(TimeSpan.FromSeconds(5));
        var adapter = new Elm327Peer(Pty, car);
        AwaitCondition(() => Faults().Any(f => f.Faults.Count == 1), Generous, TimeSpan.FromMilliseconds(50));
        await Pty.UnplugAsync();
        await adapter.DisposeAsync();
        AwaitCondition(() => MetricValues.Sensor(Metrics, "sensor_down", VehicleId, "obd") == 1, Generous, TimeSpan.FromMilliseconds(20));

        var responses = await _fleet.SendAsync(_fleet.DtcClear("obd"));

        // Answered at once, naming the sensor and its state: not left to run into the execution timeout.
        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Failed], responses.Select(r => r.Status));
        var final = responses[^1];
        Assert.Equal(CommandRefusals.ExecutionFailed, final.Reason);
        Assert.Matches(@"^sensor obd is (down \(its device failed; reconnecting\)|still opening its device)$", final.Message);
        Assert.DoesNotContain(responses, r => r.Status == ResponseStatus.Succeeded);
        Assert.DoesNotContain("04", car.Received);
        Assert.Equal(["P0301"], car.TroubleCodes);

        // Plugged back in, the same command (a new id) reaches the car.
        await Pty.PlugAsync();
        await using var replugged = new Elm327Peer(Pty, car);
        AwaitCondition(() => MetricValues.Sensor(Metrics, "sensor_down", VehicleId, "obd") == 0, Generous, TimeSpan.FromMilliseconds(20));
        var again = await _fleet.SendAsync(_fleet.DtcClear("obd"));
        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Succeeded], again.Select(r => r.Status));
        Assert.Single(car.Received, c => c == "04");
        Assert.Empty(car.TroubleCodes);
    }
}
