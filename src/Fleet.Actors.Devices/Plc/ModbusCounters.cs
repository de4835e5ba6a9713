namespace Fleet.Actors.Devices.Plc;

/// <summary>What a transport saw and threw away; shared by all its requests, safe to read from any thread.</summary>
public sealed class ModbusCounters
{
    private long _requests;
    private long _timeouts;
    private long _lateFrames;
    private long _foreignFrames;
    private long _garbledFrames;
    private long _discardedBytes;

    /// <summary>Requests sent.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Requests that got no answer within the operation timeout.</summary>
    public long Timeouts => Interlocked.Read(ref _timeouts);

    /// <summary>Frames skipped because they answered an earlier transaction (TCP).</summary>
    public long LateFrames => Interlocked.Read(ref _lateFrames);

    /// <summary>Frames skipped because they came from another unit.</summary>
    public long ForeignFrames => Interlocked.Read(ref _foreignFrames);

    /// <summary>Frames discarded as malformed (header, CRC, function, length, echo).</summary>
    public long GarbledFrames => Interlocked.Read(ref _garbledFrames);

    /// <summary>Stray bytes discarded outside any frame (e.g. on the line before a request).</summary>
    public long DiscardedBytes => Interlocked.Read(ref _discardedBytes);

    internal void Request() => Interlocked.Increment(ref _requests);

    internal void Timeout() => Interlocked.Increment(ref _timeouts);

    internal void Late() => Interlocked.Increment(ref _lateFrames);

    internal void Foreign() => Interlocked.Increment(ref _foreignFrames);

    internal void Garbled() => Interlocked.Increment(ref _garbledFrames);

    internal void Discarded(int bytes) => Interlocked.Add(ref _discardedBytes, bytes);
}
