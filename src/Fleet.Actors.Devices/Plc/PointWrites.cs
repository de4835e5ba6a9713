namespace Fleet.Actors.Devices.Plc;

/// <summary>Turns a typed value for a point into the write request the point needs (pure).</summary>
internal static class PointWrites
{
    /// <summary>Null and the request, or why the value cannot be written to the point.</summary>
    public static string? Encode(ModbusPoint point, PlcProtocol.PointValue value, out ModbusRequest request)
    {
        request = default;
        if (point.RegisterType == ModbusRegisterType.Coil)
        {
            if (AsBool(value) is not { } on) return $"coil point \"{point.Name}\" takes a flag or 1/0, not {value}";
            request = ModbusRequest.WriteSingleCoil(point.Address, on);
            return null;
        }
        if (point.RegisterType != ModbusRegisterType.Holding) return $"point \"{point.Name}\" ({point.Describe()}) cannot be written";
        var registers = new ushort[point.Width];
        switch (point.DataType)
        {
            case ModbusDataType.Bool when point.Bit is not null:
                // Setting one bit would need a read-modify-write that another writer could race.
                return $"point \"{point.Name}\" is bit {point.Bit} of a register; write the whole register instead";
            case ModbusDataType.Bool:
                if (AsBool(value) is not { } flag) return $"bool point \"{point.Name}\" takes a flag or 1/0, not {value}";
                registers[0] = flag ? (ushort)1 : (ushort)0;
                break;
            case ModbusDataType.String:
                if (value is not PlcProtocol.Text text) return $"string point \"{point.Name}\" takes text, not {value}";
                try
                {
                    ModbusValues.FromText(text.Value, point.ByteOrder, registers);
                }
                catch (ArgumentException ex)
                {
                    return $"point \"{point.Name}\": {ex.Message}";
                }
                break;
            default:
                if (value is not PlcProtocol.Number number) return $"number point \"{point.Name}\" takes a number, not {value}";
                try
                {
                    ModbusValues.FromNumber(number.Value, point.DataType, point.ByteOrder, registers, point.Scale, point.Offset);
                }
                catch (OverflowException)
                {
                    return $"value {number.Value} does not fit {point.DataType.ToString().ToLowerInvariant()} point \"{point.Name}\"";
                }
                break;
        }
        request = registers.Length == 1
            ? ModbusRequest.WriteSingleRegister(point.Address, registers[0])
            : ModbusRequest.WriteMultipleRegisters(point.Address, registers);
        return null;
    }

    private static bool? AsBool(PlcProtocol.PointValue value) => value switch
    {
        PlcProtocol.Flag flag => flag.Value,
        PlcProtocol.Number { Value: 0 } => false,
        PlcProtocol.Number { Value: 1 } => true,
        _ => null,
    };
}
