using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Imu;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Simulation;

/// <summary>A GPS receiver: a fix per sample with metre-level noise.</summary>
public sealed class SimulatedGpsDriver(SensorSettings settings, DriverContext context) : SimulatedDriver(settings, context)
{
    /// <summary>Configuration type name.</summary>
    public const string TypeName = "sim-gps";
    private const double MetresPerDegree = 111_320;
    private double _lastHeading;

    protected override IEnumerable<ReadingValue> Sample(long timestampMs, VehicleState state)
    {
        var accuracy = 1.5 + Random.NextDouble() * 2.5;
        var northError = Noise(accuracy / 2);
        var eastError = Noise(accuracy / 2);
        var speed = Math.Max(0, state.Speed + Noise(0.1));
        // Below walking pace a receiver's course is noise; keep the last good one.
        if (state.Speed > 0.5) _lastHeading = (state.Heading + Noise(0.5) + 360) % 360;
        yield return new PositionValue(
            state.Latitude + northError / MetresPerDegree,
            state.Longitude + eastError / (MetresPerDegree * Math.Cos(state.Latitude * Math.PI / 180)),
            _lastHeading,
            state.Altitude + Noise(accuracy),
            speed,
            Math.Round(accuracy, 2));
    }

    protected override string GarbageFrame() => "$GPGGA,1234\u0001\u0007,53.54,N,,*7Z";

    protected override ReadingValue ImpossibleValue() => new PositionValue(123.4, 9.96, 0);
}

/// <summary>An OBD-II adapter polling the usual mode 01 PIDs, plus a periodic vehicle status.</summary>
public sealed class SimulatedObdDriver(SensorSettings settings, DriverContext context) : SimulatedDriver(settings, context)
{
    /// <summary>Configuration type name.</summary>
    public const string TypeName = "sim-obd";
    private const int StatusEvery = 5;
    private long _samples;

    protected override IEnumerable<ReadingValue> Sample(long timestampMs, VehicleState state)
    {
        yield return new MeasurementValue("engine_rpm", Math.Round(Math.Max(0, state.EngineRpm + Noise(8)), 1), "rpm");
        yield return new MeasurementValue("vehicle_speed", Math.Round(state.Speed * 3.6), "km/h");
        yield return new MeasurementValue("coolant_temp", Math.Round(state.CoolantTemperature + Noise(0.3)), "°C");
        yield return new MeasurementValue("engine_load", Math.Round(state.EngineLoad, 1), "%");
        yield return new MeasurementValue("throttle_position", Math.Round(state.ThrottlePosition, 1), "%");
        yield return new MeasurementValue("fuel_rate", Math.Round(state.FuelRate, 2), "L/h");
        yield return new MeasurementValue("fuel_level", Math.Round(state.FuelLevel, 1), "%");
        if (_samples++ % StatusEvery == 0)
            yield return new StatusValue(state.State, Math.Round(state.FuelLevel, 1), 100, AssistState.None);
    }

    protected override string GarbageFrame() => "41 0C 1A\u00FF?\r\r>";

    protected override ReadingValue ImpossibleValue() => new MeasurementValue("engine_rpm", double.NaN, "rpm");
}

/// <summary>
/// An inertial sensor: vehicle-frame accelerations and yaw rate with vibration noise, and the
/// harsh brakes, accelerations and corners that a <see cref="HarshDrivingDetector"/> (default
/// thresholds) finds in them, as <see cref="DrivingEventValue"/>s stamped with the sample that ended them.
/// </summary>
public sealed class SimulatedImuDriver(SensorSettings settings, DriverContext context) : SimulatedDriver(settings, context)
{
    /// <summary>Configuration type name.</summary>
    public const string TypeName = "sim-imu";
    private const double Gravity = 9.80665;
    private readonly HarshDrivingDetector _detector = new(new HarshDrivingSettings());
    private readonly List<TimedValue> _events = new();

    protected override IEnumerable<ReadingValue> Sample(long timestampMs, VehicleState state)
    {
        var vibration = state.Speed > 0.3 ? 0.15 : 0.03;
        // The wire's frame: y left, z up, yaw anticlockwise; the model's lateral acceleration and yaw
        // rate are positive to the right (clockwise seen from above), hence the signs.
        var motion = new MotionValue(
            Math.Round(state.LongitudinalAcceleration + Noise(vibration), 3),
            Math.Round(-state.LateralAcceleration + Noise(vibration), 3),
            Math.Round(Gravity + Noise(vibration * 1.5), 3),
            Math.Round(Noise(0.2), 2),
            Math.Round(Noise(0.2), 2),
            Math.Round(-state.YawRate + Noise(0.2), 2));
        // Fed before anything is yielded, so the detector sees every sample even if enumeration stops early.
        _events.Clear();
        _detector.Add(timestampMs, motion.AccelX, motion.AccelY, _events);
        yield return motion;
        foreach (var detected in _events) yield return detected.Value;
    }

    protected override string GarbageFrame() => "\u00A5\u0000\u0013\u00FF";

    protected override ReadingValue ImpossibleValue() => new MotionValue(412, 0, 9.8);
}
