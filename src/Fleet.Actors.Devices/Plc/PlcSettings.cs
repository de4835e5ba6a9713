using Fleet.Actors.Devices.Serial;

namespace Fleet.Actors.Devices.Plc;

/// <summary>
/// One PLC (an element of HOCON <c>fleet.plcs</c>): how to reach it, its register map, how often to
/// poll, and the timeouts, circuit breaker and restart backoff of its actor.
/// </summary>
public sealed record PlcSettings
{
    /// <summary>Unique id on this vehicle: the readings' <c>device_id</c> and the target of write messages.</summary>
    public required string Id { get; init; }

    /// <summary>Modbus TCP host; null for an RTU device on <see cref="Serial"/>.</summary>
    public string? Host { get; init; }

    /// <summary>Modbus TCP port.</summary>
    public int Port { get; init; } = 502;

    /// <summary>TCP framing: MBAP (Modbus TCP) or RTU frames over TCP (serial gateways).</summary>
    public ModbusFraming Framing { get; init; } = ModbusFraming.Tcp;

    /// <summary>The serial line of an RTU device (used when <see cref="Host"/> is null).</summary>
    public SerialOptions? Serial { get; init; }

    /// <summary>The unit (slave) id.</summary>
    public byte UnitId { get; init; } = 1;

    /// <summary>The points to poll, and the device's quirks (<see cref="RegisterMap.Quirks"/>).</summary>
    public required RegisterMap Map { get; init; }

    /// <summary>How often the actor looks for due points (each point has its own interval; this is the granularity).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one request may wait for its answer.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a connect may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>RTU framing: how long the line must stay quiet after a timeout (see <see cref="ModbusTimeouts.Guard"/>); null: <see cref="CallTimeout"/>.</summary>
    public TimeSpan? GuardTime { get; init; }

    /// <summary>Consecutive failed calls (timeouts, link failures) that open the circuit breaker.</summary>
    public int MaxFailures { get; init; } = 3;

    /// <summary>How long the breaker stays open before it lets one call through (half-open).</summary>
    public TimeSpan ResetTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>First restart delay of the actor after it failed.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest restart delay.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Random extra delay as a fraction of the backoff.</summary>
    public double RandomFactor { get; init; } = 0.2;

    /// <summary>The transport timeouts.</summary>
    public ModbusTimeouts Timeouts => new() { Operation = CallTimeout, Connect = ConnectTimeout, Guard = GuardTime };

    /// <summary>
    /// The breaker's own call timeout: a backstop above the transport's, which enforces the real
    /// bounds; a breaker timeout of only <see cref="CallTimeout"/> would fire during a connect that
    /// is still within <see cref="ConnectTimeout"/>, or while an RTU line waits out its guard time.
    /// </summary>
    public TimeSpan BreakerCallTimeout => ConnectTimeout + Timeouts.GuardOrDefault + CallTimeout;

    /// <summary>Where the PLC is, for logs: <c>tcp host:port</c> or <c>rtu /dev/...</c>.</summary>
    public string Describe() => Host is not null ? $"tcp {Host}:{Port} unit {UnitId}" : $"rtu {Serial?.Port} unit {UnitId}";

    /// <summary>A client for this PLC (not yet connected): TCP when <see cref="Host"/> is set, RTU on <see cref="Serial"/> otherwise.</summary>
    public ModbusClient CreateClient()
    {
        if (Host is not null) return new ModbusClient(new ModbusTcpTransport(Host, Port, Framing, Timeouts), UnitId);
        var serial = Serial ?? throw new InvalidOperationException($"PLC {Id}: neither a host nor a serial line is configured");
        return new ModbusClient(new ModbusRtuTransport(new SerialPortChannel(serial), serial.BaudRate, Timeouts), UnitId);
    }
}
