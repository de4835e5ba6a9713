using System.IO.Ports;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Plc;
using Fleet.Actors.PeerTests.Modbus;
using Xunit.Abstractions;

namespace Fleet.Actors.PeerTests.Plc;

/// <summary>
/// HOCON <c>fleet.plcs</c>: every key, the defaults, problems under their full keys, and a PLC read
/// from configuration polling the libmodbus server (the settings reach the running actors).
/// </summary>
public sealed class PlcConfigTests(ITestOutputHelper output) : TestKit("akka.loglevel = INFO", output)
{
    private static (IReadOnlyList<PlcSettings> Plcs, IReadOnlyList<SettingsProblem> Problems) Read(string hocon)
    {
        var fleet = new ConfigReader(ConfigurationFactory.ParseString(hocon).GetConfig("fleet"), "fleet");
        var plcs = PlcConfig.Read(fleet);
        fleet.ReportUnknownKeys();
        return (plcs, fleet.Problems);
    }

    [Fact]
    public void PlcConfig_should_read_every_key_and_default_the_rest()
    {
        var (plcs, problems) = Read("""
            fleet.plcs = [
              { id = feed, host = "10.0.0.5", port = 1502, unit = 7, poll-interval = 500ms
                timeouts { call = 2s, connect = 4s, guard = 7s }
                breaker { max-failures = 5, reset-timeout = 1m }
                reconnect { min-backoff = 1s, max-backoff = 10s, random-factor = 0.1 }
                max-gap = 4, points = [ { name = temp, address = 30, data-type = f32 } ] }
              { id = pump, rtu = "/dev/ttyUSB0", baud = 9600, parity = none, stop-bits = 2,
                points = [ { name = run, address = 1, type = coil, writable = true } ] }
            ]
            """);

        Assert.Empty(problems);
        var feed = plcs[0];
        Assert.Equal(("feed", "10.0.0.5", 1502, (byte)7), (feed.Id, feed.Host, feed.Port, feed.UnitId));
        Assert.Equal(TimeSpan.FromMilliseconds(500), feed.PollInterval);
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(7)), (feed.CallTimeout, feed.ConnectTimeout, feed.Timeouts.GuardOrDefault));
        Assert.Equal((5, TimeSpan.FromMinutes(1)), (feed.MaxFailures, feed.ResetTimeout));
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), 0.1), (feed.MinBackoff, feed.MaxBackoff, feed.RandomFactor));
        Assert.Equal(4, feed.Map.Quirks.MaxGap);
        Assert.Equal(ModbusDataType.F32, feed.Map.Find("temp")!.DataType);
        var pump = plcs[1];
        Assert.Null(pump.Host);
        Assert.Equal(("/dev/ttyUSB0", 9600, Parity.None, StopBits.Two), (pump.Serial!.Port, pump.Serial.BaudRate, pump.Serial.Parity, pump.Serial.StopBits));
        // The defaults: 5 s per call, 10 s per connect, breaker 3 failures / 30 s, backoff from 5 s.
        Assert.Equal((TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), 3, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5)),
            (pump.CallTimeout, pump.ConnectTimeout, pump.MaxFailures, pump.ResetTimeout, pump.MinBackoff));
        Assert.Equal((byte)1, pump.UnitId);
        // After a timeout an RTU line is waited out as long as a call may take, unless said otherwise.
        Assert.Equal(pump.CallTimeout, pump.Timeouts.GuardOrDefault);
    }

    [Fact]
    public void PlcConfig_should_report_problems_under_their_full_keys()
    {
        var (_, problems) = Read("""
            fleet.plcs = [
              { id = a, host = h, rtu = "/dev/x", points = [ { name = t, address = 0 } ] }
              { id = a, host = h, framing = udp, unit = 300, colour = red, points = [ { name = t, address = 0 } ] }
            ]
            """);

        var keys = problems.Select(p => p.Key).ToList();
        Assert.Contains("fleet.plcs[0].host", keys);
        Assert.Contains("fleet.plcs[1].framing", keys);
        Assert.Contains("fleet.plcs[1].unit", keys);
        Assert.Contains("fleet.plcs[1].colour", keys);
        Assert.Contains(problems, p => p.Key == "fleet.plcs" && p.Problem.Contains("\"a\" is used more than once"));
    }

    [Fact]
    public void PlcConfig_should_refuse_polling_the_rtu_broadcast_unit_0_but_not_unit_0_over_tcp()
    {
        var (_, problems) = Read("""
            fleet.plcs = [
              { id = line, rtu = "/dev/ttyUSB0", unit = 0, points = [ { name = t, address = 0 } ] }
              { id = gateway, host = h, framing = rtu-over-tcp, unit = 0, points = [ { name = t, address = 0 } ] }
              { id = server, host = h, unit = 0, points = [ { name = t, address = 0 } ] }
            ]
            """);

        Assert.Equal(["fleet.plcs[0].unit", "fleet.plcs[1].unit"], problems.Select(p => p.Key).ToArray());
        Assert.All(problems, p => Assert.Contains("broadcast address", p.Problem, StringComparison.Ordinal));
    }

    [Fact]
    public async Task PlcSupervisor_should_poll_a_PLC_read_from_configuration()
    {
        await using var server = await ModbusServerPeer.StartTcpAsync();
        var (plcs, problems) = Read($$"""
            fleet.plcs = [ { id = conf-plc, host = "127.0.0.1", port = {{server.Port}}, poll-interval = 200ms,
              points = [ { name = in3, address = 3, type = input, unit = bar, interval = 200ms } ] } ]
            """);
        Assert.Empty(problems);
        var log = CreateTestProbe();

        Sys.ActorOf(PlcSupervisor.Props("truck-conf", plcs, log.Ref, new AgentMetrics()), "plcs");

        var batch = await log.ExpectMsgAsync<WalProtocol.LogReadings>(TimeSpan.FromSeconds(20));
        var reading = Assert.Single(batch.Readings);
        Assert.Equal("conf-plc", reading.DeviceId);
        Assert.Equal(new MeasurementValue("in3", 1003, "bar"), reading.Value);
    }
}
