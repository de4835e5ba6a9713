using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Fleet.Actors.Devices.Plc;

namespace Fleet.Actors.Devices.Tests.Plc;

/// <summary>Typed values over registers: known layouts of every byte order and round trips of every type.</summary>
public sealed class ModbusValuesTests
{
    [Theory]
    [InlineData(ModbusByteOrder.ABCD, 0x1234, 0x5678)]
    [InlineData(ModbusByteOrder.CDAB, 0x5678, 0x1234)]
    [InlineData(ModbusByteOrder.BADC, 0x3412, 0x7856)]
    [InlineData(ModbusByteOrder.DCBA, 0x7856, 0x3412)]
    public void Thirty_two_bit_orders_should_place_the_bytes_as_named(ModbusByteOrder order, int first, int second)
    {
        var registers = new ushort[2];
        ModbusValues.FromUInt32(0x12345678, order, registers);
        Assert.Equal(new[] { (ushort)first, (ushort)second }, registers);
        Assert.Equal(0x12345678u, ModbusValues.ToUInt32(registers, order));
    }

    [Theory]
    [InlineData(ModbusByteOrder.ABCD, "0123456789ABCDEF")]
    [InlineData(ModbusByteOrder.CDAB, "CDEF89AB45670123")]
    [InlineData(ModbusByteOrder.BADC, "23016745AB89EFCD")]
    [InlineData(ModbusByteOrder.DCBA, "EFCDAB8967452301")]
    public void Sixty_four_bit_orders_should_extend_the_same_rule(ModbusByteOrder order, string hex)
    {
        var registers = new ushort[4];
        ModbusValues.FromUInt64(0x0123456789ABCDEF, order, registers);
        Assert.Equal(hex, string.Concat(registers.Select(r => r.ToString("X4", System.Globalization.CultureInfo.InvariantCulture))));
    }

    [Fact]
    public void Known_values_should_decode()
    {
        Assert.Equal(123.456f, ModbusValues.ToSingle([0x42F6, 0xE979], ModbusByteOrder.ABCD));
        Assert.Equal(-1234, ModbusValues.ToInt16(0xFB2E));
        Assert.Equal(-123456789, ModbusValues.ToInt32([0xF8A4, 0x32EB], ModbusByteOrder.ABCD));
        Assert.Equal("FLEET-PLC1", ModbusValues.ToText([0x464C, 0x4545, 0x542D, 0x504C, 0x4331]));
        Assert.Equal("LFEE-TLP1C", ModbusValues.ToText([0x464C, 0x4545, 0x542D, 0x504C, 0x4331], ModbusByteOrder.BADC));
        Assert.Equal(25.5, ModbusValues.ToNumber([255], ModbusDataType.U16, ModbusByteOrder.ABCD, scale: 0.1, offset: 0), 9);
        Assert.Equal(-17.3, ModbusValues.ToNumber([ModbusValues.FromInt16(-173)], ModbusDataType.I16, ModbusByteOrder.ABCD, 0.1), 9);
        Assert.True(ModbusValues.ToBool(0x8000, 15));
        Assert.False(ModbusValues.ToBool(0x8000, 14));
        Assert.Equal(0x8001, ModbusValues.WithBit(0x8000, 0, true));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusValues.ToBool(0, 16));
        Assert.Throws<ArgumentException>(() => ModbusValues.ToUInt32([1], ModbusByteOrder.ABCD));
        Assert.Throws<OverflowException>(() => ModbusValues.FromNumber(70_000, ModbusDataType.U16, ModbusByteOrder.ABCD, new ushort[1]));
        Assert.Throws<ArgumentException>(() => ModbusValues.FromText("too long", ModbusByteOrder.ABCD, new ushort[3]));
        Assert.Equal('?', ModbusValues.ToText([0xC341])[0]);
    }

    [Fact]
    public void Register_counts_should_follow_the_type()
    {
        Assert.Equal(1, ModbusValues.RegisterCount(ModbusDataType.Bool));
        Assert.Equal(2, ModbusValues.RegisterCount(ModbusDataType.F32));
        Assert.Equal(4, ModbusValues.RegisterCount(ModbusDataType.I64));
        Assert.Equal(5, ModbusValues.RegisterCount(ModbusDataType.String, 5));
    }

    [Property(MaxTest = 300)]
    public void Every_32_bit_type_should_round_trip_in_every_order(uint u, int i, float f, ModbusByteOrder order)
    {
        var r = new ushort[2];
        ModbusValues.FromUInt32(u, order, r);
        Assert.Equal(u, ModbusValues.ToUInt32(r, order));
        ModbusValues.FromInt32(i, order, r);
        Assert.Equal(i, ModbusValues.ToInt32(r, order));
        ModbusValues.FromSingle(f, order, r);
        Assert.Equal(BitConverter.SingleToUInt32Bits(f), BitConverter.SingleToUInt32Bits(ModbusValues.ToSingle(r, order)));
    }

    [Property(MaxTest = 300)]
    public void Every_64_bit_type_should_round_trip_in_every_order(ulong u, long i, double d, ModbusByteOrder order)
    {
        var r = new ushort[4];
        ModbusValues.FromUInt64(u, order, r);
        Assert.Equal(u, ModbusValues.ToUInt64(r, order));
        ModbusValues.FromInt64(i, order, r);
        Assert.Equal(i, ModbusValues.ToInt64(r, order));
        ModbusValues.FromDouble(d, order, r);
        Assert.Equal(BitConverter.DoubleToUInt64Bits(d), BitConverter.DoubleToUInt64Bits(ModbusValues.ToDouble(r, order)));
    }

    [Property(MaxTest = 300)]
    public void Sixteen_bit_types_and_bits_should_round_trip(ushort u, short s, byte bit, bool value)
    {
        var index = bit % 16;
        Assert.Equal(s, ModbusValues.ToInt16(ModbusValues.FromInt16(s)));
        Assert.Equal(value, ModbusValues.ToBool(ModbusValues.WithBit(u, index, value), index));
        var r = new ushort[1];
        ModbusValues.FromNumber(u, ModbusDataType.U16, ModbusByteOrder.ABCD, r);
        Assert.Equal(u, r[0]);
    }

    [Property(MaxTest = 300)]
    public Property Ascii_text_should_round_trip_in_every_order()
    {
        var text = Gen.Choose(0x21, 0x7E).Select(c => (char)c).ArrayOf().Select(cs => new string(cs));
        return Prop.ForAll(text.ToArbitrary(), ArbMap.Default.ArbFor<ModbusByteOrder>(), (t, order) =>
        {
            var r = new ushort[(t.Length + 1) / 2 + 1];
            ModbusValues.FromText(t, order, r);
            Assert.Equal(t, ModbusValues.ToText(r, order));
        });
    }

    [Property(MaxTest = 300)]
    public Property Scaled_numbers_should_round_trip_for_every_numeric_type()
    {
        var types = Gen.Elements(ModbusDataType.U16, ModbusDataType.I16, ModbusDataType.U32, ModbusDataType.I32, ModbusDataType.F32,
            ModbusDataType.U64, ModbusDataType.I64, ModbusDataType.F64);
        var cases = from type in types
                    from order in ArbMap.Default.GeneratorFor<ModbusByteOrder>()
                    from raw in Gen.Choose(0, 30_000)
                    from scale in Gen.Elements(1, 0.1, 0.01, 10)
                    from offset in Gen.Elements(0, -40, 273.15)
                    select (type, order, raw, scale, offset);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var value = c.raw * c.scale + c.offset;
            var r = new ushort[4];
            ModbusValues.FromNumber(value, c.type, c.order, r, c.scale, c.offset);
            var back = ModbusValues.ToNumber(r, c.type, c.order, c.scale, c.offset);
            Assert.Equal(value, back, c.type == ModbusDataType.F32 ? Math.Abs(value) * 1e-6 + 1e-3 : 1e-6);
        });
    }
}
