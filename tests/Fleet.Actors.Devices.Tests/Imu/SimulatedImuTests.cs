using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Imu;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;
using Microsoft.Extensions.Time.Testing;

namespace Fleet.Actors.Devices.Tests.Imu;

/// <summary>
/// The simulated IMU (<c>sim-imu</c>) and the simulated MPU-6050 (<c>imu-mpu6050</c>, simulated)
/// observe the same truck the same way: the wire's frame (x forward, y left, z up, yaw anticlockwise)
/// and the same harsh-driving events.
/// </summary>
public sealed class SimulatedImuTests
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 6, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>Seed 2 brakes harshly about 220 s into its drive (see VehicleModelTests).</summary>
    private const int HarshSeed = 2;

    private static async Task<List<TimedValue>> Drive(FakeTimeProvider time, ISensorDriver driver, TimeSpan duration)
    {
        await driver.OpenAsync(CancellationToken.None);
        var values = new List<TimedValue>();
        for (var elapsed = TimeSpan.Zero; elapsed < duration; elapsed += TimeSpan.FromSeconds(2))
        {
            time.Advance(TimeSpan.FromSeconds(2));
            values.AddRange((await driver.ReadAsync(CancellationToken.None).WaitAsync(Patience)).Values);
        }
        return values;
    }

    private static SimulatedImuDriver SimImu(FakeTimeProvider time, VehicleModel model) =>
        new(new SensorSettings { Id = "imu", Type = SimulatedImuDriver.TypeName, RateHz = 10 },
            new DriverContext("truck-sim-imu", time, new SimulationContext(model, HarshSeed)));

    [Fact]
    public async Task Sim_imu_should_report_the_trucks_harsh_brake_as_one_event()
    {
        var time = new FakeTimeProvider(Start);
        var model = new VehicleModel(Route.HamburgPort, HarshSeed, Start);
        await using var driver = SimImu(time, model);

        var values = await Drive(time, driver, TimeSpan.FromMinutes(5));

        var brakes = values.Where(v => v.Value is DrivingEventValue { Type: DrivingEventTypes.HarshBrake }).ToList();
        Assert.NotEmpty(brakes);
        foreach (var brake in brakes)
        {
            var value = (DrivingEventValue)brake.Value;
            Assert.True(value.Duration >= TimeSpan.FromMilliseconds(300), $"lasted {value.Duration}");
            Assert.True(value.Magnitude >= 3.9, $"peak {value.Magnitude}");
            // The model was braking harshly (not just gently) in the middle of the event.
            var during = model.At(DateTimeOffset.FromUnixTimeMilliseconds(brake.TimestampMs) - value.Duration / 2);
            Assert.True(during.LongitudinalAcceleration <= -3.9, $"the model was at {during.LongitudinalAcceleration} m/s² during the event");
        }
        // With harsh braking turned off, the same drive has no harsh brake.
        var calm = new VehicleModel(Route.HamburgPort, HarshSeed, Start) { HarshBrakeProbability = 0 };
        var calmTime = new FakeTimeProvider(Start);
        await using var calmDriver = SimImu(calmTime, calm);
        Assert.DoesNotContain(await Drive(calmTime, calmDriver, TimeSpan.FromMinutes(5)),
            v => v.Value is DrivingEventValue { Type: DrivingEventTypes.HarshBrake });
    }

    [Fact]
    public async Task Sim_imu_should_report_lateral_acceleration_to_the_left_and_yaw_anticlockwise_as_positive()
    {
        var time = new FakeTimeProvider(Start);
        var model = new VehicleModel(Route.HamburgPort, 8, Start);
        await using var driver = SimImu(time, model);
        int cornering = 0;

        foreach (var value in await Drive(time, driver, TimeSpan.FromMinutes(15)))
        {
            if (value.Value is not MotionValue motion) continue;
            var truth = model.At(DateTimeOffset.FromUnixTimeMilliseconds(value.TimestampMs));
            // The model's lateral acceleration and yaw rate are positive in a right-hand turn.
            if (Math.Abs(truth.LateralAcceleration) < 1 || Math.Abs(truth.YawRate) < 2) continue;
            cornering++;
            Assert.Equal(-Math.Sign(truth.LateralAcceleration), Math.Sign(motion.AccelY));
            Assert.Equal(-Math.Sign(truth.YawRate), Math.Sign(motion.GyroZ!.Value));
        }
        Assert.True(cornering > 20, $"only {cornering} samples in corners");
    }
}
