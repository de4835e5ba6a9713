namespace Fleet.Actors.Devices.Serial;

/// <summary>
/// A byte conversation with a serial device: a real port, a recorded trace played back, or a
/// recorder wrapped around either. Reads return whatever bytes arrived since the last read; the
/// port itself is read on its own thread into a bounded hand-off, so no caller ever blocks on I/O.
/// </summary>
public interface ISerialChannel : IAsyncDisposable
{
    /// <summary>What this channel is connected to, for logs (port path or trace file).</summary>
    string Description { get; }

    /// <summary>Bytes the hand-off had to discard because nobody read them in time.</summary>
    long DroppedBytes { get; }

    /// <summary>Opens the device. Throws <see cref="IOException"/> (or <see cref="UnauthorizedAccessException"/>) when it is not there.</summary>
    Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Waits for the next bytes from the device. Throws <see cref="IOException"/> when the device is
    /// gone (a finished trace throws <see cref="EndOfStreamException"/>, an IOException).
    /// </summary>
    ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken);

    /// <summary>Sends bytes to the device.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);
}
