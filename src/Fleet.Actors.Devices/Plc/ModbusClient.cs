using System.Buffers.Binary;

namespace Fleet.Actors.Devices.Plc;

/// <summary>
/// Typed Modbus calls to one unit over a transport. Every call returns the data or throws
/// <see cref="ModbusException"/> (the device refused), <see cref="TimeoutException"/> (no answer in
/// time) or <see cref="IOException"/> (the link failed or the answer was garbled); the next call
/// after a failure reconnects where the transport can. Addresses are 0-based, as on the wire.
/// On a link where unit 0 is the broadcast address (<see cref="IsBroadcast"/>), writes to it return
/// once sent and reads from it throw <see cref="ArgumentException"/> before anything is sent.
/// </summary>
public sealed class ModbusClient : IAsyncDisposable
{
    private readonly IModbusTransport _transport;

    /// <summary>Creates a client for unit <paramref name="unitId"/>; it owns and disposes the transport.</summary>
    public ModbusClient(IModbusTransport transport, byte unitId = 1)
    {
        _transport = transport;
        UnitId = unitId;
    }

    /// <summary>The unit (slave) id requests go to and answers must come from.</summary>
    public byte UnitId { get; }

    /// <summary>True when <see cref="UnitId"/> is the broadcast address on this link: writes reach every device and get no answer.</summary>
    public bool IsBroadcast => _transport.IsBroadcast(UnitId);

    /// <summary>The transport, for its description and counters.</summary>
    public IModbusTransport Transport => _transport;

    /// <summary>Reads coils (function 1).</summary>
    public async Task<bool[]> ReadCoilsAsync(ushort address, int count, CancellationToken cancellationToken = default) =>
        Bits(await SendAsync(ModbusRequest.ReadCoils(address, count), cancellationToken).ConfigureAwait(false), count);

    /// <summary>Reads discrete inputs (function 2).</summary>
    public async Task<bool[]> ReadDiscreteInputsAsync(ushort address, int count, CancellationToken cancellationToken = default) =>
        Bits(await SendAsync(ModbusRequest.ReadDiscreteInputs(address, count), cancellationToken).ConfigureAwait(false), count);

    /// <summary>Reads holding registers (function 3).</summary>
    public async Task<ushort[]> ReadHoldingRegistersAsync(ushort address, int count, CancellationToken cancellationToken = default) =>
        Registers(await SendAsync(ModbusRequest.ReadHoldingRegisters(address, count), cancellationToken).ConfigureAwait(false));

    /// <summary>Reads input registers (function 4).</summary>
    public async Task<ushort[]> ReadInputRegistersAsync(ushort address, int count, CancellationToken cancellationToken = default) =>
        Registers(await SendAsync(ModbusRequest.ReadInputRegisters(address, count), cancellationToken).ConfigureAwait(false));

    /// <summary>Writes one coil (function 5).</summary>
    public Task WriteSingleCoilAsync(ushort address, bool value, CancellationToken cancellationToken = default) =>
        SendAsync(ModbusRequest.WriteSingleCoil(address, value), cancellationToken);

    /// <summary>Writes one holding register (function 6).</summary>
    public Task WriteSingleRegisterAsync(ushort address, ushort value, CancellationToken cancellationToken = default) =>
        SendAsync(ModbusRequest.WriteSingleRegister(address, value), cancellationToken);

    /// <summary>Writes consecutive coils (function 15).</summary>
    public Task WriteMultipleCoilsAsync(ushort address, IReadOnlyList<bool> values, CancellationToken cancellationToken = default) =>
        SendAsync(ModbusRequest.WriteMultipleCoils(address, values as bool[] ?? values.ToArray()), cancellationToken);

    /// <summary>Writes consecutive holding registers (function 16).</summary>
    public Task WriteMultipleRegistersAsync(ushort address, IReadOnlyList<ushort> values, CancellationToken cancellationToken = default) =>
        SendAsync(ModbusRequest.WriteMultipleRegisters(address, values as ushort[] ?? values.ToArray()), cancellationToken);

    /// <summary>Sends any request and returns the raw data of its answer (see <see cref="IModbusTransport.SendAsync"/>).</summary>
    public Task<byte[]> SendAsync(ModbusRequest request, CancellationToken cancellationToken = default) =>
        _transport.SendAsync(UnitId, request, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _transport.DisposeAsync();

    private static bool[] Bits(byte[] data, int count)
    {
        var bits = new bool[count];
        for (var i = 0; i < count; i++) bits[i] = (data[i / 8] & (1 << (i % 8))) != 0;
        return bits;
    }

    private static ushort[] Registers(byte[] data)
    {
        var registers = new ushort[data.Length / 2];
        for (var i = 0; i < registers.Length; i++) registers[i] = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(2 * i));
        return registers;
    }
}
