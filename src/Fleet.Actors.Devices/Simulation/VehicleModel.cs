using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Devices.Simulation;

/// <summary>Everything the simulated sensors can observe at one instant.</summary>
public readonly record struct VehicleState(
    double Latitude,
    double Longitude,
    double Heading,
    double Altitude,
    double Speed,
    double LongitudinalAcceleration,
    double LateralAcceleration,
    double YawRate,
    int Gear,
    double EngineRpm,
    double EngineLoad,
    double ThrottlePosition,
    double CoolantTemperature,
    double FuelLevel,
    double FuelRate,
    double OdometerKm,
    OperationalState State);

/// <summary>
/// A truck driving round a route in a seeded, repeatable drive cycle: stops, pull-aways, cruising,
/// speed changes and braking, now and then a harsh brake or a harsh acceleration. Speed, RPM, load,
/// fuel, coolant and accelerations are derived from the same motion, so they move together.
/// Thread-safe: every simulated sensor of the vehicle samples the same model.
/// </summary>
public sealed class VehicleModel
{
    private const double Gravity = 9.80665;
    private const double TankLitres = 400;
    private static readonly double[] GearTopSpeed = [2.5, 4.5, 6.5, 8.5, 11, 13.5, 16, 18.5, 21, 23.5, 26, 40];

    private readonly Route _route;
    private readonly Random _random;
    private readonly DateTimeOffset _start;
    private readonly double _startOffset;
    private readonly double _startFuel;
    private readonly List<Phase> _phases = new();
    private readonly List<Manoeuvre> _scripted = new();
    private readonly object _gate = new();

    /// <summary>Creates a vehicle that starts driving at <paramref name="start"/>.</summary>
    public VehicleModel(Route route, int seed, DateTimeOffset start)
    {
        _route = route;
        _random = new Random(seed);
        _start = start;
        _startOffset = _random.NextDouble() * route.Length;
        _startFuel = 55 + _random.NextDouble() * 40;
        _phases.Add(new Phase(0, 3 + _random.NextDouble() * 5, 0, 0, 0, PhaseKind.Stop));
    }

    /// <summary>How often harsh braking happens: chance that a stop is a harsh one.</summary>
    public double HarshBrakeProbability { get; init; } = 0.12;

    /// <summary>
    /// Scripts a manoeuvre on top of the drive cycle, for tests and demonstrations that need a harsh
    /// brake (or acceleration) at a known moment: from <paramref name="at"/> for <paramref name="duration"/>
    /// the longitudinal acceleration is <paramref name="acceleration"/> m/s² (negative: braking),
    /// whatever the cycle does then. Speed and position follow the cycle as before.
    /// </summary>
    public void Script(DateTimeOffset at, TimeSpan duration, double acceleration)
    {
        lock (_gate) _scripted.Add(new Manoeuvre(at, at + duration, acceleration));
    }

    /// <summary>The state at <paramref name="time"/> (times before the start give the start state).</summary>
    public VehicleState At(DateTimeOffset time)
    {
        var t = Math.Max(0, (time - _start).TotalSeconds);
        Phase phase;
        double? scripted = null;
        lock (_gate)
        {
            while (_phases[^1].End <= t) _phases.Add(NextPhase(_phases[^1]));
            phase = Find(t);
            foreach (var manoeuvre in _scripted)
                if (time >= manoeuvre.From && time < manoeuvre.To) scripted = manoeuvre.Acceleration;
        }

        var dt = t - phase.Start;
        var speed = Math.Max(0, phase.StartSpeed + phase.Acceleration * dt);
        var distance = phase.StartDistance + phase.StartSpeed * dt + 0.5 * phase.Acceleration * dt * dt;
        var (lat, lon, heading, curvature) = _route.At(_startOffset + distance);
        var lateral = Math.Clamp(speed * speed * curvature, -7, 7);
        var longitudinal = scripted ?? (speed <= 0 && phase.Acceleration < 0 ? 0 : phase.Acceleration);

        var gear = speed < 0.3 ? 0 : Array.FindIndex(GearTopSpeed, top => speed <= top) + 1;
        var gearLow = gear <= 1 ? 0 : GearTopSpeed[gear - 2];
        var gearHigh = gear == 0 ? 1 : GearTopSpeed[gear - 1];
        var rpm = gear == 0 ? 650 : 1000 + 900 * (speed - gearLow) / (gearHigh - gearLow);
        var load = Math.Clamp(18 + 9 * Math.Max(0, longitudinal) * 4 + speed * 1.2, 0, 100);
        if (gear == 0) load = 12;
        var throttle = Math.Clamp(longitudinal > 0 ? 25 + longitudinal * 25 : speed > 0.3 ? 12 + speed * 0.6 : 0, 0, 100);
        var fuelRate = gear == 0 ? 2.4 : 4 + load * 0.45;
        var hours = t / 3600;
        var km = distance / 1000;
        var fuelUsed = km * 0.33 + hours * 2.0;
        var fuelLevel = Math.Max(3, _startFuel - fuelUsed / TankLitres * 100);
        var coolant = 20 + (88 - 20) * (1 - Math.Exp(-t / 420));

        return new VehicleState(
            lat, lon, heading,
            Altitude: 12 + 9 * Math.Sin((_startOffset + distance) / 1500),
            Speed: speed,
            LongitudinalAcceleration: longitudinal,
            LateralAcceleration: lateral,
            YawRate: speed * curvature * 180 / Math.PI,
            Gear: gear,
            EngineRpm: rpm,
            EngineLoad: load,
            ThrottlePosition: throttle,
            CoolantTemperature: coolant,
            FuelLevel: fuelLevel,
            FuelRate: fuelRate,
            OdometerKm: 182_000 + km,
            State: speed > 0.3 ? OperationalState.Busy : OperationalState.Ready);
    }

    /// <summary>Deceleration above which braking counts as harsh (0.5 g, m/s², positive); the model's harsh brakes reach 5–7 m/s².</summary>
    public static double HarshBrakeDeceleration => 0.5 * Gravity;

    private Phase Find(double t)
    {
        int lo = 0, hi = _phases.Count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) >>> 1;
            if (_phases[mid].Start <= t) lo = mid;
            else hi = mid - 1;
        }
        return _phases[lo];
    }

    private Phase NextPhase(Phase previous)
    {
        var start = previous.End;
        var speed = Math.Max(0, previous.StartSpeed + previous.Acceleration * previous.Duration);
        var distance = previous.StartDistance + previous.StartSpeed * previous.Duration + 0.5 * previous.Acceleration * previous.Duration * previous.Duration;
        switch (previous.Kind)
        {
            case PhaseKind.Stop:
            {
                var harsh = _random.NextDouble() < 0.05;
                var accel = harsh ? 3.5 + _random.NextDouble() : 0.6 + _random.NextDouble();
                var target = 8 + _random.NextDouble() * 17;
                return new Phase(start, target / accel, 0, accel, distance, PhaseKind.Accelerate);
            }
            case PhaseKind.Accelerate or PhaseKind.ChangeSpeed:
                return new Phase(start, 20 + _random.NextDouble() * 100, speed, 0, distance, PhaseKind.Cruise);
            case PhaseKind.Cruise when _random.NextDouble() < 0.4:
            {
                var harsh = _random.NextDouble() < HarshBrakeProbability;
                var decel = harsh ? 5 + _random.NextDouble() * 2 : 1 + _random.NextDouble() * 1.5;
                return new Phase(start, speed / decel, speed, -decel, distance, PhaseKind.Brake);
            }
            case PhaseKind.Cruise:
            {
                var target = 8 + _random.NextDouble() * 17;
                var accel = (target > speed ? 1 : -1) * (0.4 + _random.NextDouble() * 0.8);
                return new Phase(start, Math.Max(0.5, (target - speed) / accel), speed, accel, distance, PhaseKind.ChangeSpeed);
            }
            default:
                return new Phase(start, 5 + _random.NextDouble() * 35, 0, 0, distance, PhaseKind.Stop);
        }
    }

    private enum PhaseKind
    {
        Stop,
        Accelerate,
        Cruise,
        ChangeSpeed,
        Brake,
    }

    private sealed record Manoeuvre(DateTimeOffset From, DateTimeOffset To, double Acceleration);

    private sealed record Phase(double Start, double Duration, double StartSpeed, double Acceleration, double StartDistance, PhaseKind Kind)
    {
        public double End => Start + Duration;
    }
}
