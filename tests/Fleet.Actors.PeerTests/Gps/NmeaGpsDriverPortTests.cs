using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Gps;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Testing;

namespace Fleet.Actors.PeerTests.Gps;

/// <summary>The gps-nmea driver on a real serial line (a socat pseudo-terminal) with a receiver on the other end.</summary>
public sealed class NmeaGpsDriverPortTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(15);
    private SocatPty _pty = null!;

    public async Task InitializeAsync() => _pty = await SocatPty.StartAsync();

    public async Task DisposeAsync() => await _pty.DisposeAsync();

    private NmeaGpsDriver Driver(TimeSpan? maxFixAge = null) => new(
        new NmeaGpsOptions(new SerialOptions { Port = _pty.DevicePath, BaudRate = 9600 }, true, GpsMode.Fix2D, maxFixAge ?? TimeSpan.FromSeconds(30), GpsTimeSource.Receiver),
        new SerialPortChannel(new SerialOptions { Port = _pty.DevicePath, BaudRate = 9600 }),
        TimeProvider.System);

    private static async Task<(List<TimedValue> Values, List<MalformedFrame> Malformed)> ReadUntilAsync(
        ISensorDriver driver, Func<List<TimedValue>, List<MalformedFrame>, bool> done)
    {
        var values = new List<TimedValue>();
        var malformed = new List<MalformedFrame>();
        using var timeout = new CancellationTokenSource(Generous);
        while (!done(values, malformed))
        {
            var read = await driver.ReadAsync(timeout.Token);
            values.AddRange(read.Values);
            malformed.AddRange(read.Malformed);
        }
        return (values, malformed);
    }

    [Fact]
    public async Task Driver_should_turn_each_epoch_into_a_position_at_the_receiver_time_and_count_garbage()
    {
        await using var driver = Driver();
        await driver.OpenAsync(CancellationToken.None);
        using var peer = _pty.OpenPeer();
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        for (var i = 0; i < 5; i++)
        {
            if (i == 2)
            {
                peer.Write("\u0013\u00ffgarbage without a start\r\n");
                peer.Write("$GPGGA,120000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*00\r\n");
            }
            peer.Write(NmeaText.Epoch(start.AddSeconds(i), 53.5 + i * 0.001, 9.9, 12.5, 8.3, 45.0));
        }

        // The fifth epoch completes when a sentence of the sixth arrives: four positions now.
        var (values, malformed) = await ReadUntilAsync(driver, (v, m) => v.Count >= 4 && m.Count >= 2);

        Assert.Equal(Enumerable.Range(0, 4).Select(i => start.AddSeconds(i).ToUnixTimeMilliseconds()), values.Select(v => v.TimestampMs));
        var positions = values.Select(v => Assert.IsType<PositionValue>(v.Value)).ToList();
        Assert.Equal(Enumerable.Range(0, 4).Select(i => 53.5 + i * 0.001), positions.Select(p => Math.Round(p.Latitude, 6)));
        Assert.All(positions, p => Assert.Equal((9.9, 45.0, 12.5, 8.3), (Math.Round(p.Longitude, 6), p.Heading, p.Altitude, Math.Round(p.Speed!.Value, 3))));
        Assert.Equal(["not an NMEA sentence (no '$')", "checksum mismatch"], malformed.Select(m => m.Reason.Split(" (computed")[0]));
    }

    [Fact]
    public async Task Stale_fixes_should_be_refused()
    {
        await using var driver = Driver(TimeSpan.FromSeconds(30));
        await driver.OpenAsync(CancellationToken.None);
        using var peer = _pty.OpenPeer();
        var old = DateTimeOffset.UtcNow.AddHours(-3);
        peer.Write(NmeaText.Epoch(old, 53.5, 9.9, 12.5, 8.3, 45.0));
        peer.Write(NmeaText.Epoch(old.AddSeconds(1), 53.5, 9.9, 12.5, 8.3, 45.0));

        var (values, malformed) = await ReadUntilAsync(driver, (_, m) => m.Count >= 1);

        Assert.Empty(values);
        Assert.StartsWith("stale fix", malformed[0].Reason);
    }

    [Fact]
    public async Task Unplugged_receiver_should_fail_the_read_and_a_new_driver_should_read_again_after_replug()
    {
        var driver = Driver();
        await driver.OpenAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(Generous);
        var pending = driver.ReadAsync(timeout.Token);

        await _pty.UnplugAsync();
        await Assert.ThrowsAnyAsync<IOException>(() => pending);
        await driver.DisposeAsync();

        await _pty.PlugAsync();
        await using var again = Driver();
        await again.OpenAsync(CancellationToken.None);
        await using var receiver = new GpsReceiverPeer(_pty, TimeSpan.FromMilliseconds(100));
        var (values, _) = await ReadUntilAsync(again, (v, _) => v.Count >= 3);
        Assert.All(values, v => Assert.True(receiver.Sent.ContainsKey(v.TimestampMs)));
    }
}
