namespace Fleet.Actors.Devices.Gpio;

/// <summary>Which <see cref="System.Device.Gpio.GpioDriver"/> drives the lines.</summary>
public enum GpioDriverKind
{
    /// <summary><see cref="SimulatedGpioDriver"/>: development, tests and the fleet simulation.</summary>
    Simulated,

    /// <summary>System.Device.Gpio's <c>LibGpiodDriver</c> on a real GPIO chip (needs Debian's <c>libgpiod2</c>).</summary>
    Libgpiod,
}

/// <summary>Direction of a line.</summary>
public enum GpioDirection
{
    /// <summary>The agent reads the line.</summary>
    Input,

    /// <summary>The agent drives the line.</summary>
    Output,
}

/// <summary>Bias of an input line.</summary>
public enum GpioPull
{
    /// <summary>No bias.</summary>
    None,

    /// <summary>Pulled up: an open contact reads high.</summary>
    Up,

    /// <summary>Pulled down: an open contact reads low.</summary>
    Down,
}

/// <summary>Which edges of an input become edge events (logical edges, after <c>invert</c>).</summary>
public enum GpioEdges
{
    /// <summary>Rising and falling.</summary>
    Both,

    /// <summary>Logical 0 to 1 only.</summary>
    Rising,

    /// <summary>Logical 1 to 0 only.</summary>
    Falling,
}

/// <summary>What an input line publishes.</summary>
public enum GpioPublish
{
    /// <summary>A level reading on every accepted change.</summary>
    Level,

    /// <summary>An edge event for every accepted edge that <see cref="GpioEdges"/> selects.</summary>
    Edges,

    /// <summary>Both.</summary>
    Both,
}

/// <summary>One configured GPIO line (an element of HOCON <c>fleet.gpio.lines</c>).</summary>
public sealed record GpioLineSettings
{
    /// <summary>Unique id on this vehicle; the reading's <c>device_id</c> and the target of write messages.</summary>
    public required string Id { get; init; }

    /// <summary>Line offset on the chip.</summary>
    public required int Pin { get; init; }

    /// <summary>Input or output.</summary>
    public GpioDirection Direction { get; init; } = GpioDirection.Input;

    /// <summary>Bias (inputs only).</summary>
    public GpioPull Pull { get; init; } = GpioPull.None;

    /// <summary>Active-low: the logical level is the inverse of the electrical one (inputs and outputs).</summary>
    public bool Invert { get; init; }

    /// <summary>Edges closer than this to the last accepted one are ignored (inputs only; zero: off).</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Which edges become edge events (inputs only).</summary>
    public GpioEdges Edges { get; init; } = GpioEdges.Both;

    /// <summary>What the input publishes.</summary>
    public GpioPublish Publish { get; init; } = GpioPublish.Level;

    /// <summary>Logical level an output is set to when it opens.</summary>
    public bool Initial { get; init; }

    /// <summary>Measurement name of the readings; the line id when not configured.</summary>
    public string? Name { get; init; }

    /// <summary>The measurement name used on the wire.</summary>
    public string MeasurementName => Name ?? Id;
}

/// <summary>The GPIO lines of a vehicle (HOCON <c>fleet.gpio</c>); no lines by default.</summary>
public sealed record GpioSettings
{
    /// <summary>The driver.</summary>
    public GpioDriverKind Driver { get; init; } = GpioDriverKind.Simulated;

    /// <summary>GPIO chip number for the libgpiod driver (<c>/dev/gpiochipN</c>).</summary>
    public int Chip { get; init; }

    /// <summary>The lines; empty: no GPIO supervisor is started.</summary>
    public IReadOnlyList<GpioLineSettings> Lines { get; init; } = [];

    /// <summary>First reopen delay after a line failed.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest reopen delay.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Random extra delay as a fraction of the backoff.</summary>
    public double RandomFactor { get; init; } = 0.2;

    /// <summary>Edge callbacks waiting for a line actor beyond this are dropped (and counted).</summary>
    public int MaxPendingEvents { get; init; } = 1024;
}
