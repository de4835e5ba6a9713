using Akka.Configuration;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Devices.Obd;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Tests.Obd;

/// <summary>The <c>obd-elm327</c> sensor keys, read through the registered factory as the agent reads them.</summary>
public sealed class Elm327OptionsTests
{
    private static (Elm327Options Options, IReadOnlyList<SettingsProblem> Problems) Read(string hocon)
    {
        Assert.True(SensorDriverRegistry.Default.TryGet("obd-elm327", out var factory));
        var reader = new ConfigReader(ConfigurationFactory.ParseString(hocon), "fleet.sensors[0]");
        // The agent reads the common keys itself; only the driver's own are read here.
        foreach (var common in new[] { "id", "type", "rate-hz" }) reader.String(common);
        var options = Assert.IsType<Elm327Options>(factory.ReadOptions(reader));
        reader.ReportUnknownKeys();
        return (options, reader.Problems);
    }

    [Fact]
    public void Every_key_should_be_read()
    {
        var (options, problems) = Read("""
            id = obd, type = obd-elm327, rate-hz = 2
            port = /dev/ttyUSB1, baud = 115200
            protocol = 6, headers = on
            pids = [ { pid = rpm, interval = 1s }, { pid = fuel_level, interval = 30s }, { pid = 0x05 }, { pid = 5E, interval = 500ms } ]
            dtc-interval = 2m, command-timeout = 750ms, first-command-timeout = 8s
            """);

        Assert.Empty(problems);
        Assert.Equal("/dev/ttyUSB1", options.Serial.Port);
        Assert.Equal(115200, options.Serial.BaudRate);
        Assert.Equal('6', options.Protocol);
        Assert.True(options.Headers);
        Assert.Equal(
            [new ObdPoll(ObdPids.EngineRpm, TimeSpan.FromSeconds(1)), new ObdPoll(ObdPids.FuelLevel, TimeSpan.FromSeconds(30)),
             new ObdPoll(ObdPids.CoolantTemp), new ObdPoll(ObdPids.FuelRate, TimeSpan.FromMilliseconds(500))],
            options.Polls);
        Assert.Equal(TimeSpan.FromMinutes(2), options.DtcInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(750), options.CommandTimeout);
        Assert.Equal(TimeSpan.FromSeconds(8), options.FirstCommandTimeout);
    }

    [Fact]
    public void Defaults_should_be_an_ELM327_at_38400_baud_searching_the_protocol_and_polling_the_fleet_PIDs()
    {
        var (options, problems) = Read("port = /dev/ttyUSB0");

        Assert.Empty(problems);
        Assert.Equal(38400, options.Serial.BaudRate);
        Assert.Equal('0', options.Protocol);
        Assert.False(options.Headers);
        Assert.Equal(["engine_rpm", "vehicle_speed", "engine_load", "throttle_position", "fuel_rate", "coolant_temp", "fuel_level"],
            options.Polls.Select(p => p.Pid.Name));
        Assert.Equal(TimeSpan.FromSeconds(60), options.DtcInterval);
        Assert.Equal(TimeSpan.FromSeconds(1), options.CommandTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.FirstCommandTimeout);
    }

    [Theory]
    [InlineData("pids = [ { pid = rpm }, { pid = rpms } ]", "fleet.sensors[0].pids[1].pid", "unknown PID \"rpms\"")]
    [InlineData("pids = [ { pid = 0x46 } ]", "fleet.sensors[0].pids[0].pid", "unknown PID")]
    [InlineData("pids = [ { interval = 1s } ]", "fleet.sensors[0].pids[0].pid", "is required")]
    [InlineData("pids = [ { pid = rpm }, { pid = engine_rpm } ]", "fleet.sensors[0].pids[1].pid", "already polled (pids[0])")]
    [InlineData("pids = [ { pid = rpm, interval = 0s } ]", "fleet.sensors[0].pids[0].interval", "must be longer than 0")]
    [InlineData("pids = [ { pid = rpm, interval = -1s } ]", "fleet.sensors[0].pids[0].interval", "must be a duration")]
    [InlineData("pids = [ { pid = rpm, interval = soon } ]", "fleet.sensors[0].pids[0].interval", "must be a duration")]
    [InlineData("pids = [ { pid = rpm, intervall = 1s } ]", "fleet.sensors[0].pids[0].intervall", "not a known setting")]
    [InlineData("pids = [ \"rpm\" ]", "fleet.sensors[0].pids[0]", "must be an object")]
    // ConfigReader does not tell an empty list from a non-list; either way the key is named.
    [InlineData("pids = []", "fleet.sensors[0].pids", "must list at least one PID")]
    [InlineData("pids = rpm", "fleet.sensors[0].pids", "must be a list")]
    [InlineData("protocol = Z", "fleet.sensors[0].protocol", "must be auto, 1..9, A, B or C")]
    [InlineData("protocol = 10", "fleet.sensors[0].protocol", "must be auto")]
    [InlineData("headers = maybe", "fleet.sensors[0].headers", "must be on or off")]
    [InlineData("dtc-interval = 0s", "fleet.sensors[0].dtc-interval", "must be longer than 0")]
    [InlineData("command-timeout = 0ms", "fleet.sensors[0].command-timeout", "must be longer than 0")]
    [InlineData("first-command-timeout = 0s", "fleet.sensors[0].first-command-timeout", "must be longer than 0")]
    [InlineData("first-command-timeout = -5s", "fleet.sensors[0].first-command-timeout", "must be a duration")]
    [InlineData("pid-list = []", "fleet.sensors[0].pid-list", "not a known setting")]
    public void Bad_values_should_be_problems_naming_the_key(string hocon, string key, string problem)
    {
        var (_, problems) = Read("port = /dev/ttyUSB0\n" + hocon);

        var found = Assert.Single(problems);
        Assert.Equal(key, found.Key);
        Assert.Contains(problem, found.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_port_or_a_replay_should_be_required()
    {
        var (_, problems) = Read("protocol = auto");
        Assert.Equal("fleet.sensors[0].port", Assert.Single(problems).Key);
    }

    [Theory]
    [InlineData(0, 10, "rate-hz")]
    [InlineData(50, 10, "rate-hz")]
    [InlineData(1, 8, "stall-timeout")]
    public void Validate_should_refuse_a_rate_or_stall_timeout_the_adapter_cannot_keep(double rateHz, int stallSeconds, string key)
    {
        Assert.True(SensorDriverRegistry.Default.TryGet("obd-elm327", out var factory));
        var settings = new SensorSettings
        {
            Id = "obd",
            Type = "obd-elm327",
            RateHz = rateHz,
            StallTimeout = TimeSpan.FromSeconds(stallSeconds),
            DriverOptions = Read("port = /dev/ttyUSB0").Options,
        };

        Assert.Equal([key], factory.Validate(settings).Select(p => p.Key));
    }

    [Fact]
    public async Task Validate_should_accept_the_defaults_and_the_factory_create_the_driver()
    {
        Assert.True(SensorDriverRegistry.Default.TryGet("obd-elm327", out var factory));
        var settings = new SensorSettings { Id = "obd", Type = "obd-elm327", DriverOptions = Read("port = /dev/ttyUSB0").Options };

        Assert.Empty(factory.Validate(settings));
        await using var driver = factory.Create(settings, new DriverContext("truck", TimeProvider.System, null!));
        Assert.IsType<Elm327Driver>(driver);
    }
}
