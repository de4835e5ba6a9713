using System.Globalization;
using System.Text.RegularExpressions;
using Fleet.Actors.Devices.Plc;

namespace Fleet.Actors.PeerTests.Modbus;

public sealed partial class ModbusTcpPeerTests : ModbusPeerContract
{
    private ModbusServerPeer _server = null!;

    protected override async Task<ModbusClient> StartAsync()
    {
        _server = await ModbusServerPeer.StartTcpAsync();
        return new ModbusClient(new ModbusTcpTransport("127.0.0.1", _server.Port, ModbusFraming.Tcp, TestTimeouts));
    }

    protected override Task StopAsync() => _server.DisposeAsync().AsTask();

    [Fact]
    public async Task Held_answer_should_time_out_and_its_late_arrival_should_be_skipped_by_transaction_id()
    {
        Assert.Equal(new ushort[] { 1000 }, await Client.ReadInputRegistersAsync(0, 1));
        await _server.HoldAnswersAsync();

        await Assert.ThrowsAsync<TimeoutException>(() => Client.ReadInputRegistersAsync(0, 1));

        await _server.ReleaseAnswersAsync();
        // The server answers the held request first; that answer carries the old transaction id.
        Assert.Equal(new ushort[] { 0xBEEF }, await Client.ReadHoldingRegistersAsync(10, 1));
        Assert.Equal(1, Client.Transport.Counters.Timeouts);
        Assert.Equal(1, Client.Transport.Counters.LateFrames);
        Assert.Equal(0, Client.Transport.Counters.GarbledFrames);
    }

    [Fact]
    public async Task Unit_0_should_address_the_device_itself_unless_the_device_is_a_broadcast_gateway()
    {
        // Modbus TCP: unit 0 is the server itself, which answers.
        // (Closed before the next client connects: libmodbus serves one connection at a time.)
        await using (var itself = new ModbusClient(new ModbusTcpTransport("127.0.0.1", _server.Port, ModbusFraming.Tcp, TestTimeouts), unitId: 0))
        {
            Assert.False(itself.IsBroadcast);
            Assert.Equal(new ushort[] { 0xBEEF }, await itself.ReadHoldingRegistersAsync(10, 1));
        }

        // A gateway that broadcasts unit 0 does not answer it: the write must not wait (the answer is held).
        await using (var gateway = new ModbusClient(new ModbusTcpTransport("127.0.0.1", _server.Port, ModbusFraming.Tcp, TestTimeouts, broadcastUnitZero: true), unitId: 0))
        {
            await _server.HoldAnswersAsync();
            await gateway.WriteSingleRegisterAsync(6, 77);
            await Assert.ThrowsAsync<ArgumentException>(() => gateway.ReadHoldingRegistersAsync(6, 1));
            Assert.Equal((1L, 0L), (gateway.Transport.Counters.Requests, gateway.Transport.Counters.Timeouts));
            await _server.ReleaseAnswersAsync();
        }
        Assert.Equal(new ushort[] { 77 }, await Client.ReadHoldingRegistersAsync(6, 1));
    }

    [Fact]
    public async Task Restarted_server_should_be_reconnected_on_the_next_call()
    {
        Assert.Equal(new ushort[] { 1000 }, await Client.ReadInputRegistersAsync(0, 1));

        await _server.StopAsync();
        await Assert.ThrowsAnyAsync<IOException>(() => Client.ReadInputRegistersAsync(0, 1));
        await _server.StartAsync();

        Assert.Equal(new ushort[] { 1001 }, await Client.ReadInputRegistersAsync(1, 1));
    }

    [Fact]
    public async Task Mbpoll_should_read_what_our_client_reads()
    {
        // libmodbus serves one connection at a time: mbpoll goes first, before our client connects.
        var holding = await MbpollAsync("-t", "4:hex", "-r", "11", "-c", "6");
        var input = await MbpollAsync("-t", "3", "-r", "1", "-c", "5");
        var coils = await MbpollAsync("-t", "0", "-r", "11", "-c", "10");

        Assert.Equal(holding, (await Client.ReadHoldingRegistersAsync(10, 6)).Select(v => (int)v).ToArray());
        Assert.Equal(input, (await Client.ReadInputRegistersAsync(0, 5)).Select(v => (int)v).ToArray());
        Assert.Equal(coils, (await Client.ReadCoilsAsync(10, 10)).Select(v => v ? 1 : 0).ToArray());
        Assert.Equal(0xBEEF, holding[0]);
    }

    [Fact]
    public async Task Unreachable_port_should_fail_with_an_IOException_and_count_nothing_as_received()
    {
        await using var client = new ModbusClient(new ModbusTcpTransport("127.0.0.1", ModbusServerPeer.FreePort(), ModbusFraming.Tcp, TestTimeouts));
        await Assert.ThrowsAnyAsync<IOException>(() => client.ReadCoilsAsync(0, 1));
        Assert.Equal(0, client.Transport.Counters.Requests);
    }

    private async Task<int[]> MbpollAsync(params string[] arguments)
    {
        var output = await _server.MbpollAsync(arguments);
        return MbpollValue().Matches(output)
            .Select(m => m.Groups[1].Value.StartsWith("0x", StringComparison.Ordinal)
                ? int.Parse(m.Groups[1].Value[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                : int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
            .ToArray();
    }

    [GeneratedRegex(@"^\[\d+\]:\s+(0x[0-9A-Fa-f]+|-?\d+)", RegexOptions.Multiline)]
    private static partial Regex MbpollValue();
}
