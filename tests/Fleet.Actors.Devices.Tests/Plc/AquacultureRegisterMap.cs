using Fleet.Actors.Devices.Plc;

namespace Fleet.Actors.Devices.Tests.Plc;

/// <summary>
/// A realistic register map: the PLC of a recirculating aquaculture hall with eight fish tanks and
/// six pumps, laid out the way such PLCs usually are (blocks per tank with spare registers between
/// them, measurements in input registers, setpoints in holding registers, outputs in coils, switches
/// in discrete inputs). Shared by the planner tests and the planner benchmark.
/// </summary>
public static class AquacultureRegisterMap
{
    /// <summary>Fish tanks.</summary>
    public const int Tanks = 8;

    /// <summary>Circulation pumps.</summary>
    public const int Pumps = 6;

    /// <summary>Every point of the map.</summary>
    public static IReadOnlyList<ModbusPoint> Points { get; } = Build();

    private static ModbusPoint[] Build()
    {
        var points = new List<ModbusPoint>();
        void Add(string name, int address, ModbusRegisterType table, ModbusDataType type, double scale = 1, string? unit = null, int length = 0) =>
            points.Add(new ModbusPoint
            {
                Name = name,
                Address = (ushort)address,
                RegisterType = table,
                DataType = type,
                ByteOrder = ModbusByteOrder.CDAB,
                Scale = scale,
                Unit = unit,
                Length = length,
            });
        const ModbusRegisterType input = ModbusRegisterType.Input, holding = ModbusRegisterType.Holding;
        for (var t = 0; t < Tanks; t++)
        {
            // Input registers: a block of 12 per tank, 9 used, 3 spare.
            var at = 12 * t;
            Add($"tank{t + 1}-temperature", at, input, ModbusDataType.F32, unit: "°C");
            Add($"tank{t + 1}-oxygen", at + 2, input, ModbusDataType.F32, unit: "mg/L");
            Add($"tank{t + 1}-ph", at + 4, input, ModbusDataType.I16, 0.01);
            Add($"tank{t + 1}-level", at + 5, input, ModbusDataType.U16, 0.1, "cm");
            Add($"tank{t + 1}-flow", at + 6, input, ModbusDataType.U32, 0.01, "m3/h");
            Add($"tank{t + 1}-turbidity", at + 8, input, ModbusDataType.U16, 0.1, "NTU");
            // Holding registers: setpoints, a block of 8 per tank from 1000, 7 used.
            var set = 1000 + 8 * t;
            Add($"tank{t + 1}-temperature-setpoint", set, holding, ModbusDataType.F32, unit: "°C");
            Add($"tank{t + 1}-oxygen-low-alarm", set + 2, holding, ModbusDataType.F32, unit: "mg/L");
            Add($"tank{t + 1}-feed-ration", set + 4, holding, ModbusDataType.U16, unit: "g");
            Add($"tank{t + 1}-light-on", set + 5, holding, ModbusDataType.U16, unit: "min");
            Add($"tank{t + 1}-light-off", set + 6, holding, ModbusDataType.U16, unit: "min");
        }
        for (var p = 0; p < Pumps; p++)
        {
            var at = 120 + 6 * p;
            Add($"pump{p + 1}-speed", at, input, ModbusDataType.U16, unit: "rpm");
            Add($"pump{p + 1}-current", at + 1, input, ModbusDataType.F32, unit: "A");
            Add($"pump{p + 1}-run-hours", at + 3, input, ModbusDataType.U32, unit: "h");
            Add($"pump{p + 1}-speed-setpoint", 1100 + p, holding, ModbusDataType.U16, unit: "rpm");
        }
        Add("uv-intensity", 200, input, ModbusDataType.F32, unit: "mW/cm2");
        Add("supply-voltage", 202, input, ModbusDataType.U16, 0.1, "V");
        Add("ambient-temperature", 203, input, ModbusDataType.I16, 0.1, "°C");
        Add("co2", 204, input, ModbusDataType.F32, unit: "mg/L");
        Add("orp", 206, input, ModbusDataType.I16, unit: "mV");
        Add("feed-silo-level", 207, input, ModbusDataType.U16, 0.1, "%");
        Add("backwash-count", 213, input, ModbusDataType.U32);
        Add("make-up-water", 215, input, ModbusDataType.U32, 0.001, "m3");
        Add("alarm-word", 210, input, ModbusDataType.U16);
        Add("uptime", 211, input, ModbusDataType.U32, unit: "s");
        Add("feed-total", 220, input, ModbusDataType.F32, unit: "kg");
        Add("mode", 1200, holding, ModbusDataType.U16);
        Add("feed-interval", 1201, holding, ModbusDataType.U32, unit: "s");
        Add("water-volume", 1203, holding, ModbusDataType.F64, unit: "m3");
        Add("energy", 1207, holding, ModbusDataType.U64, unit: "Wh");
        Add("site-name", 1220, holding, ModbusDataType.String, length: 8);
        for (var t = 0; t < Tanks; t++)
        {
            Add($"tank{t + 1}-aerator", t, ModbusRegisterType.Coil, ModbusDataType.Bool);
            Add($"tank{t + 1}-feeder", 16 + t, ModbusRegisterType.Coil, ModbusDataType.Bool);
            Add($"tank{t + 1}-level-switch", t, ModbusRegisterType.DiscreteInput, ModbusDataType.Bool);
        }
        for (var p = 0; p < Pumps; p++)
        {
            Add($"pump{p + 1}-run", 32 + p, ModbusRegisterType.Coil, ModbusDataType.Bool);
            Add($"pump{p + 1}-fault", 16 + p, ModbusRegisterType.DiscreteInput, ModbusDataType.Bool);
        }
        return points.ToArray();
    }
}
