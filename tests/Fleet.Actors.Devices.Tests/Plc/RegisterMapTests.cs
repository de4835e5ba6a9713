using Akka.Configuration;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Devices.Plc;

namespace Fleet.Actors.Devices.Tests.Plc;

/// <summary>Register maps read from HOCON: every key, the defaults, and each problem under its full key.</summary>
public sealed class RegisterMapTests
{
    private const string Prefix = "fleet.plcs[0]";

    private static (RegisterMap Map, IReadOnlyList<SettingsProblem> Problems) Read(string hocon)
    {
        var reader = new ConfigReader(ConfigurationFactory.ParseString(hocon), Prefix);
        var map = RegisterMap.Read(reader);
        reader.ReportUnknownKeys();
        return (map, reader.Problems);
    }

    [Fact]
    public void A_full_map_should_read_every_key()
    {
        var (map, problems) = Read("""
            max-registers-per-request = 60, max-gap = 4, max-coils-per-request = 800, max-coils-gap = 16
            byte-order = CDAB, interval = 2s
            points = [
              { name = tank1-temp, address = 30, type = input, data-type = f32, unit = "°C", scale = 1, offset = -0.5, deadband = 0.1 }
              { name = tank1-setpoint, address = 100, type = holding, data-type = i16, byte-order = ABCD, scale = 0.1, writable = true, interval = 10s }
              { name = site, address = 200, data-type = string, length = 8, byte-order = BADC }
              { name = alarm-high, address = 300, type = input, data-type = bool, bit = 3, on-change = true }
              { name = alarm-low, address = 300, type = input, data-type = bool, bit = 4, on-change = true }
              { name = pump1, address = 0, type = coil, writable = true, on-change = true }
              { name = level-switch, address = 5, type = discrete-input }
              { name = energy, address = 400, data-type = u64, byte-order = dcba }
            ]
            """);
        Assert.Empty(problems);
        Assert.Equal(new ModbusQuirks { MaxRegistersPerRequest = 60, MaxGap = 4, MaxCoilsPerRequest = 800, MaxCoilsGap = 16 }, map.Quirks);
        Assert.Equal(8, map.Points.Count);
        var temp = map.Find("tank1-temp")!;
        Assert.Equal((ModbusRegisterType.Input, ModbusDataType.F32, ModbusByteOrder.CDAB, "°C", -0.5, 0.1, TimeSpan.FromSeconds(2)),
            (temp.RegisterType, temp.DataType, temp.ByteOrder, temp.Unit, temp.Offset, temp.Deadband, temp.Interval));
        var setpoint = map.Find("tank1-setpoint")!;
        Assert.Equal((ModbusByteOrder.ABCD, 0.1, true, TimeSpan.FromSeconds(10)), (setpoint.ByteOrder, setpoint.Scale, setpoint.Writable, setpoint.Interval));
        Assert.Equal((ModbusDataType.String, 8, 8), (map.Find("site")!.DataType, map.Find("site")!.Length, map.Find("site")!.Width));
        Assert.Equal(4, map.Find("alarm-low")!.Bit);
        Assert.True(map.Find("alarm-low")!.OnChange);
        Assert.Equal((ModbusRegisterType.Coil, ModbusDataType.Bool), (map.Find("pump1")!.RegisterType, map.Find("pump1")!.DataType));
        Assert.Equal(ModbusRegisterType.DiscreteInput, map.Find("level-switch")!.RegisterType);
        Assert.Equal((ModbusDataType.U64, ModbusByteOrder.DCBA, 4), (map.Find("energy")!.DataType, map.Find("energy")!.ByteOrder, map.Find("energy")!.Width));
        Assert.Null(map.Find("nope"));
    }

    [Fact]
    public void Defaults_should_be_the_protocol_maxima_a_gap_of_ten_and_u16_holding_registers()
    {
        var (map, problems) = Read("points = [ { name = a, address = 0 } ]");
        Assert.Empty(problems);
        Assert.Equal(ModbusQuirks.Default, map.Quirks);
        Assert.Equal((125, 2000, 10), (map.Quirks.MaxRegistersPerRequest, map.Quirks.MaxCoilsPerRequest, map.Quirks.MaxGap));
        var a = Assert.Single(map.Points);
        Assert.Equal((ModbusRegisterType.Holding, ModbusDataType.U16, ModbusByteOrder.ABCD, 1.0, 0.0, TimeSpan.FromSeconds(1), false),
            (a.RegisterType, a.DataType, a.ByteOrder, a.Scale, a.Offset, a.Interval, a.Writable));
    }

    [Theory]
    [InlineData("{ name = a, address = 0 }, { name = a, address = 5 }", "points[1].name", "already the name of fleet.plcs[0].points[0]")]
    [InlineData("{ name = a, address = 10, data-type = f32 }, { name = b, address = 11 }", "points[1].address", "holding 11 overlaps holding 10..11 of \"a\" (fleet.plcs[0].points[0])")]
    [InlineData("{ name = a, address = 3, type = input, data-type = bool, bit = 2 }, { name = b, address = 3, type = input, data-type = bool, bit = 2 }", "points[1].address", "overlaps")]
    [InlineData("{ name = a, address = 3, data-type = bool, bit = 2 }, { name = b, address = 3 }", "points[1].address", "overlaps")]
    [InlineData("{ name = s, address = 0, data-type = string }", "points[0].length", "is required for a string")]
    [InlineData("{ name = s, address = 0, data-type = string, length = 126 }", "points[0].length", "between 1 and 125")]
    [InlineData("{ name = s, address = 0, data-type = u16, length = 2 }", "points[0].length", "only to strings")]
    [InlineData("{ name = b, address = 0, data-type = bool, bit = 16 }", "points[0].bit", "between 0 and 15")]
    [InlineData("{ name = b, address = 0, data-type = u16, bit = 1 }", "points[0].bit", "only to a bool in an input or holding register")]
    [InlineData("{ name = f, address = 65535, data-type = f32 }", "points[0].address", "holding 65535..65536 runs past address 65535")]
    [InlineData("{ name = f, address = 65536 }", "points[0].address", "between 0 and 65535")]
    [InlineData("{ name = f, address = 0, data-type = f16 }", "points[0].data-type", "must be one of u16, i16")]
    [InlineData("{ name = f, address = 0, data-type = f32, byte-order = ACBD }", "points[0].byte-order", "must be one of abcd, cdab, badc, dcba")]
    [InlineData("{ name = f, address = 0, type = register }", "points[0].type", "must be coil, discrete-input, input or holding")]
    [InlineData("{ name = c, address = 0, type = coil, data-type = u16 }", "points[0].data-type", "must be bool for a coil")]
    [InlineData("{ name = i, address = 0, type = input, writable = true }", "points[0].writable", "input points cannot be written")]
    [InlineData("{ name = d, address = 0, type = discrete-input, writable = true }", "points[0].writable", "discrete-input points cannot be written")]
    [InlineData("{ name = x, address = 0, scale = 0 }", "points[0].scale", "must not be 0")]
    [InlineData("{ name = x, address = 0, deadband = -1 }", "points[0].deadband", "at least 0")]
    [InlineData("{ name = x, address = 0, data-type = bool, deadband = 1 }", "points[0].deadband", "use on-change")]
    [InlineData("{ name = x, address = 0, interval = 0s }", "points[0].interval", "longer than 0")]
    [InlineData("{ address = 0 }", "points[0].name", "is required")]
    [InlineData("{ name = x }", "points[0].address", "is required")]
    [InlineData("{ name = x, address = 0, colour = red }", "points[0].colour", "not a known setting")]
    public void A_wrong_point_should_be_reported_under_its_full_key(string items, string key, string problem)
    {
        var (_, problems) = Read($"points = [ {items} ]");
        var found = Assert.Single(problems);
        Assert.Equal($"{Prefix}.{key}", found.Key);
        Assert.Contains(problem, found.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("max-registers-per-request = 126", "max-registers-per-request")]
    [InlineData("max-registers-per-request = 0", "max-registers-per-request")]
    [InlineData("max-coils-per-request = 2001", "max-coils-per-request")]
    [InlineData("max-gap = -1", "max-gap")]
    [InlineData("max-coils-gap = x", "max-coils-gap")]
    [InlineData("byte-order = big", "byte-order")]
    public void Wrong_quirks_should_be_reported_under_their_full_key(string line, string key)
    {
        var (_, problems) = Read($"{line}\npoints = [ {{ name = a, address = 0 }} ]");
        Assert.Equal($"{Prefix}.{key}", Assert.Single(problems).Key);
    }

    [Fact]
    public void A_string_longer_than_the_device_allows_should_be_refused()
    {
        var (_, problems) = Read("max-registers-per-request = 16\npoints = [ { name = s, address = 0, data-type = string, length = 20 } ]");
        Assert.Equal($"{Prefix}.points[0].length", Assert.Single(problems).Key);
    }

    [Fact]
    public void A_map_without_points_should_be_refused()
    {
        Assert.Equal($"{Prefix}.points", Assert.Single(Read("max-gap = 3").Problems).Key);
        Assert.Equal($"{Prefix}.points", Assert.Single(Read("points = []").Problems).Key);
    }

    [Fact]
    public void Points_with_problems_should_be_left_out_and_the_rest_kept()
    {
        var (map, problems) = Read("points = [ { name = a, address = 0, data-type = f99 }, { name = b, address = 1 }, { name = c, address = 1 } ]");
        Assert.Equal(2, problems.Count);
        Assert.Equal(["b"], map.Points.Select(p => p.Name));
    }
}
