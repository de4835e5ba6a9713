using System.Buffers.Binary;
using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Devices.Can;

/// <summary>The parameter group numbers this agent knows (J1939-71, -73, -21).</summary>
public static class J1939Pgns
{
    /// <summary>Electronic Engine Controller 1: engine speed, actual torque.</summary>
    public const int Eec1 = 61444;

    /// <summary>Cruise Control/Vehicle Speed: wheel-based vehicle speed, parking brake.</summary>
    public const int Ccvs = 65265;

    /// <summary>Engine Temperature 1: coolant temperature.</summary>
    public const int Et1 = 65262;

    /// <summary>Fuel Economy (liquid): fuel rate.</summary>
    public const int Lfe = 65266;

    /// <summary>Dash Display: fuel level 1.</summary>
    public const int Dd = 65276;

    /// <summary>Vehicle Distance: total vehicle distance (0.125 km).</summary>
    public const int Vd = 65248;

    /// <summary>High Resolution Vehicle Distance: total vehicle distance (5 m).</summary>
    public const int Hrvd = 65217;

    /// <summary>Tire Condition: one tyre's pressure and temperature.</summary>
    public const int Tire = 65268;

    /// <summary>Vehicle Identification: the VIN (usually sent with BAM).</summary>
    public const int Vi = 65260;

    /// <summary>DM1, active diagnostic trouble codes.</summary>
    public const int Dm1 = 65226;

    /// <summary>Transport protocol, connection management (BAM, RTS/CTS).</summary>
    public const int TpCm = 60416;

    /// <summary>Transport protocol, data transfer.</summary>
    public const int TpDt = 60160;
}

/// <summary>
/// Pure decoders of the known parameter groups, with J1939-71 scaling and its "not available"
/// conventions: a 1-byte parameter is valid up to 0xFA, a 2-byte one up to 0xFAFF, a 4-byte one up
/// to 0xFAFFFFFF; above that it is reserved, an error indicator (0xFE..) or not available
/// (0xFF..), and is skipped, never emitted. Values that are valid on the bus but impossible for the
/// agent's validator (a tyre at 1500 °C) become problems instead of readings.
/// </summary>
public static class J1939Parameters
{
    /// <summary>The protocol name on <see cref="VehicleInfoValue"/> and the source of <see cref="FaultCodesValue"/>.</summary>
    public const string Protocol = "j1939";

    /// <summary>
    /// Decodes one message of <paramref name="pgn"/> from <paramref name="source"/>. Returns false for a
    /// PGN it does not know; otherwise appends the values and any problems (payload too short,
    /// implausible values).
    /// </summary>
    public static bool Decode(int pgn, byte source, ReadOnlySpan<byte> data, List<ReadingValue> values, List<string> problems)
    {
        switch (pgn)
        {
            case J1939Pgns.Eec1:
                if (!Needs(data, 5, "EEC1", pgn, problems)) return true;
                if (U8(data, 3) is { } torque) values.Add(new MeasurementValue("engine_torque", torque - 125, "%"));
                if (U16(data, 4) is { } rpm) values.Add(new MeasurementValue("engine_rpm", rpm * 0.125, "rpm"));
                return true;
            case J1939Pgns.Ccvs:
                if (!Needs(data, 3, "CCVS", pgn, problems)) return true;
                if (U16(data, 2) is { } speed) values.Add(new MeasurementValue("vehicle_speed", speed / 256.0, "km/h"));
                // SPN 70, byte 1 bits 3-4: 00 released, 01 set, 10 error, 11 not available.
                if (((data[0] >> 2) & 0x3) is var brake and < 2) values.Add(new MeasurementValue("parking_brake", brake, "bool"));
                return true;
            case J1939Pgns.Et1:
                if (!Needs(data, 1, "ET1", pgn, problems)) return true;
                if (U8(data, 1) is { } coolant) values.Add(new MeasurementValue("coolant_temp", coolant - 40, "°C"));
                return true;
            case J1939Pgns.Lfe:
                if (!Needs(data, 2, "LFE", pgn, problems)) return true;
                if (U16(data, 1) is { } rate) values.Add(new MeasurementValue("fuel_rate", rate * 0.05, "L/h"));
                return true;
            case J1939Pgns.Dd:
                if (!Needs(data, 2, "DD", pgn, problems)) return true;
                if (U8(data, 2) is { } level) values.Add(new MeasurementValue("fuel_level", level * 0.4, "%"));
                return true;
            case J1939Pgns.Vd:
                if (!Needs(data, 8, "VD", pgn, problems)) return true;
                if (U32(data, 5) is { } eighths) values.Add(new MeasurementValue("total_distance", eighths * 0.125, "km"));
                return true;
            case J1939Pgns.Hrvd:
                if (!Needs(data, 4, "HRVD", pgn, problems)) return true;
                if (U32(data, 1) is { } fiveMetres) values.Add(new MeasurementValue("total_distance", fiveMetres * 5 / 1000.0, "km"));
                return true;
            case J1939Pgns.Tire:
                if (Needs(data, 4, "TIRE", pgn, problems)) DecodeTyre(data, values, problems);
                return true;
            case J1939Pgns.Vi:
                DecodeVin(data, values, problems);
                return true;
            case J1939Pgns.Dm1:
                if (Needs(data, 6, "DM1", pgn, problems)) values.Add(DecodeDm1(data, source));
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// DM1 (J1939-73): lamp status in bytes 1-2 (MIL = bits 7-8 of byte 1: 00 off, 01 on), then a
    /// 4-byte DTC per fault: SPN (19 bits), FMI (5 bits), conversion method (1 bit), occurrence
    /// count (7 bits). "No active faults" (SPN 0, FMI 0) and 0xFF padding are not faults.
    /// </summary>
    public static FaultCodesValue DecodeDm1(ReadOnlySpan<byte> data, byte source)
    {
        var mil = ((data[0] >> 6) & 0x3) switch
        {
            0 => false,
            1 => true,
            _ => (bool?)null,
        };
        var faults = new List<FaultCode>();
        for (var offset = 2; offset + 4 <= data.Length; offset += 4)
        {
            var dtc = data.Slice(offset, 4);
            if (BinaryPrimitives.ReadUInt32LittleEndian(dtc) == 0xFFFF_FFFF) continue;
            var fmi = dtc[2] & 0x1F;
            // Conversion method 0 (current): SPN least significant byte first. Method 1 is the
            // version 1 layout, most significant bits first.
            var spn = (dtc[3] & 0x80) == 0
                ? dtc[0] | (dtc[1] << 8) | ((dtc[2] >> 5) << 16)
                : (dtc[0] << 11) | (dtc[1] << 3) | (dtc[2] >> 5);
            if (spn == 0 && fmi == 0) continue;
            var occurrences = dtc[3] & 0x7F;
            faults.Add(new FaultCode($"SPN {spn} FMI {fmi}", spn, fmi, occurrences == 0x7F ? null : occurrences));
        }
        return new FaultCodesValue(Protocol, faults, mil, source);
    }

    private static void DecodeTyre(ReadOnlySpan<byte> data, List<ReadingValue> values, List<string> problems)
    {
        // Byte 1 is the tyre's position (axle in the high nibble, tyre in the low); 0xFF: not available.
        var location = data[0];
        if (location == 0xFF) return;
        double? pressure = U8(data, 2) is { } p ? p * 4.0 : null;
        double? temperature = U16(data, 3) is { } t ? t * 0.03125 - 273 : null;
        if (temperature is < -60 or > 250)
        {
            problems.Add($"TIRE (PGN {J1939Pgns.Tire}): tyre 0x{location:X2} temperature {temperature:F1} °C is not plausible");
            temperature = null;
        }
        if (pressure is not null || temperature is not null) values.Add(new TyreValue(location, pressure, temperature));
    }

    private static void DecodeVin(ReadOnlySpan<byte> data, List<ReadingValue> values, List<string> problems)
    {
        // SPN 237: ASCII, ended by '*' (fields after it are manufacturer-defined).
        var end = data.IndexOf((byte)'*');
        var vin = data[..(end < 0 ? data.Length : end)];
        while (!vin.IsEmpty && vin[^1] is (byte)' ' or 0 or 0xFF) vin = vin[..^1];
        if (vin.IsEmpty) return;
        foreach (var c in vin)
        {
            if (c is not ((>= (byte)'0' and <= (byte)'9') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z')))
            {
                problems.Add($"VI (PGN {J1939Pgns.Vi}): VIN has a character 0x{c:X2} that is not a letter or digit");
                return;
            }
        }
        if (vin.Length > 17)
        {
            problems.Add($"VI (PGN {J1939Pgns.Vi}): VIN of {vin.Length} characters is longer than 17");
            return;
        }
        values.Add(new VehicleInfoValue(System.Text.Encoding.ASCII.GetString(vin), Protocol));
    }

    private static bool Needs(ReadOnlySpan<byte> data, int length, string name, int pgn, List<string> problems)
    {
        if (data.Length >= length) return true;
        problems.Add($"{name} (PGN {pgn}) has {data.Length} data bytes, needs {length}");
        return false;
    }

    // Positions are 1-based, as J1939-71 numbers bytes.
    private static int? U8(ReadOnlySpan<byte> data, int position)
    {
        var value = data[position - 1];
        return value <= 0xFA ? value : null;
    }

    private static int? U16(ReadOnlySpan<byte> data, int position)
    {
        var value = BinaryPrimitives.ReadUInt16LittleEndian(data[(position - 1)..]);
        return value >> 8 <= 0xFA ? value : null;
    }

    private static long? U32(ReadOnlySpan<byte> data, int position)
    {
        var value = BinaryPrimitives.ReadUInt32LittleEndian(data[(position - 1)..]);
        return value >> 24 <= 0xFA ? value : null;
    }
}
