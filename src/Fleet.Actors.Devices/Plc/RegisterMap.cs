using Fleet.Actors.Core.Configuration;

namespace Fleet.Actors.Devices.Plc;

/// <summary>
/// The points of one PLC and its quirks, read from configuration:
/// <code>
/// max-registers-per-request = 125, max-gap = 10, byte-order = ABCD, interval = 1s
/// points = [
///   { name = tank1-temp, address = 0, type = input, data-type = f32, byte-order = CDAB, unit = "°C", deadband = 0.1 }
///   { name = pump1-run, address = 0, type = coil, writable = true, on-change = true }
/// ]
/// </code>
/// </summary>
public sealed class RegisterMap
{
    private readonly Dictionary<string, ModbusPoint> _byName;

    /// <summary>A map of already checked points (see <see cref="Read"/> for the checks).</summary>
    public RegisterMap(IReadOnlyList<ModbusPoint> points, ModbusQuirks? quirks = null)
    {
        Points = points;
        Quirks = quirks ?? ModbusQuirks.Default;
        _byName = new Dictionary<string, ModbusPoint>(points.Count, StringComparer.Ordinal);
        foreach (var point in points) _byName.TryAdd(point.Name, point);
    }

    /// <summary>Every point, in configuration order.</summary>
    public IReadOnlyList<ModbusPoint> Points { get; }

    /// <summary>How the device wants to be read.</summary>
    public ModbusQuirks Quirks { get; }

    /// <summary>The point of that name, or null.</summary>
    public ModbusPoint? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>
    /// Reads the quirks (<c>max-registers-per-request</c>, <c>max-coils-per-request</c>, <c>max-gap</c>,
    /// <c>max-coils-gap</c>), the defaults of every point (<c>byte-order</c>, <c>interval</c>) and the
    /// <c>points</c> list of a device; every problem goes to the reader with its full key. Points with
    /// problems are left out of the map.
    /// </summary>
    public static RegisterMap Read(ConfigReader device)
    {
        var quirks = new ModbusQuirks
        {
            MaxRegistersPerRequest = device.Int("max-registers-per-request", ModbusRequest.MaxReadRegisters, 1, ModbusRequest.MaxReadRegisters),
            MaxCoilsPerRequest = device.Int("max-coils-per-request", ModbusRequest.MaxReadBits, 1, ModbusRequest.MaxReadBits),
            MaxGap = device.Int("max-gap", 10, 0, ModbusRequest.MaxReadRegisters - 2),
            MaxCoilsGap = device.Int("max-coils-gap", 64, 0, ModbusRequest.MaxReadBits - 2),
        };
        var defaults = new ModbusPoint
        {
            Name = "",
            Address = 0,
            ByteOrder = device.Enum("byte-order", ModbusByteOrder.ABCD),
            Interval = Positive(device, "interval", TimeSpan.FromSeconds(1)),
        };
        var items = device.Objects("points");
        if (items.Count == 0 && device.Problems.Count == 0)
            device.Problem("points", "must list at least one point, e.g. [ { name = temp, address = 0, type = holding, data-type = f32 } ]");
        var points = new List<(ModbusPoint Point, ConfigReader Item)>(items.Count);
        foreach (var item in items)
        {
            var before = item.Problems.Count;
            var point = ReadPoint(item, defaults, quirks);
            if (point is null || item.Problems.Count != before) continue;
            if (Clash(points, point) is { } other)
            {
                item.Problem(other.Point.Name == point.Name ? "name" : "address", other.Point.Name == point.Name
                    ? $"\"{point.Name}\" is already the name of {KeyOf(other.Item)}"
                    : $"{point.Describe()} overlaps {other.Point.Describe()} of \"{other.Point.Name}\" ({KeyOf(other.Item)})");
                continue;
            }
            points.Add((point, item));
        }
        var list = new ModbusPoint[points.Count];
        for (var i = 0; i < list.Length; i++) list[i] = points[i].Point;
        return new RegisterMap(list, quirks);
    }

    /// <summary>True when two points of one table share a register (bools on different bits of one register do not).</summary>
    public static bool Overlap(ModbusPoint a, ModbusPoint b)
    {
        if (a.RegisterType != b.RegisterType || a.Address >= b.End || b.Address >= a.End) return false;
        return !(a is { DataType: ModbusDataType.Bool, Bit: { } bitA } && b is { DataType: ModbusDataType.Bool, Bit: { } bitB } && bitA != bitB);
    }

    // The full key of a list item itself ("...points[3]"), for messages that point at another item.
    private static string KeyOf(ConfigReader item) => item.FullKey("name")[..^".name".Length];

    private static (ModbusPoint Point, ConfigReader Item)? Clash(List<(ModbusPoint Point, ConfigReader Item)> points, ModbusPoint point)
    {
        foreach (var other in points)
            if (other.Point.Name == point.Name || Overlap(other.Point, point)) return other;
        return null;
    }

    private static ModbusPoint? ReadPoint(ConfigReader item, ModbusPoint defaults, ModbusQuirks quirks)
    {
        var name = item.String("name");
        if (string.IsNullOrWhiteSpace(name)) item.Problem("name", "is required");
        if (!item.Has("address")) item.Problem("address", "is required (0-based, as on the wire: register 40031 of a manual is holding 30)");
        var address = item.Int("address", 0, 0, 65_535);
        var type = ReadType(item);
        var bits = type is ModbusRegisterType.Coil or ModbusRegisterType.DiscreteInput;
        var dataType = item.Enum("data-type", bits ? ModbusDataType.Bool : ModbusDataType.U16);
        if (bits && dataType != ModbusDataType.Bool)
            item.Problem("data-type", $"must be bool for a {ModbusPoint.TypeName(type)} (got \"{item.String("data-type")}\")");
        int? bit = null;
        if (item.Has("bit"))
        {
            if (bits || dataType != ModbusDataType.Bool) item.Problem("bit", "applies only to a bool in an input or holding register");
            else bit = item.Int("bit", 0, 0, 15);
        }
        var length = 0;
        if (dataType == ModbusDataType.String)
        {
            if (!item.Has("length")) item.Problem("length", "is required for a string (its length in registers, two characters each)");
            length = item.Int("length", 1, 1, quirks.MaxRegistersPerRequest);
        }
        else if (item.Has("length"))
        {
            item.Problem("length", "applies only to strings");
        }
        var scale = item.Double("scale", 1);
        if (scale == 0) item.Problem("scale", "must not be 0");
        var deadband = item.Double("deadband", 0);
        if (deadband < 0) item.Problem("deadband", $"must be at least 0 (got {item.String("deadband")})");
        if (deadband > 0 && dataType is ModbusDataType.Bool or ModbusDataType.String)
            item.Problem("deadband", $"applies only to numbers; use on-change = true for a {dataType.ToString().ToLowerInvariant()}");
        var writable = item.Bool("writable", false);
        if (writable && type is ModbusRegisterType.Input or ModbusRegisterType.DiscreteInput)
            item.Problem("writable", $"{ModbusPoint.TypeName(type)} points cannot be written (only coils and holding registers)");
        if (string.IsNullOrWhiteSpace(name)) return null;
        var point = defaults with
        {
            Name = name,
            Address = (ushort)address,
            RegisterType = type,
            DataType = dataType,
            ByteOrder = item.Enum("byte-order", defaults.ByteOrder),
            Bit = bit,
            Length = length,
            Scale = scale,
            Offset = item.Double("offset", 0),
            Unit = item.String("unit"),
            Interval = item.Has("interval") ? Positive(item, "interval", defaults.Interval) : defaults.Interval,
            Deadband = deadband,
            OnChange = item.Bool("on-change", false),
            Writable = writable,
        };
        if (point.End > 65_536) item.Problem("address", $"{point.Describe()} runs past address 65535");
        return point;
    }

    private static ModbusRegisterType ReadType(ConfigReader item)
    {
        var text = item.String("type", "holding")!.Trim().ToLowerInvariant();
        switch (text)
        {
            case "coil" or "coils": return ModbusRegisterType.Coil;
            case "discrete-input" or "discrete-inputs": return ModbusRegisterType.DiscreteInput;
            case "input" or "input-register": return ModbusRegisterType.Input;
            case "holding" or "holding-register": return ModbusRegisterType.Holding;
            default:
                item.Problem("type", $"must be coil, discrete-input, input or holding (got \"{text}\")");
                return ModbusRegisterType.Holding;
        }
    }

    private static TimeSpan Positive(ConfigReader reader, string key, TimeSpan fallback)
    {
        var value = reader.Duration(key, fallback);
        if (value > TimeSpan.Zero) return value;
        reader.Problem(key, $"must be longer than 0 (got {reader.String(key)})");
        return fallback;
    }
}
