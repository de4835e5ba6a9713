using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Can;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Devices.Simulation;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.PeerTests.Can;

/// <summary>
/// A <c>j1939-slcan</c> sensor as the vehicle agent runs it (supervisor, sensor actor, driver from
/// the default registry) on a pseudo-terminal, with a simulated SLCAN adapter on the other end.
/// </summary>
public sealed class SlcanSensorTests(ITestOutputHelper output) : TestKit("akka.loglevel = INFO", output), IAsyncLifetime
{
    private const string VehicleId = "truck-can";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(15);
    private SocatPty _pty = null!;

    public async Task InitializeAsync() => _pty = await SocatPty.StartAsync();

    public async Task DisposeAsync() => await _pty.DisposeAsync();

    [Fact]
    public async Task SLCAN_sensor_should_set_the_adapter_up_and_log_the_decoded_J1939_bus()
    {
        using var peer = _pty.OpenPeer();
        var adapter = new SlcanAdapterPeer(peer);
        var setup = Task.Run(() => adapter.AnswerSetup(4, Generous));
        var log = CreateTestProbe("log");
        var sensor = new SensorSettings
        {
            Id = "can-1",
            Type = SlcanDriver.TypeName,
            DriverOptions = new SlcanOptions(new SerialOptions { Port = _pty.DevicePath, BaudRate = 115_200 }, 250_000, true, new J1939Options()),
        };
        var metrics = new AgentMetrics();
        var context = new DriverContext(VehicleId, TimeProvider.System,
            SimulationContext.For(VehicleId, new SimulationSettings(), TimeProvider.System), metrics);
        Sys.ActorOf(SensorSupervisor.Props(VehicleId, [sensor], SensorDriverRegistry.Default, context, log.Ref, metrics), "sensors");

        Assert.Equal(["C\r", "S5\r", "Z0\r", "L\r"], await setup);
        adapter.Send(SlcanAdapterPeer.TruckBus());

        var logged = new List<Reading>();
        while (logged.Count < 7)
            logged.AddRange((await log.ExpectMsgAsync<WalProtocol.LogReadings>(Generous)).Readings);

        Assert.All(logged, r => Assert.Equal("can-1", r.DeviceId));
        Assert.Equal(
            [
                new MeasurementValue("engine_torque", 25, "%"),
                new MeasurementValue("engine_rpm", 621, "rpm"),
                new MeasurementValue("vehicle_speed", 80, "km/h"),
                new MeasurementValue("parking_brake", 0, "bool"),
                new MeasurementValue("coolant_temp", 90, "°C"),
                new FaultCodesValue("j1939", [new FaultCode("SPN 110 FMI 0", 110, 0, 3), new FaultCode("SPN 100 FMI 1", 100, 1, 1)], true, 0x00),
                new TyreValue(0x12, 800, 40),
            ],
            logged.Select(r => r.Value));
        // The proprietary message was counted, through the driver the registry made, before the tyre was read.
        var exported = await metrics.ExportAsync();
        Assert.Contains("j1939_unknown_pgn_total{vehicle_id=\"truck-can\",sensor=\"can-1\"} 1", exported, StringComparison.Ordinal);
    }
}
