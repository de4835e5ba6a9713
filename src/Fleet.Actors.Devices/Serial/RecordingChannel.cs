using System.Text;

namespace Fleet.Actors.Devices.Serial;

/// <summary>
/// Wraps a channel and writes the whole conversation (both directions, with timing) to a trace
/// file that <see cref="ReplayChannel"/> can play back. Each open starts a new file section.
/// </summary>
public sealed class RecordingChannel(ISerialChannel inner, string path, TimeProvider time) : ISerialChannel
{
    private readonly SemaphoreSlim _fileLock = new(1, 1);
    private StreamWriter? _file;
    private long _startedAt;

    /// <inheritdoc />
    public string Description => $"{inner.Description}, recorded to {path}";

    /// <inheritdoc />
    public long DroppedBytes => inner.DroppedBytes;

    /// <inheritdoc />
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        await inner.OpenAsync(cancellationToken).ConfigureAwait(false);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        // A trace is one session: reopening after a disconnect starts the file again, so that
        // playback timing never jumps backwards.
        _file = new StreamWriter(path, append: false, Encoding.Latin1);
        await _file.WriteLineAsync(SerialTrace.Header).ConfigureAwait(false);
        await _file.WriteLineAsync($"# {inner.Description}, started {time.GetUtcNow():O}").ConfigureAwait(false);
        await _file.FlushAsync(cancellationToken).ConfigureAwait(false);
        _startedAt = time.GetTimestamp();
    }

    /// <inheritdoc />
    public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken)
    {
        var data = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        await AppendAsync(TraceDirection.FromDevice, data, cancellationToken).ConfigureAwait(false);
        return data;
    }

    /// <inheritdoc />
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await AppendAsync(TraceDirection.ToDevice, data, cancellationToken).ConfigureAwait(false);
        await inner.WriteAsync(data, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await _fileLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_file is not null) await _file.DisposeAsync().ConfigureAwait(false);
            _file = null;
        }
        finally
        {
            _fileLock.Release();
        }
    }

    private async Task AppendAsync(TraceDirection direction, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var line = SerialTrace.FormatLine(new TraceChunk((long)time.GetElapsedTime(_startedAt).TotalMilliseconds, direction, data.ToArray()));
        await _fileLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_file is null) return;
            await _file.WriteLineAsync(line).ConfigureAwait(false);
            await _file.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _fileLock.Release();
        }
    }
}
