using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Host.Configuration;
using Fleet.Actors.Host.Tests.Support;

namespace Fleet.Actors.Host.Tests.Configuration;

/// <summary>
/// <c>fleet.gpio</c> through <see cref="AgentConfiguration.Load"/>: the lines reach
/// <c>VehicleSettings.Gpio</c>, and every bad value is one problem naming the overlay and the full key.
/// </summary>
public sealed class GpioConfigurationTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Shipped_files_should_configure_no_gpio_lines()
    {
        var gpio = _folder.Load().Vehicle.Gpio;
        Assert.Equal(GpioDriverKind.Simulated, gpio.Driver);
        Assert.Empty(gpio.Lines);
    }

    [Fact]
    public void Lines_should_be_read_with_their_settings_and_defaults()
    {
        var overlay = _folder.Overlay("""
            fleet.gpio {
              driver = libgpiod
              chip = 1
              reconnect { min-backoff = 2s, max-backoff = 20s }
              lines = [
                { id = door, pin = 17, direction = input, pull = up, invert = on, debounce = 30ms, edges = falling, publish = both, name = door_open }
                { id = horn, pin = 27, direction = output, initial = 1 }
                { id = ignition, pin = 22 }
              ]
            }
            """);

        var gpio = _folder.Load(overlay).Vehicle.Gpio;

        Assert.Equal((GpioDriverKind.Libgpiod, 1, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20)), (gpio.Driver, gpio.Chip, gpio.MinBackoff, gpio.MaxBackoff));
        Assert.Equal(
        [
            new GpioLineSettings
            {
                Id = "door", Pin = 17, Direction = GpioDirection.Input, Pull = GpioPull.Up, Invert = true,
                Debounce = TimeSpan.FromMilliseconds(30), Edges = GpioEdges.Falling, Publish = GpioPublish.Both, Name = "door_open",
            },
            new GpioLineSettings { Id = "horn", Pin = 27, Direction = GpioDirection.Output, Initial = true },
            new GpioLineSettings { Id = "ignition", Pin = 22 },
        ], gpio.Lines);
        Assert.Equal((GpioPull.None, TimeSpan.FromMilliseconds(20), GpioEdges.Both, GpioPublish.Level),
            (gpio.Lines[2].Pull, gpio.Lines[2].Debounce, gpio.Lines[2].Edges, gpio.Lines[2].Publish));
    }

    public static TheoryData<string, string, string> BadValues => new()
    {
        { "fleet.gpio.driver = sysfs", "fleet.gpio.driver", "must be one of simulated, libgpiod (got \"sysfs\")" },
        { "fleet.gpio.chip = -1", "fleet.gpio.chip", "must be between 0 and 255" },
        { "fleet.gpio.lines = [ { id = door, pin = 4096 } ]", "fleet.gpio.lines[0].pin", "must be between 0 and 1023 (got 4096)" },
        { "fleet.gpio.lines = [ { id = door, pin = seventeen } ]", "fleet.gpio.lines[0].pin", "must be a whole number" },
        { "fleet.gpio.lines = [ { id = door } ]", "fleet.gpio.lines[0].pin", "is required" },
        { "fleet.gpio.lines = [ { pin = 17 } ]", "fleet.gpio.lines[0].id", "is required" },
        { "fleet.gpio.lines = [ { id = \"door 1\", pin = 17 } ]", "fleet.gpio.lines[0].id", "must be 1 to 64 letters" },
        {
            "fleet.gpio.lines = [ { id = door, pin = 17 }, { id = door, pin = 18 } ]",
            "fleet.gpio.lines", "line id \"door\" is used more than once"
        },
        {
            "fleet.gpio.lines = [ { id = door, pin = 17 }, { id = hatch, pin = 17 } ]",
            "fleet.gpio.lines", "pin 17 is used by more than one line (door, hatch)"
        },
        { "fleet.gpio.lines = [ { id = horn, pin = 27, direction = output, pull = up } ]", "fleet.gpio.lines[0].pull", "does not apply to an output line" },
        { "fleet.gpio.lines = [ { id = horn, pin = 27, direction = output, debounce = 5ms } ]", "fleet.gpio.lines[0].debounce", "does not apply to an output line" },
        { "fleet.gpio.lines = [ { id = door, pin = 17, initial = 1 } ]", "fleet.gpio.lines[0].initial", "does not apply to an input line" },
        { "fleet.gpio.lines = [ { id = horn, pin = 27, direction = output, initial = 2 } ]", "fleet.gpio.lines[0].initial", "must be 0 or 1 (got \"2\")" },
        { "fleet.gpio.lines = [ { id = door, pin = 17, direction = sideways } ]", "fleet.gpio.lines[0].direction", "must be one of input, output" },
        { "fleet.gpio.lines = [ { id = door, pin = 17, pull = strong } ]", "fleet.gpio.lines[0].pull", "must be one of none, up, down" },
        { "fleet.gpio.lines = [ { id = door, pin = 17, edges = up } ]", "fleet.gpio.lines[0].edges", "must be one of both, rising, falling" },
        { "fleet.gpio.lines = [ { id = door, pin = 17, publish = all } ]", "fleet.gpio.lines[0].publish", "must be one of level, edges, both" },
        { "fleet.gpio.lines = [ { id = door, pin = 17, debounce = 1h } ]", "fleet.gpio.lines[0].debounce", "must be between" },
        { "fleet.gpio.lines = [ { id = door, pin = 17, invert = maybe } ]", "fleet.gpio.lines[0].invert", "must be on or off" },
        { "fleet.gpio.lines = [ { id = door, pin = 17, debouce = 5ms } ]", "fleet.gpio.lines[0].debouce", "is not a known setting (misspelt?)" },
        { "fleet.gpio.colour = blue", "fleet.gpio.colour", "is not a known setting" },
        { "fleet.gpio.lines = [ 17 ]", "fleet.gpio.lines[0]", "must be an object" },
        { "fleet.gpio.reconnect.max-backoff = 10ms", "fleet.gpio.reconnect.max-backoff", "must not be less than min-backoff" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void Bad_gpio_value_should_name_the_overlay_the_full_key_and_the_problem(string hocon, string key, string problem)
    {
        var overlay = _folder.Overlay(hocon + "\n", "bad.conf");

        var ex = _folder.LoadFails(overlay);

        var line = Assert.Single(ex.Problems);
        Assert.StartsWith($"{overlay}: {key}: ", line, StringComparison.Ordinal);
        Assert.Contains(problem, line, StringComparison.Ordinal);
    }
}
