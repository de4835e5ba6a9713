using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Obd;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Devices.Vehicle;
using Akka.Actor;
using Fleet.Actors.PeerTests.Support;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.PeerTests.Obd;

/// <summary>A vehicle agent polling a car through an ELM327 adapter on a pty while the adapter is unplugged and plugged back in.</summary>
public sealed class Elm327AgentPortTests(ITestOutputHelper output) : SerialAgentTestKit(output)
{
    /// <summary>A car with engine speed, vehicle speed, coolant temperature and a VIN, behind an adapter that searches for 200 ms.</summary>
    internal static Elm327Simulator Car()
    {
        var car = new Elm327Simulator { SearchDelay = TimeSpan.FromMilliseconds(200) };
        car.SetPid(0x0C, 0x1A, 0xF8);
        car.SetPid(0x0D, 0x3C);
        car.SetPid(0x05, 0x7B);
        car.Vin = "1FTFW1ET5DFA12345";
        return car;
    }

    private SensorSettings Sensor(TimeSpan? dtcInterval = null) => Sensor(Pty.DevicePath, dtcInterval);

    /// <summary>The <c>obd</c> sensor polling three PIDs at 10 Hz through the adapter on <paramref name="port"/>, trouble codes every <paramref name="dtcInterval"/> (60 s).</summary>
    internal static SensorSettings Sensor(string port, TimeSpan? dtcInterval = null) => new()
    {
        Id = "obd",
        Type = "obd-elm327",
        RateHz = 10,
        StallTimeout = TimeSpan.FromSeconds(20),
        DriverOptions = new Elm327Options
        {
            Serial = new SerialOptions { Port = port, BaudRate = 38400 },
            Polls = [new ObdPoll(ObdPids.EngineRpm), new ObdPoll(ObdPids.VehicleSpeed), new ObdPoll(ObdPids.CoolantTemp)],
            CommandTimeout = TimeSpan.FromSeconds(2),
            FirstCommandTimeout = TimeSpan.FromSeconds(5),
            DtcInterval = dtcInterval ?? TimeSpan.FromSeconds(60),
        },
    };

    [Fact]
    public async Task Clearing_trouble_codes_by_command_should_clear_them_in_the_car_and_report_the_empty_list()
    {
        var car = Car();
        car.TroubleCodes.Enqueue("P0301");
        var settings = AgentSettings(Sensor(dtcInterval: TimeSpan.FromMilliseconds(500)));
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, Metrics), VehicleAgent.ActorName(VehicleId));
        await using var adapter = new Elm327Peer(Pty, car);
        FaultCodesValue[] Faults() => Broker.Records.Select(r => r.Value).OfType<FaultCodesValue>().ToArray();
        AwaitCondition(() => Faults().Any(f => f.Faults.Any(c => c.Code == "P0301")), Generous, TimeSpan.FromMilliseconds(50));

        var components = await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, Generous);
        var result = await components.Sensors.Ask<SensorCommandResult>(new SensorProtocol.Execute("obd", ObdCommands.ClearTroubleCodes.Instance), Generous);

        Assert.True(result.Success, result.Detail);
        Assert.Empty(car.TroubleCodes);
        AwaitCondition(() => Faults() is [.., { Faults.Count: 0 }], Generous, TimeSpan.FromMilliseconds(50));
        var refused = await components.Sensors.Ask<SensorCommandResult>(new SensorProtocol.Execute("obd", "reflash the ECU"), Generous);
        Assert.False(refused.Success);
        var outcome = await VehicleShutdown.RunAsync(agent, settings.DrainTimeout);
        Assert.True(outcome.Drained, $"shutdown: {outcome}");
    }

    [Fact]
    public async Task Adapter_unplugged_and_plugged_back_should_reconnect_and_every_accepted_reading_should_reach_the_broker()
    {
        var car = Car();
        var sensor = Sensor();

        var records = await UnplugAndReplugAsync(sensor, () => new Elm327Peer(Pty, car));

        // The car's values, and its VIN read once per open (so twice: before and after the unplug).
        var measurements = records.Select(r => r.Value).OfType<MeasurementValue>().ToList();
        Assert.All(measurements.Where(m => m.Name == "engine_rpm"), m => Assert.Equal(1726, m.Value));
        Assert.All(measurements.Where(m => m.Name == "vehicle_speed"), m => Assert.Equal(60, m.Value));
        Assert.Contains(measurements, m => m.Name == "coolant_temp" && m.Value == 83);
        Assert.Equal(2, records.Select(r => r.Value).OfType<VehicleInfoValue>().Count(v => v.Vin == "1FTFW1ET5DFA12345"));
    }
}
