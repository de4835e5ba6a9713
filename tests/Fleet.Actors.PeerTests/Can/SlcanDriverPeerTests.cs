using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Can;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Testing;

namespace Fleet.Actors.PeerTests.Can;

/// <summary>The SLCAN driver itself on a pseudo-terminal: unplugging and plugging the adapter back in.</summary>
public sealed class SlcanDriverPeerTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(15);
    private SocatPty _pty = null!;

    public async Task InitializeAsync() => _pty = await SocatPty.StartAsync();

    public async Task DisposeAsync() => await _pty.DisposeAsync();

    private SlcanDriver Driver() => new(
        new SlcanOptions(new SerialOptions { Port = _pty.DevicePath, BaudRate = 115_200 }, 500_000, false, new J1939Options()),
        new SerialPortChannel(new SerialOptions { Port = _pty.DevicePath, BaudRate = 115_200 }),
        TimeProvider.System);

    private static async Task<List<ReadingValue>> ReadValuesAsync(SlcanDriver driver, int count)
    {
        using var timeout = new CancellationTokenSource(Generous);
        var values = new List<ReadingValue>();
        while (values.Count < count) values.AddRange((await driver.ReadAsync(timeout.Token)).Values.Select(v => v.Value));
        return values;
    }

    /// <summary>Opens a driver while the adapter answers its set-up; returns the commands it got.</summary>
    private async Task<(SlcanDriver Driver, PtyPeer Peer, IReadOnlyList<string?> Commands)> OpenAsync()
    {
        var peer = _pty.OpenPeer();
        var setup = Task.Run(() => new SlcanAdapterPeer(peer).AnswerSetup(4, Generous));
        var driver = Driver();
        await driver.OpenAsync(CancellationToken.None);
        return (driver, peer, await setup);
    }

    [Fact]
    public async Task Unplugged_adapter_should_fail_the_read_and_a_new_driver_should_work_after_replug()
    {
        var (driver, peer, commands) = await OpenAsync();
        Assert.Equal(["C\r", "S6\r", "Z0\r", "O\r"], commands);
        new SlcanAdapterPeer(peer).Send([J1939Frames.Single(J1939Pgns.Et1, 0x00, [0x82])]);
        Assert.Equal([new MeasurementValue("coolant_temp", 90, "°C")], await ReadValuesAsync(driver, 1));

        using (var timeout = new CancellationTokenSource(Generous))
        {
            var pending = driver.ReadAsync(timeout.Token);
            await _pty.UnplugAsync();
            await Assert.ThrowsAnyAsync<IOException>(() => pending);
        }
        peer.Dispose();
        await driver.DisposeAsync();

        await _pty.PlugAsync();
        var (again, newPeer, newCommands) = await OpenAsync();
        await using (again)
        using (newPeer)
        {
            Assert.Equal(["C\r", "S6\r", "Z0\r", "O\r"], newCommands);
            new SlcanAdapterPeer(newPeer).Send([J1939Frames.Single(J1939Pgns.Lfe, 0x00, [0x40, 0x01])]);
            Assert.Equal([new MeasurementValue("fuel_rate", 16, "L/h")], await ReadValuesAsync(again, 1));
        }
    }

    [Fact]
    public async Task Opening_a_missing_adapter_should_fail_with_an_IOException()
    {
        await using var driver = new SlcanDriver(
            new SlcanOptions(new SerialOptions { Port = _pty.DevicePath + "-missing" }, 250_000, true, new J1939Options()),
            new SerialPortChannel(new SerialOptions { Port = _pty.DevicePath + "-missing" }),
            TimeProvider.System);

        await Assert.ThrowsAnyAsync<IOException>(() => driver.OpenAsync(CancellationToken.None));
    }
}
