using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Devices.Sensors;

/// <summary>
/// The hardware side of one sensor: a serial port, a bus, a socket, or a simulation. The sensor
/// actor owns one driver at a time and never blocks on it: every call returns a task.
/// </summary>
public interface ISensorDriver : IAsyncDisposable
{
    /// <summary>Opens the device. Throws (typically <see cref="IOException"/>) when it is not there.</summary>
    Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Waits for the next data and returns what was decoded, including frames that did not decode.
    /// Throws <see cref="IOException"/> when the device is gone; honours cancellation promptly.
    /// </summary>
    Task<SensorRead> ReadAsync(CancellationToken cancellationToken);
}

/// <summary>A decoded value with the time it was observed.</summary>
public readonly record struct TimedValue(long TimestampMs, ReadingValue Value);

/// <summary>Something the device sent that could not be decoded.</summary>
/// <param name="Reason">Why it was refused, e.g. "checksum mismatch".</param>
/// <param name="Excerpt">The start of the raw frame, for the (rate-limited) log.</param>
public sealed record MalformedFrame(string Reason, string Excerpt);

/// <summary>The outcome of one driver read.</summary>
/// <param name="Values">Decoded values in the order observed.</param>
/// <param name="Malformed">Frames that did not decode.</param>
/// <param name="Missed">Samples the driver could not deliver (for example it was not read in time).</param>
public sealed record SensorRead(IReadOnlyList<TimedValue> Values, IReadOnlyList<MalformedFrame> Malformed, long Missed = 0)
{
    /// <summary>
    /// Facts about the device worth one log line that are not bad data (a PID the vehicle does not
    /// support, reported once per connection): logged, not counted as read errors.
    /// </summary>
    public IReadOnlyList<string> Notices { get; init; } = [];

    /// <summary>Nothing read.</summary>
    public static SensorRead Empty { get; } = new([], []);
}
