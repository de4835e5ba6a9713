using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Obd;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.PeerTests.Support;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.PeerTests.Obd;

/// <summary>A vehicle agent polling a car through an ELM327 adapter on a pty while the adapter is unplugged and plugged back in.</summary>
public sealed class Elm327AgentPortTests(ITestOutputHelper output) : SerialAgentTestKit(output)
{
    [Fact]
    public async Task Adapter_unplugged_and_plugged_back_should_reconnect_and_every_accepted_reading_should_reach_the_broker()
    {
        var car = new Elm327Simulator { SearchDelay = TimeSpan.FromMilliseconds(200) };
        car.SetPid(0x0C, 0x1A, 0xF8);
        car.SetPid(0x0D, 0x3C);
        car.SetPid(0x05, 0x7B);
        car.Vin = "1FTFW1ET5DFA12345";
        var sensor = new SensorSettings
        {
            Id = "obd",
            Type = "obd-elm327",
            RateHz = 10,
            StallTimeout = TimeSpan.FromSeconds(20),
            DriverOptions = new Elm327Options
            {
                Serial = new SerialOptions { Port = Pty.DevicePath, BaudRate = 38400 },
                Polls = [new ObdPoll(ObdPids.EngineRpm), new ObdPoll(ObdPids.VehicleSpeed), new ObdPoll(ObdPids.CoolantTemp)],
                CommandTimeout = TimeSpan.FromSeconds(2),
                FirstCommandTimeout = TimeSpan.FromSeconds(5),
            },
        };

        var records = await UnplugAndReplugAsync(sensor, () => new Elm327Peer(Pty, car));

        // The car's values, and its VIN read once per open (so twice: before and after the unplug).
        var measurements = records.Select(r => r.Value).OfType<MeasurementValue>().ToList();
        Assert.All(measurements.Where(m => m.Name == "engine_rpm"), m => Assert.Equal(1726, m.Value));
        Assert.All(measurements.Where(m => m.Name == "vehicle_speed"), m => Assert.Equal(60, m.Value));
        Assert.Contains(measurements, m => m.Name == "coolant_temp" && m.Value == 83);
        Assert.Equal(2, records.Select(r => r.Value).OfType<VehicleInfoValue>().Count(v => v.Vin == "1FTFW1ET5DFA12345"));
    }
}
