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
    private readonly SerialTrace.SkipCounter _skipped = new();
    private IEnumerator<TraceChunk>? _chunks;
    private bool _any;
    private long _previousOffsetMs;

    /// <inheritdoc />
    public string Description => $"replay of {options.File} at {(options.Speed == 0 ? "full" : $"{options.Speed}x")} speed";

    /// <inheritdoc />
    public long DroppedBytes => 0;

    /// <summary>Trace lines that did not parse.</summary>
    public int SkippedLines => _skipped.Skipped;

    /// <inheritdoc />
    public Task OpenAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(options.File)) throw new FileNotFoundException($"trace {options.File} does not exist", options.File);
        Restart();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            // The file is read a line at a time through a 64 KiB buffer (a local file: no waiting on a
            // device), so replays take no memory for their length. Synchronous on purpose: a read that is
            // cancelled must not leave a half-taken chunk behind.
            var chunks = _chunks ?? throw new InvalidOperationException("The replay is not open.");
            if (!chunks.MoveNext())
            {
                if (!options.Loop || !_any) throw new EndOfStreamException($"{Description}: trace finished");
                Restart();
                continue;
            }
            _any = true;
            var chunk = chunks.Current;
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
        _chunks?.Dispose();
        _writes.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Restart()
    {
        _chunks?.Dispose();
        _chunks = SerialTrace.Read(options.File, options.LinesPerSecond, _skipped).GetEnumerator();
        _previousOffsetMs = 0;
    }

    private async Task PaceAsync(long offsetMs, CancellationToken cancellationToken)
    {
        var gapMs = Math.Max(0, offsetMs - _previousOffsetMs);
        _previousOffsetMs = offsetMs;
        if (options.Speed > 0 && gapMs > 0)
            await Task.Delay(TimeSpan.FromMilliseconds(gapMs / options.Speed), time, cancellationToken).ConfigureAwait(false);
    }
}
