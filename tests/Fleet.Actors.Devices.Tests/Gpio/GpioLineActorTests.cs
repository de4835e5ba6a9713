using System.Device.Gpio;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.Devices.Tests.Gpio;

/// <summary>
/// GPIO lines under their supervisor, as the vehicle agent wires them, on the simulated chip. Edges
/// are timestamped by a fake clock that only the test advances, so "within the debounce" and
/// "further apart than the debounce" do not depend on how fast the machine is. A TestProbe stands
/// in for the write-ahead log.
/// </summary>
public sealed class GpioLineActorTests : TestKit
{
    private const string VehicleId = "truck-gpio";
    private const int DoorPin = 17;
    private const int HornPin = 27;
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    private readonly AgentMetrics _metrics = new();
    private readonly SimulatedGpioDriver _driver = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly TestProbe _log;

    public GpioLineActorTests(ITestOutputHelper output) : base("akka.loglevel = INFO", output)
    {
        _log = CreateTestProbe("log");
    }

    private static GpioLineSettings Door(GpioPublish publish = GpioPublish.Both, bool invert = false, GpioEdges edges = GpioEdges.Both) => new()
    {
        Id = "door",
        Pin = DoorPin,
        Direction = GpioDirection.Input,
        Pull = GpioPull.Up,
        Invert = invert,
        Debounce = Debounce,
        Edges = edges,
        Publish = publish,
    };

    private static GpioLineSettings Horn(bool invert = false) => new()
    {
        Id = "horn",
        Pin = HornPin,
        Direction = GpioDirection.Output,
        Invert = invert,
    };

    private IActorRef Start(params GpioLineSettings[] lines)
    {
        var settings = new GpioSettings { Lines = lines, MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(400) };
        var gpio = Sys.ActorOf(GpioSupervisor.Props(VehicleId, settings, _log.Ref, _metrics, _ => _driver, _time), "gpio");
        AwaitCondition(() => lines.All(l => Line("gpio_line_down", l.Id) == 0), Wait);
        return gpio;
    }

    private double Line(string name, string lineId) =>
        MetricValues.Read(_metrics, name, (AgentMetrics.VehicleLabel, VehicleId), (GpioLineMetrics.LineLabel, lineId)) ?? double.NaN;

    private IReadOnlyList<MeasurementValue> NextReadings()
    {
        var logged = _log.ExpectMsg<WalProtocol.LogReadings>(Wait);
        Assert.All(logged.Readings, r => Assert.Equal("door", r.DeviceId));
        return logged.Readings.Select(r => Assert.IsType<MeasurementValue>(r.Value)).ToList();
    }

    private static MeasurementValue Level(string name, bool level) => new(name, level ? 1 : 0, "bool");

    private static MeasurementValue Edge(string name, bool rising) => new(name + (rising ? "_rising" : "_falling"), 1, "edge");

    [Fact]
    public void Input_should_log_its_level_at_open_with_the_clock_time()
    {
        Start(Door(GpioPublish.Level));

        var logged = _log.ExpectMsg<WalProtocol.LogReadings>(Wait);
        var reading = Assert.Single(logged.Readings);
        Assert.Equal(new Reading("door", _time.GetUtcNow().ToUnixTimeMilliseconds(), Level("door", true)), reading);
    }

    [Fact]
    public void A_burst_of_bounces_should_give_one_edge_with_the_final_level()
    {
        Start(Door(GpioPublish.Both));
        Assert.Equal([Level("door", true)], NextReadings());

        _driver.Bounce(DoorPin, PinValue.Low, bounces: 3);

        Assert.Equal([Level("door", false), Edge("door", rising: false)], NextReadings());
        // The window closes after the debounce without anything more to say.
        _log.ExpectNoMsg(Quiet);
        AwaitCondition(() => Line("gpio_edges_total", "door") == 1 && Line("gpio_bounces_total", "door") == 6, Wait);
    }

    [Fact]
    public void A_glitch_that_returns_within_the_debounce_should_end_at_the_final_level()
    {
        Start(Door(GpioPublish.Level));
        Assert.Equal([Level("door", true)], NextReadings());

        _driver.Drive(DoorPin, PinValue.Low);
        _driver.Drive(DoorPin, PinValue.High);

        // The first edge is taken at once; when the window closes the line is high again, and that is published too.
        Assert.Equal([Level("door", false)], NextReadings());
        Assert.Equal([Level("door", true)], NextReadings());
        _log.ExpectNoMsg(Quiet);
    }

    [Fact]
    public void Edges_further_apart_than_the_debounce_should_all_count()
    {
        Start(Door(GpioPublish.Level));
        Assert.Equal([Level("door", true)], NextReadings());

        var level = true;
        for (var i = 0; i < 6; i++)
        {
            _time.Advance(Debounce + TimeSpan.FromMilliseconds(1));
            level = !level;
            _driver.Drive(DoorPin, level ? PinValue.High : PinValue.Low);
            var logged = _log.ExpectMsg<WalProtocol.LogReadings>(Wait);
            Assert.Equal(new Reading("door", _time.GetUtcNow().ToUnixTimeMilliseconds(), Level("door", level)), Assert.Single(logged.Readings));
        }
        AwaitCondition(() => Line("gpio_edges_total", "door") == 6, Wait);
        Assert.Equal(0, Line("gpio_bounces_total", "door"));
    }

    [Fact]
    public void Invert_should_make_a_low_line_logically_high_with_rising_edges()
    {
        Start(Door(GpioPublish.Both, invert: true));
        Assert.Equal([Level("door", false)], NextReadings());

        _driver.Drive(DoorPin, PinValue.Low);

        Assert.Equal([Level("door", true), Edge("door", rising: true)], NextReadings());
    }

    [Fact]
    public void Publish_edges_should_log_only_the_selected_edges_and_no_levels()
    {
        Start(Door(GpioPublish.Edges, edges: GpioEdges.Falling));

        _driver.Drive(DoorPin, PinValue.Low);
        Assert.Equal([Edge("door", rising: false)], NextReadings());
        _time.Advance(Debounce * 2);
        _driver.Drive(DoorPin, PinValue.High);
        _time.Advance(Debounce * 2);
        _driver.Drive(DoorPin, PinValue.Low);
        Assert.Equal([Edge("door", rising: false)], NextReadings());
        _log.ExpectNoMsg(Quiet);
        // Every accepted change is an edge, published or not.
        Assert.Equal(3, Line("gpio_edges_total", "door"));
    }

    [Fact]
    public async Task Output_should_write_log_and_read_back_the_logical_level()
    {
        var gpio = Start(Horn(invert: true));
        // Initial 0, active low: the line idles high.
        Assert.Equal(PinValue.High, _driver.LevelOf(HornPin));

        var written = await gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Write("horn", true, "test"), Wait);

        Assert.Equal(new GpioProtocol.Written("horn", true), written);
        Assert.Equal(PinValue.Low, _driver.LevelOf(HornPin));
        var logged = _log.ExpectMsg<WalProtocol.LogReadings>(Wait);
        Assert.Equal(new Reading("horn", _time.GetUtcNow().ToUnixTimeMilliseconds(), Level("horn", true)), Assert.Single(logged.Readings));
        Assert.Equal(new GpioProtocol.LevelRead("horn", true), await gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Read("horn"), Wait));
        Assert.Equal(1, Line("gpio_writes_total", "horn"));
    }

    [Fact]
    public async Task Writes_to_an_input_or_an_unknown_line_should_be_refused()
    {
        var gpio = Start(Door(), Horn());

        var toInput = await gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Write("door", true, "test"), Wait);
        var toUnknown = await gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Write("siren", true, "test"), Wait);
        var readUnknown = await gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Read("siren"), Wait);

        Assert.Equal(new GpioProtocol.Refused("door", "line door is an input"), toInput);
        Assert.Equal(new GpioProtocol.Refused("siren", "unknown GPIO line \"siren\""), toUnknown);
        Assert.IsType<GpioProtocol.Refused>(readUnknown);
        Assert.Equal(new GpioProtocol.LevelRead("door", true), await gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Read("door"), Wait));
        Assert.Equal(0, Line("gpio_writes_total", "horn"));
    }

    [Fact]
    public async Task A_failed_write_should_answer_Failed_and_reopen_the_line()
    {
        var gpio = Start(Horn());
        _driver.FailIo(HornPin, true);

        var failed = await gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Write("horn", true, "test"), Wait);

        Assert.Equal(new GpioProtocol.Failed("horn", $"simulated I/O error on GPIO line {HornPin}"), failed);
        _driver.FailIo(HornPin, false);
        // Closed, then opened again after the backoff; writes work again.
        AwaitCondition(() => _driver.OpenCount == 2 && Line("gpio_line_down", "horn") == 0, Wait);
        Assert.Equal(new GpioProtocol.Written("horn", true), await gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Write("horn", true, "test"), Wait));
        Assert.Equal(1, Line("gpio_errors_total", "horn"));
    }

    [Fact]
    public async Task A_line_going_down_and_up_should_be_published_and_reported_with_its_writes()
    {
        var changes = CreateTestProbe();
        Sys.EventStream.Subscribe(changes.Ref, typeof(Fleet.Actors.Core.Health.DeviceStatusChanged));
        var gpio = Start(Horn());
        var up = changes.ExpectMsg<Fleet.Actors.Core.Health.DeviceStatusChanged>(Wait);
        Assert.Equal((VehicleId, "gpio", "horn", true), (up.VehicleId, up.Domain, up.DeviceId, up.Up));
        Assert.Equal(new GpioProtocol.Written("horn", true), await gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Write("horn", true, "test"), Wait));
        var report = await gpio.Ask<Supervision.DeviceReport>(Supervision.GetDevices.Instance, Wait);
        Assert.Equal(new Supervision.DeviceActivity("gpio", "horn", "output", true, 1, null), Assert.Single(report.Devices));

        _driver.FailIo(HornPin, true);
        await gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Write("horn", false, "test"), Wait);
        var down = changes.ExpectMsg<Fleet.Actors.Core.Health.DeviceStatusChanged>(Wait);
        Assert.Equal(("horn", false, "closed (failed or reopening)"), (down.DeviceId, down.Up, down.Reason));
        _driver.FailIo(HornPin, false);
        Assert.True(changes.ExpectMsg<Fleet.Actors.Core.Health.DeviceStatusChanged>(Wait).Up);
    }

    [Fact]
    public void A_line_that_fails_to_open_should_be_reopened_with_backoff()
    {
        _driver.FailOpens(DoorPin, 2);
        var settings = new GpioSettings { Lines = [Door(GpioPublish.Level)], MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(400) };
        Sys.ActorOf(GpioSupervisor.Props(VehicleId, settings, _log.Ref, _metrics, _ => _driver, _time), "gpio");

        // Up after two failed opens, with its level at open.
        Assert.Equal([Level("door", true)], NextReadings());
        Assert.Equal(0, Line("gpio_line_down", "door"));
        Assert.Equal(2, Line("gpio_errors_total", "door"));
        Assert.Equal(2, MetricValues.Read(_metrics, "restarts_total", (AgentMetrics.VehicleLabel, VehicleId), ("supervisor", "gpio")));
        Assert.Equal(1, _driver.OpenCount);
    }

    [Fact]
    public async Task A_line_that_is_down_should_answer_Failed()
    {
        _driver.FailOpens(HornPin, int.MaxValue);
        var settings = new GpioSettings { Lines = [Horn()], MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(400) };
        var gpio = Sys.ActorOf(GpioSupervisor.Props(VehicleId, settings, _log.Ref, _metrics, _ => _driver, _time), "gpio");
        AwaitCondition(() => Line("gpio_errors_total", "horn") >= 1, Wait);

        var result = await gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Write("horn", true, "test"), Wait);

        Assert.Equal(new GpioProtocol.Failed("horn", "GPIO line horn is down (reopening)"), result);
    }
}
