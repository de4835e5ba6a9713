using System.Text.RegularExpressions;
using Fleet.Actors.Core.Configuration;

namespace Fleet.Actors.Devices.Gpio;

/// <summary>Reads and validates HOCON <c>fleet.gpio</c> into <see cref="GpioSettings"/>.</summary>
public static partial class GpioConfig
{
    /// <summary>Highest line offset accepted (a GPIO chip has at most a few hundred lines).</summary>
    public const int MaxPin = 1023;

    /// <summary>Reads the section; problems (with the full key) go to <paramref name="gpio"/>.</summary>
    public static GpioSettings Read(ConfigReader gpio)
    {
        var reconnect = gpio.Section("reconnect");
        var settings = new GpioSettings
        {
            Driver = gpio.Enum("driver", GpioDriverKind.Simulated),
            Chip = gpio.Int("chip", 0, 0, 255),
            MinBackoff = reconnect.Duration("min-backoff", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(1)),
            MaxBackoff = reconnect.Duration("max-backoff", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(1)),
            RandomFactor = reconnect.Double("random-factor", 0.2, 0, 1),
            MaxPendingEvents = gpio.Int("max-pending-events", 1024, 1, 1_000_000),
        };
        if (settings.MaxBackoff < settings.MinBackoff) reconnect.Problem("max-backoff", "must not be less than min-backoff");

        var lines = gpio.Objects("lines").Select(ReadLine).ToList();
        foreach (var duplicate in lines.GroupBy(l => l.Id).Where(g => g.Key.Length > 0 && g.Count() > 1))
            gpio.Problem("lines", $"line id \"{duplicate.Key}\" is used more than once");
        foreach (var duplicate in lines.GroupBy(l => l.Pin).Where(g => g.Key >= 0 && g.Count() > 1))
            gpio.Problem("lines", $"pin {duplicate.Key} is used by more than one line ({string.Join(", ", duplicate.Select(l => l.Id))})");
        return settings with { Lines = lines };
    }

    private static GpioLineSettings ReadLine(ConfigReader r)
    {
        var id = r.RequiredString("id", IdPattern(), "1 to 64 letters, digits, '.', '_' or '-' starting with a letter or digit");
        if (!r.Has("pin")) r.Problem("pin", "is required");
        var direction = r.Enum("direction", GpioDirection.Input);
        var line = new GpioLineSettings
        {
            Id = id,
            Pin = r.Int("pin", -1, 0, MaxPin),
            Direction = direction,
            Invert = r.Bool("invert", false),
            Name = r.String("name"),
        };
        if (line.Name is { } name && string.IsNullOrWhiteSpace(name)) r.Problem("name", "must not be empty");

        // Keys of the other direction are mistakes, not silently ignored settings.
        var inputOnly = new[] { "pull", "debounce", "edges", "publish" };
        var outputOnly = new[] { "initial" };
        foreach (var key in direction == GpioDirection.Output ? inputOnly : outputOnly)
            if (r.Has(key)) r.Problem(key, $"does not apply to an {direction.ToString().ToLowerInvariant()} line");

        return direction == GpioDirection.Input
            ? line with
            {
                Pull = r.Enum("pull", GpioPull.None),
                Debounce = r.Duration("debounce", TimeSpan.FromMilliseconds(20), TimeSpan.Zero, TimeSpan.FromSeconds(10)),
                Edges = r.Enum("edges", GpioEdges.Both),
                Publish = r.Enum("publish", GpioPublish.Level),
            }
            : line with { Initial = ReadLevel(r, "initial") };
    }

    private static bool ReadLevel(ConfigReader r, string key)
    {
        var text = r.String(key);
        switch (text?.Trim().ToLowerInvariant())
        {
            case null: return false;
            case "0" or "off" or "false" or "low": return false;
            case "1" or "on" or "true" or "high": return true;
            default:
                r.Problem(key, $"must be 0 or 1 (got \"{text}\")");
                return false;
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex IdPattern();
}
