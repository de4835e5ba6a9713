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
    private readonly List<LineFramer.Line> _lines = new();
    private long _reportedDrops;

    /// <summary>Creates the driver over a channel (not yet opened).</summary>
    protected SerialLineDriver(ISerialChannel channel, TimeProvider time, int maxLineLength, params byte[] terminators)
    {
        Channel = channel;
        Time = time;
        _framer = new LineFramer(maxLineLength, terminators);
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
        var receivedMs = Time.GetUtcNow().ToUnixTimeMilliseconds();
        _lines.Clear();
        _framer.Feed(data.Span, _lines);

        var values = new List<TimedValue>();
        var malformed = new List<MalformedFrame>();
        foreach (var line in _lines)
        {
            if (line.Overlong) malformed.Add(new MalformedFrame("line too long", line.Text));
            else Decode(line.Text, receivedMs, values, malformed);
        }
        var drops = Channel.DroppedBytes;
        if (drops > _reportedDrops)
        {
            malformed.Add(new MalformedFrame("serial hand-off overflow", $"{drops - _reportedDrops} bytes dropped"));
            _reportedDrops = drops;
        }
        return new SensorRead(values, malformed);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Channel.DisposeAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Runs once the channel is open (an adapter's set-up commands).</summary>
    protected virtual Task OnOpenedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Decodes one line received at <paramref name="receivedMs"/> into values or malformed frames.</summary>
    protected abstract void Decode(string line, long receivedMs, List<TimedValue> values, List<MalformedFrame> malformed);
}
