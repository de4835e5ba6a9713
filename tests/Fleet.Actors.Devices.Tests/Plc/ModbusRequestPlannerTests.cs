using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Fleet.Actors.Devices.Plc;

namespace Fleet.Actors.Devices.Tests.Plc;

/// <summary>The request planner: coalescing, limits, splitting after exception 2, decoding, deadbands.</summary>
public sealed class ModbusRequestPlannerTests
{
    private static readonly ModbusRequestPlanner Default = new(ModbusQuirks.Default);

    private static ModbusPoint P(string name, int address, ModbusDataType type = ModbusDataType.U16,
        ModbusRegisterType table = ModbusRegisterType.Holding, int length = 0) =>
        new() { Name = name, Address = (ushort)address, DataType = type, RegisterType = table, Length = length };

    private static string Shape(IReadOnlyList<PlannedRead> reads) =>
        string.Join(" ", reads.Select(r => $"{ModbusPoint.TypeName(r.RegisterType)}:{r.Address}+{r.Quantity}={r.Points.Count}"));

    [Fact]
    public void Adjacent_points_should_share_one_read()
    {
        var reads = Default.Plan([P("a", 10), P("b", 11, ModbusDataType.F32), P("c", 13, ModbusDataType.F64)]);
        Assert.Equal("holding:10+7=3", Shape(reads));
        Assert.Equal(ModbusFunction.ReadHoldingRegisters, reads[0].Request.Function);
    }

    [Fact]
    public void Points_should_be_sorted_before_coalescing()
    {
        Assert.Equal("holding:10+7=3", Shape(Default.Plan([P("c", 13, ModbusDataType.F64), P("a", 10), P("b", 11, ModbusDataType.F32)])));
    }

    [Theory]
    [InlineData(10, "holding:0+12=2")]
    [InlineData(11, "holding:0+1=1 holding:12+1=1")]
    public void A_gap_should_be_read_through_up_to_max_gap(int gap, string expected)
    {
        Assert.Equal(expected, Shape(Default.Plan([P("a", 0), P("b", 1 + gap)])));
    }

    [Fact]
    public void A_gap_of_zero_should_split_at_any_hole()
    {
        var planner = new ModbusRequestPlanner(new ModbusQuirks { MaxGap = 0 });
        Assert.Equal("holding:0+2=2 holding:3+1=1", Shape(planner.Plan([P("a", 0), P("b", 1), P("c", 3)])));
    }

    [Fact]
    public void A_read_should_stay_within_the_per_request_maximum()
    {
        var points = Enumerable.Range(0, 130).Select(i => P($"p{i}", i)).ToArray();
        Assert.Equal("holding:0+125=125 holding:125+5=5", Shape(Default.Plan(points)));
        var small = new ModbusRequestPlanner(new ModbusQuirks { MaxRegistersPerRequest = 16 });
        Assert.Equal("holding:0+16=16 holding:16+16=16 holding:32+8=8", Shape(small.Plan(points.Take(40).ToArray())));
    }

    [Fact]
    public void A_multi_register_point_at_the_boundary_should_move_whole_to_the_next_read()
    {
        var small = new ModbusRequestPlanner(new ModbusQuirks { MaxRegistersPerRequest = 8 });
        // a f32 at 6..7 fits exactly; a f64 at 7..10 would end past 8 and goes whole into the next read.
        Assert.Equal("holding:0+8=2", Shape(small.Plan([P("a", 0), P("b", 6, ModbusDataType.F32)])));
        Assert.Equal("holding:0+1=1 holding:7+4=1", Shape(small.Plan([P("a", 0), P("b", 7, ModbusDataType.F64)])));
        Assert.Equal("holding:0+8=1", Shape(small.Plan([P("s", 0, ModbusDataType.String, length: 8)])));
        Assert.Throws<ArgumentException>(() => small.Plan([P("s", 0, ModbusDataType.String, length: 9)]));
    }

    [Fact]
    public void Tables_should_never_share_a_read()
    {
        var reads = Default.Plan([
            P("h", 0), P("i", 1, table: ModbusRegisterType.Input), P("h2", 1),
            P("c", 0, ModbusDataType.Bool, ModbusRegisterType.Coil), P("d", 0, ModbusDataType.Bool, ModbusRegisterType.DiscreteInput),
        ]);
        Assert.Equal("coil:0+1=1 discrete-input:0+1=1 input:1+1=1 holding:0+2=2", Shape(reads));
        Assert.Equal([ModbusFunction.ReadCoils, ModbusFunction.ReadDiscreteInputs, ModbusFunction.ReadInputRegisters, ModbusFunction.ReadHoldingRegisters],
            reads.Select(r => r.Request.Function));
    }

    [Fact]
    public void Coils_should_use_their_own_gap_and_maximum()
    {
        var coil = (int a) => P($"c{a}", a, ModbusDataType.Bool, ModbusRegisterType.Coil);
        Assert.Equal("coil:0+65=2", Shape(Default.Plan([coil(0), coil(64)])));
        Assert.Equal("coil:0+1=1 coil:66+1=1", Shape(Default.Plan([coil(0), coil(66)])));
        var wideGap = new ModbusRequestPlanner(new ModbusQuirks { MaxCoilsGap = 1998 });
        Assert.Equal("coil:0+2000=2 coil:2000+1=1", Shape(wideGap.Plan([coil(0), coil(1999), coil(2000)])));
        var planner = new ModbusRequestPlanner(new ModbusQuirks { MaxCoilsPerRequest = 8, MaxCoilsGap = 2 });
        Assert.Equal("coil:0+4=2 coil:7+1=1", Shape(planner.Plan([coil(0), coil(3), coil(7)])));
    }

    [Fact]
    public void Bits_of_one_register_should_share_it()
    {
        var a = P("a", 5, ModbusDataType.Bool) with { Bit = 0 };
        var b = P("b", 5, ModbusDataType.Bool) with { Bit = 15 };
        Assert.Equal("holding:5+1=2", Shape(Default.Plan([a, b])));
    }

    [Fact]
    public void Split_should_first_drop_the_gaps_then_go_point_by_point_then_mark_the_point_bad()
    {
        var reads = Default.Plan([P("a", 0), P("b", 1), P("c", 5, ModbusDataType.F32)]);
        Assert.Equal("holding:0+7=3", Shape(reads));
        var gaps = Default.Split(reads[0]);
        Assert.Equal("holding:0+2=2 holding:5+2=1", Shape(gaps.Reads));
        Assert.Empty(gaps.Bad);
        var single = Default.Split(gaps.Reads[0]);
        Assert.Equal("holding:0+1=1 holding:1+1=1", Shape(single.Reads));
        var bad = Default.Split(single.Reads[1]);
        Assert.Empty(bad.Reads);
        var only = Assert.Single(bad.Bad);
        Assert.Equal("b", only.Point.Name);
        Assert.Contains("illegal data address", only.Reason, StringComparison.Ordinal);
        Assert.Contains("holding 1..1", only.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Polling_a_device_with_holes_should_read_every_point_it_has_and_report_the_one_it_lacks()
    {
        var points = new[] { P("a", 0), P("b", 4), P("c", 8, ModbusDataType.I32), P("d", 20) };
        var memory = new PlcMemory();
        foreach (var p in points) memory.Set(p, p.Address + 1);
        memory.Missing.Add((ModbusRegisterType.Holding, 2)); // a hole read through between a and b
        memory.Missing.Add((ModbusRegisterType.Holding, 20)); // d is mapped but the device does not have it
        var (values, bad) = memory.Poll(Default, points);
        Assert.Equal([("a", 1.0), ("b", 5.0), ("c", 9.0)], values.Select(v => (v.Point.Name, v.Value)).OrderBy(v => v.Name));
        Assert.Equal("d", Assert.Single(bad).Point.Name);
        // 0..21 refused, then the runs 0, 4, 8..9, 20 (20 refused and bad).
        Assert.Equal(5, memory.Requests);
    }

    public static TheoryData<ModbusDataType, ModbusByteOrder> TypesAndOrders()
    {
        var data = new TheoryData<ModbusDataType, ModbusByteOrder>();
        foreach (var type in new[] { ModbusDataType.U16, ModbusDataType.I16, ModbusDataType.U32, ModbusDataType.I32, ModbusDataType.F32, ModbusDataType.U64, ModbusDataType.I64, ModbusDataType.F64 })
            foreach (var order in Enum.GetValues<ModbusByteOrder>())
                data.Add(type, order);
        return data;
    }

    [Theory]
    [MemberData(nameof(TypesAndOrders))]
    public void Values_should_decode_from_a_coalesced_read_in_every_type_and_order(ModbusDataType type, ModbusByteOrder order)
    {
        // The point sits between neighbours, behind a gap, so that its offset inside the read matters.
        var signed = type is ModbusDataType.I16 or ModbusDataType.I32 or ModbusDataType.I64;
        var point = P("x", 13, type) with { ByteOrder = order, Scale = 0.1, Offset = signed ? -40 : 0, Unit = "°C" };
        var before = P("before", 10, ModbusDataType.F32) with { ByteOrder = order };
        var after = P("after", point.End, ModbusDataType.U16);
        var memory = new PlcMemory();
        var expected = type is ModbusDataType.F32 or ModbusDataType.F64 ? 1234.5 : signed ? -1234.5 : 1234.5;
        memory.Set(point, expected);
        memory.Set(before, 3.25);
        memory.Set(after, 0xBEEF);
        var reads = Default.Plan([after, point, before]);
        Assert.Single(reads);
        var (values, _) = memory.Poll(Default, [after, point, before]);
        Assert.Equal(expected, values.Single(v => v.Point.Name == "x").Value, 4);
        Assert.Equal(3.25, values.Single(v => v.Point.Name == "before").Value);
        Assert.Equal(0xBEEF, values.Single(v => v.Point.Name == "after").Value);
    }

    [Fact]
    public void Bools_strings_and_bits_should_decode()
    {
        var bit3 = P("bit3", 0, ModbusDataType.Bool) with { Bit = 3 };
        var bit4 = P("bit4", 0, ModbusDataType.Bool) with { Bit = 4 };
        var nonZero = P("nonzero", 1, ModbusDataType.Bool);
        var name = P("name", 2, ModbusDataType.String, length: 5) with { ByteOrder = ModbusByteOrder.BADC };
        var coils = Enumerable.Range(0, 20).Select(i => P($"coil{i}", 100 + i, ModbusDataType.Bool, ModbusRegisterType.Coil)).ToArray();
        var input = P("din", 7, ModbusDataType.Bool, ModbusRegisterType.DiscreteInput);
        var memory = new PlcMemory();
        memory.Set(bit3, 1);
        memory.Set(nonZero, 1);
        memory.Set(name, 0, "TANK-7");
        for (var i = 0; i < coils.Length; i++) memory.Set(coils[i], i % 3 == 0 ? 1 : 0);
        memory.Set(input, 1);
        var (values, bad) = memory.Poll(Default, [bit3, bit4, nonZero, name, input, .. coils]);
        Assert.Empty(bad);
        Assert.Equal(3, memory.Requests);
        var byName = values.ToDictionary(v => v.Point.Name);
        Assert.True(byName["bit3"].AsBool);
        Assert.False(byName["bit4"].AsBool);
        Assert.True(byName["nonzero"].AsBool);
        Assert.Equal("TANK-7", byName["name"].Text);
        Assert.True(byName["din"].AsBool);
        for (var i = 0; i < coils.Length; i++) Assert.Equal(i % 3 == 0, byName[$"coil{i}"].AsBool);
    }

    [Fact]
    public void Decode_should_refuse_data_of_the_wrong_length()
    {
        var read = Default.Plan([P("a", 0, ModbusDataType.F32)])[0];
        Assert.Throws<ArgumentException>(() => read.Decode(new byte[2], new List<ModbusPointValue>()));
    }

    [Fact]
    public void Deadband_should_publish_the_first_value_then_only_moves_of_at_least_the_deadband()
    {
        var filter = new DeadbandFilter();
        var point = P("t", 0) with { Deadband = 0.5 };
        var published = new[] { 20.0, 20.2, 20.49, 20.5, 20.1, 19.9, 19.99, double.NaN, double.NaN, 20 }
            .Where(v => filter.ShouldPublish(new ModbusPointValue(point, v))).ToArray();
        Assert.Equal([20.0, 20.5, 19.9, double.NaN, 20], published);
    }

    [Fact]
    public void On_change_should_publish_any_change_and_no_filter_should_publish_everything()
    {
        var filter = new DeadbandFilter();
        var onChange = P("c", 0) with { OnChange = true };
        var always = P("a", 1);
        var text = P("s", 2, ModbusDataType.String, length: 2) with { OnChange = true };
        Assert.Equal(3, new[] { 1.0, 1, 1, 2, 2, 1 }.Count(v => filter.ShouldPublish(new ModbusPointValue(onChange, v))));
        Assert.Equal(4, new[] { 1.0, 1, 1, 1 }.Count(v => filter.ShouldPublish(new ModbusPointValue(always, v))));
        Assert.Equal(2, new[] { "A", "A", "B", "B" }.Count(t => filter.ShouldPublish(new ModbusPointValue(text, double.NaN, t))));
        filter.Reset();
        Assert.True(filter.ShouldPublish(new ModbusPointValue(onChange, 1)));
    }

    private static Gen<(ModbusPoint[] Points, ModbusQuirks Quirks)> PointSets()
    {
        var tables = Gen.Elements(ModbusRegisterType.Coil, ModbusRegisterType.DiscreteInput, ModbusRegisterType.Input, ModbusRegisterType.Holding);
        var types = Gen.Elements(ModbusDataType.U16, ModbusDataType.I32, ModbusDataType.F32, ModbusDataType.F64, ModbusDataType.String);
        var point = from table in tables
                    from type in types
                    from address in Gen.Choose(0, 600)
                    from length in Gen.Choose(1, 12)
                    select (table, type, address, length);
        var quirks = from max in Gen.Choose(12, 125)
                     from gap in Gen.Choose(0, 20)
                     from maxCoils in Gen.Choose(1, 2000)
                     from coilsGap in Gen.Choose(0, 100)
                     select new ModbusQuirks { MaxRegistersPerRequest = max, MaxGap = gap, MaxCoilsPerRequest = maxCoils, MaxCoilsGap = coilsGap };
        return from specs in point.ArrayOf()
               from q in quirks
               select (specs.Select((s, i) => new ModbusPoint
               {
                   Name = $"p{i}",
                   Address = (ushort)s.address,
                   RegisterType = s.table,
                   DataType = s.table is ModbusRegisterType.Coil or ModbusRegisterType.DiscreteInput ? ModbusDataType.Bool : s.type,
                   Length = s.length,
               }).ToArray(), q);
    }

    [Property(MaxTest = 300)]
    public Property Every_plan_should_cover_each_point_once_within_the_limits()
    {
        return Prop.ForAll(PointSets().ToArbitrary(), c =>
        {
            var reads = new ModbusRequestPlanner(c.Quirks).Plan(c.Points);
            var covered = reads.SelectMany(r => r.Points).Select(p => p.Name).ToList();
            var sameOnce = covered.Count == c.Points.Length && covered.ToHashSet().SetEquals(c.Points.Select(p => p.Name));
            var inside = reads.All(r => r.Points.All(p => p.RegisterType == r.RegisterType && p.Address >= r.Address && p.End <= r.End));
            var withinMax = reads.All(r => r.Quantity <= c.Quirks.MaxPerRequest(r.RegisterType));
            var noWideGap = reads.All(r => LargestGap(r) <= c.Quirks.MaxGapOf(r.RegisterType));
            var tight = reads.All(r => r.Address == r.Points.Min(p => p.Address) && r.End == r.Points.Max(p => p.End));
            return (sameOnce && inside && withinMax && noWideGap && tight && reads.Count <= c.Points.Length)
                .Label($"{Shape(reads)} for {c.Quirks}");
        });
    }

    [Property(MaxTest = 200)]
    public Property Splitting_should_keep_every_point_and_never_read_a_gap()
    {
        return Prop.ForAll(PointSets().ToArbitrary(), c =>
        {
            var planner = new ModbusRequestPlanner(c.Quirks);
            return planner.Plan(c.Points).All(read =>
            {
                var split = planner.Split(read);
                var names = split.Reads.SelectMany(r => r.Points).Concat(split.Bad.Select(b => b.Point)).Select(p => p.Name).Order();
                return names.SequenceEqual(read.Points.Select(p => p.Name).Order())
                    && split.Reads.All(r => LargestGap(r) <= 0)
                    && (split.Reads.Count > 1 || split.Bad.Count == read.Points.Count);
            });
        });
    }

    // Largest run of addresses inside a read that no point covers.
    private static int LargestGap(PlannedRead read)
    {
        var largest = 0;
        var end = (int)read.Address;
        foreach (var p in read.Points.OrderBy(p => p.Address))
        {
            largest = Math.Max(largest, p.Address - end);
            end = Math.Max(end, p.End);
        }
        return largest;
    }
}
