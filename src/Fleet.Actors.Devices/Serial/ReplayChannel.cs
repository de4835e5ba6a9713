namespace Fleet.Actors.Devices.Serial;

/// <summary>
/// Plays a recorded trace (or a plain capture) as if it were the device: chunks from the device
/// arrive at their recorded timing divided by the speed; where the agent wrote in the recording,
/// playback waits until the driver writes too, so request/response devices (ELM327) replay their
/// answers in step; for a driver that only listens (<paramref name="listenOnly"/>: a GPS) what the
/// agent sent in the recording is skipped. At the end the device is "gone" (or the trace starts
/// again with <c>loop</c>).
/// </summary>
public sealed class ReplayChannel(ReplayOptions options, TimeProvider time, bool listenOnly = false) : ISerialChannel
{
    private readonly SemaphoreSlim _writes = new(0);
    private IReadOnlyList<TraceChunk> _chunks = [];
    private int _next;
    private long _previousOffsetMs;

    /// <inheritdoc />
    public string Description => $"replay of {options.File} at {(options.Speed == 0 ? "full" : $"{options.Speed}x")} speed";

    /// <inheritdoc />
    public long DroppedBytes => 0;

    /// <summary>Trace lines that did not parse.</summary>
    public int SkippedLines { get; private set; }

    /// <inheritdoc />
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(options.File)) throw new FileNotFoundException($"trace {options.File} does not exist", options.File);
        _chunks = await Task.Run(() =>
        {
            var chunks = SerialTrace.Load(options.File, options.LinesPerSecond, out var skipped);
            SkippedLines = skipped;
            return chunks;
        }, cancellationToken).ConfigureAwait(false);
        _next = 0;
        _previousOffsetMs = 0;
    }

    /// <inheritdoc />
    public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_next >= _chunks.Count)
            {
                if (!options.Loop || _chunks.Count == 0) throw new EndOfStreamException($"{Description}: trace finished");
                _next = 0;
                _previousOffsetMs = 0;
            }
            var chunk = _chunks[_next++];
            await PaceAsync(chunk.OffsetMs, cancellationToken).ConfigureAwait(false);
            if (chunk.Direction == TraceDirection.ToDevice)
            {
                // The recording says the agent spoke here: the device answers only after it does.
                if (!listenOnly) await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }
            return chunk.Data;
        }
    }

    /// <inheritdoc />
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        _writes.Release();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _writes.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task PaceAsync(long offsetMs, CancellationToken cancellationToken)
    {
        var gapMs = Math.Max(0, offsetMs - _previousOffsetMs);
        _previousOffsetMs = offsetMs;
        if (options.Speed > 0 && gapMs > 0)
            await Task.Delay(TimeSpan.FromMilliseconds(gapMs / options.Speed), time, cancellationToken).ConfigureAwait(false);
    }
}
