using System.Buffers.Binary;

namespace Fleet.Actors.Devices.Plc;

/// <summary>How a value is laid out over registers.</summary>
public enum ModbusDataType
{
    /// <summary>Unsigned 16-bit, one register.</summary>
    U16,

    /// <summary>Signed 16-bit, one register.</summary>
    I16,

    /// <summary>Unsigned 32-bit, two registers.</summary>
    U32,

    /// <summary>Signed 32-bit, two registers.</summary>
    I32,

    /// <summary>IEEE 754 single, two registers.</summary>
    F32,

    /// <summary>Unsigned 64-bit, four registers.</summary>
    U64,

    /// <summary>Signed 64-bit, four registers.</summary>
    I64,

    /// <summary>IEEE 754 double, four registers.</summary>
    F64,

    /// <summary>One bit of a register (or a coil or discrete input).</summary>
    Bool,

    /// <summary>ASCII text, two characters per register, padded with NULs.</summary>
    String,
}

/// <summary>
/// Byte order of multi-register values, named by where the bytes A (most significant) to D of a
/// 32-bit value end up; 64-bit values follow the same rule with words reversed for a word swap.
/// </summary>
public enum ModbusByteOrder
{
    /// <summary>Big-endian: registers AB CD (the Modbus convention).</summary>
    ABCD,

    /// <summary>Word swap: registers CD AB.</summary>
    CDAB,

    /// <summary>Byte swap within each register: BA DC.</summary>
    BADC,

    /// <summary>Little-endian: DC BA.</summary>
    DCBA,
}

/// <summary>Pure conversions between registers and typed values, in any of the four byte orders.</summary>
public static class ModbusValues
{
    /// <summary>Registers a value of <paramref name="type"/> takes (<paramref name="stringRegisters"/> for strings).</summary>
    public static int RegisterCount(ModbusDataType type, int stringRegisters = 1) => type switch
    {
        ModbusDataType.U16 or ModbusDataType.I16 or ModbusDataType.Bool => 1,
        ModbusDataType.U32 or ModbusDataType.I32 or ModbusDataType.F32 => 2,
        ModbusDataType.U64 or ModbusDataType.I64 or ModbusDataType.F64 => 4,
        ModbusDataType.String => stringRegisters,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>A 16-bit register as signed.</summary>
    public static short ToInt16(ushort register) => unchecked((short)register);

    /// <summary>A signed 16-bit value as a register.</summary>
    public static ushort FromInt16(short value) => unchecked((ushort)value);

    /// <summary>Bit <paramref name="bit"/> (0 = least significant) of a register.</summary>
    public static bool ToBool(ushort register, int bit) => (register & (1 << CheckBit(bit))) != 0;

    /// <summary>The register with bit <paramref name="bit"/> set to <paramref name="value"/>.</summary>
    public static ushort WithBit(ushort register, int bit, bool value) =>
        value ? (ushort)(register | (1 << CheckBit(bit))) : (ushort)(register & ~(1 << CheckBit(bit)));

    /// <summary>Two registers as an unsigned 32-bit value.</summary>
    public static uint ToUInt32(ReadOnlySpan<ushort> registers, ModbusByteOrder order)
    {
        Span<byte> bytes = stackalloc byte[4];
        Gather(registers, order, bytes);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    /// <summary>An unsigned 32-bit value as two registers.</summary>
    public static void FromUInt32(uint value, ModbusByteOrder order, Span<ushort> registers)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        Scatter(bytes, order, registers);
    }

    /// <summary>Four registers as an unsigned 64-bit value.</summary>
    public static ulong ToUInt64(ReadOnlySpan<ushort> registers, ModbusByteOrder order)
    {
        Span<byte> bytes = stackalloc byte[8];
        Gather(registers, order, bytes);
        return BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }

    /// <summary>An unsigned 64-bit value as four registers.</summary>
    public static void FromUInt64(ulong value, ModbusByteOrder order, Span<ushort> registers)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        Scatter(bytes, order, registers);
    }

    /// <summary>Two registers as a signed 32-bit value.</summary>
    public static int ToInt32(ReadOnlySpan<ushort> registers, ModbusByteOrder order) => unchecked((int)ToUInt32(registers, order));

    /// <summary>A signed 32-bit value as two registers.</summary>
    public static void FromInt32(int value, ModbusByteOrder order, Span<ushort> registers) => FromUInt32(unchecked((uint)value), order, registers);

    /// <summary>Two registers as a single.</summary>
    public static float ToSingle(ReadOnlySpan<ushort> registers, ModbusByteOrder order) => BitConverter.UInt32BitsToSingle(ToUInt32(registers, order));

    /// <summary>A single as two registers.</summary>
    public static void FromSingle(float value, ModbusByteOrder order, Span<ushort> registers) => FromUInt32(BitConverter.SingleToUInt32Bits(value), order, registers);

    /// <summary>Four registers as a signed 64-bit value.</summary>
    public static long ToInt64(ReadOnlySpan<ushort> registers, ModbusByteOrder order) => unchecked((long)ToUInt64(registers, order));

    /// <summary>A signed 64-bit value as four registers.</summary>
    public static void FromInt64(long value, ModbusByteOrder order, Span<ushort> registers) => FromUInt64(unchecked((ulong)value), order, registers);

    /// <summary>Four registers as a double.</summary>
    public static double ToDouble(ReadOnlySpan<ushort> registers, ModbusByteOrder order) => BitConverter.UInt64BitsToDouble(ToUInt64(registers, order));

    /// <summary>A double as four registers.</summary>
    public static void FromDouble(double value, ModbusByteOrder order, Span<ushort> registers) => FromUInt64(BitConverter.DoubleToUInt64Bits(value), order, registers);

    /// <summary>
    /// Registers as ASCII text, first character in the high byte (BADC and DCBA swap the bytes of
    /// each register); trailing NULs and spaces are trimmed, non-ASCII bytes become '?'.
    /// </summary>
    public static string ToText(ReadOnlySpan<ushort> registers, ModbusByteOrder order = ModbusByteOrder.ABCD)
    {
        Span<char> chars = registers.Length <= 128 ? stackalloc char[2 * registers.Length] : new char[2 * registers.Length];
        var swap = SwapsBytes(order);
        for (var i = 0; i < registers.Length; i++)
        {
            var r = swap ? BinaryPrimitives.ReverseEndianness(registers[i]) : registers[i];
            chars[2 * i] = Ascii((byte)(r >> 8));
            chars[2 * i + 1] = Ascii((byte)r);
        }
        return new string(chars).TrimEnd('\0', ' ');
    }

    /// <summary>ASCII text as registers, padded with NULs; throws when it does not fit or is not ASCII.</summary>
    public static void FromText(string text, ModbusByteOrder order, Span<ushort> registers)
    {
        if (text.Length > 2 * registers.Length)
            throw new ArgumentException($"\"{text}\" needs {(text.Length + 1) / 2} registers, {registers.Length} given", nameof(text));
        if (!System.Text.Ascii.IsValid(text)) throw new ArgumentException("only ASCII text fits in registers", nameof(text));
        var swap = SwapsBytes(order);
        for (var i = 0; i < registers.Length; i++)
        {
            var high = 2 * i < text.Length ? text[2 * i] : '\0';
            var low = 2 * i + 1 < text.Length ? text[2 * i + 1] : '\0';
            var r = (ushort)((high << 8) | low);
            registers[i] = swap ? BinaryPrimitives.ReverseEndianness(r) : r;
        }
    }

    /// <summary>
    /// Any numeric type as a double, scaled: <c>raw * scale + offset</c> (64-bit integers beyond
    /// 2^53 lose precision; read them with <see cref="ToUInt64"/> or <see cref="ToInt64"/>).
    /// </summary>
    public static double ToNumber(ReadOnlySpan<ushort> registers, ModbusDataType type, ModbusByteOrder order, double scale = 1, double offset = 0)
    {
        double raw = type switch
        {
            ModbusDataType.U16 => registers[0],
            ModbusDataType.I16 => ToInt16(registers[0]),
            ModbusDataType.U32 => ToUInt32(registers, order),
            ModbusDataType.I32 => ToInt32(registers, order),
            ModbusDataType.F32 => ToSingle(registers, order),
            ModbusDataType.U64 => ToUInt64(registers, order),
            ModbusDataType.I64 => ToInt64(registers, order),
            ModbusDataType.F64 => ToDouble(registers, order),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a number type"),
        };
        return raw * scale + offset;
    }

    /// <summary>
    /// The registers for an engineering value: <c>(value - offset) / scale</c>, rounded to the
    /// nearest integer for integer types; throws <see cref="OverflowException"/> when it does not fit.
    /// </summary>
    public static void FromNumber(double value, ModbusDataType type, ModbusByteOrder order, Span<ushort> registers, double scale = 1, double offset = 0)
    {
        if (scale == 0) throw new ArgumentOutOfRangeException(nameof(scale), scale, "must not be 0");
        var raw = (value - offset) / scale;
        var whole = Math.Round(raw, MidpointRounding.AwayFromZero);
        switch (type)
        {
            case ModbusDataType.U16: registers[0] = checked((ushort)whole); break;
            case ModbusDataType.I16: registers[0] = FromInt16(checked((short)whole)); break;
            case ModbusDataType.U32: FromUInt32(checked((uint)whole), order, registers); break;
            case ModbusDataType.I32: FromInt32(checked((int)whole), order, registers); break;
            case ModbusDataType.F32: FromSingle((float)raw, order, registers); break;
            case ModbusDataType.U64: FromUInt64(checked((ulong)whole), order, registers); break;
            case ModbusDataType.I64: FromInt64(checked((long)whole), order, registers); break;
            case ModbusDataType.F64: FromDouble(raw, order, registers); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, "not a number type");
        }
    }

    private static bool SwapsWords(ModbusByteOrder order) => order is ModbusByteOrder.CDAB or ModbusByteOrder.DCBA;

    private static bool SwapsBytes(ModbusByteOrder order) => order is ModbusByteOrder.BADC or ModbusByteOrder.DCBA;

    // Big-endian value bytes from registers: word i of the value sits in register i, or in the
    // mirrored register for a word swap; each register holds its word's bytes, swapped for a byte swap.
    private static void Gather(ReadOnlySpan<ushort> registers, ModbusByteOrder order, Span<byte> bytes)
    {
        var words = bytes.Length / 2;
        if (registers.Length < words) throw new ArgumentException($"{words} registers needed, {registers.Length} given", nameof(registers));
        for (var i = 0; i < words; i++)
        {
            var r = registers[SwapsWords(order) ? words - 1 - i : i];
            BinaryPrimitives.WriteUInt16BigEndian(bytes[(2 * i)..], SwapsBytes(order) ? BinaryPrimitives.ReverseEndianness(r) : r);
        }
    }

    private static void Scatter(ReadOnlySpan<byte> bytes, ModbusByteOrder order, Span<ushort> registers)
    {
        var words = bytes.Length / 2;
        if (registers.Length < words) throw new ArgumentException($"{words} registers needed, {registers.Length} given", nameof(registers));
        for (var i = 0; i < words; i++)
        {
            var w = BinaryPrimitives.ReadUInt16BigEndian(bytes[(2 * i)..]);
            registers[SwapsWords(order) ? words - 1 - i : i] = SwapsBytes(order) ? BinaryPrimitives.ReverseEndianness(w) : w;
        }
    }

    private static char Ascii(byte b) => b < 0x80 ? (char)b : '?';

    private static int CheckBit(int bit) =>
        bit is >= 0 and <= 15 ? bit : throw new ArgumentOutOfRangeException(nameof(bit), bit, "must be 0..15");
}
