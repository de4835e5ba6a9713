using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Gps;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.PeerTests.Support;
using Xunit.Abstractions;

namespace Fleet.Actors.PeerTests.Gps;

/// <summary>A vehicle agent reading a GPS receiver on a pty while the receiver is unplugged and plugged back in.</summary>
public sealed class GpsAgentPortTests(ITestOutputHelper output) : SerialAgentTestKit(output)
{
    [Fact]
    public async Task Receiver_unplugged_and_plugged_back_should_reconnect_and_every_accepted_reading_should_reach_the_broker()
    {
        var sensor = new SensorSettings
        {
            Id = "gps",
            Type = NmeaGpsDriver.TypeName,
            StallTimeout = TimeSpan.FromSeconds(3),
            DriverOptions = new NmeaGpsOptions(new SerialOptions { Port = Pty.DevicePath }, true, GpsMode.Fix2D, TimeSpan.FromSeconds(30), GpsTimeSource.Receiver),
        };
        var receivers = new List<GpsReceiverPeer>();

        var records = await UnplugAndReplugAsync(sensor, () =>
        {
            var receiver = new GpsReceiverPeer(Pty, TimeSpan.FromMilliseconds(100), receivers.Count == 0 ? 0 : receivers[^1].NextIndex);
            receivers.Add(receiver);
            return receiver;
        });

        // Each reading is a fix the receiver sent, at the receiver's time, with its position.
        var sent = receivers.SelectMany(r => r.Sent).ToDictionary(p => p.Key, p => p.Value);
        foreach (var record in records)
        {
            Assert.True(sent.TryGetValue(record.TimestampMs, out var expected), $"reading at {record.TimestampMs} was never sent");
            var position = Assert.IsType<PositionValue>(record.Value);
            Assert.Equal(expected.Lat, position.Latitude, 6);
            Assert.Equal(expected.Lon, position.Longitude, 6);
        }
    }
}
