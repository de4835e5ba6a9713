using System.Diagnostics;
using System.Globalization;
using Fleet.Actors.Devices.Plc;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Testing;

namespace Fleet.Actors.PeerTests.Modbus;

/// <summary>RTU on a socat pseudo-terminal: the server opens the peer end, our client the device end.</summary>
public sealed class ModbusRtuPeerTests : ModbusPeerContract
{
    private SocatPty _pty = null!;
    private ModbusServerPeer _server = null!;

    protected override async Task<ModbusClient> StartAsync()
    {
        _pty = await SocatPty.StartAsync();
        _server = await ModbusServerPeer.StartRtuAsync(_pty.PeerPath);
        var channel = new SerialPortChannel(new SerialOptions { Port = _pty.DevicePath, BaudRate = 115200 });
        return new ModbusClient(new ModbusRtuTransport(channel, 115200, TestTimeouts), unitId: 1);
    }

    protected override async Task StopAsync()
    {
        await _server.DisposeAsync();
        await _pty.DisposeAsync();
    }

    [Fact]
    public async Task Held_answer_should_time_out_and_the_next_request_should_work_after_release()
    {
        Assert.Equal(new ushort[] { 1000 }, await Client.ReadInputRegistersAsync(0, 1));
        await _server.HoldAnswersAsync();

        await Assert.ThrowsAsync<TimeoutException>(() => Client.ReadInputRegistersAsync(0, 1));

        await _server.ReleaseAnswersAsync();
        // RTU has no transaction id. The late answer (one register) is either discarded in the
        // silence before the next request or arrives in its place and, not matching the two
        // registers asked for, is refused as garbled; it never becomes a value.
        ushort[]? values = null;
        for (var attempt = 0; values is null && attempt < 3; attempt++)
        {
            try
            {
                values = await Client.ReadInputRegistersAsync(2, 2);
            }
            catch (ModbusFrameException)
            {
                Assert.Equal(1, Client.Transport.Counters.GarbledFrames);
            }
        }
        Assert.Equal(new ushort[] { 1002, 1003 }, values);
        Assert.Equal(1, Client.Transport.Counters.Timeouts);
        Assert.True(Client.Transport.Counters.GarbledFrames + Client.Transport.Counters.DiscardedBytes > 0, "the late answer was neither discarded nor refused");
    }

    [Fact]
    public async Task Restarted_server_should_answer_the_next_call_on_the_same_line()
    {
        Assert.Equal(new ushort[] { 1000 }, await Client.ReadInputRegistersAsync(0, 1));
        await _server.StopAsync();
        await Assert.ThrowsAsync<TimeoutException>(() => Client.ReadInputRegistersAsync(0, 1));
        await _server.StartAsync();

        Assert.Equal(new ushort[] { 1001 }, await Client.ReadInputRegistersAsync(1, 1));
    }

    [Fact]
    public async Task Broadcast_write_should_reach_the_device_unanswered_and_a_broadcast_read_should_never_be_sent()
    {
        await using var everyone = new ModbusClient(new NoDispose(Client.Transport), unitId: 0);

        // libmodbus carries out a write to unit 0 and, as the protocol says, does not answer it.
        await everyone.WriteSingleRegisterAsync(5, 0x1234);

        Assert.Equal(new ushort[] { 0x1234 }, await Client.ReadHoldingRegistersAsync(5, 1));
        var sent = Client.Transport.Counters.Requests;
        await Assert.ThrowsAsync<ArgumentException>(() => everyone.ReadHoldingRegistersAsync(5, 1));
        Assert.Equal(sent, Client.Transport.Counters.Requests);
        Assert.Equal(0, Client.Transport.Counters.Timeouts);
    }

    [Fact]
    public async Task Requests_to_another_slave_should_go_unanswered()
    {
        await using var other = new ModbusClient(new NoDispose(Client.Transport), unitId: 7);
        await Assert.ThrowsAsync<TimeoutException>(() => other.ReadInputRegistersAsync(0, 1));
        Assert.Equal(new ushort[] { 1000 }, await Client.ReadInputRegistersAsync(0, 1));
    }

    /// <summary>Shares the transport with a second client without letting it close the line.</summary>
    private sealed class NoDispose(IModbusTransport inner) : IModbusTransport
    {
        public string Description => inner.Description;

        public ModbusCounters Counters => inner.Counters;

        public bool IsBroadcast(byte unitId) => inner.IsBroadcast(unitId);

        public Task<byte[]> SendAsync(byte unitId, ModbusRequest request, CancellationToken cancellationToken) =>
            inner.SendAsync(unitId, request, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>
/// RTU on a pty against a device that answers the first request only after the client gave up on it.
/// The margins are wide (750 ms each side) because a loaded machine delays timers by hundreds of ms.
/// </summary>
public sealed class ModbusRtuLateAnswerTests : IAsyncLifetime
{
    private SocatPty _pty = null!;
    private ModbusServerPeer _server = null!;
    private ModbusClient _client = null!;

    public async Task InitializeAsync()
    {
        _pty = await SocatPty.StartAsync();
        _server = await ModbusServerPeer.StartRtuAsync(_pty.PeerPath, "late-first=2250");
        var channel = new SerialPortChannel(new SerialOptions { Port = _pty.DevicePath, BaudRate = 115200 });
        _client = new ModbusClient(new ModbusRtuTransport(channel, 115200, new ModbusTimeouts { Operation = TimeSpan.FromSeconds(1.5) }));
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
        await _pty.DisposeAsync();
    }

    [Fact]
    public async Task Late_answer_should_never_be_taken_for_the_answer_to_the_next_request()
    {
        await Assert.ThrowsAsync<TimeoutException>(() => _client.ReadInputRegistersAsync(0, 1));

        // Asked right after the timeout and shaped like the first (function, unit, byte count): the
        // answer 1000 arrives 750 ms later, within this request's own time, and must be waited out.
        Assert.Equal(new ushort[] { 1001 }, await _client.ReadInputRegistersAsync(1, 1));
        // The late answer, discarded: unit, function, byte count, one register, CRC.
        Assert.Equal(7, _client.Transport.Counters.DiscardedBytes);
        Assert.Equal(1, _client.Transport.Counters.Timeouts);
    }
}

/// <summary>RTU framing over TCP, as a serial gateway speaks it: socat bridges a loopback port to the RTU server's pty.</summary>
public sealed class ModbusRtuOverTcpPeerTests : ModbusPeerContract
{
    private SocatPty _pty = null!;
    private ModbusServerPeer _server = null!;
    private Process _bridge = null!;

    protected override async Task<ModbusClient> StartAsync()
    {
        _pty = await SocatPty.StartAsync();
        _server = await ModbusServerPeer.StartRtuAsync(_pty.PeerPath);
        var port = ModbusServerPeer.FreePort();
        var start = new ProcessStartInfo("socat") { UseShellExecute = false, RedirectStandardError = true };
        start.ArgumentList.Add($"tcp-listen:{port.ToString(CultureInfo.InvariantCulture)},bind=127.0.0.1,reuseaddr");
        start.ArgumentList.Add($"file:{_pty.DevicePath},raw,echo=0");
        _bridge = Process.Start(start) ?? throw new InvalidOperationException("socat did not start");
        await WaitForListenerAsync(port);
        return new ModbusClient(new ModbusTcpTransport("127.0.0.1", port, ModbusFraming.Rtu, TestTimeouts), unitId: 1);
    }

    protected override async Task StopAsync()
    {
        if (!_bridge.HasExited) _bridge.Kill();
        await _bridge.WaitForExitAsync();
        _bridge.Dispose();
        await _server.DisposeAsync();
        await _pty.DisposeAsync();
    }

    private static async Task WaitForListenerAsync(int port)
    {
        // socat without fork serves a single connection, so a probe connect would use it up: watch
        // the listening sockets instead.
        var hex = port.ToString("X4", CultureInfo.InvariantCulture);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!File.ReadLines("/proc/net/tcp").Any(l => l.Contains($"0100007F:{hex} 00000000:0000 0A", StringComparison.Ordinal)))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"socat did not listen on {port}");
            await Task.Delay(20);
        }
    }
}
