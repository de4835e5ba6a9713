using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Imu;

/// <summary>The <see cref="DrivingEventValue.Type"/> names of the harsh-driving events.</summary>
public static class DrivingEventTypes
{
    /// <summary>Longitudinal deceleration above the brake threshold.</summary>
    public const string HarshBrake = "harsh_brake";

    /// <summary>Longitudinal acceleration above the acceleration threshold.</summary>
    public const string HarshAcceleration = "harsh_acceleration";

    /// <summary>Lateral acceleration (either side) above the cornering threshold.</summary>
    public const string HarshCornering = "harsh_cornering";
}

/// <summary>
/// Thresholds of the harsh-driving detector (HOCON: the <c>harsh { ... }</c> section of an IMU
/// sensor). Accelerations in m/s²; the defaults are the usual telematics values for trucks.
/// </summary>
public sealed record HarshDrivingSettings
{
    /// <summary>Deceleration that starts a harsh brake (3.9 m/s² ≈ 0.4 g).</summary>
    public double Brake { get; init; } = 3.9;

    /// <summary>Acceleration that starts a harsh acceleration (3.4 m/s² ≈ 0.35 g).</summary>
    public double Acceleration { get; init; } = 3.4;

    /// <summary>Lateral acceleration that starts a harsh cornering (3.9 m/s² ≈ 0.4 g).</summary>
    public double Cornering { get; init; } = 3.9;

    /// <summary>An episode ends when the signal falls below this fraction of its entry threshold (hysteresis).</summary>
    public double ExitRatio { get; init; } = 0.7;

    /// <summary>Episodes shorter than this (a pothole, a door slam) are not events.</summary>
    public TimeSpan MinDuration { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>An episode still going after this long is reported then (once), not only when it ends.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time constant of a first-order low-pass filter on the signal; zero for none.</summary>
    public TimeSpan Smoothing { get; init; } = TimeSpan.Zero;

    /// <summary>Reads the <c>harsh</c> section; problems go to <paramref name="harsh"/> with their full keys.</summary>
    public static HarshDrivingSettings Read(ConfigReader harsh)
    {
        var defaults = new HarshDrivingSettings();
        var settings = new HarshDrivingSettings
        {
            Brake = harsh.Double("brake", defaults.Brake, 0.1, 100),
            Acceleration = harsh.Double("acceleration", defaults.Acceleration, 0.1, 100),
            Cornering = harsh.Double("cornering", defaults.Cornering, 0.1, 100),
            ExitRatio = harsh.Double("exit-ratio", defaults.ExitRatio, 0.05, 1),
            MinDuration = harsh.Duration("min-duration", defaults.MinDuration, TimeSpan.Zero, TimeSpan.FromMinutes(1)),
            MaxDuration = harsh.Duration("max-duration", defaults.MaxDuration, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1)),
            Smoothing = harsh.Duration("smoothing", defaults.Smoothing, TimeSpan.Zero, TimeSpan.FromSeconds(10)),
        };
        if (settings.MaxDuration < settings.MinDuration) harsh.Problem("max-duration", "must not be less than min-duration");
        return settings;
    }
}

/// <summary>
/// Finds harsh brakes, harsh accelerations and harsh cornering in a stream of vehicle-frame
/// accelerations. Pure and single-threaded: feed it samples in time order with <see cref="Add"/>.
/// <para>
/// Each kind is an episode detector with hysteresis: an episode starts when the (optionally
/// smoothed) signal reaches the entry threshold and ends at the first sample below
/// <c>exit-ratio</c> × entry. An episode that lasted at least <c>min-duration</c> gives exactly one
/// <see cref="DrivingEventValue"/> when it ends (or, if it goes on, once it reaches
/// <c>max-duration</c>), stamped with the time of that sample, with the episode's peak |a| (m/s²) as
/// magnitude and its length so far as duration: it began <c>Duration</c> before its timestamp.
/// </para>
/// </summary>
public sealed class HarshDrivingDetector
{
    // Keeps TimeSpan arithmetic finite for absurd timestamps (about 31 years).
    private const double LongestReportableMs = 1e12;

    private readonly Episode _brake;
    private readonly Episode _acceleration;
    private readonly Episode _cornering;
    private readonly double _smoothingMs;
    private double _longitudinal;
    private double _lateral;
    private long _lastMs;
    private bool _started;

    /// <summary>A detector with <paramref name="settings"/>.</summary>
    public HarshDrivingDetector(HarshDrivingSettings settings)
    {
        Settings = settings;
        var min = settings.MinDuration.TotalMilliseconds;
        var max = settings.MaxDuration.TotalMilliseconds;
        _brake = new Episode(DrivingEventTypes.HarshBrake, settings.Brake, settings.ExitRatio, min, max);
        _acceleration = new Episode(DrivingEventTypes.HarshAcceleration, settings.Acceleration, settings.ExitRatio, min, max);
        _cornering = new Episode(DrivingEventTypes.HarshCornering, settings.Cornering, settings.ExitRatio, min, max);
        _smoothingMs = settings.Smoothing.TotalMilliseconds;
    }

    /// <summary>The thresholds in use.</summary>
    public HarshDrivingSettings Settings { get; }

    /// <summary>
    /// Adds one sample: <paramref name="longitudinal"/> (forward positive, so braking is negative) and
    /// <paramref name="lateral"/> acceleration in m/s². Events that this sample completes are added to
    /// <paramref name="events"/>. Samples older than the last one and non-finite values are ignored.
    /// </summary>
    public void Add(long timestampMs, double longitudinal, double lateral, ICollection<TimedValue> events)
    {
        if (!double.IsFinite(longitudinal) || !double.IsFinite(lateral)) return;
        if (_started && timestampMs < _lastMs) return;

        if (_started && _smoothingMs > 0)
        {
            var alpha = 1 - Math.Exp(-((double)timestampMs - _lastMs) / _smoothingMs);
            _longitudinal += alpha * (longitudinal - _longitudinal);
            _lateral += alpha * (lateral - _lateral);
        }
        else
        {
            _longitudinal = longitudinal;
            _lateral = lateral;
        }
        _started = true;
        _lastMs = timestampMs;

        _brake.Add(timestampMs, -_longitudinal, events);
        _acceleration.Add(timestampMs, _longitudinal, events);
        _cornering.Add(timestampMs, Math.Abs(_lateral), events);
    }

    private sealed class Episode(string type, double entry, double exitRatio, double minMs, double maxMs)
    {
        private readonly double _exit = entry * exitRatio;
        private bool _active;
        private bool _reported;
        private long _startMs;
        private double _peak;

        public void Add(long timestampMs, double value, ICollection<TimedValue> events)
        {
            if (!_active)
            {
                if (value < entry) return;
                _active = true;
                _reported = false;
                _startMs = timestampMs;
                _peak = value;
                return;
            }

            var lengthMs = (double)timestampMs - _startMs;
            if (value < _exit)
            {
                _active = false;
                if (!_reported && lengthMs >= minMs) events.Add(Event(timestampMs, lengthMs));
                return;
            }
            _peak = Math.Max(_peak, value);
            if (!_reported && lengthMs >= maxMs && lengthMs >= minMs)
            {
                _reported = true;
                events.Add(Event(timestampMs, lengthMs));
            }
        }

        private TimedValue Event(long timestampMs, double lengthMs) =>
            new(timestampMs, new DrivingEventValue(type, _peak, TimeSpan.FromMilliseconds(Math.Min(lengthMs, LongestReportableMs))));
    }
}
