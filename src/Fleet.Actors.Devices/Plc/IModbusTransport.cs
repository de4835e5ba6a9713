namespace Fleet.Actors.Devices.Plc;

/// <summary>
/// Carries Modbus requests to a device and brings back validated answers, one request at a time.
/// Implementations: <see cref="ModbusTcpTransport"/> (MBAP or RTU framing over TCP) and
/// <see cref="ModbusRtuTransport"/> (RTU over a serial line).
/// </summary>
public interface IModbusTransport : IAsyncDisposable
{
    /// <summary>What the transport talks to, for logs.</summary>
    string Description { get; }

    /// <summary>Requests, timeouts and discarded frames so far.</summary>
    ModbusCounters Counters { get; }

    /// <summary>
    /// True when <paramref name="unitId"/> is the broadcast address on this link: unit 0 with RTU
    /// framing (serial, or over TCP), and over Modbus TCP when the device is a gateway that passes
    /// unit 0 on as a broadcast. Elsewhere unit 0 over TCP addresses the device itself.
    /// </summary>
    bool IsBroadcast(byte unitId);

    /// <summary>
    /// Sends <paramref name="request"/> to unit <paramref name="unitId"/> and returns the data of the
    /// answer: the bytes after the byte count for reads, empty for writes (whose echo was checked).
    /// A write to the broadcast unit (<see cref="IsBroadcast"/>) returns once sent: no device answers
    /// it; a read from it throws <see cref="ArgumentException"/> before anything is sent.
    /// Throws <see cref="ModbusException"/> for an exception response, <see cref="TimeoutException"/>
    /// when no answer came within the operation timeout, and <see cref="IOException"/> (a
    /// <see cref="ModbusFrameException"/> for an untrustworthy answer) when the link failed.
    /// </summary>
    Task<byte[]> SendAsync(byte unitId, ModbusRequest request, CancellationToken cancellationToken);
}

/// <summary>Timeouts of a Modbus transport.</summary>
public sealed record ModbusTimeouts
{
    /// <summary>The defaults: 10 s to connect, 5 s per operation.</summary>
    public static readonly ModbusTimeouts Default = new();

    /// <summary>How long a TCP connect may take.</summary>
    public TimeSpan Connect { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one request may wait for its answer.</summary>
    public TimeSpan Operation { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// RTU framing: after a timeout, how long the line must stay quiet before the next request, so
    /// that a late answer to the timed-out request is waited out and discarded rather than taken for
    /// the next one's (RTU has no transaction id). Null: as long as <see cref="Operation"/>.
    /// Never shorter than the 3.5-character silence; make it longer for devices that answer very late.
    /// </summary>
    public TimeSpan? Guard { get; init; }

    /// <summary>RTU framing: after a broadcast, how long before the next request, for the devices to carry it out.</summary>
    public TimeSpan Turnaround { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The guard time in force: <see cref="Guard"/>, or <see cref="Operation"/> when not set.</summary>
    public TimeSpan GuardOrDefault => Guard ?? Operation;
}
