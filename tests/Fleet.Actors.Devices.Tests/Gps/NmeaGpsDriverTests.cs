using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Gps;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Testing;

namespace Fleet.Actors.Devices.Tests.Gps;

/// <summary>The gps-nmea driver fed from recorded captures (replay), as the fleet simulation uses it.</summary>
public sealed class NmeaGpsDriverTests : IDisposable
{
    private readonly string _capture = Path.Combine(Path.GetTempPath(), $"gps-{Guid.NewGuid():N}.log");

    public void Dispose() => File.Delete(_capture);

    private NmeaGpsDriver Replay(bool loop, GpsTimeSource timeSource, GpsMode minMode = GpsMode.Fix2D)
    {
        var options = new NmeaGpsOptions(new SerialOptions { Replay = new ReplayOptions(_capture, Speed: 0, Loop: loop) }, true, minMode, TimeSpan.Zero, timeSource);
        return new NmeaGpsDriver(options, options.Serial.CreateChannel(TimeProvider.System, listenOnly: true), TimeProvider.System);
    }

    private static async Task<List<PositionValue>> ReadAsync(NmeaGpsDriver driver, int positions)
    {
        var read = new List<PositionValue>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (read.Count < positions)
            read.AddRange((await driver.ReadAsync(timeout.Token)).Values.Select(v => (PositionValue)v.Value));
        return read;
    }

    [Fact]
    public async Task Looped_capture_with_host_time_should_keep_delivering_after_it_starts_again()
    {
        var start = new DateTimeOffset(2019, 3, 28, 16, 45, 0, TimeSpan.Zero);
        await File.WriteAllTextAsync(_capture, string.Concat(Enumerable.Range(0, 3).Select(i => NmeaText.Epoch(start.AddSeconds(i), 53.5 + i * 0.01, 9.9, 10, 5, 90))));
        await using var driver = Replay(loop: true, GpsTimeSource.Host);
        await driver.OpenAsync(CancellationToken.None);

        // Three epochs a pass, each completed by the next sentence: several passes' worth.
        var positions = await ReadAsync(driver, 8);

        Assert.Equal([53.5, 53.51, 53.52, 53.5, 53.51, 53.52, 53.5, 53.51], positions.Take(8).Select(p => Math.Round(p.Latitude, 6)));
    }

    [Fact]
    public async Task Receiver_time_that_goes_back_should_be_refused_as_stale()
    {
        var start = new DateTimeOffset(2019, 3, 28, 16, 45, 0, TimeSpan.Zero);
        var epochs = new[] { 0, 1, 2, 1, 3, 4 }.Select(i => NmeaText.Epoch(start.AddSeconds(i), 53.5 + i * 0.01, 9.9, 10, 5, 90));
        await File.WriteAllTextAsync(_capture, string.Concat(epochs));
        await using var driver = Replay(loop: false, GpsTimeSource.Receiver);
        await driver.OpenAsync(CancellationToken.None);

        var values = new List<TimedValue>();
        var malformed = new List<MalformedFrame>();
        await Assert.ThrowsAsync<EndOfStreamException>(async () =>
        {
            while (true)
            {
                var read = await driver.ReadAsync(CancellationToken.None);
                values.AddRange(read.Values);
                malformed.AddRange(read.Malformed);
            }
        });

        // The last epoch never completes (no sentence after it); the repeated second is refused.
        Assert.Equal([0, 1, 2, 3], values.Select(v => (v.TimestampMs - start.ToUnixTimeMilliseconds()) / 1000));
        Assert.Equal("stale fix: its time does not advance", Assert.Single(malformed).Reason);
    }

    [Fact]
    public async Task Fixes_below_the_minimum_mode_should_not_be_positions()
    {
        await File.WriteAllTextAsync(_capture,
            NmeaText.Sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,,M,,M,,") +
            NmeaText.Sentence("GPGGA,123520,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") +
            NmeaText.Sentence("GPGGA,123521,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"));
        await using var driver = Replay(loop: false, GpsTimeSource.Host, GpsMode.Fix3D);
        await driver.OpenAsync(CancellationToken.None);

        var positions = await ReadAsync(driver, 1);

        Assert.Equal(545.4, Assert.Single(positions).Altitude);
    }
}
