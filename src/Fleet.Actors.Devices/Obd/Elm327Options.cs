using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;

namespace Fleet.Actors.Devices.Obd;

/// <summary>One PID in the poll list and how often it is asked for.</summary>
/// <param name="Pid">The PID.</param>
/// <param name="Interval">Time between polls; null follows the sensor's <c>rate-hz</c>.</param>
public sealed record ObdPoll(ObdPid Pid, TimeSpan? Interval = null);

/// <summary>Settings of an <c>obd-elm327</c> sensor (its HOCON keys besides the common ones).</summary>
public sealed record Elm327Options
{
    /// <summary>Polled when the configuration has no <c>pids</c>: the simulated OBD sensor's measurements.</summary>
    public static IReadOnlyList<ObdPoll> DefaultPolls { get; } =
    [
        new(ObdPids.EngineRpm),
        new(ObdPids.VehicleSpeed),
        new(ObdPids.EngineLoad),
        new(ObdPids.ThrottlePosition),
        new(ObdPids.FuelRate),
        new(ObdPids.CoolantTemp, TimeSpan.FromSeconds(10)),
        new(ObdPids.FuelLevel, TimeSpan.FromSeconds(30)),
    ];

    /// <summary>Where the adapter is (port or replay); 38400 baud by default, the ELM327's usual setting.</summary>
    public required SerialOptions Serial { get; init; }

    /// <summary><c>ATSPn</c>: <c>0</c> searches automatically, <c>1</c>..<c>9</c> and <c>A</c>..<c>C</c> fix the protocol.</summary>
    public char Protocol { get; init; } = ElmProtocols.Auto;

    /// <summary><c>ATH1</c> (true) or <c>ATH0</c>: show the sender of each answer (needed to tell ECUs apart).</summary>
    public bool Headers { get; init; }

    /// <summary>The PIDs to poll (those the vehicle does not support are skipped).</summary>
    public IReadOnlyList<ObdPoll> Polls { get; init; } = DefaultPolls;

    /// <summary>How often the stored trouble codes are read again.</summary>
    public TimeSpan DtcInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest wait for an answer.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait for the first <c>0100</c>, which may search through every protocol.</summary>
    public TimeSpan FirstCommandTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest wait for the banner after <c>ATZ</c>.</summary>
    public TimeSpan ResetTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>An answer longer than this is given up as malformed (the adapter is babbling or the baud rate is wrong).</summary>
    public int MaxAnswerBytes { get; init; } = 4096;

    /// <summary>
    /// Reads the serial keys (see <see cref="SerialOptions.Read"/>) and <c>protocol</c>, <c>headers</c>,
    /// <c>pids</c> (a list of <c>{ pid = rpm, interval = 1s }</c>, names or hex numbers),
    /// <c>dtc-interval</c>, <c>command-timeout</c> and <c>first-command-timeout</c>; problems go to the reader.
    /// </summary>
    public static Elm327Options Read(ConfigReader sensor)
    {
        var serial = SerialOptions.Read(sensor, 38400);
        var protocolText = sensor.String("protocol", "auto")!.Trim();
        var protocol = ElmProtocols.Auto;
        if (!string.Equals(protocolText, "auto", StringComparison.OrdinalIgnoreCase))
        {
            if (protocolText.Length == 1 && ElmProtocols.IsValid(char.ToUpperInvariant(protocolText[0]))) protocol = char.ToUpperInvariant(protocolText[0]);
            else sensor.Problem("protocol", $"must be auto, 1..9, A, B or C (got \"{protocolText}\")");
        }
        return new Elm327Options
        {
            Serial = serial,
            Protocol = protocol,
            Headers = sensor.Bool("headers", false),
            Polls = sensor.Has("pids") ? ReadPolls(sensor) : DefaultPolls,
            DtcInterval = Positive(sensor, "dtc-interval", TimeSpan.FromSeconds(60)),
            CommandTimeout = Positive(sensor, "command-timeout", TimeSpan.FromSeconds(1)),
            FirstCommandTimeout = Positive(sensor, "first-command-timeout", TimeSpan.FromSeconds(5)),
        };
    }

    /// <summary>Problems of the options together with the common settings, as (key, problem).</summary>
    public IEnumerable<(string Key, string Problem)> Validate(SensorSettings settings)
    {
        if (settings.RateHz is <= 0 or > 20)
            yield return ("rate-hz", "must be above 0 and at most 20 (an ELM327 answers a few dozen requests per second at best)");
        var opening = ResetTimeout + FirstCommandTimeout + CommandTimeout;
        if (settings.StallTimeout <= opening)
            yield return ("stall-timeout", $"must be longer than the adapter's start-up ({opening.TotalSeconds:0.#}s: reset, first-command-timeout and command-timeout)");
    }

    private static List<ObdPoll> ReadPolls(ConfigReader sensor)
    {
        var polls = new List<ObdPoll>();
        var problemsBefore = sensor.Problems.Count;
        var items = sensor.Objects("pids");
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var name = item.String("pid");
            TimeSpan? interval = item.Has("interval") ? Positive(item, "interval", TimeSpan.FromSeconds(1)) : null;
            if (string.IsNullOrWhiteSpace(name))
                item.Problem("pid", "is required (a name such as rpm or a hex number such as 0C)");
            else if (!ObdPids.TryParse(name, out var pid))
                item.Problem("pid", $"unknown PID \"{name}\" (known: {string.Join(", ", ObdPids.Names)}, or their hex numbers)");
            else if (polls.FindIndex(p => p.Pid == pid) is var first and >= 0)
                item.Problem("pid", $"{pid.Name} is already polled (pids[{first}])");
            else
                polls.Add(new ObdPoll(pid, interval));
        }
        if (items.Count == 0 && sensor.Problems.Count == problemsBefore)
            sensor.Problem("pids", "must list at least one PID, e.g. [ { pid = rpm, interval = 1s } ]");
        return polls;
    }

    private static TimeSpan Positive(ConfigReader reader, string key, TimeSpan fallback)
    {
        var value = reader.Duration(key, fallback);
        if (value > TimeSpan.Zero) return value;
        reader.Problem(key, $"must be longer than 0 (got {reader.String(key)})");
        return fallback;
    }
}

/// <summary>Creates <see cref="Elm327Driver"/>s for sensors of type <c>obd-elm327</c>.</summary>
internal sealed class Elm327DriverFactory : ISensorDriverFactory
{
    /// <inheritdoc />
    public string Type => Elm327Driver.TypeName;

    /// <inheritdoc />
    public object? ReadOptions(ConfigReader sensor) => Elm327Options.Read(sensor);

    /// <inheritdoc />
    public IEnumerable<(string Key, string Problem)> Validate(SensorSettings settings) =>
        settings.DriverOptions is Elm327Options options ? options.Validate(settings) : [("type", "obd-elm327 has no port or replay options")];

    /// <inheritdoc />
    public ISensorDriver Create(SensorSettings settings, DriverContext context)
    {
        var options = settings.OptionsOf<Elm327Options>();
        return new Elm327Driver(options.Serial.CreateChannel(context.Time), options, context.Time, settings.RateHz, settings.StallTimeout / 2);
    }
}
