using System.Text;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Testing;

namespace Fleet.Actors.PeerTests.Serial;

public sealed class SerialPortChannelTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);
    private SocatPty _pty = null!;

    public async Task InitializeAsync() => _pty = await SocatPty.StartAsync();

    public async Task DisposeAsync() => await _pty.DisposeAsync();

    [Fact]
    public async Task Channel_should_deliver_what_the_device_sends_and_send_what_the_driver_writes()
    {
        await using var channel = new SerialPortChannel(new SerialOptions { Port = _pty.DevicePath, BaudRate = 38400 });
        await channel.OpenAsync(CancellationToken.None);
        using var peer = _pty.OpenPeer();

        peer.Write("$GPGGA,hello*00\r\n");
        var received = new StringBuilder();
        using var timeout = new CancellationTokenSource(Generous);
        while (!received.ToString().EndsWith("\r\n", StringComparison.Ordinal))
            received.Append(Encoding.Latin1.GetString((await channel.ReadAsync(timeout.Token)).Span));
        Assert.Equal("$GPGGA,hello*00\r\n", received.ToString());

        await channel.WriteAsync("ATZ\r"u8.ToArray(), timeout.Token);
        Assert.Equal("ATZ\r", peer.ReadUntil('\r', Generous));
    }

    [Fact]
    public async Task Unplugged_device_should_fail_the_next_read_with_an_IOException()
    {
        await using var channel = new SerialPortChannel(new SerialOptions { Port = _pty.DevicePath });
        await channel.OpenAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(Generous);
        var read = channel.ReadAsync(timeout.Token).AsTask();

        await _pty.UnplugAsync();

        await Assert.ThrowsAnyAsync<IOException>(() => read);
    }

    [Fact]
    public async Task Write_after_an_unplug_should_fail_and_closing_should_not_hang()
    {
        var channel = new SerialPortChannel(new SerialOptions { Port = _pty.DevicePath });
        await channel.OpenAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(Generous);
        var read = channel.ReadAsync(timeout.Token).AsTask();
        await _pty.UnplugAsync();
        await Assert.ThrowsAnyAsync<IOException>(() => read);

        // Linux's asynchronous write to a hung-up tty never returns, and a close waits for it.
        await Assert.ThrowsAnyAsync<IOException>(() => channel.WriteAsync("ATZ\r"u8.ToArray(), timeout.Token).AsTask().WaitAsync(Generous));
        await channel.DisposeAsync().AsTask().WaitAsync(Generous);
    }

    /// <summary>
    /// System.IO.Ports reports a device that is not there as "Access to the port ... is denied"; the
    /// operator must read what the OS said (issue 7).
    /// </summary>
    [Fact]
    public async Task Missing_port_should_fail_to_open_with_an_IOException_that_says_no_such_file()
    {
        var path = _pty.DevicePath + "-missing";
        await using var channel = new SerialPortChannel(new SerialOptions { Port = path });
        var failed = await Assert.ThrowsAnyAsync<IOException>(() => channel.OpenAsync(CancellationToken.None));
        Assert.StartsWith(path + " @ ", failed.Message);
        Assert.Contains("No such file or directory", failed.Message);
        Assert.DoesNotContain("denied", failed.Message);
    }

    [Fact]
    public async Task Replugged_device_should_open_again_under_the_same_path()
    {
        await _pty.UnplugAsync();
        await _pty.PlugAsync();
        await using var channel = new SerialPortChannel(new SerialOptions { Port = _pty.DevicePath });
        await channel.OpenAsync(CancellationToken.None);
        using var peer = _pty.OpenPeer();
        peer.Write("x\n");
        using var timeout = new CancellationTokenSource(Generous);
        Assert.Equal("x\n", Encoding.Latin1.GetString((await channel.ReadAsync(timeout.Token)).Span));
    }
}
