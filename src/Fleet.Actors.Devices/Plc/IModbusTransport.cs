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
    /// Sends <paramref name="request"/> to unit <paramref name="unitId"/> and returns the data of the
    /// answer: the bytes after the byte count for reads, empty for writes (whose echo was checked).
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
}
