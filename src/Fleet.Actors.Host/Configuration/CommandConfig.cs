using System.Collections.Immutable;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Devices.Commands;
using Fleet.Actors.Devices.Gpio;

namespace Fleet.Actors.Host.Configuration;

/// <summary>Reads <c>fleet.commands</c> (trusted issuers and limits) and <c>fleet.operations</c> (safe outputs).</summary>
internal static class CommandConfig
{
    /// <summary>
    /// The command settings. An issuer's key is read from <c>public-key-file</c> (relative paths from
    /// <paramref name="baseDirectory"/>, the configuration folder) or given inline as <c>public-key</c>
    /// (PEM); <c>types</c> lists what it may send, or <c>["*"]</c> for everything.
    /// </summary>
    public static CommandSettings Read(ConfigReader r, string baseDirectory)
    {
        var topics = r.Section("topics");
        var issuers = new List<TrustedIssuer>();
        foreach (var issuer in r.Objects("issuers"))
        {
            var id = issuer.String("id");
            if (string.IsNullOrWhiteSpace(id)) issuer.Problem("id", "is required (the key id commands name in 'issuer')");
            var key = ReadKey(issuer, baseDirectory);
            var types = ReadTypes(issuer);
            if (!string.IsNullOrWhiteSpace(id) && key is not null) issuers.Add(new TrustedIssuer(id, key, types));
        }
        var settings = new CommandSettings
        {
            Enabled = r.Bool("enabled", true),
            CommandsTopic = topics.String("commands", "fleet/{tenant}/{vehicle_id}/commands")!,
            ResponsesTopic = topics.String("responses", "fleet/{tenant}/{vehicle_id}/responses")!,
            Issuers = issuers,
            MaxClockSkew = r.Duration("max-clock-skew", TimeSpan.FromSeconds(30), TimeSpan.Zero),
            MaxValidity = r.Duration("max-validity", TimeSpan.FromHours(24), TimeSpan.FromSeconds(1)),
            MaxCommandBytes = (int)r.Bytes("max-command-bytes", 256 * 1024, 1024, 16 * 1024 * 1024),
            MaxRemembered = r.Int("max-remembered", 100_000, 100),
            ExecutionTimeout = r.Duration("execution-timeout", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(1)),
            AcknowledgeWithin = r.Duration("acknowledge-within", TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(1)),
            MaxPendingResponses = r.Int("max-pending-responses", 1_000, 1),
            SnapshotEvery = r.Int("snapshot-every", 200, 1),
        };
        foreach (var (key, problem) in settings.Validate()) r.Problem(key, problem);
        return settings;
    }

    /// <summary>The programs of REBOOT and SERVICE_RESTART: absolute paths with fixed arguments, never a shell.</summary>
    public static SystemCommandSettings ReadSystem(ConfigReader r)
    {
        var settings = new SystemCommandSettings
        {
            Reboot = Strings(r, "reboot"),
            ServiceRestart = Strings(r, "service-restart"),
            Timeout = r.Duration("timeout", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)),
        };
        foreach (var (key, argv) in new[] { ("reboot", settings.Reboot), ("service-restart", settings.ServiceRestart) })
            if (SystemCommandSettings.Check(argv) is { } problem) r.Problem(key, problem);
        return settings;
    }

    private static List<string> Strings(ConfigReader r, string key)
    {
        var items = r.ListItems(key);
        if (items is null)
        {
            if (r.Has(key)) r.Problem(key, "must be a list of strings: the program and its arguments, e.g. [\"/usr/bin/systemctl\", \"reboot\"]");
            return [];
        }
        return items.Select(i => i.GetString() ?? "").ToList();
    }

    /// <summary>
    /// The operational state machine's settings; every output must be a configured GPIO output line,
    /// and the safe stop must settle within <paramref name="executionTimeout"/> (<c>fleet.commands.execution-timeout</c>).
    /// </summary>
    public static OperationsSettings ReadOperations(ConfigReader r, GpioSettings gpio, TimeSpan executionTimeout)
    {
        var emergency = r.Section("emergency-stop");
        var safe = r.Section("safe-stop");
        var settings = new OperationsSettings
        {
            EmergencyStopOutputs = ReadOutputs(emergency, gpio),
            SafeStopOutputs = ReadOutputs(safe, gpio),
            SafeStopSettle = safe.Duration("settle", TimeSpan.FromSeconds(2), TimeSpan.Zero, TimeSpan.FromMinutes(10)),
        };
        // SAFE_STOP is answered when the settle time is over: a settle as long as the execution
        // timeout would report FAILED (timeout) for a stop that then completes.
        if (settings.SafeStopSettle >= executionTimeout)
            safe.Problem("settle", $"must be less than commands.execution-timeout ({executionTimeout.TotalSeconds:0.###}s), or a safe stop that completes is reported FAILED (timeout)");
        return settings;
    }

    private static List<SafeOutput> ReadOutputs(ConfigReader r, GpioSettings gpio)
    {
        var outputs = new List<SafeOutput>();
        foreach (var output in r.Objects("outputs"))
        {
            var line = output.String("line") ?? "";
            var value = output.Bool("value", false);
            var configured = gpio.Lines.FirstOrDefault(l => l.Id == line);
            if (configured is null) output.Problem("line", $"no GPIO line '{line}' is configured (fleet.gpio.lines)");
            else if (configured.Direction != GpioDirection.Output) output.Problem("line", $"GPIO line '{line}' is an input, not an output");
            else outputs.Add(new SafeOutput(line, value));
        }
        return outputs;
    }

    private static System.Security.Cryptography.ECDsa? ReadKey(ConfigReader issuer, string baseDirectory)
    {
        var file = issuer.String("public-key-file");
        var inline = issuer.String("public-key");
        if (file is null == inline is null)
        {
            issuer.Problem("public-key-file", "give either public-key-file or public-key (PEM), not both or neither");
            return null;
        }
        string pem;
        if (file is not null)
        {
            var path = Path.IsPathRooted(file) ? file : Path.Combine(baseDirectory, file);
            try
            {
                pem = File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                issuer.Problem("public-key-file", $"cannot read {path}: {ex.Message}");
                return null;
            }
        }
        else pem = inline!;
        try
        {
            return CommandKeys.PublicKeyFromPem(pem);
        }
        catch (FormatException ex)
        {
            issuer.Problem(file is not null ? "public-key-file" : "public-key", ex.Message);
            return null;
        }
    }

    private static ImmutableHashSet<CommandType> ReadTypes(ConfigReader issuer)
    {
        var items = issuer.ListItems("types");
        if (items is null)
        {
            issuer.Problem("types", "is required: the command types this issuer may send, e.g. [PAUSE, RESUME], or [\"*\"] for all");
            return [];
        }
        var types = ImmutableHashSet.CreateBuilder<CommandType>();
        for (var i = 0; i < items.Count; i++)
        {
            var text = items[i].GetString()?.Trim() ?? "";
            if (text == "*") types.UnionWith(CommandPayloads.AllTypes);
            else if (CommandPayloads.TryParseType(text, out var type)) types.Add(type);
            else issuer.Problem($"types[{i}]", $"unknown command type '{text}' (known: {string.Join(", ", CommandPayloads.AllTypes.Select(t => t.ToWireName()))})");
        }
        return types.ToImmutable();
    }
}
