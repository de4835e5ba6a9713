using System.CommandLine;
using System.Text;
using Fleet.Actors.Devices.Gps;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Host.Cli;
using Fleet.Actors.Testing;

namespace Fleet.Actors.PeerTests.Serial;

/// <summary><c>fleet-agent record</c> on a live port, and the recorded trace played back into a driver.</summary>
public sealed class RecordCommandTests : IAsyncLifetime
{
    private SocatPty _pty = null!;
    private string _trace = null!;

    public async Task InitializeAsync()
    {
        _pty = await SocatPty.StartAsync();
        _trace = Path.Combine(Path.GetTempPath(), $"record-{Guid.NewGuid():N}.trace");
    }

    public async Task DisposeAsync()
    {
        await _pty.DisposeAsync();
        File.Delete(_trace);
    }

    [Fact]
    public async Task Record_should_capture_what_the_device_sends_and_replay_should_play_it_back_into_the_driver()
    {
        // The device is there before the recorder: what it sends once open must find someone listening.
        using var peer = _pty.OpenPeer();
        var root = new RootCommand { RecordCommand.Create() };
        var recording = root.Parse(["record", "--port", _pty.DevicePath, "--baud", "9600", "--out", _trace, "--duration", "3s", "--send", "PING\\r"]).InvokeAsync();

        Assert.Equal("PING\r", peer.ReadUntil('\r', TimeSpan.FromSeconds(10)));
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        for (var i = 0; i < 4; i++)
        {
            peer.Write(NmeaText.Epoch(start.AddSeconds(i), 53.5 + i * 0.001, 9.9, 12.5, 8.3, 45.0));
            await Task.Delay(100);
        }
        Assert.Equal(0, await recording);

        var chunks = SerialTrace.Load(_trace, 10, out var skipped);
        Assert.Equal(0, skipped);
        Assert.Equal(TraceDirection.ToDevice, chunks[0].Direction);
        Assert.Equal(string.Concat(Enumerable.Range(0, 4).Select(i => NmeaText.Epoch(start.AddSeconds(i), 53.5 + i * 0.001, 9.9, 12.5, 8.3, 45.0))),
            string.Concat(chunks.Where(c => c.Direction == TraceDirection.FromDevice).Select(c => Encoding.Latin1.GetString(c.Data))));
        Assert.True(chunks[^1].OffsetMs >= 250, "the recording lost its timing");

        // Played back at 10x into the GPS driver with host time: the same positions, in order.
        var options = new NmeaGpsOptions(new SerialOptions { Replay = new ReplayOptions(_trace, Speed: 10) }, true, GpsMode.Fix2D, TimeSpan.Zero, GpsTimeSource.Host);
        await using var driver = new NmeaGpsDriver(options, options.Serial.CreateChannel(TimeProvider.System, listenOnly: true), TimeProvider.System);
        await driver.OpenAsync(CancellationToken.None);
        var latitudes = new List<double>();
        await Assert.ThrowsAsync<EndOfStreamException>(async () =>
        {
            while (true)
                latitudes.AddRange((await driver.ReadAsync(CancellationToken.None)).Values.Select(v => Math.Round(((Fleet.Actors.Core.Telemetry.PositionValue)v.Value).Latitude, 6)));
        });
        Assert.Equal([53.5, 53.501, 53.502], latitudes);
    }

    [Fact]
    public async Task Record_should_report_a_port_that_System_IO_Ports_refuses_in_one_line()
    {
        var errors = new StringWriter();

        // System.IO.Ports throws ArgumentException for a port it cannot set up (as for a pty whose other end is gone).
        var exit = await new RootCommand { RecordCommand.Create() }.Parse(["record", "--port", "", "--out", _trace, "--duration", "1s"])
            .InvokeAsync(new InvocationConfiguration { Output = new StringWriter(), Error = errors });

        Assert.Equal(1, exit);
        Assert.StartsWith("record: ", errors.ToString().Trim().Split('\n').Single(), StringComparison.Ordinal);
        Assert.False(File.Exists(_trace));
    }
}
