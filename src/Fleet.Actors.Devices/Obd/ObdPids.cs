using System.Globalization;

namespace Fleet.Actors.Devices.Obd;

/// <summary>
/// A mode 01 PID this agent decodes. The fleet PIDs are linear (SAE J1979): the data bytes are an
/// unsigned big-endian number <c>raw</c> and the value is <c>raw × Scale + Offset</c>, rounded to
/// hundredths. PID 0x01 (monitor status) is the exception and yields the MIL and the DTC count.
/// </summary>
/// <param name="Number">The PID.</param>
/// <param name="Name">The measurement name on the wire (the same as the simulated OBD sensor's).</param>
/// <param name="Unit">The unit of the measurement.</param>
/// <param name="Bytes">Data bytes in the answer (A, or A and B).</param>
/// <param name="Scale">Value of one raw step.</param>
/// <param name="Offset">Value of raw zero.</param>
public sealed record ObdPid(byte Number, string Name, string Unit, int Bytes, double Scale, double Offset = 0)
{
    /// <summary>The request that polls it, e.g. <c>010C</c>.</summary>
    public string Command => $"01{Number:X2}";

    /// <summary>True for PID 0x01, which is decoded into <see cref="MonitorStatus"/> rather than one number.</summary>
    public bool IsMonitorStatus => Number == 0x01;

    /// <summary>The value of the data bytes (at least <see cref="Bytes"/> of them).</summary>
    public double Decode(ReadOnlySpan<byte> data)
    {
        var raw = 0;
        for (var i = 0; i < Bytes; i++) raw = (raw << 8) | data[i];
        return Math.Round(raw * Scale + Offset, 2);
    }

    /// <summary>The data bytes that encode <paramref name="value"/> (clamped to the PID's range); the inverse of <see cref="Decode"/>.</summary>
    public byte[] Encode(double value)
    {
        var max = (1 << (8 * Bytes)) - 1;
        var raw = (int)Math.Clamp(Math.Round((value - Offset) / Scale), 0, max);
        var data = new byte[Bytes];
        for (var i = Bytes - 1; i >= 0; i--, raw >>= 8) data[i] = (byte)raw;
        return data;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} (PID {Number:X2})";
}

/// <summary>The MIL ("check engine" lamp) and the number of stored trouble codes (mode 01 PID 0x01).</summary>
public sealed record MonitorStatus(bool Mil, int DtcCount);

/// <summary>The mode 01 PIDs the agent knows, by number and by name.</summary>
public static class ObdPids
{
    private const double Percent = 100.0 / 255;

    /// <summary>0x01: MIL and DTC count.</summary>
    public static readonly ObdPid MonitorStatus = new(0x01, "monitor_status", "", 4, 1);

    /// <summary>0x04: calculated engine load, %.</summary>
    public static readonly ObdPid EngineLoad = new(0x04, "engine_load", "%", 1, Percent);

    /// <summary>0x05: engine coolant temperature, °C.</summary>
    public static readonly ObdPid CoolantTemp = new(0x05, "coolant_temp", "°C", 1, 1, -40);

    /// <summary>0x0C: engine speed, rpm.</summary>
    public static readonly ObdPid EngineRpm = new(0x0C, "engine_rpm", "rpm", 2, 0.25);

    /// <summary>0x0D: vehicle speed, km/h.</summary>
    public static readonly ObdPid VehicleSpeed = new(0x0D, "vehicle_speed", "km/h", 1, 1);

    /// <summary>0x0F: intake air temperature, °C.</summary>
    public static readonly ObdPid IntakeAirTemp = new(0x0F, "intake_air_temp", "°C", 1, 1, -40);

    /// <summary>0x10: mass air flow, g/s.</summary>
    public static readonly ObdPid MafRate = new(0x10, "maf_rate", "g/s", 2, 0.01);

    /// <summary>0x11: absolute throttle position, %.</summary>
    public static readonly ObdPid ThrottlePosition = new(0x11, "throttle_position", "%", 1, Percent);

    /// <summary>0x1F: run time since engine start, s.</summary>
    public static readonly ObdPid RunTime = new(0x1F, "run_time", "s", 2, 1);

    /// <summary>0x21: distance travelled with the MIL on, km.</summary>
    public static readonly ObdPid DistanceWithMil = new(0x21, "distance_with_mil", "km", 2, 1);

    /// <summary>0x2F: fuel tank level, %.</summary>
    public static readonly ObdPid FuelLevel = new(0x2F, "fuel_level", "%", 1, Percent);

    /// <summary>0x5E: engine fuel rate, L/h.</summary>
    public static readonly ObdPid FuelRate = new(0x5E, "fuel_rate", "L/h", 2, 0.05);

    /// <summary>Every known PID, by number.</summary>
    public static IReadOnlyList<ObdPid> All { get; } =
        [MonitorStatus, EngineLoad, CoolantTemp, EngineRpm, VehicleSpeed, IntakeAirTemp, MafRate, ThrottlePosition, RunTime, DistanceWithMil, FuelLevel, FuelRate];

    private static readonly Dictionary<string, ObdPid> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["mil"] = MonitorStatus,
        ["load"] = EngineLoad,
        ["coolant"] = CoolantTemp,
        ["rpm"] = EngineRpm,
        ["speed"] = VehicleSpeed,
        ["intake_temp"] = IntakeAirTemp,
        ["maf"] = MafRate,
        ["throttle"] = ThrottlePosition,
        ["runtime"] = RunTime,
    };

    /// <summary>Names accepted in configuration, for error messages.</summary>
    public static IEnumerable<string> Names => All.Select(p => p.Name).Concat(Aliases.Keys).Order(StringComparer.Ordinal);

    /// <summary>The PID with this number, if known.</summary>
    public static ObdPid? ByNumber(byte number) => All.FirstOrDefault(p => p.Number == number);

    /// <summary>
    /// Finds a PID by name (<c>engine_rpm</c>), short name (<c>rpm</c>, dashes or underscores) or hex
    /// number (<c>0C</c>, <c>0x0C</c>).
    /// </summary>
    public static bool TryParse(string? text, out ObdPid pid)
    {
        pid = null!;
        var name = text?.Trim().Replace('-', '_') ?? "";
        if (name.Length == 0) return false;
        if (All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) is { } byName || Aliases.TryGetValue(name, out byName))
        {
            pid = byName;
            return true;
        }
        var hex = name.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? name[2..] : name;
        if (hex.Length is 1 or 2 && byte.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var number) && ByNumber(number) is { } byNumber)
        {
            pid = byNumber;
            return true;
        }
        return false;
    }
}
