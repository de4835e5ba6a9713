using System.Globalization;
using System.Text;
using System.Text.Json;
using Fleet.Actors.Devices.Plc;

namespace Fleet.Actors.Host.Cli;

/// <summary>How <c>fleet-agent modbus</c> turns registers into values and values into registers.</summary>
internal sealed record ModbusCliFormat(ModbusDataType Type, ModbusByteOrder Order, double Scale, double Offset)
{
    private bool Scaled => Scale != 1 || Offset != 0;

    private bool IsNumber => Type is not (ModbusDataType.String or ModbusDataType.Bool);

    private string Name => Type.ToString().ToLowerInvariant();

    /// <summary>Refuses combinations that mean nothing: a register type for a bit table, scale on text.</summary>
    public bool TryCheck(bool bitTable, out string problem)
    {
        problem = "";
        if (bitTable && Type != ModbusDataType.Bool)
            problem = $"coils and discrete inputs are bits: --data-type {Name} applies to input and holding registers";
        else if (Scaled && !IsNumber)
            problem = $"--scale and --offset apply to number types, not {Name}";
        else if (Scale == 0 || !double.IsFinite(Scale) || !double.IsFinite(Offset))
            problem = "--scale must be a finite number other than 0, --offset a finite number";
        return problem.Length == 0;
    }

    /// <summary>Registers one value takes (all of them for a string).</summary>
    public int RegistersPerValue(int stringRegisters) => ModbusValues.RegisterCount(Type, stringRegisters);

    /// <summary>
    /// One value: exact integers and floats of their own precision when unscaled, the scaled
    /// engineering value otherwise, the text of a string, the 16 bits (15 first) of a bool register.
    /// </summary>
    public object Decode(ReadOnlySpan<ushort> registers)
    {
        if (Type == ModbusDataType.String) return ModbusValues.ToText(registers, Order);
        if (Type == ModbusDataType.Bool) return Convert.ToString(registers[0], 2).PadLeft(16, '0');
        if (Scaled)
        {
            var value = ModbusValues.ToNumber(registers, Type, Order, Scale, Offset);
            return Type == ModbusDataType.F32 ? (object)(float)value : (object)value;
        }
        // Each arm boxed on its own: a switch over mixed numbers would widen them all to double.
        return Type switch
        {
            ModbusDataType.U16 => (object)(ulong)registers[0],
            ModbusDataType.I16 => (object)(long)ModbusValues.ToInt16(registers[0]),
            ModbusDataType.U32 => (object)(ulong)ModbusValues.ToUInt32(registers, Order),
            ModbusDataType.I32 => (object)(long)ModbusValues.ToInt32(registers, Order),
            ModbusDataType.U64 => (object)ModbusValues.ToUInt64(registers, Order),
            ModbusDataType.I64 => (object)ModbusValues.ToInt64(registers, Order),
            ModbusDataType.F32 => (object)ModbusValues.ToSingle(registers, Order),
            _ => (object)ModbusValues.ToDouble(registers, Order),
        };
    }

    /// <summary>Encodes one value given on the command line; false with the reason when it is not one or does not fit.</summary>
    public bool TryEncode(string token, Span<ushort> registers, out string problem)
    {
        problem = "";
        var text = CliNumbers.Decimal(token).Trim();
        try
        {
            // 64-bit integers beyond 2^53 would lose digits through a double: take them exactly.
            if (!Scaled && Type == ModbusDataType.U64 && ulong.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var u))
                ModbusValues.FromUInt64(u, Order, registers);
            else if (!Scaled && Type == ModbusDataType.I64 && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l))
                ModbusValues.FromInt64(l, Order, registers);
            else if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                problem = $"'{token}' is not a number";
            else if (Type == ModbusDataType.F32 && double.IsFinite(value) && Math.Abs((value - Offset) / Scale) > float.MaxValue)
                problem = $"value {text} does not fit {Name}";
            else
                ModbusValues.FromNumber(value, Type, Order, registers, Scale, Offset);
        }
        catch (OverflowException)
        {
            problem = $"value {text} does not fit {Name}{(Scaled ? $" (scale {Scale.ToString(CultureInfo.InvariantCulture)}, offset {Offset.ToString(CultureInfo.InvariantCulture)})" : "")}";
        }
        return problem.Length == 0;
    }
}

/// <summary>One read or write of <c>fleet-agent modbus</c>, checked against the protocol's limits before anything is sent.</summary>
internal sealed class ModbusCliPlan
{
    private readonly string _table;

    private ModbusCliPlan(string table, ushort address, int quantity, ModbusCliFormat format)
    {
        _table = table;
        Address = address;
        Quantity = quantity;
        Format = format;
    }

    /// <summary>The first address.</summary>
    public ushort Address { get; }

    /// <summary>Coils, discrete inputs or registers on the wire.</summary>
    public int Quantity { get; }

    /// <summary>How values are laid out.</summary>
    public ModbusCliFormat Format { get; }

    /// <summary>Coils or discrete inputs rather than registers.</summary>
    public bool IsBits => _table is "coil" or "discrete";

    /// <summary>The coils to write.</summary>
    public bool[] Bits { get; private init; } = [];

    /// <summary>The registers to write.</summary>
    public ushort[] Registers { get; private init; } = [];

    /// <summary>What is addressed, as in messages: <c>holding 900..909</c>.</summary>
    public string Range => Quantity == 1 ? $"{_table} {Address}" : $"{_table} {Address}..{Address + Quantity - 1}";

    /// <summary>Plans a read of <paramref name="count"/> values (registers of the string for strings).</summary>
    public static bool TryRead(string table, int address, int count, ModbusCliFormat format, out ModbusCliPlan plan, out string problem)
    {
        plan = null!;
        var bits = table is "coil" or "discrete";
        if (count < 1) return Fail($"--count {count} must be at least 1", out problem);
        var perValue = bits ? 1 : format.RegistersPerValue(count);
        var quantity = bits || format.Type == ModbusDataType.String ? count : (long)count * perValue;
        var limit = bits ? ModbusRequest.MaxReadBits : ModbusRequest.MaxReadRegisters;
        if (quantity > limit)
        {
            var unit = bits ? (table == "coil" ? "coils" : "discrete inputs") : "registers";
            var values = !bits && perValue > 1 && format.Type != ModbusDataType.String ? $" ({limit / perValue} {format.Type.ToString().ToLowerInvariant()} values)" : "";
            return Fail($"--count {count} is over the protocol limit: at most {limit} {unit}{values} per read", out problem);
        }
        if (!TryAddress(address, (int)quantity, out problem)) return false;
        plan = new ModbusCliPlan(table, (ushort)address, (int)quantity, format);
        return true;
    }

    /// <summary>Plans a write of comma-separated values (the whole text for a string).</summary>
    public static bool TryWrite(string table, int address, string values, ModbusCliFormat format, out ModbusCliPlan plan, out string problem)
    {
        plan = null!;
        if (table == "coil")
        {
            var tokens = values.Split(',');
            var bits = new bool[tokens.Length];
            for (var i = 0; i < tokens.Length; i++)
            {
                switch (tokens[i].Trim().ToLowerInvariant())
                {
                    case "1" or "true" or "on": bits[i] = true; break;
                    case "0" or "false" or "off": bits[i] = false; break;
                    default: return Fail($"'{tokens[i]}' is not a coil value (1, 0, true, false, on, off)", out problem);
                }
            }
            if (bits.Length > ModbusRequest.MaxWriteBits)
                return Fail($"{bits.Length} coils is over the protocol limit: at most {ModbusRequest.MaxWriteBits} per write", out problem);
            if (!TryAddress(address, bits.Length, out problem)) return false;
            plan = new ModbusCliPlan(table, (ushort)address, bits.Length, format) { Bits = bits };
            return true;
        }
        if (format.Type == ModbusDataType.Bool)
            return Fail("bool is for coils; to change a bit of a holding register, write the whole register as u16", out problem);
        ushort[] registers;
        if (format.Type == ModbusDataType.String)
        {
            registers = new ushort[Math.Max(1, (values.Length + 1) / 2)];
            if (!Ascii.IsValid(values)) return Fail($"\"{values}\" is not ASCII text", out problem);
            ModbusValues.FromText(values, format.Order, registers);
        }
        else
        {
            var tokens = values.Split(',');
            var perValue = format.RegistersPerValue(1);
            registers = new ushort[tokens.Length * perValue];
            for (var i = 0; i < tokens.Length; i++)
                if (!format.TryEncode(tokens[i], registers.AsSpan(i * perValue, perValue), out problem)) return false;
        }
        if (registers.Length > ModbusRequest.MaxWriteRegisters)
            return Fail($"{registers.Length} registers is over the protocol limit: at most {ModbusRequest.MaxWriteRegisters} per write", out problem);
        if (!TryAddress(address, registers.Length, out problem)) return false;
        plan = new ModbusCliPlan(table, (ushort)address, registers.Length, format) { Registers = registers };
        return true;
    }

    /// <summary>Reads the planned coils or discrete inputs.</summary>
    public Task<bool[]> ReadBitsAsync(ModbusClient client, CancellationToken cancellationToken) => _table == "coil"
        ? client.ReadCoilsAsync(Address, Quantity, cancellationToken)
        : client.ReadDiscreteInputsAsync(Address, Quantity, cancellationToken);

    /// <summary>Reads the planned input or holding registers.</summary>
    public Task<ushort[]> ReadRegistersAsync(ModbusClient client, CancellationToken cancellationToken) => _table == "input"
        ? client.ReadInputRegistersAsync(Address, Quantity, cancellationToken)
        : client.ReadHoldingRegistersAsync(Address, Quantity, cancellationToken);

    /// <summary>Writes with function 5 or 15 (coils), 6 or 16 (registers); returns the function used.</summary>
    public async Task<ModbusFunction> WriteAsync(ModbusClient client, CancellationToken cancellationToken)
    {
        if (IsBits && Bits.Length == 1)
        {
            await client.WriteSingleCoilAsync(Address, Bits[0], cancellationToken).ConfigureAwait(false);
            return ModbusFunction.WriteSingleCoil;
        }
        if (IsBits)
        {
            await client.WriteMultipleCoilsAsync(Address, Bits, cancellationToken).ConfigureAwait(false);
            return ModbusFunction.WriteMultipleCoils;
        }
        if (Registers.Length == 1)
        {
            await client.WriteSingleRegisterAsync(Address, Registers[0], cancellationToken).ConfigureAwait(false);
            return ModbusFunction.WriteSingleRegister;
        }
        await client.WriteMultipleRegistersAsync(Address, Registers, cancellationToken).ConfigureAwait(false);
        return ModbusFunction.WriteMultipleRegisters;
    }

    private static bool TryAddress(int address, int quantity, out string problem)
    {
        if (address is < 0 or > ushort.MaxValue) return Fail($"address {address} is out of range 0..65535", out problem);
        if (address + quantity - 1 > ushort.MaxValue)
            return Fail($"address {address} + {quantity} runs past the last address 65535", out problem);
        problem = "";
        return true;
    }

    /// <summary>Sets <paramref name="problem"/> and returns false: the refusal of the Try methods.</summary>
    internal static bool Fail(string message, out string problem)
    {
        problem = message;
        return false;
    }
}

/// <summary>
/// Prints values of <c>fleet-agent modbus</c>: aligned lines <c>address  raw-registers-in-hex  value</c>,
/// or one JSON object per value (<c>address</c>, <c>registers</c> in hex, <c>value</c>).
/// </summary>
internal sealed class ModbusCliOutput(TextWriter writer, bool json)
{
    /// <summary>Between two rounds of a poll (a blank line in text).</summary>
    public void Separate()
    {
        if (!json) writer.WriteLine();
    }

    /// <summary>Coils or discrete inputs from <paramref name="address"/>.</summary>
    public void Bits(int address, IReadOnlyList<bool> bits)
    {
        var width = AddressWidth(address + bits.Count - 1);
        for (var i = 0; i < bits.Count; i++)
        {
            if (json) writer.WriteLine(Json(address + i, null, bits[i]));
            else writer.WriteLine($"{(address + i).ToString(CultureInfo.InvariantCulture).PadLeft(width)}  {(bits[i] ? '1' : '0')}  {(bits[i] ? "true" : "false")}");
        }
        writer.Flush();
    }

    /// <summary>Registers from <paramref name="address"/>, one line per value of <paramref name="format"/>.</summary>
    public void Registers(int address, ushort[] registers, ModbusCliFormat format)
    {
        var perValue = format.RegistersPerValue(registers.Length);
        var width = AddressWidth(address + registers.Length - 1);
        for (var i = 0; i + perValue <= registers.Length; i += perValue)
        {
            var slice = registers.AsSpan(i, perValue);
            var value = format.Decode(slice);
            if (json)
            {
                writer.WriteLine(Json(address + i, slice.ToArray(), value));
                continue;
            }
            var raw = string.Join(' ', slice.ToArray().Select(r => r.ToString("X4", CultureInfo.InvariantCulture)));
            var text = value is string s && format.Type == ModbusDataType.String ? $"\"{s}\"" : Convert.ToString(value, CultureInfo.InvariantCulture);
            writer.WriteLine($"{(address + i).ToString(CultureInfo.InvariantCulture).PadLeft(width)}  {raw}  {text}");
        }
        writer.Flush();
    }

    private static int AddressWidth(int last) => Math.Max(5, last.ToString(CultureInfo.InvariantCulture).Length);

    private static string Json(int address, ushort[]? registers, object value)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("address", address);
            if (registers is not null)
            {
                json.WriteStartArray("registers");
                foreach (var r in registers) json.WriteStringValue(r.ToString("X4", CultureInfo.InvariantCulture));
                json.WriteEndArray();
            }
            json.WritePropertyName("value");
            switch (value)
            {
                case bool b: json.WriteBooleanValue(b); break;
                case ulong u: json.WriteNumberValue(u); break;
                case long l: json.WriteNumberValue(l); break;
                case float f when float.IsFinite(f): json.WriteNumberValue(f); break;
                case double d when double.IsFinite(d): json.WriteNumberValue(d); break;
                default: json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
