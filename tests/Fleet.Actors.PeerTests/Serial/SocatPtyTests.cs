using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Testing;

namespace Fleet.Actors.PeerTests.Serial;

/// <summary>The pty fixture itself: its paths never lead to another pair, and bytes sent before the other end is opened wait for it.</summary>
public sealed class SocatPtyTests
{
    [Fact]
    public async Task Unplugged_pair_should_never_lead_to_a_pair_made_after_it()
    {
        await using var first = await SocatPty.StartAsync();
        await first.UnplugAsync();
        // The kernel hands the freed pseudo-terminal numbers to the next pair.
        await using var second = await SocatPty.StartAsync();

        await using var stale = new SerialPortChannel(new SerialOptions { Port = first.DevicePath });
        await Assert.ThrowsAnyAsync<IOException>(() => stale.OpenAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Bytes_sent_before_the_other_end_is_opened_should_wait_for_it()
    {
        await using var pty = await SocatPty.StartAsync();
        await using var device = new SerialPortChannel(new SerialOptions { Port = pty.DevicePath });
        await device.OpenAsync(CancellationToken.None);

        await device.WriteAsync("PING\r"u8.ToArray(), CancellationToken.None);

        using var peer = pty.OpenPeer();
        Assert.Equal("PING\r", peer.ReadUntil('\r', TimeSpan.FromSeconds(10)));
    }
}
