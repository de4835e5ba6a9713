using System.Buffers.Binary;

namespace Fleet.Actors.Devices.Plc;

/// <summary>The Modbus function codes the client speaks.</summary>
public enum ModbusFunction : byte
{
    /// <summary>01: read coils.</summary>
    ReadCoils = 1,

    /// <summary>02: read discrete inputs.</summary>
    ReadDiscreteInputs = 2,

    /// <summary>03: read holding registers.</summary>
    ReadHoldingRegisters = 3,

    /// <summary>04: read input registers.</summary>
    ReadInputRegisters = 4,

    /// <summary>05: write single coil.</summary>
    WriteSingleCoil = 5,

    /// <summary>06: write single register.</summary>
    WriteSingleRegister = 6,

    /// <summary>15: write multiple coils.</summary>
    WriteMultipleCoils = 15,

    /// <summary>16: write multiple registers.</summary>
    WriteMultipleRegisters = 16,
}

/// <summary>
/// One Modbus request, checked against the protocol limits when made: 2000 coils or inputs and
/// 125 registers per read, 1968 coils and 123 registers per write, never past address 65535.
/// For writes <see cref="Data"/> holds the bytes as they go on the wire after the quantity
/// (the value of a single write, or the byte count's payload of a multiple write).
/// </summary>
public readonly record struct ModbusRequest
{
    /// <summary>Most coils or discrete inputs one read may ask for.</summary>
    public const int MaxReadBits = 2000;

    /// <summary>Most registers one read may ask for.</summary>
    public const int MaxReadRegisters = 125;

    /// <summary>Most coils one write may carry.</summary>
    public const int MaxWriteBits = 1968;

    /// <summary>Most registers one write may carry.</summary>
    public const int MaxWriteRegisters = 123;

    /// <summary>Longest request PDU (function 16 with 123 registers).</summary>
    public const int MaxPduLength = 6 + 2 * MaxWriteRegisters;

    private ModbusRequest(ModbusFunction function, ushort address, ushort quantity, ReadOnlyMemory<byte> data)
    {
        Function = function;
        Address = address;
        Quantity = quantity;
        Data = data;
    }

    /// <summary>The function code.</summary>
    public ModbusFunction Function { get; }

    /// <summary>Starting address (0-based, as on the wire).</summary>
    public ushort Address { get; }

    /// <summary>Number of coils or registers (1 for single writes).</summary>
    public ushort Quantity { get; }

    /// <summary>Write payload as on the wire; empty for reads.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>True for the four read functions.</summary>
    public bool IsRead => Function <= ModbusFunction.ReadInputRegisters;

    /// <summary>Byte count a valid response to this read carries (0 for writes).</summary>
    public int ResponseByteCount => Function switch
    {
        ModbusFunction.ReadCoils or ModbusFunction.ReadDiscreteInputs => (Quantity + 7) / 8,
        ModbusFunction.ReadHoldingRegisters or ModbusFunction.ReadInputRegisters => 2 * Quantity,
        _ => 0,
    };

    /// <summary>Length of a valid (non-exception) response PDU.</summary>
    public int ResponsePduLength => IsRead ? 2 + ResponseByteCount : 5;

    /// <summary>Length of this request's PDU.</summary>
    public int PduLength => Function switch
    {
        ModbusFunction.WriteMultipleCoils or ModbusFunction.WriteMultipleRegisters => 6 + Data.Length,
        _ => 5,
    };

    /// <summary>Reads <paramref name="count"/> coils (function 1).</summary>
    public static ModbusRequest ReadCoils(ushort address, int count) => Read(ModbusFunction.ReadCoils, address, count, MaxReadBits);

    /// <summary>Reads <paramref name="count"/> discrete inputs (function 2).</summary>
    public static ModbusRequest ReadDiscreteInputs(ushort address, int count) => Read(ModbusFunction.ReadDiscreteInputs, address, count, MaxReadBits);

    /// <summary>Reads <paramref name="count"/> holding registers (function 3).</summary>
    public static ModbusRequest ReadHoldingRegisters(ushort address, int count) => Read(ModbusFunction.ReadHoldingRegisters, address, count, MaxReadRegisters);

    /// <summary>Reads <paramref name="count"/> input registers (function 4).</summary>
    public static ModbusRequest ReadInputRegisters(ushort address, int count) => Read(ModbusFunction.ReadInputRegisters, address, count, MaxReadRegisters);

    /// <summary>Writes one coil (function 5: 0xFF00 on, 0x0000 off).</summary>
    public static ModbusRequest WriteSingleCoil(ushort address, bool value) =>
        new(ModbusFunction.WriteSingleCoil, address, 1, value ? new byte[] { 0xFF, 0x00 } : new byte[] { 0x00, 0x00 });

    /// <summary>Writes one holding register (function 6).</summary>
    public static ModbusRequest WriteSingleRegister(ushort address, ushort value) =>
        new(ModbusFunction.WriteSingleRegister, address, 1, new[] { (byte)(value >> 8), (byte)value });

    /// <summary>Writes consecutive coils (function 15), packed least significant bit first.</summary>
    public static ModbusRequest WriteMultipleCoils(ushort address, ReadOnlySpan<bool> values)
    {
        CheckRange(address, values.Length, MaxWriteBits);
        var data = new byte[(values.Length + 7) / 8];
        for (var i = 0; i < values.Length; i++)
            if (values[i]) data[i / 8] |= (byte)(1 << (i % 8));
        return new(ModbusFunction.WriteMultipleCoils, address, (ushort)values.Length, data);
    }

    /// <summary>Writes consecutive holding registers (function 16), big-endian on the wire.</summary>
    public static ModbusRequest WriteMultipleRegisters(ushort address, ReadOnlySpan<ushort> values)
    {
        CheckRange(address, values.Length, MaxWriteRegisters);
        var data = new byte[2 * values.Length];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(2 * i), values[i]);
        return new(ModbusFunction.WriteMultipleRegisters, address, (ushort)values.Length, data);
    }

    /// <summary>Writes this request's PDU (function code onwards) and returns its length.</summary>
    public int WritePdu(Span<byte> destination)
    {
        destination[0] = (byte)Function;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], Address);
        switch (Function)
        {
            case ModbusFunction.WriteSingleCoil or ModbusFunction.WriteSingleRegister:
                Data.Span.CopyTo(destination[3..]);
                return 5;
            case ModbusFunction.WriteMultipleCoils or ModbusFunction.WriteMultipleRegisters:
                BinaryPrimitives.WriteUInt16BigEndian(destination[3..], Quantity);
                destination[5] = (byte)Data.Length;
                Data.Span.CopyTo(destination[6..]);
                return 6 + Data.Length;
            default:
                BinaryPrimitives.WriteUInt16BigEndian(destination[3..], Quantity);
                return 5;
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Function} address {Address} quantity {Quantity}";

    private static ModbusRequest Read(ModbusFunction function, ushort address, int count, int max)
    {
        CheckRange(address, count, max);
        return new(function, address, (ushort)count, ReadOnlyMemory<byte>.Empty);
    }

    private static void CheckRange(ushort address, int count, int max)
    {
        if (count < 1 || count > max)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"must be 1..{max}");
        if (address + count > 65_536)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"runs past address 65535 from {address}");
    }
}
