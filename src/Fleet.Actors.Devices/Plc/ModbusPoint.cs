namespace Fleet.Actors.Devices.Plc;

/// <summary>The four Modbus data tables a point can live in.</summary>
public enum ModbusRegisterType
{
    /// <summary>Read/write bits (function 1 to read, 5 and 15 to write).</summary>
    Coil,

    /// <summary>Read-only bits (function 2).</summary>
    DiscreteInput,

    /// <summary>Read-only 16-bit registers (function 4).</summary>
    Input,

    /// <summary>Read/write 16-bit registers (function 3 to read, 6 and 16 to write).</summary>
    Holding,
}

/// <summary>
/// One named value of a PLC's register map: where it is, how its registers become a value, and
/// when a new value is worth publishing.
/// </summary>
public sealed record ModbusPoint
{
    /// <summary>Unique name of the point in its map (the reading's measurement name).</summary>
    public required string Name { get; init; }

    /// <summary>First register or bit, 0-based as on the wire.</summary>
    public required ushort Address { get; init; }

    /// <summary>The table the point is read from.</summary>
    public ModbusRegisterType RegisterType { get; init; } = ModbusRegisterType.Holding;

    /// <summary>How the registers are read (always <see cref="ModbusDataType.Bool"/> for coils and discrete inputs).</summary>
    public ModbusDataType DataType { get; init; } = ModbusDataType.U16;

    /// <summary>Byte order of multi-register values (and whether string bytes are swapped).</summary>
    public ModbusByteOrder ByteOrder { get; init; } = ModbusByteOrder.ABCD;

    /// <summary>For a bool in a register: the bit (0 = least significant); null means "register is not 0".</summary>
    public int? Bit { get; init; }

    /// <summary>For a string: its length in registers (two characters each).</summary>
    public int Length { get; init; }

    /// <summary>Engineering value = raw * scale + offset (numbers only).</summary>
    public double Scale { get; init; } = 1;

    /// <summary>Added after scaling.</summary>
    public double Offset { get; init; }

    /// <summary>Unit of the engineering value, for display.</summary>
    public string? Unit { get; init; }

    /// <summary>How often the point is read.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A new value is published only when it differs from the last published one by at least this (0: see <see cref="OnChange"/>).</summary>
    public double Deadband { get; init; }

    /// <summary>With a deadband of 0: publish only values that differ from the last published one.</summary>
    public bool OnChange { get; init; }

    /// <summary>True when writes to the point are allowed (coils and holding registers only).</summary>
    public bool Writable { get; init; }

    /// <summary>True for coils and discrete inputs (bits, not registers).</summary>
    public bool IsBit => RegisterType is ModbusRegisterType.Coil or ModbusRegisterType.DiscreteInput;

    /// <summary>Registers (or bits) the point takes.</summary>
    public int Width => IsBit ? 1 : ModbusValues.RegisterCount(DataType, Length);

    /// <summary>First address after the point.</summary>
    public int End => Address + Width;

    /// <summary>The point's table and addresses, e.g. <c>holding 10..11</c>.</summary>
    public string Describe() => Width == 1 ? $"{TypeName(RegisterType)} {Address}" : $"{TypeName(RegisterType)} {Address}..{End - 1}";

    /// <summary>The configuration name of a register type.</summary>
    public static string TypeName(ModbusRegisterType type) => type switch
    {
        ModbusRegisterType.Coil => "coil",
        ModbusRegisterType.DiscreteInput => "discrete-input",
        ModbusRegisterType.Input => "input",
        _ => "holding",
    };
}

/// <summary>
/// How a device wants to be read. Devices differ: some refuse long reads, some answer an
/// illegal-address exception for any unmapped register inside a read, so each knob is per device.
/// </summary>
public sealed record ModbusQuirks
{
    /// <summary>The defaults: the protocol's maxima and a gap of 10 registers (64 bits) read through.</summary>
    public static ModbusQuirks Default { get; } = new();

    /// <summary>Most registers one read asks for (1..125).</summary>
    public int MaxRegistersPerRequest { get; init; } = ModbusRequest.MaxReadRegisters;

    /// <summary>Most coils or discrete inputs one read asks for (1..2000).</summary>
    public int MaxCoilsPerRequest { get; init; } = ModbusRequest.MaxReadBits;

    /// <summary>Unwanted registers between two points that are read through rather than split into two reads.</summary>
    public int MaxGap { get; init; } = 10;

    /// <summary>Unwanted coils or discrete inputs between two points that are read through.</summary>
    public int MaxCoilsGap { get; init; } = 64;

    /// <summary>Most registers or bits per read for a table.</summary>
    public int MaxPerRequest(ModbusRegisterType type) =>
        type is ModbusRegisterType.Coil or ModbusRegisterType.DiscreteInput ? MaxCoilsPerRequest : MaxRegistersPerRequest;

    /// <summary>Largest gap read through for a table.</summary>
    public int MaxGapOf(ModbusRegisterType type) =>
        type is ModbusRegisterType.Coil or ModbusRegisterType.DiscreteInput ? MaxCoilsGap : MaxGap;
}
