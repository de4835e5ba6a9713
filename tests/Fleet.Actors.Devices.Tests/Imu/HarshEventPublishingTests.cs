using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Imu;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;
using Fleet.Actors.Devices.Tests.Support;
using Xunit.Abstractions;

namespace Fleet.Actors.Devices.Tests.Imu;

/// <summary>
/// Harsh-driving events reach subscribers: a sensor actor publishes every valid driving event it
/// hands to the log as <see cref="HarshDrivingDetected"/> on the EventStream. A TestProbe stands in
/// for the write-ahead log, another subscribes to the EventStream as an alert rule or camera would.
/// </summary>
public sealed class HarshEventPublishingTests : TestKit
{
    private const string VehicleId = "truck-harsh";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly AgentMetrics _metrics = new();
    private readonly TestProbe _log;
    private readonly TestProbe _subscriber;

    public HarshEventPublishingTests(ITestOutputHelper output) : base("akka.loglevel = INFO", output)
    {
        _log = CreateTestProbe("log");
        _subscriber = CreateTestProbe("alerts");
        Sys.EventStream.Subscribe(_subscriber.Ref, typeof(HarshDrivingDetected));
    }

    private void StartSensors(SensorDriverRegistry registry, SimulationContext simulation, params SensorSettings[] sensors)
    {
        var context = new DriverContext(VehicleId, TimeProvider.System, simulation);
        Sys.ActorOf(SensorSupervisor.Props(VehicleId, sensors, registry, context, _log.Ref, _metrics), "sensors");
    }

    [Fact]
    public void SensorActor_should_publish_valid_driving_events_after_telling_them_to_the_log()
    {
        var fakes = new FakeDriverFactory();
        StartSensors(new SensorDriverRegistry().Register(fakes), SimulationContext.For(VehicleId, new SimulationSettings(), TimeProvider.System),
            new SensorSettings { Id = "imu-1", Type = FakeDriverFactory.TypeName });
        var brake = new DrivingEventValue(DrivingEventTypes.HarshBrake, 5.2, TimeSpan.FromMilliseconds(800));
        var corner = new DrivingEventValue(DrivingEventTypes.HarshCornering, 4.1, TimeSpan.FromMilliseconds(450));

        fakes.Device("imu-1").Feed(new SensorRead(
        [
            new TimedValue(1_740_000_000_000, new MotionValue(-5.1, 0.2, 9.8)),
            new TimedValue(1_740_000_000_100, brake),
            // Invalid: dropped and counted by validation, so never published.
            new TimedValue(1_740_000_000_100, new DrivingEventValue(DrivingEventTypes.HarshBrake, double.NaN, TimeSpan.FromSeconds(1))),
            new TimedValue(1_740_000_000_200, corner),
        ], []));

        var logged = _log.ExpectMsg<WalProtocol.LogReadings>(Patience);
        Assert.Equal([new MotionValue(-5.1, 0.2, 9.8), brake, corner], logged.Readings.Select(r => r.Value));
        Assert.Equal(new HarshDrivingDetected(VehicleId, "imu-1", 1_740_000_000_100, brake), _subscriber.ExpectMsg<HarshDrivingDetected>(Patience));
        Assert.Equal(new HarshDrivingDetected(VehicleId, "imu-1", 1_740_000_000_200, corner), _subscriber.ExpectMsg<HarshDrivingDetected>(Patience));
        // The motion sample and the invalid event were not published.
        _subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void Simulated_mpu6050_under_the_supervisor_should_log_and_publish_the_trucks_harsh_brake()
    {
        // Seed 2 brakes harshly about 220 s into its drive: start the model so that "now" is two seconds before that.
        const int seed = 2;
        var brakeAt = FirstHarshBrake(seed);
        var model = new VehicleModel(Route.HamburgPort, seed, DateTimeOffset.UtcNow - brakeAt + TimeSpan.FromSeconds(2));
        StartSensors(SensorDriverRegistry.Default, new SimulationContext(model, seed), new SensorSettings
        {
            Id = "imu",
            Type = ImuDriverFactory.TypeName,
            RateHz = 50,
            DriverOptions = new ImuOptions { Simulated = true, Axes = AxisMapping.Parse("-y,x,z") },
        });

        var logged = _log.FishForMessage<WalProtocol.LogReadings>(
            m => m.Readings.Any(r => r.Value is DrivingEventValue { Type: DrivingEventTypes.HarshBrake }), Patience);
        var reading = logged.Readings.Single(r => r.Value is DrivingEventValue { Type: DrivingEventTypes.HarshBrake });
        var value = (DrivingEventValue)reading.Value;
        Assert.Equal("imu", reading.DeviceId);
        Assert.InRange(value.Magnitude, 4.5, 8);
        Assert.True(value.Duration >= TimeSpan.FromMilliseconds(300), $"lasted {value.Duration}");

        var published = _subscriber.FishForMessage<HarshDrivingDetected>(e => e.Event.Type == DrivingEventTypes.HarshBrake, Patience);
        Assert.Equal(new HarshDrivingDetected(VehicleId, "imu", reading.TimestampMs, value), published);
    }

    private static TimeSpan FirstHarshBrake(int seed)
    {
        var start = new DateTimeOffset(2025, 3, 1, 6, 0, 0, TimeSpan.Zero);
        var probe = new VehicleModel(Route.HamburgPort, seed, start);
        for (var t = 0.0; t < 3600; t += 0.05)
            if (probe.At(start.AddSeconds(t)).LongitudinalAcceleration <= -5)
                return TimeSpan.FromSeconds(t);
        throw new InvalidOperationException($"seed {seed} never brakes harshly in an hour");
    }
}
