using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Gps;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.PeerTests.Gps;

/// <summary>
/// A whole vehicle agent reading a GPS receiver on a pseudo-terminal, logging to SQLite and
/// uplinking to a real in-process broker, while the receiver is unplugged and plugged back in:
/// the sensor goes down and up, and every reading the log accepted reaches the broker.
/// </summary>
public sealed class GpsAgentPortTests : TestKit, IAsyncLifetime
{
    private const string VehicleId = "truck-gps";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);
    private readonly WalFiles _files;
    private readonly AgentMetrics _metrics = new();
    private readonly RecordingBroker _broker = new() { KeepRecords = true };
    private SocatPty _pty = null!;

    public GpsAgentPortTests(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private GpsAgentPortTests(WalFiles files, ITestOutputHelper output) : base(files.Setup(), "gps-agent-tests", output)
    {
        _files = files;
    }

    public async Task InitializeAsync()
    {
        _pty = await SocatPty.StartAsync();
        await _broker.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _pty.DisposeAsync();
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _files.Dispose();
    }

    private VehicleSettings Settings() => new()
    {
        VehicleId = VehicleId,
        Tenant = "acme",
        Sensors =
        [
            new SensorSettings
            {
                Id = "gps",
                Type = NmeaGpsDriver.TypeName,
                MinBackoff = TimeSpan.FromMilliseconds(500),
                MaxBackoff = TimeSpan.FromSeconds(1),
                StallTimeout = TimeSpan.FromSeconds(3),
                DriverOptions = new NmeaGpsOptions(new SerialOptions { Port = _pty.DevicePath }, true, GpsMode.Fix2D, TimeSpan.FromSeconds(30), GpsTimeSource.Receiver),
            },
        ],
        Wal = new WalSettings { JournalPath = _files.JournalPath },
        Uplink = new UplinkSettings
        {
            Broker = new BrokerSettings { Host = "127.0.0.1", Port = _broker.Port, ConnectTimeout = TimeSpan.FromSeconds(2) },
            ReconnectMinBackoff = TimeSpan.FromMilliseconds(100),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(800),
            MinBatchRecords = 1,
            Linger = TimeSpan.FromMilliseconds(50),
        },
        SummaryInterval = TimeSpan.Zero,
        DrainTimeout = TimeSpan.FromSeconds(15),
    };

    private double SensorDown => MetricValues.Sensor(_metrics, "sensor_down", VehicleId, "gps");

    private long Delivered => _broker.RecordsByDevice.GetValueOrDefault("gps");

    [Fact]
    public async Task Receiver_unplugged_and_plugged_back_should_reconnect_and_every_accepted_reading_should_reach_the_broker()
    {
        var settings = Settings();
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, _metrics), VehicleAgent.ActorName(VehicleId));
        var receiver = new GpsReceiverPeer(_pty, TimeSpan.FromMilliseconds(100));
        AwaitCondition(() => Delivered >= 10, Generous, TimeSpan.FromMilliseconds(50));
        Assert.Equal(0, SensorDown);

        // Unplug: the port fails, the sensor is reported down and waits for its backoff.
        await _pty.UnplugAsync();
        await receiver.DisposeAsync();
        AwaitCondition(() => SensorDown == 1, Generous, TimeSpan.FromMilliseconds(20));

        // Plug back in: the sensor reopens the same path and readings flow again.
        await _pty.PlugAsync();
        var beforeReplug = Delivered;
        var again = new GpsReceiverPeer(_pty, TimeSpan.FromMilliseconds(100), receiver.NextIndex);
        AwaitCondition(() => SensorDown == 0 && Delivered >= beforeReplug + 10, Generous, TimeSpan.FromMilliseconds(50));
        await again.DisposeAsync();

        var outcome = await VehicleShutdown.RunAsync(agent, settings.DrainTimeout);
        Assert.True(outcome.Drained && outcome.SaidGoodbye, $"shutdown: {outcome}");

        // Every sequence the log gave out is at the broker, and each is a fix the receiver sent.
        var report = _broker.Verifier.Report().Vehicles.Single();
        Assert.Equal((0L, outcome.LastSequence, outcome.LastSequence), (report.Missing, report.Received, report.HighestReceived));
        var sent = receiver.Sent.Concat(again.Sent).ToDictionary(p => p.Key, p => p.Value);
        var received = _broker.Records.Where(r => r.DeviceId == "gps").ToList();
        Assert.Equal(outcome.LastSequence, received.Count);
        foreach (var record in received)
        {
            Assert.True(sent.TryGetValue(record.TimestampMs, out var expected), $"reading at {record.TimestampMs} was never sent");
            var position = Assert.IsType<PositionValue>(record.Value);
            Assert.Equal(expected.Lat, position.Latitude, 6);
            Assert.Equal(expected.Lon, position.Longitude, 6);
        }
        Assert.True(MetricValues.Sensor(_metrics, "read_error", VehicleId, "gps") >= 1, "the unplug was not counted as a read error");
    }
}
