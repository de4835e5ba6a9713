using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Serial;

/// <summary>
/// Base of the drivers for devices that talk in lines on a serial channel (NMEA receivers, SLCAN
/// adapters): each read takes what the channel's reader thread handed over, cuts it into lines
/// and lets the subclass decode them. Overlong lines and hand-off overflows become malformed
/// frames, so they are counted and logged like any other bad input.
/// </summary>
public abstract class SerialLineDriver : ISensorDriver
{
    private readonly LineFramer _framer;
    private readonly LineFramer.LineAction _onLine;
    private List<TimedValue> _values = new();
    private List<MalformedFrame> _malformed = new();
    private long _receivedMs;
    private long _reportedDrops;

    /// <summary>Creates the driver over a channel (not yet opened).</summary>
    protected SerialLineDriver(ISerialChannel channel, TimeProvider time, int maxLineLength, params byte[] terminators)
    {
        Channel = channel;
        Time = time;
        _framer = new LineFramer(maxLineLength, terminators);
        _onLine = OnLine;
    }

    /// <summary>The byte conversation with the device.</summary>
    protected ISerialChannel Channel { get; }

    /// <summary>The clock that stamps readings.</summary>
    protected TimeProvider Time { get; }

    /// <inheritdoc />
    public virtual async Task OpenAsync(CancellationToken cancellationToken)
    {
        _framer.Reset();
        await Channel.OpenAsync(cancellationToken).ConfigureAwait(false);
        await OnOpenedAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<SensorRead> ReadAsync(CancellationToken cancellationToken)
    {
        var data = await Channel.ReadAsync(cancellationToken).ConfigureAwait(false);
        _receivedMs = Time.GetUtcNow().ToUnixTimeMilliseconds();
        _framer.Feed(data.Span, _onLine);
        var drops = Channel.DroppedBytes;
        if (drops > _reportedDrops)
        {
            _malformed.Add(new MalformedFrame("serial hand-off overflow", $"{drops - _reportedDrops} bytes dropped"));
            _reportedDrops = drops;
        }
        if (_values.Count == 0 && _malformed.Count == 0) return SensorRead.Empty;
        // The lists travel to the actor inside the SensorRead: the next read starts new ones.
        var read = new SensorRead(_values, _malformed);
        _values = new List<TimedValue>();
        _malformed = new List<MalformedFrame>();
        return read;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Channel.DisposeAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Runs once the channel is open (an adapter's set-up commands).</summary>
    protected virtual Task OnOpenedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Decodes one line received at <paramref name="receivedMs"/> into values or malformed frames.
    /// The span is only valid during the call (it is the framer's buffer).
    /// </summary>
    protected abstract void Decode(ReadOnlySpan<char> line, long receivedMs, List<TimedValue> values, List<MalformedFrame> malformed);

    private void OnLine(ReadOnlySpan<char> text, bool overlong)
    {
        if (overlong) _malformed.Add(new MalformedFrame("line too long", text.ToString()));
        else Decode(text, _receivedMs, _values, _malformed);
    }
}
