using System.Globalization;
using System.Text;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;

namespace Fleet.Actors.Devices.Can;

/// <summary>Options of a <c>j1939-slcan</c> sensor: the serial line, the bus and the decoder.</summary>
/// <param name="Serial">The adapter's serial port (or a replayed trace).</param>
/// <param name="Bitrate">The CAN bit rate, one of <see cref="Slcan.Bitrates"/> (J1939: 250 kbit/s).</param>
/// <param name="ListenOnly">Open the channel listen-only (<c>L</c>): the adapter never sends or acknowledges on the bus.</param>
/// <param name="J1939">How frames are decoded.</param>
public sealed record SlcanOptions(SerialOptions Serial, int Bitrate, bool ListenOnly, J1939Options J1939)
{
    /// <summary>
    /// Reads the serial keys (<see cref="SerialOptions.Read"/>, 115200 baud by default),
    /// <c>bitrate</c> (10k..1M, default 250k), <c>listen-only</c> (default on) and the J1939 keys
    /// (<see cref="J1939Options.Read"/>); problems go to the reader.
    /// </summary>
    public static SlcanOptions Read(ConfigReader sensor) => new(
        SerialOptions.Read(sensor, 115_200),
        ReadBitrate(sensor),
        sensor.Bool("listen-only", true),
        J1939Options.Read(sensor, TimeSpan.FromSeconds(1)));

    private static int ReadBitrate(ConfigReader sensor)
    {
        var text = sensor.String("bitrate");
        if (text is null) return Slcan.J1939Bitrate;
        var trimmed = text.Trim().ToLowerInvariant();
        var (digits, scale) = trimmed switch
        {
            [.. var n, 'k'] => (n, 1_000),
            [.. var n, 'm'] => (n, 1_000_000),
            _ => (trimmed, 1),
        };
        if (int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && Slcan.Bitrates.Contains(value * scale))
            return value * scale;
        sensor.Problem("bitrate", $"must be one of 10k, 20k, 50k, 100k, 125k, 250k, 500k, 800k, 1M (got \"{text}\")");
        return Slcan.J1939Bitrate;
    }
}

/// <summary>
/// A J1939 bus through a serial SLCAN (Lawicel) adapter: after the port opens it sets the adapter
/// up (close, bit rate, time stamps off, open listen-only), then decodes every frame line. The
/// adapter's acknowledgements (CR, BEL) are recognised and skipped; lines that are not frames are
/// malformed. Ends lines at CR and tolerates LF.
/// </summary>
public sealed class SlcanDriver : SerialLineDriver
{
    /// <summary>The <c>type</c> of this driver in configuration.</summary>
    public const string TypeName = "j1939-slcan";

    // The longest frame line is 30 characters (T, 8 id digits, DLC, 16 data digits, 4 time stamp digits).
    private const int MaxLineLength = 64;

    private readonly SlcanOptions _options;
    private readonly J1939Metrics? _metrics;

    /// <summary>Creates the driver over a channel (not yet opened).</summary>
    public SlcanDriver(SlcanOptions options, ISerialChannel channel, TimeProvider time, J1939Metrics? metrics = null)
        : base(channel, time, MaxLineLength, (byte)'\r', (byte)'\n')
    {
        _options = options;
        _metrics = metrics;
        Decoder = new J1939Decoder(options.J1939);
    }

    /// <summary>The decoder (its counters show what was ignored).</summary>
    public J1939Decoder Decoder { get; }

    /// <summary>BEL bytes received: commands the adapter refused.</summary>
    public long AdapterErrors { get; private set; }

    /// <inheritdoc />
    protected override async Task OnOpenedAsync(CancellationToken cancellationToken)
    {
        // No waiting for each answer: the adapter works through its input in order, and the answers
        // (CR or BEL) arrive with the first frames, where Decode recognises them.
        foreach (var command in Slcan.SetupCommands(_options.Bitrate, _options.ListenOnly))
            await Channel.WriteAsync(Encoding.ASCII.GetBytes(command), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override void Decode(ReadOnlySpan<char> line, long receivedMs, List<TimedValue> values, List<MalformedFrame> malformed)
    {
        var parsed = Slcan.Parse(line);
        AdapterErrors += parsed.AdapterErrors;
        switch (parsed.Kind)
        {
            case SlcanLineKind.Frame:
                Decoder.Decode(parsed.Frame, receivedMs, values, malformed);
                _metrics?.Publish(Decoder);
                break;
            case SlcanLineKind.Malformed:
                malformed.Add(new MalformedFrame(parsed.Problem!, line.ToString()));
                break;
        }
    }
}

/// <summary>Creates <see cref="SlcanDriver"/>s for sensors of type <c>j1939-slcan</c>.</summary>
internal sealed class SlcanDriverFactory : ISensorDriverFactory
{
    public string Type => SlcanDriver.TypeName;

    public IEnumerable<(string Key, string Problem)> Validate(SensorSettings settings) => [];

    public object? ReadOptions(ConfigReader sensor) => SlcanOptions.Read(sensor);

    public ISensorDriver Create(SensorSettings settings, DriverContext context)
    {
        var options = settings.OptionsOf<SlcanOptions>();
        return new SlcanDriver(options, options.Serial.CreateChannel(context.Time), context.Time, J1939Metrics.For(settings, context));
    }
}
