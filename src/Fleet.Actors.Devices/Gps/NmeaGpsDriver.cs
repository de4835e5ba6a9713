using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;

namespace Fleet.Actors.Devices.Gps;

/// <summary>Where a position reading's timestamp comes from.</summary>
public enum GpsTimeSource
{
    /// <summary>The receiver's UTC time of the fix (the host clock when the receiver has no date yet).</summary>
    Receiver,

    /// <summary>The host clock when the fix arrived (replays of old captures, receivers with a wrong clock).</summary>
    Host,
}

/// <summary>Options of a <c>gps-nmea</c> sensor.</summary>
/// <param name="Serial">Port or replay.</param>
/// <param name="RequireChecksum">Refuse sentences without <c>*HH</c>.</param>
/// <param name="MinMode">Fixes below this mode are not positions (2D or 3D).</param>
/// <param name="MaxFixAge">A receiver time further than this from the host clock is stale (zero: no check).</param>
/// <param name="TimeSource">Where timestamps come from.</param>
public sealed record NmeaGpsOptions(SerialOptions Serial, bool RequireChecksum, GpsMode MinMode, TimeSpan MaxFixAge, GpsTimeSource TimeSource)
{
    /// <summary>Reads the options of a <c>gps-nmea</c> sensor.</summary>
    public static NmeaGpsOptions Read(ConfigReader sensor)
    {
        var serial = SerialOptions.Read(sensor, defaultBaud: 9600);
        var minMode = sensor.String("min-mode", "2d")!.ToLowerInvariant() switch
        {
            "2d" => GpsMode.Fix2D,
            "3d" => GpsMode.Fix3D,
            var other => Problem(sensor, "min-mode", $"must be 2d or 3d (got \"{other}\")"),
        };
        var timeSource = sensor.Enum("time-source", serial.Replay is null ? GpsTimeSource.Receiver : GpsTimeSource.Host);
        return new NmeaGpsOptions(
            serial,
            sensor.Bool("require-checksum", true),
            minMode,
            sensor.Duration("max-fix-age", TimeSpan.FromSeconds(30), TimeSpan.Zero, TimeSpan.FromDays(1)),
            timeSource);
    }

    private static GpsMode Problem(ConfigReader sensor, string key, string problem)
    {
        sensor.Problem(key, problem);
        return GpsMode.Fix2D;
    }
}

/// <summary>
/// A GPS receiver speaking NMEA 0183 on a serial port (or a replayed capture): each fix with a
/// position becomes a position reading. Stale fixes (a receiver time far from the host clock, or
/// one that does not advance) and malformed sentences are refused and counted.
/// </summary>
public sealed class NmeaGpsDriver : SerialLineDriver
{
    /// <summary>Configuration type name.</summary>
    public const string TypeName = "gps-nmea";

    private readonly NmeaGpsOptions _options;
    private readonly NmeaDecoder _decoder;
    private readonly List<GpsFix> _fixes = new();
    private DateTimeOffset? _lastFixTime;

    /// <summary>Creates the driver over a channel (not yet opened).</summary>
    public NmeaGpsDriver(NmeaGpsOptions options, ISerialChannel channel, TimeProvider time)
        : base(channel, time, NmeaSentence.MaxLength * 2, (byte)'\n', (byte)'\r')
    {
        _options = options;
        _decoder = new NmeaDecoder(options.RequireChecksum);
    }

    /// <summary>The decoder's counters (sentences decoded, ignored, malformed).</summary>
    public NmeaDecoder Decoder => _decoder;

    /// <inheritdoc />
    protected override void Decode(ReadOnlySpan<char> line, long receivedMs, List<TimedValue> values, List<MalformedFrame> malformed)
    {
        _fixes.Clear();
        if (_decoder.Decode(line, _fixes, out var problem) == NmeaOutcome.Malformed)
            malformed.Add(new MalformedFrame(problem ?? "malformed sentence", line.ToString()));
        foreach (var fix in _fixes) Accept(fix, line, receivedMs, values, malformed);
    }

    private void Accept(GpsFix fix, ReadOnlySpan<char> line, long receivedMs, List<TimedValue> values, List<MalformedFrame> malformed)
    {
        if (!fix.HasPosition || fix.Mode < _options.MinMode) return;
        var timestampMs = receivedMs;
        if (_options.TimeSource == GpsTimeSource.Receiver && fix.Time is { } time)
        {
            timestampMs = time.ToUnixTimeMilliseconds();
            var age = TimeSpan.FromMilliseconds(receivedMs - timestampMs);
            if (_options.MaxFixAge > TimeSpan.Zero && age.Duration() > _options.MaxFixAge)
            {
                malformed.Add(new MalformedFrame($"stale fix: receiver time {time:O} is {age.TotalSeconds:F0} s from the clock", line.ToString()));
                return;
            }
        }
        // With host time (replays, receivers with a wrong clock) the receiver's time may repeat:
        // a looped capture starts again at its first fix.
        if (_options.TimeSource == GpsTimeSource.Receiver && fix.Time is { } fixTime)
        {
            if (fixTime <= _lastFixTime)
            {
                malformed.Add(new MalformedFrame("stale fix: its time does not advance", line.ToString()));
                return;
            }
            _lastFixTime = fixTime;
        }
        values.Add(new TimedValue(timestampMs, fix.ToPosition()));
    }
}

/// <summary>Creates <see cref="NmeaGpsDriver"/>s.</summary>
internal sealed class NmeaGpsDriverFactory : ISensorDriverFactory
{
    public string Type => NmeaGpsDriver.TypeName;

    public IEnumerable<(string Key, string Problem)> Validate(SensorSettings settings) => [];

    public object ReadOptions(ConfigReader sensor) => NmeaGpsOptions.Read(sensor);

    public ISensorDriver Create(SensorSettings settings, DriverContext context)
    {
        var options = settings.OptionsOf<NmeaGpsOptions>();
        return new NmeaGpsDriver(options, options.Serial.CreateChannel(context.Time, listenOnly: true), context.Time);
    }
}
