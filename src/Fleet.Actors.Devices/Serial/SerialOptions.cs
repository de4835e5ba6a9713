using System.IO.Ports;
using Fleet.Actors.Core.Configuration;

namespace Fleet.Actors.Devices.Serial;

/// <summary>
/// Where a serial sensor's bytes come from (HOCON keys of the sensor): a port with its line
/// settings, or a recorded trace (<c>replay { file, speed, loop }</c>). Exactly one of the two.
/// </summary>
public sealed record SerialOptions
{
    /// <summary>Device path, e.g. <c>/dev/ttyUSB0</c> (pseudo-terminals and symlinks work too).</summary>
    public string? Port { get; init; }

    /// <summary>Line speed.</summary>
    public int BaudRate { get; init; } = 9600;

    /// <summary>Data bits per character (5..8).</summary>
    public int DataBits { get; init; } = 8;

    /// <summary>Parity.</summary>
    public Parity Parity { get; init; } = Parity.None;

    /// <summary>Stop bits.</summary>
    public StopBits StopBits { get; init; } = StopBits.One;

    /// <summary>Chunks of received bytes the reader thread may hold for the driver before it drops the oldest.</summary>
    public int HandOffChunks { get; init; } = 256;

    /// <summary>A recorded trace to play instead of a port.</summary>
    public ReplayOptions? Replay { get; init; }

    /// <summary>Record the whole conversation to this trace file while the sensor runs.</summary>
    public string? RecordTo { get; init; }

    /// <summary>
    /// Creates the configured source (not yet opened), recorded when <see cref="RecordTo"/> is set.
    /// A driver that never writes says <paramref name="listenOnly"/>, so that a replay does not wait
    /// for it where the recording has bytes sent to the device.
    /// </summary>
    public ISerialChannel CreateChannel(TimeProvider time, bool listenOnly = false)
    {
        ISerialChannel channel = Replay is { } replay ? new ReplayChannel(replay, time, listenOnly) : new SerialPortChannel(this);
        return RecordTo is { } path ? new RecordingChannel(channel, path, time) : channel;
    }

    /// <summary>
    /// Reads <c>port</c>, <c>baud</c>, <c>data-bits</c>, <c>parity</c>, <c>stop-bits</c>,
    /// <c>hand-off-chunks</c>, <c>record-to</c> and <c>replay { ... }</c> of a sensor; problems go to the reader.
    /// </summary>
    public static SerialOptions Read(ConfigReader sensor, int defaultBaud)
    {
        var replaySection = sensor.Section("replay");
        var replay = sensor.Has("replay") ? ReplayOptions.Read(replaySection) : null;
        var port = sensor.String("port");
        if (replay is null && string.IsNullOrWhiteSpace(port))
            sensor.Problem("port", "is required (a device path such as /dev/ttyUSB0), or give replay { file = ... }");
        if (replay is not null && port is not null)
            sensor.Problem("port", "must not be set together with replay (one source per sensor)");
        return new SerialOptions
        {
            Port = port,
            BaudRate = sensor.Int("baud", defaultBaud, 50, 4_000_000),
            DataBits = sensor.Int("data-bits", 8, 5, 8),
            Parity = sensor.Enum("parity", Parity.None),
            StopBits = sensor.Enum("stop-bits", StopBits.One),
            HandOffChunks = sensor.Int("hand-off-chunks", 256, 1, 65_536),
            Replay = replay,
            RecordTo = sensor.String("record-to") is { Length: > 0 } recordTo ? recordTo : null,
        };
    }
}

/// <summary>Playback of a recorded trace (see <see cref="SerialTrace"/> for the file format).</summary>
/// <param name="File">The trace file.</param>
/// <param name="Speed">1 plays at the recorded timing, 10 ten times faster, 0 as fast as the reader takes it.</param>
/// <param name="Loop">Start again at the end instead of reporting the device gone.</param>
/// <param name="LinesPerSecond">Pace of a plain text capture, which has no timing of its own.</param>
public sealed record ReplayOptions(string File, double Speed = 1, bool Loop = false, double LinesPerSecond = 10)
{
    /// <summary>Reads the <c>replay</c> section of a sensor.</summary>
    public static ReplayOptions Read(ConfigReader replay)
    {
        var file = replay.String("file");
        if (string.IsNullOrWhiteSpace(file)) replay.Problem("file", "is required (a recorded trace or a plain capture)");
        else if (!System.IO.File.Exists(file)) replay.Problem("file", $"does not exist: {Path.GetFullPath(file)}");
        return new ReplayOptions(
            file ?? "",
            replay.Double("speed", 1, 0, 1_000_000),
            replay.Bool("loop", false),
            replay.Double("lines-per-second", 10, 0.001, 1_000_000));
    }
}
