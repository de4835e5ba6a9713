using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Can;

/// <summary>Options of a <c>j1939-socketcan</c> sensor.</summary>
/// <param name="Interface">The Linux CAN network interface, e.g. <c>can0</c> (set up and brought up outside the agent, with the bit rate).</param>
/// <param name="J1939">How frames are decoded.</param>
public sealed partial record SocketCanOptions(string Interface, J1939Options J1939)
{
    /// <summary>Frames the reader thread may hold for the driver before it drops the oldest.</summary>
    public int HandOffFrames { get; init; } = 4096;

    /// <summary>Reads <c>interface</c>, <c>hand-off-frames</c> and the J1939 keys; problems go to the reader.</summary>
    public static SocketCanOptions Read(ConfigReader sensor) =>
        new(sensor.RequiredString("interface", InterfaceName(), "a network interface name such as can0 (1 to 15 letters, digits, '.', '_', '-')"),
            J1939Options.Read(sensor, TimeSpan.FromSeconds(1)))
        {
            HandOffFrames = sensor.Int("hand-off-frames", 4096, 16, 1_000_000),
        };

    // IFNAMSIZ is 16 with the terminating zero; no '/' or white space.
    [GeneratedRegex("^[A-Za-z0-9_.-]{1,15}$")]
    private static partial Regex InterfaceName();
}

/// <summary>
/// A J1939 bus through Linux SocketCAN: a raw CAN socket bound to the interface, read on a
/// dedicated thread (poll with a short timeout, so stopping never waits on the bus) into a bounded
/// hand-off that drops the oldest frames when the sensor falls behind and counts them as missed.
/// The bit rate is the interface's (<c>ip link set can0 type can bitrate 250000</c>).
/// </summary>
public sealed class SocketCanDriver : ISensorDriver
{
    /// <summary>The <c>type</c> of this driver in configuration.</summary>
    public const string TypeName = "j1939-socketcan";

    private const int PollTimeoutMs = 250;
    private const int MaxFramesPerRead = 1024;

    private readonly SocketCanOptions _options;
    private readonly TimeProvider _time;
    private readonly J1939Metrics? _metrics;
    private readonly Func<SafeHandle> _open;
    private readonly Channel<Received> _received;
    private readonly CancellationTokenSource _stop = new();
    private SafeHandle? _socket;
    private Thread? _reader;
    private long _dropped;
    private long _reportedDrops;
    private long _errorFrames;
    private long _invalidFrames;

    /// <summary>Creates the driver (not yet opened).</summary>
    public SocketCanDriver(SocketCanOptions options, TimeProvider time, J1939Metrics? metrics = null)
        : this(options, time, metrics, () => SocketCanNative.OpenRaw(options.Interface))
    {
    }

    /// <summary>Creates the driver over any socket that delivers <c>struct can_frame</c> datagrams (tests use a socket pair).</summary>
    internal SocketCanDriver(SocketCanOptions options, TimeProvider time, J1939Metrics? metrics, Func<SafeHandle> open)
    {
        _options = options;
        _time = time;
        _metrics = metrics;
        _open = open;
        Decoder = new J1939Decoder(options.J1939);
        _received = Channel.CreateBounded<Received>(
            new BoundedChannelOptions(options.HandOffFrames)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
                SingleWriter = true,
            },
            _ => Interlocked.Increment(ref _dropped));
    }

    /// <summary>What this driver reads, for logs.</summary>
    public string Description => $"SocketCAN {_options.Interface}";

    /// <summary>The decoder (its counters show what was ignored).</summary>
    public J1939Decoder Decoder { get; }

    /// <summary>Frames the hand-off dropped because the sensor did not read them in time.</summary>
    public long DroppedFrames => Interlocked.Read(ref _dropped);

    /// <summary>Error frames the controller reported (not bus data; skipped).</summary>
    public long ErrorFrames => Interlocked.Read(ref _errorFrames);

    /// <summary>Reads that were not a classic CAN frame (wrong size or length code; skipped).</summary>
    public long InvalidFrames => Interlocked.Read(ref _invalidFrames);

    /// <inheritdoc />
    public Task OpenAsync(CancellationToken cancellationToken)
    {
        if (_socket is not null) throw new InvalidOperationException("The socket is already open.");
        return Task.Run(() =>
        {
            _socket = _open();
            _reader = new Thread(ReadLoop) { IsBackground = true, Name = Description };
            _reader.Start();
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<SensorRead> ReadAsync(CancellationToken cancellationToken)
    {
        Received first;
        try
        {
            first = await _received.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException closed)
        {
            throw closed.InnerException as IOException ?? new IOException($"{Description}: socket closed", closed.InnerException);
        }
        var values = new List<TimedValue>();
        var malformed = new List<MalformedFrame>();
        Decoder.Decode(first.Frame, first.TimestampMs, values, malformed);
        for (var i = 1; i < MaxFramesPerRead && _received.Reader.TryRead(out var next); i++)
            Decoder.Decode(next.Frame, next.TimestampMs, values, malformed);
        _metrics?.Publish(Decoder);
        var dropped = DroppedFrames;
        var missed = dropped - _reportedDrops;
        _reportedDrops = dropped;
        return new SensorRead(values, malformed, missed);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        var reader = _reader;
        // The reader polls with a short timeout; the socket closes once it has let go of it.
        if (reader is not null) await Task.Run(() => reader.Join(PollTimeoutMs * 4)).ConfigureAwait(false);
        _socket?.Dispose();
        _received.Writer.TryComplete();
        _stop.Dispose();
    }

    private void ReadLoop()
    {
        var socket = _socket!;
        var added = false;
        Exception? failure = null;
        Span<byte> raw = stackalloc byte[SocketCanNative.FrameSize];
        try
        {
            socket.DangerousAddRef(ref added);
            var fd = (int)socket.DangerousGetHandle();
            while (!_stop.IsCancellationRequested)
            {
                var poll = new SocketCanNative.PollFd { Fd = fd, Events = SocketCanNative.PollIn };
                var ready = SocketCanNative.poll(ref poll, 1, PollTimeoutMs);
                if (ready == 0 || (ready < 0 && SocketCanNative.IsTransient(Marshal.GetLastPInvokeError()))) continue;
                if (ready < 0 || (poll.ReturnedEvents & SocketCanNative.PollNval) != 0)
                {
                    failure = new IOException($"{Description}: poll failed ({SocketCanNative.LastError()})");
                    break;
                }
                // Readable, or an error (interface down) that the read reports.
                var count = SocketCanNative.read(fd, ref MemoryMarshal.GetReference(raw), SocketCanNative.FrameSize);
                if (count < 0)
                {
                    if (SocketCanNative.IsTransient(Marshal.GetLastPInvokeError())) continue;
                    failure = new IOException($"{Description}: read failed ({SocketCanNative.LastError()})");
                    break;
                }
                if (count == 0)
                {
                    failure = new IOException($"{Description}: the socket was closed");
                    break;
                }
                if (count != SocketCanNative.FrameSize)
                {
                    Interlocked.Increment(ref _invalidFrames);
                    continue;
                }
                switch (SocketCanNative.ParseFrame(raw, out var frame))
                {
                    case RawFrameKind.Frame:
                        _received.Writer.TryWrite(new Received(frame, _time.GetUtcNow().ToUnixTimeMilliseconds()));
                        break;
                    case RawFrameKind.Error:
                        Interlocked.Increment(ref _errorFrames);
                        break;
                    default:
                        Interlocked.Increment(ref _invalidFrames);
                        break;
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // Disposed before the reader started: nothing to read.
        }
        finally
        {
            if (added) socket.DangerousRelease();
            _received.Writer.TryComplete(_stop.IsCancellationRequested ? null : failure);
        }
    }

    private readonly record struct Received(CanFrame Frame, long TimestampMs);
}

/// <summary>Creates <see cref="SocketCanDriver"/>s for sensors of type <c>j1939-socketcan</c>.</summary>
internal sealed class SocketCanDriverFactory : ISensorDriverFactory
{
    public string Type => SocketCanDriver.TypeName;

    public IEnumerable<(string Key, string Problem)> Validate(SensorSettings settings) => [];

    public object? ReadOptions(ConfigReader sensor) => SocketCanOptions.Read(sensor);

    public ISensorDriver Create(SensorSettings settings, DriverContext context)
    {
        return new SocketCanDriver(settings.OptionsOf<SocketCanOptions>(), context.Time, J1939Metrics.For(settings, context));
    }
}
