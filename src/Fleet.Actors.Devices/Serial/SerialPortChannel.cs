using System.IO.Ports;
using System.Threading.Channels;

namespace Fleet.Actors.Devices.Serial;

/// <summary>
/// A real serial port (System.IO.Ports). A dedicated thread does the blocking reads and hands
/// chunks over through a bounded channel that drops (and counts) the oldest when the driver falls
/// behind; a port that disappears completes the channel with the error, so the next read throws.
/// </summary>
public sealed class SerialPortChannel : ISerialChannel
{
    private static readonly TimeSpan PollTimeout = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);

    private readonly SerialOptions _options;
    private readonly Channel<byte[]> _received;
    private readonly CancellationTokenSource _stop = new();
    private SerialPort? _port;
    private Thread? _reader;
    private long _droppedBytes;
    private int _lineFailed;

    /// <summary>Creates the channel (not yet opened).</summary>
    public SerialPortChannel(SerialOptions options)
    {
        _options = options;
        _received = Channel.CreateBounded<byte[]>(
            new BoundedChannelOptions(options.HandOffChunks)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
                SingleWriter = true,
            },
            dropped => Interlocked.Add(ref _droppedBytes, dropped.Length));
    }

    /// <inheritdoc />
    public string Description => $"{_options.Port} @ {_options.BaudRate} baud";

    /// <inheritdoc />
    public long DroppedBytes => Interlocked.Read(ref _droppedBytes);

    /// <inheritdoc />
    public Task OpenAsync(CancellationToken cancellationToken)
    {
        if (_port is not null) throw new InvalidOperationException("The port is already open.");
        // Opening a tty can take a moment (and throws when it is not there): keep it off the caller.
        return Task.Run(() =>
        {
            SerialPort? port = null;
            try
            {
                port = new SerialPort(_options.Port!, _options.BaudRate, _options.Parity, _options.DataBits, _options.StopBits)
                {
                    ReadTimeout = (int)PollTimeout.TotalMilliseconds,
                    WriteTimeout = (int)WriteTimeout.TotalMilliseconds,
                    Handshake = Handshake.None,
                };
                port.Open();
            }
            catch (Exception ex) when (ex is UnauthorizedAccessException or ArgumentException)
            {
                // System.IO.Ports reports a missing device as "access denied" (say what the OS said),
                // and a port it cannot set up (such as a pty whose other end has gone) as a bad argument.
                port?.Dispose();
                var cause = ex is ArgumentException ? $"the port or its line settings were refused ({ex.Message})" : ex.InnerException?.Message ?? ex.Message;
                throw new IOException($"{Description}: cannot open: {cause}", ex);
            }
            port.DiscardInBuffer();
            _port = port;
            _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"serial {_options.Port}" };
            _reader.Start();
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _received.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException closed)
        {
            throw closed.InnerException as IOException ?? new IOException($"{Description}: port closed", closed.InnerException);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// On Linux a write to a port whose device has hung up can wait forever (and a close then
    /// waits for it): once the reader has seen the line fail, writes fail at once, and any write
    /// is given up after the write timeout.
    /// </remarks>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var port = _port ?? throw new InvalidOperationException("The port is not open.");
        if (Volatile.Read(ref _lineFailed) != 0) throw new IOException($"{Description}: the line has failed");
        var bytes = data.ToArray();
        try
        {
            await Task.Run(() => port.Write(bytes, 0, bytes.Length), CancellationToken.None)
                .WaitAsync(WriteTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or ObjectDisposedException)
        {
            throw new IOException($"{Description}: write failed: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        var reader = _reader;
        // The reader wakes at least every poll timeout; closing the port also ends its read.
        if (reader is not null) await Task.Run(() => reader.Join(PollTimeout * 4)).ConfigureAwait(false);
        if (_port is { } port)
        {
            // Closing waits for a write the dead line never finishes: give up on it after a while
            // (the thread stuck in it is the port library's) rather than hang the sensor's restart.
            try
            {
                await Task.Run(port.Dispose).WaitAsync(CloseTimeout).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or TimeoutException)
            {
                // The device is already gone; nothing more to release.
            }
        }
        _received.Writer.TryComplete();
        _stop.Dispose();
    }

    private void ReadLoop()
    {
        var buffer = new byte[4096];
        Exception? failure = null;
        try
        {
            var stream = _port!.BaseStream;
            while (!_stop.IsCancellationRequested)
            {
                int count;
                try
                {
                    count = stream.Read(buffer, 0, buffer.Length);
                }
                catch (TimeoutException)
                {
                    continue;
                }
                if (count == 0)
                {
                    failure = new IOException($"{Description}: the device closed the line");
                    break;
                }
                _received.Writer.TryWrite(buffer.AsSpan(0, count).ToArray());
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException or UnauthorizedAccessException)
        {
            failure = _stop.IsCancellationRequested ? null : new IOException($"{Description}: {ex.Message}", ex);
        }
        if (failure is not null) Volatile.Write(ref _lineFailed, 1);
        _received.Writer.TryComplete(failure);
    }
}
