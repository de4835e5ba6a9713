using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.PeerTests.Support;

/// <summary>
/// A whole vehicle agent (sensor actor, write-ahead log on SQLite, uplink to a real in-process
/// broker) with one serial sensor on a socat pseudo-terminal, and the scenario every serial sensor
/// must pass: the device is unplugged and plugged back in while the agent runs; the sensor goes
/// down and up, and every reading the log accepted reaches the broker.
/// </summary>
public abstract class SerialAgentTestKit : TestKit, IAsyncLifetime
{
    /// <summary>The vehicle under test.</summary>
    protected const string VehicleId = "truck-serial";

    /// <summary>Positive waits: long enough for a cold start on a loaded two-core machine.</summary>
    protected static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    private readonly WalFiles _files;

    /// <summary>Starts the actor system with the log's SQLite files.</summary>
    protected SerialAgentTestKit(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private SerialAgentTestKit(WalFiles files, ITestOutputHelper output) : base(files.Setup(), "serial-agent-tests", output)
    {
        _files = files;
    }

    /// <summary>The agent's metrics.</summary>
    protected AgentMetrics Metrics { get; } = new();

    /// <summary>The broker, keeping every record it accepted.</summary>
    protected RecordingBroker Broker { get; } = new() { KeepRecords = true };

    /// <summary>The serial line; the device is played on its peer end.</summary>
    protected SocatPty Pty { get; private set; } = null!;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Pty = await SocatPty.StartAsync();
        await Broker.StartAsync();
    }

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        await Broker.DisposeAsync();
        await Pty.DisposeAsync();
    }

    /// <inheritdoc />
    protected override void AfterAll()
    {
        base.AfterAll();
        _files.Dispose();
    }

    /// <summary>The vehicle with one sensor (its backoff shortened so tests are quick), the log on this test's files and the broker.</summary>
    protected VehicleSettings AgentSettings(SensorSettings sensor) =>
        PeerAgentSettings.For(VehicleId, _files.JournalPath, Broker.Port) with
        {
            Sensors = [sensor with { MinBackoff = TimeSpan.FromMilliseconds(500), MaxBackoff = TimeSpan.FromSeconds(1) }],
        };

    /// <summary>Runs the unplug/replug scenario and returns what the broker holds of the sensor.</summary>
    /// <param name="sensor">The sensor (its backoff is shortened here so the test is quick).</param>
    /// <param name="startDevice">Starts playing the device on the pty's peer end; disposing it stops.</param>
    /// <param name="readingsEachSide">Readings that must reach the broker before the unplug and after the replug.</param>
    protected async Task<IReadOnlyList<DecodedRecord>> UnplugAndReplugAsync(SensorSettings sensor, Func<IAsyncDisposable> startDevice, int readingsEachSide = 10)
    {
        var settings = AgentSettings(sensor);
        double Down() => MetricValues.Sensor(Metrics, "sensor_down", VehicleId, sensor.Id);
        long Delivered() => Broker.RecordsByDevice.GetValueOrDefault(sensor.Id);

        var agent = Sys.ActorOf(VehicleAgent.Props(settings, Metrics), VehicleAgent.ActorName(VehicleId));
        var device = startDevice();
        AwaitCondition(() => Delivered() >= readingsEachSide, Generous, TimeSpan.FromMilliseconds(50));
        Assert.Equal(0, Down());

        // Unplug: the port fails, the sensor is reported down and waits for its backoff.
        await Pty.UnplugAsync();
        await device.DisposeAsync();
        AwaitCondition(() => Down() == 1, Generous, TimeSpan.FromMilliseconds(20));

        // Plug back in: the sensor reopens the same path and readings flow again.
        await Pty.PlugAsync();
        var beforeReplug = Delivered();
        device = startDevice();
        AwaitCondition(() => Down() == 0 && Delivered() >= beforeReplug + readingsEachSide, Generous, TimeSpan.FromMilliseconds(50));
        await device.DisposeAsync();

        var outcome = await VehicleShutdown.RunAsync(agent, settings.DrainTimeout);
        Assert.True(outcome.Drained && outcome.SaidGoodbye, $"shutdown: {outcome}");

        // Every sequence the log gave out is at the broker, once.
        var report = Broker.Verifier.Report().Vehicles.Single();
        Assert.Equal((0L, outcome.LastSequence, outcome.LastSequence), (report.Missing, report.Received, report.HighestReceived));
        Assert.True(MetricValues.Sensor(Metrics, "read_error", VehicleId, sensor.Id) >= 1, "the unplug was not counted as a read error");
        var records = Broker.Records.Where(r => r.DeviceId == sensor.Id).ToList();
        Assert.Equal(outcome.LastSequence, records.Count);
        return records;
    }
}
