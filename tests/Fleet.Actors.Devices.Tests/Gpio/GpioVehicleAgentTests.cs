using System.Device.Gpio;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.Devices.Tests.Gpio;

/// <summary>
/// A whole vehicle agent with one GPIO input and one output on the simulated chip, the log on
/// temporary SQLite files and the uplink to a real in-process broker: level changes of the input
/// and writes to the output arrive at the broker as readings.
/// </summary>
public sealed class GpioVehicleAgentTests : TestKit, IAsyncLifetime
{
    private const string VehicleId = "truck-gpio-e2e";
    private const int DoorPin = 17;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly WalFiles _files;
    private readonly AgentMetrics _metrics = new();
    private readonly RecordingBroker _broker = new() { KeepRecords = true };
    private readonly SimulatedGpioDriver _driver = new();

    public GpioVehicleAgentTests(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private GpioVehicleAgentTests(WalFiles files, ITestOutputHelper output) : base(files.Setup(), "gpio-vehicle-tests", output)
    {
        _files = files;
    }

    public Task InitializeAsync() => _broker.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    private VehicleSettings Settings() => new()
    {
        VehicleId = VehicleId,
        Tenant = "acme",
        Gpio = new GpioSettings
        {
            Lines =
            [
                new GpioLineSettings { Id = "door", Pin = DoorPin, Pull = GpioPull.Up, Invert = true, Debounce = TimeSpan.FromMilliseconds(5), Name = "door_open" },
                new GpioLineSettings { Id = "horn", Pin = 27, Direction = GpioDirection.Output },
            ],
        },
        Wal = new WalSettings { JournalPath = _files.JournalPath },
        Uplink = new UplinkSettings
        {
            Broker = new BrokerSettings { Host = "127.0.0.1", Port = _broker.Port, ConnectTimeout = TimeSpan.FromSeconds(2) },
            Linger = TimeSpan.FromMilliseconds(50),
            ReconnectMinBackoff = TimeSpan.FromMilliseconds(100),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(800),
        },
        SummaryInterval = TimeSpan.Zero,
        DrainTimeout = TimeSpan.FromSeconds(15),
    };

    private List<double> DoorLevels() => _broker.Records
        .Where(r => r.DeviceId == "door")
        .OrderBy(r => r.Sequence)
        .Select(r => r.Value)
        .OfType<MeasurementValue>()
        .Where(m => m.Name == "door_open")
        .Select(m => m.Value)
        .ToList();

    [Fact]
    public async Task Input_level_changes_and_output_writes_should_reach_the_broker()
    {
        var settings = Settings();
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, _metrics, gpioDrivers: _ => _driver), VehicleAgent.ActorName(VehicleId));
        var components = await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, Wait);
        Assert.NotNull(components.Gpio);

        // Closed at start (pulled up, active low), then opened and closed again, each change once.
        AwaitCondition(() => DoorLevels().Count == 1, Wait, TimeSpan.FromMilliseconds(20));
        _driver.Drive(DoorPin, PinValue.Low);
        AwaitCondition(() => DoorLevels().Count == 2, Wait, TimeSpan.FromMilliseconds(20));
        // A change within the debounce of the last one is not lost either: the line publishes its level once it settles.
        _driver.Drive(DoorPin, PinValue.High);
        AwaitCondition(() => DoorLevels().Count == 3, Wait, TimeSpan.FromMilliseconds(20));
        Assert.Equal([0.0, 1.0, 0.0], DoorLevels());

        var written = await components.Gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Write("horn", true, "test"), Wait);
        Assert.Equal(new GpioProtocol.Written("horn", true), written);
        AwaitCondition(() => _broker.Records.Any(r => r is { DeviceId: "horn", Value: MeasurementValue { Name: "horn", Value: 1, Unit: "bool" } }),
            Wait, TimeSpan.FromMilliseconds(20));

        var outcome = await VehicleShutdown.RunAsync(agent, settings.DrainTimeout);
        Assert.True(outcome.Drained && outcome.SaidGoodbye, $"shutdown: {outcome}");
        // Intake stopped: the lines are closed and reported down.
        Assert.False(_driver.IsOpen(DoorPin));
        Assert.Equal(1, MetricValues.Read(_metrics, "gpio_line_down", (AgentMetrics.VehicleLabel, VehicleId), (GpioLineMetrics.LineLabel, "door")));
    }

    [Fact]
    public async Task Without_lines_the_agent_should_start_no_gpio_supervisor()
    {
        var agent = Sys.ActorOf(VehicleAgent.Props(Settings() with { Gpio = new GpioSettings() }, _metrics), VehicleAgent.ActorName(VehicleId));
        var components = await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, Wait);
        Assert.Null(components.Gpio);
        var gpio = await Sys.ActorSelection(agent.Path / "gpio").ResolveOne(TimeSpan.FromSeconds(1)).ContinueWith(t => t.IsCompletedSuccessfully);
        Assert.False(gpio);
    }

    [Fact]
    public async Task Libgpiod_without_a_chip_should_stop_only_the_gpio_supervisor()
    {
        // This machine has no GPIO chip (and no libgpiod): creating the real driver fails.
        var settings = Settings() with { Gpio = Settings().Gpio with { Driver = GpioDriverKind.Libgpiod } };
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, _metrics), VehicleAgent.ActorName(VehicleId));
        var components = await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, Wait);
        Assert.NotNull(components.Gpio);

        var probe = CreateTestProbe();
        probe.Watch(components.Gpio);
        probe.ExpectTerminated(components.Gpio, Wait);
        // The rest of the vehicle carries on: the log still answers.
        var status = await components.Log.Ask<WalProtocol.WalStatus>(WalProtocol.GetStatus.Instance, Wait);
        Assert.Equal(0, status.LastSequence);
    }
}
