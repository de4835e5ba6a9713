using Fleet.Actors.Devices.Plc;

namespace Fleet.Actors.PeerTests.Modbus;

/// <summary>
/// What every link to the libmodbus server must do (TCP, RTU on a pty, RTU over TCP): read the
/// known map, write and read back with every function code, decode every data type and byte
/// order, and surface exception responses. Derived classes start the server and the client.
/// </summary>
public abstract class ModbusPeerContract : IAsyncLifetime
{
    /// <summary>Operation timeout of the clients under test: short, so timeout tests stay quick.</summary>
    protected static readonly ModbusTimeouts TestTimeouts = new() { Operation = TimeSpan.FromSeconds(1) };

    protected ModbusClient Client { get; private set; } = null!;

    public async Task InitializeAsync() => Client = await StartAsync();

    public async Task DisposeAsync()
    {
        await Client.DisposeAsync();
        await StopAsync();
    }

    protected abstract Task<ModbusClient> StartAsync();

    protected abstract Task StopAsync();

    [Fact]
    public async Task Reads_should_return_the_known_map_for_every_table()
    {
        Assert.Equal(new[] { true, false, true, true, false, false, true, false, true, true }, await Client.ReadCoilsAsync(10, 10));
        Assert.Equal(Enumerable.Range(0, 16).Select(i => i % 3 == 0).ToArray(), await Client.ReadDiscreteInputsAsync(0, 16));
        Assert.Equal(Enumerable.Range(1000, 10).Select(i => (ushort)i).ToArray(), await Client.ReadInputRegistersAsync(0, 10));
        Assert.Equal(new ushort[] { 0xBEEF, 0xFB2E }, await Client.ReadHoldingRegistersAsync(10, 2));
    }

    [Fact]
    public async Task Writes_with_every_function_code_should_read_back()
    {
        await Client.WriteSingleCoilAsync(3, true);
        await Client.WriteMultipleCoilsAsync(5, [true, false, true, true]);
        Assert.Equal(new[] { false, false, false, true, false, true, false, true, true, false }, await Client.ReadCoilsAsync(0, 10));
        await Client.WriteSingleCoilAsync(3, false);
        Assert.False((await Client.ReadCoilsAsync(3, 1))[0]);

        await Client.WriteSingleRegisterAsync(1, 0xA55A);
        await Client.WriteMultipleRegistersAsync(4, [1, 2, 65_535]);
        Assert.Equal(new ushort[] { 0, 0xA55A, 0, 0, 1, 2, 65_535, 0 }, await Client.ReadHoldingRegistersAsync(0, 8));
    }

    [Fact]
    public async Task Every_data_type_and_byte_order_should_decode_from_the_map()
    {
        var h = await Client.ReadHoldingRegistersAsync(0, 71);
        Assert.Equal(0xBEEF, ModbusValues.ToNumber(h.AsSpan(10), ModbusDataType.U16, ModbusByteOrder.ABCD));
        Assert.Equal(-1234, ModbusValues.ToNumber(h.AsSpan(11), ModbusDataType.I16, ModbusByteOrder.ABCD));
        Assert.Equal(-123456789, ModbusValues.ToInt32(h.AsSpan(12), ModbusByteOrder.ABCD));
        var orders = new[] { ModbusByteOrder.ABCD, ModbusByteOrder.CDAB, ModbusByteOrder.BADC, ModbusByteOrder.DCBA };
        for (var i = 0; i < orders.Length; i++)
        {
            Assert.Equal(0x12345678u, ModbusValues.ToUInt32(h.AsSpan(20 + 2 * i), orders[i]));
            Assert.Equal(123.456f, ModbusValues.ToSingle(h.AsSpan(30 + 2 * i), orders[i]));
        }
        Assert.Equal(0x0123456789ABCDEFul, ModbusValues.ToUInt64(h.AsSpan(40), ModbusByteOrder.ABCD));
        Assert.Equal(-2L, ModbusValues.ToInt64(h.AsSpan(44), ModbusByteOrder.ABCD));
        Assert.Equal(-9876.54321, ModbusValues.ToDouble(h.AsSpan(48), ModbusByteOrder.ABCD));
        Assert.Equal(-9876.54321, ModbusValues.ToDouble(h.AsSpan(52), ModbusByteOrder.DCBA));
        Assert.Equal("FLEET-PLC1", ModbusValues.ToText(h.AsSpan(60, 5)));
        Assert.Equal([true, false, true, false, true, false, true], new[] { 0, 1, 2, 3, 13, 14, 15 }.Select(b => ModbusValues.ToBool(h[70], b)).ToArray());
        Assert.Equal(123.456 * 10 - 5, ModbusValues.ToNumber(h.AsSpan(32), ModbusDataType.F32, ModbusByteOrder.CDAB, scale: 10, offset: -5), 3);
    }

    [Fact]
    public async Task Written_values_of_every_type_and_order_should_read_back_decoded()
    {
        var registers = new ushort[4];
        foreach (var order in Enum.GetValues<ModbusByteOrder>())
        {
            ModbusValues.FromDouble(Math.PI, order, registers);
            await Client.WriteMultipleRegistersAsync(0, registers);
            Assert.Equal(Math.PI, ModbusValues.ToDouble(await Client.ReadHoldingRegistersAsync(0, 4), order));
            ModbusValues.FromNumber(-40.5, ModbusDataType.I32, order, registers, scale: 0.1);
            await Client.WriteMultipleRegistersAsync(4, registers[..2]);
            Assert.Equal(-40.5, ModbusValues.ToNumber(await Client.ReadHoldingRegistersAsync(4, 2), ModbusDataType.I32, order, scale: 0.1), 9);
        }
    }

    [Fact]
    public async Task Illegal_data_address_should_throw_ModbusException_with_code_2_and_its_name()
    {
        var refused = await Assert.ThrowsAsync<ModbusException>(() => Client.ReadHoldingRegistersAsync(5000, 1));
        Assert.Equal(2, refused.Code);
        Assert.Equal("illegal data address", refused.Name);
        Assert.Equal(ModbusFunction.ReadHoldingRegisters, refused.Function);
        // Past the end of the map as well, and for writes; the link stays usable.
        Assert.Equal(2, (await Assert.ThrowsAsync<ModbusException>(() => Client.ReadCoilsAsync(95, 10))).Code);
        Assert.Equal(2, (await Assert.ThrowsAsync<ModbusException>(() => Client.WriteSingleRegisterAsync(100, 1))).Code);
        Assert.Equal(new ushort[] { 0xBEEF }, await Client.ReadHoldingRegistersAsync(10, 1));
    }
}
