using Fleet.Actors.Core.Configuration;
using System.Net;
using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Alerts;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Plc;
using Fleet.Actors.Devices.Scripting;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;
using Fleet.Actors.Devices.Vehicle;

namespace Fleet.Actors.Host.Configuration;

/// <summary>The configuration is unusable; <see cref="Problems"/> name file, key and problem.</summary>
public sealed class ConfigurationException(IReadOnlyList<string> problems)
    : Exception("Invalid configuration:\n  " + string.Join("\n  ", problems))
{
    /// <summary>One line per problem: "file: key: problem".</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// Loads and validates the agent's configuration: <c>akka.conf</c> and <c>agent.conf</c> from the
/// configuration folder, then any overlay files (later files win), with environment overrides
/// (<c>key = ${?MQTT_BROKER}</c>). Throws <see cref="ConfigurationException"/> naming the file, the
/// key and the problem for everything wrong at once, and <see cref="InsecureFileException"/> when a
/// file holding a secret is readable by group or others.
/// </summary>
public static partial class AgentConfiguration
{
    /// <summary>The main file of the configuration folder.</summary>
    public const string AgentFile = "agent.conf";

    /// <summary>Akka's settings in the configuration folder.</summary>
    public const string AkkaFile = "akka.conf";

    /// <summary>The embedded broker's port, and with it the uplink's default broker (mqtt://127.0.0.1:18830).</summary>
    public const int EmbeddedBrokerPort = 18830;

    /// <summary>Loads <paramref name="configDirectory"/> plus <paramref name="overlays"/>.</summary>
    public static AgentSettings Load(string configDirectory, IReadOnlyList<string> overlays,
        Func<string, string?>? environment = null, SensorDriverRegistry? drivers = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var problems = new List<string>();
        var files = new List<string>();
        var akka = Path.Combine(configDirectory, AkkaFile);
        if (File.Exists(akka)) files.Add(akka);
        var agent = Path.Combine(configDirectory, AgentFile);
        if (!File.Exists(agent)) problems.Add($"{agent}: file not found (use --config-dir to point at the folder with {AgentFile})");
        else files.Add(agent);
        foreach (var overlay in overlays)
        {
            if (File.Exists(overlay)) files.Add(overlay);
            else problems.Add($"{overlay}: file not found");
        }

        var texts = new List<(string File, string Text)>();
        var probes = new List<string>();
        foreach (var file in files)
        {
            var fileProblems = new List<HoconProblem>();
            var text = File.ReadAllText(file);
            fileProblems.AddRange(HoconText.Check(text));
            var substituted = HoconText.SubstituteEnvironment(text, environment, fileProblems);
            problems.AddRange(fileProblems.Select(p => $"{file}: {p}"));
            texts.Add((file, substituted));
            // The same text with each variable's value replaced by a marker naming it: which key came from which variable.
            probes.Add(HoconText.SubstituteEnvironment(text, name => environment(name) is null ? null : EnvironmentMarker(name), []));
        }
        if (problems.Count > 0) throw new ConfigurationException(problems);

        Config merged;
        try
        {
            merged = ConfigurationFactory.ParseString(string.Join("\n", texts.Select(t => t.Text)));
        }
        catch (Exception ex) when (ex is FormatException or ConfigurationException or ArgumentException)
        {
            throw new ConfigurationException([LocateParseError(ex.Message, texts)]);
        }

        var standalone = texts.Select(t => (t.File, Config: TryParse(t.Text))).ToList();
        var fromEnvironment = EnvironmentKeys(TryParse(string.Join("\n", probes)));
        var reader = new ConfigReader(merged.HasPath("fleet") ? merged.GetConfig("fleet") : Config.Empty, "fleet");
        var settings = Read(reader, merged, files, drivers ?? SensorDriverRegistry.Default);
        reader.ReportUnknownKeys();
        // Akka's keys are checked in the same pass, so that one run names every problem.
        var found = reader.Problems.Concat(AkkaSettingsCheck.Check(merged)).ToList();
        if (found.Count > 0)
            throw new ConfigurationException(found.Select(p => Describe(p, FileDefining(p.Key, standalone, agent), fromEnvironment)).ToList());
        var exposed = SecretFiles.Check(settings, files.Zip(probes).ToList());
        if (exposed.Count > 0) throw new InsecureFileException(exposed);
        return settings with { EnvironmentKeys = fromEnvironment };
    }

    /// <summary>
    /// One problem line: "file: key: problem", or, when the value came from an environment variable,
    /// the variable first, since that is where it must be corrected.
    /// </summary>
    private static string Describe(SettingsProblem problem, string file, IReadOnlyDictionary<string, string> fromEnvironment) =>
        fromEnvironment.TryGetValue(problem.Key, out var variable)
            ? $"environment variable {variable} ({problem.Key}, read in {file}): {WithoutValue(problem.Problem)}"
            : $"{file}: {problem.Key}: {problem.Problem}";

    /// <summary>A problem text without the value it quotes (<c>(got "...")</c>): a variable's value may be a secret.</summary>
    private static string WithoutValue(string problem) => GotValue().Replace(problem, "").TrimEnd();

    /// <summary>
    /// Akka's parser reports "Unknown token at position N" in the joined text of all files, on several
    /// lines: the file, line and column of N, and the first line of the message.
    /// </summary>
    private static string LocateParseError(string message, IReadOnlyList<(string File, string Text)> texts)
    {
        var first = message.Split('\n')[0].Trim().TrimEnd(':');
        var position = ParsePosition().Match(first);
        if (!position.Success || !int.TryParse(position.Groups["at"].Value, out var at))
            return $"{string.Join(", ", texts.Select(t => t.File))}: {first}";
        var what = first.Remove(position.Index, position.Length).Trim();
        foreach (var (file, text) in texts)
        {
            if (at <= text.Length)
            {
                var before = text[..at];
                var line = before.Count(c => c == '\n') + 1;
                var column = at - (before.LastIndexOf('\n') + 1) + 1;
                return $"{file}: line {line}, column {column}: {what}";
            }
            at -= text.Length + 1;
        }
        return $"{texts[^1].File}: {what}";
    }

    private static string EnvironmentMarker(string name) => $"@@env:{name}@@";

    /// <summary>Every key (as <see cref="ConfigReader"/> names it) whose value holds a marker, with the variables it names.</summary>
    private static Dictionary<string, string> EnvironmentKeys(Config? probe)
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        if (probe is not null && !probe.IsEmpty) Collect(probe.Root, "");
        return keys;

        void Collect(HoconValue value, string path)
        {
            if (value.IsObject())
            {
                foreach (var (name, child) in value.GetObject().Items)
                    Collect(child, path.Length == 0 ? name : $"{path}.{name}");
            }
            else if (value.IsArray())
            {
                var items = value.GetArray();
                for (var i = 0; i < items.Count; i++) Collect(items[i], $"{path}[{i}]");
            }
            else if (value.GetString() is { } text)
            {
                var names = EnvironmentMarkerPattern().Matches(text).Select(m => m.Groups["name"].Value).Distinct().ToList();
                if (names.Count > 0) keys[path] = string.Join(" and ", names);
            }
        }
    }

    /// <summary>Reads the settings from a merged tree; problems are collected in <paramref name="fleet"/>.</summary>
    internal static AgentSettings Read(ConfigReader fleet, Config merged, IReadOnlyList<string> files, SensorDriverRegistry drivers)
    {
        var vehicleSection = fleet.Section("vehicle");
        var vehicleId = vehicleSection.RequiredString("id", IdPattern(), IdDescription);
        var tenant = vehicleSection.RequiredString("tenant", IdPattern(), IdDescription);

        var simulationSection = fleet.Section("simulation");
        var simulation = new SimulationSettings
        {
            Seed = simulationSection.Int("seed", 1),
            Route = simulationSection.String("route", Route.HamburgPort.Name)!,
        };
        if (!Route.Known.ContainsKey(simulation.Route))
            simulationSection.Problem("route", $"must be one of {string.Join(", ", Route.Known.Keys)} (got \"{simulation.Route}\")");

        var sensors = fleet.Objects("sensors").Select(r => ReadSensor(r, drivers)).ToList();
        foreach (var duplicate in sensors.GroupBy(s => s.Id).Where(g => g.Key.Length > 0 && g.Count() > 1))
            fleet.Problem("sensors", $"sensor id \"{duplicate.Key}\" is used more than once");

        var gpio = GpioConfig.Read(fleet.Section("gpio"));
        var plcs = PlcConfig.Read(fleet);
        var scripting = ScriptingConfig.Read(fleet, gpio, plcs);
        var alerts = AlertsConfig.Read(fleet, gpio, new Dictionary<string, IReadOnlyCollection<string>>
        {
            ["sensors"] = sensors.Select(s => s.Id).ToList(),
            ["plcs"] = plcs.Select(p => p.Id).ToList(),
            ["gpio"] = gpio.Lines.Select(l => l.Id).ToList(),
        });

        var walSection = fleet.Section("wal");
        var synchronous = walSection.Enum("synchronous", SqliteSynchronous.Full);
        var wal = ReadWal(walSection);

        var uplink = ReadUplink(fleet.Section("uplink"));
        var configDirectory = Path.GetDirectoryName(Path.GetFullPath(files.FirstOrDefault(f => Path.GetFileName(f) == AgentFile) ?? AgentFile)) ?? ".";
        var commandsSection = fleet.Section("commands");
        var commands = CommandConfig.Read(commandsSection, configDirectory);
        var systemCommands = CommandConfig.ReadSystem(commandsSection.Section("system"));
        var operations = CommandConfig.ReadOperations(fleet.Section("operations"), gpio, commands.ExecutionTimeout);

        var embedded = ReadEmbeddedBroker(fleet.Section("embedded-broker"), uplink.Broker);
        var logging = ReadLogging(fleet.Section("logging"));
        var httpSection = fleet.Section("http");
        var http = new Health.HttpEndpointSettings(httpSection.Bool("enabled", true), httpSection.String("host", "127.0.0.1")!,
            httpSection.Int("port", Health.HttpEndpointSettings.DefaultPort, 1, 65535),
            httpSection.Duration("ready-offline-tolerance", TimeSpan.FromMinutes(5), TimeSpan.Zero, TimeSpan.FromDays(7)));
        if (!IPAddress.TryParse(http.Host, out _)) httpSection.Problem("host", $"must be an IP address to listen on, such as 127.0.0.1 or 0.0.0.0 (got \"{http.Host}\")");

        var dataDirectory = fleet.String("data-dir", "data")!;
        if (string.IsNullOrWhiteSpace(dataDirectory)) fleet.Problem("data-dir", "must not be empty");

        var health = ReadHealth(fleet.Section("health"), dataDirectory);

        var shutdown = fleet.Section("shutdown");
        var vehicle = new VehicleSettings
        {
            VehicleId = vehicleId,
            Tenant = tenant,
            Sensors = sensors,
            Gpio = gpio,
            Plcs = plcs,
            Scripting = scripting,
            Alerts = alerts,
            Wal = wal,
            Uplink = uplink,
            Commands = commands,
            SystemCommands = systemCommands,
            Operations = operations,
            Health = health,
            ConfigVersion = ConfigVersion(merged),
            Simulation = simulation,
            SummaryInterval = fleet.Duration("summary-interval", TimeSpan.FromSeconds(5), TimeSpan.Zero, TimeSpan.FromHours(1)),
            DrainTimeout = shutdown.Duration("drain-timeout", TimeSpan.FromSeconds(25), TimeSpan.Zero, TimeSpan.FromMinutes(10)),
            ShutdownTimeout = shutdown.Duration("timeout", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)),
        };
        if (vehicle.DrainTimeout >= vehicle.ShutdownTimeout)
            shutdown.Problem("drain-timeout", $"must be less than shutdown.timeout ({vehicle.ShutdownTimeout.TotalSeconds:0.###}s), which also covers stopping intake, flushing the log and saying goodbye");
        return new AgentSettings
        {
            Vehicle = vehicle with
            {
                Wal = wal with
                {
                    JournalPath = Path.Combine(dataDirectory, "journal.db"),
                    SnapshotPath = Path.Combine(dataDirectory, "snapshots.db"),
                    SequenceFile = Path.Combine(dataDirectory, "wal-" + Uri.EscapeDataString(vehicleId) + ".seq"),
                },
                Commands = commands with { History = History(dataDirectory, "commands", vehicleId) },
                Operations = operations with { History = History(dataDirectory, "operations", vehicleId) },
            },
            DataDirectory = dataDirectory,
            Synchronous = synchronous,
            EmbeddedBroker = embedded,
            Logging = logging,
            Http = http,
            OneWorkerAtRest = fleet.Section("thread-pool").Bool("one-worker-at-rest", true),
            Hocon = merged,
            Files = files,
        };
    }

    private static Devices.Health.HealthSettings ReadHealth(ConfigReader section, string dataDirectory)
    {
        var health = new Devices.Health.HealthSettings
        {
            Enabled = section.Bool("enabled", true),
            SampleInterval = section.Duration("sample-interval", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1)),
            HeartbeatInterval = section.Duration("heartbeat-interval", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1)),
            UplinkStallTimeout = section.Duration("uplink-stall-timeout", TimeSpan.FromMinutes(2), TimeSpan.Zero, TimeSpan.FromDays(1)),
            ErrorLogInterval = section.Duration("error-log-interval", TimeSpan.FromMinutes(5), TimeSpan.Zero, TimeSpan.FromDays(1)),
            DataDirectory = dataDirectory,
        };
        if (health.HeartbeatInterval < health.SampleInterval)
            section.Problem("heartbeat-interval", $"must be at least sample-interval ({health.SampleInterval.TotalSeconds:0.###}s): a heartbeat carries the latest sample");
        if (health.UplinkStallTimeout > TimeSpan.Zero && health.UplinkStallTimeout < 2 * health.SampleInterval)
            section.Problem("uplink-stall-timeout", $"must be 0 (off) or at least two sample intervals ({2 * health.SampleInterval.TotalSeconds:0.###}s): the stall detector looks once per sample");
        return health;
    }

    /// <summary>
    /// <c>enabled = auto</c> (the default) runs the embedded broker only when the uplink goes to it, so
    /// that pointing the uplink elsewhere (<c>MQTT_BROKER</c>) does not also start a broker nobody uses.
    /// </summary>
    private static EmbeddedBrokerSettings ReadEmbeddedBroker(ConfigReader r, BrokerSettings uplink)
    {
        var host = r.String("host", "127.0.0.1")!;
        var port = r.Int("port", EmbeddedBrokerPort, 1, 65535);
        var text = r.String("enabled");
        EmbeddedBrokerMode? mode = text?.Trim().ToLowerInvariant() switch
        {
            null or "auto" => EmbeddedBrokerMode.Auto,
            "on" or "true" or "yes" => EmbeddedBrokerMode.On,
            "off" or "false" or "no" => EmbeddedBrokerMode.Off,
            _ => null,
        };
        if (mode is null) r.Problem("enabled", $"must be on, off or auto (got \"{text}\")");
        if (!IPAddress.TryParse(host, out _)) r.Problem("host", $"must be an IP address to listen on, such as 127.0.0.1 or 0.0.0.0 (got \"{host}\")");
        var enabled = mode switch
        {
            EmbeddedBrokerMode.On => true,
            EmbeddedBrokerMode.Auto => IsEndpointOf(uplink, host, port),
            _ => false,
        };
        return new EmbeddedBrokerSettings(mode ?? EmbeddedBrokerMode.Auto, enabled, host, port);
    }

    /// <summary>True when <paramref name="uplink"/> connects to a broker listening on host:port of this machine.</summary>
    internal static bool IsEndpointOf(BrokerSettings uplink, string host, int port)
    {
        if (uplink.Port != port) return false;
        if (string.Equals(uplink.Host, host, StringComparison.OrdinalIgnoreCase)) return true;
        var loopback = string.Equals(uplink.Host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(uplink.Host, out var address) && IPAddress.IsLoopback(address));
        if (!loopback || !IPAddress.TryParse(host, out var listen)) return false;
        return IPAddress.IsLoopback(listen) || listen.Equals(IPAddress.Any) || listen.Equals(IPAddress.IPv6Any);
    }

    private static LoggingSettings ReadLogging(ConfigReader r)
    {
        var level = r.String("level", "information")!;
        if (level.ToLowerInvariant() is not ("verbose" or "debug" or "information" or "warning" or "error"))
            r.Problem("level", $"must be verbose, debug, information, warning or error (got \"{level}\")");
        var file = r.String("file", "logs/agent-.log");
        return new LoggingSettings(level, string.IsNullOrWhiteSpace(file) ? null : file,
            r.Int("retained-files", 7, 1, 365),
            r.Bytes("file-size-limit", 64L * 1024 * 1024, 1024),
            r.Enum("format", LogFormat.Text));
    }

    private static SensorSettings ReadSensor(ConfigReader r, SensorDriverRegistry drivers)
    {
        var id = r.RequiredString("id", IdPattern(), IdDescription);
        var type = r.RequiredString("type", AnyText(), "a driver type");
        var reconnect = r.Section("reconnect");
        var faults = r.Section("faults");
        var settings = new SensorSettings
        {
            Id = id,
            Type = type,
            RateHz = r.Double("rate-hz", 1, 0.001, 100_000),
            MinBackoff = reconnect.Duration("min-backoff", TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(1)),
            MaxBackoff = reconnect.Duration("max-backoff", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(1)),
            RandomFactor = reconnect.Double("random-factor", 0.2, 0, 1),
            StallTimeout = r.Duration("stall-timeout", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100)),
            InvalidLogInterval = r.Duration("invalid-log-interval", TimeSpan.FromSeconds(10), TimeSpan.Zero),
            Faults = new FaultSettings
            {
                DisconnectProbability = faults.Double("disconnect-probability", 0, 0, 1),
                StallProbability = faults.Double("stall-probability", 0, 0, 1),
                GarbageRate = faults.Double("garbage-rate", 0, 0, 1),
                SlowResponse = faults.Duration("slow-response", TimeSpan.Zero, TimeSpan.Zero),
                OpenFailures = faults.Int("open-failures", 0, 0),
            },
        };
        if (settings.MaxBackoff < settings.MinBackoff) reconnect.Problem("max-backoff", "must not be less than min-backoff");
        if (type.Length > 0)
        {
            if (!drivers.TryGet(type, out var factory))
                r.Problem("type", $"unknown driver type \"{type}\" (known: {string.Join(", ", drivers.Types)})");
            else
            {
                settings = settings with { DriverOptions = factory.ReadOptions(r) };
                foreach (var (key, problem) in factory.Validate(settings)) r.Problem(key, problem);
            }
        }
        return settings;
    }

    /// <summary>The files an actor's history is persisted to (the agent's journal and snapshot files) and its mark file.</summary>
    private static HistoryFiles History(string dataDirectory, string name, string vehicleId) =>
        new(Path.Combine(dataDirectory, "journal.db"), Path.Combine(dataDirectory, "snapshots.db"),
            Path.Combine(dataDirectory, $"{name}-{Uri.EscapeDataString(vehicleId)}.mark"));

    private static WalSettings ReadWal(ConfigReader r)
    {
        var wal = new WalSettings
        {
            MaxPendingReadings = r.Int("max-pending-readings", 100_000, 1),
            MaxEntryRecords = r.Int("max-entry-records", 2_000, 1),
            MaxEntryBytes = (int)r.Bytes("max-entry-bytes", 128 * 1024, 1024, 16 * 1024 * 1024),
            MaxUnsentBytes = r.Bytes("max-unsent-bytes", 256L * 1024 * 1024, 1),
            SegmentBytes = r.Bytes("segment-bytes", 1024 * 1024, 1),
            CacheBytes = r.Bytes("cache-bytes", 8L * 1024 * 1024, 1),
            SnapshotEvery = r.Int("snapshot-every", 500, 1),
            DeliveredFlushInterval = r.Duration("delivered-flush-interval", TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(1)),
            MetricsInterval = r.Duration("metrics-interval", TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(10)),
            CommitInterval = r.Duration("commit-interval", TimeSpan.FromMilliseconds(250), TimeSpan.Zero, TimeSpan.FromSeconds(10)),
            CommitRecords = r.Int("commit-records", 32, 1),
        };
        foreach (var (key, problem) in wal.Validate()) r.Problem(key, problem);
        return wal;
    }

    private static UplinkSettings ReadUplink(ConfigReader r)
    {
        var brokerSection = r.Section("broker");
        var defaults = new BrokerSettings
        {
            KeepAlive = brokerSection.Duration("keep-alive", TimeSpan.FromSeconds(15)),
            ConnectTimeout = brokerSection.Duration("connect-timeout", TimeSpan.FromSeconds(10)),
            PublishTimeout = brokerSection.Duration("publish-timeout", TimeSpan.FromSeconds(10)),
        };
        var url = brokerSection.String("url", $"mqtt://127.0.0.1:{EmbeddedBrokerPort}")!;
        var broker = BrokerSettings.TryParseUrl(url, defaults, out var urlProblem);
        if (broker is null) brokerSection.Problem("url", urlProblem!);
        broker ??= defaults;
        var password = brokerSection.String("password");
        var passwordFile = ExistingFile(brokerSection, "password-file");
        if (brokerSection.String("username") is { Length: > 0 } user)
            broker = broker with { Username = user, Password = password, PasswordFile = passwordFile };
        else if (!string.IsNullOrEmpty(password) || passwordFile is not null)
            brokerSection.Problem(passwordFile is null ? "password" : "password-file", "is set but no username is (fleet.uplink.broker.username, MQTT_USERNAME)");
        broker = ReadTls(brokerSection.Section("tls"), broker);

        var topics = r.Section("topics");
        var batch = r.Section("batch");
        var compression = r.Section("compression");
        var reconnect = r.Section("reconnect");
        var lane = r.Section("priority-lane");
        var uplink = new UplinkSettings
        {
            Broker = broker,
            TelemetryTopic = topics.String("telemetry", "fleet/{tenant}/{vehicle_id}/telemetry")!,
            StatusTopic = topics.String("status", "fleet/{tenant}/{vehicle_id}/status")!,
            AlertsTopic = topics.String("alerts", "fleet/{tenant}/{vehicle_id}/alerts")!,
            PriorityLane = lane.Bool("enabled", true),
            PriorityLaneMaxPending = lane.Int("max-pending", 1000),
            MaxBatchRecords = batch.Int("max-records", 5_000, 1),
            MaxBatchBytes = (int)batch.Bytes("max-bytes", 256 * 1024, 1024, 64 * 1024 * 1024),
            MinBatchRecords = batch.Int("min-records", 32, 1),
            Linger = batch.Duration("linger", TimeSpan.FromSeconds(10), TimeSpan.Zero),
            Compression = compression.Enum("codec", PayloadCompression.Zstd),
            CompressionLevel = compression.Int("level", 3),
            MaxInFlight = r.Int("max-in-flight", 4),
            ReadChunkBytes = (int)r.Bytes("read-chunk-bytes", 1024 * 1024, 1024, 64 * 1024 * 1024),
            ReadRetryInterval = r.Duration("read-retry-interval", TimeSpan.FromSeconds(5)),
            ReconnectMinBackoff = reconnect.Duration("min-backoff", TimeSpan.FromSeconds(1)),
            ReconnectMaxBackoff = reconnect.Duration("max-backoff", TimeSpan.FromSeconds(30)),
            ReconnectRandomFactor = reconnect.Double("random-factor", 0.2),
            ReconnectProbeInterval = reconnect.Duration("probe-interval", TimeSpan.FromSeconds(2), TimeSpan.Zero),
        };
        foreach (var (key, problem) in uplink.Validate())
        {
            if (key.StartsWith("broker.", StringComparison.Ordinal)) brokerSection.Problem(key["broker.".Length..], problem);
            else r.Problem(key, problem);
        }
        return uplink;
    }

    /// <summary>
    /// A short digest of the effective configuration (every part, after merging and substitution): the
    /// same settings give the same version, however the files that make them up are laid out.
    /// </summary>
    private static string ConfigVersion(Config merged)
    {
        var text = string.Join("\n", FileConfigurationSource.Parts(merged).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..12];
    }

    /// <summary><c>fleet.uplink.broker.tls</c>: only with an mqtts:// URL.</summary>
    private static BrokerSettings ReadTls(ConfigReader r, BrokerSettings broker)
    {
        var tls = new BrokerTls
        {
            CaFile = ExistingFile(r, "ca-file"),
            ClientCertificateFile = ExistingFile(r, "client-cert-file"),
            ClientKeyFile = ExistingFile(r, "client-key-file"),
            ServerName = r.String("server-name") is { Length: > 0 } name ? name : null,
            CheckInterval = r.Duration("check-interval", TimeSpan.FromSeconds(30), TimeSpan.Zero),
        };
        if (broker.Tls is not null) return broker with { Tls = tls };
        foreach (var key in new[] { "ca-file", "client-cert-file", "client-key-file", "server-name", "check-interval" })
            if (r.String(key) is { Length: > 0 }) r.Problem(key, "is set but the broker URL is not mqtts:// (TLS)");
        return broker;
    }

    /// <summary>A file path setting; a problem when it is set and the file does not exist. Empty means not set.</summary>
    private static string? ExistingFile(ConfigReader r, string key)
    {
        if (r.String(key) is not { Length: > 0 } path) return null;
        if (!File.Exists(path)) r.Problem(key, $"file not found: {Path.GetFullPath(path)}");
        return path;
    }

    private static Config? TryParse(string text)
    {
        try
        {
            return ConfigurationFactory.ParseString(text);
        }
        catch (Exception ex) when (ex is FormatException or ConfigurationException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The last file (highest precedence) that sets the key, else the main file.</summary>
    private static string FileDefining(string key, IReadOnlyList<(string File, Config? Config)> sources, string mainFile)
    {
        var path = key.Split('[')[0];
        for (var i = sources.Count - 1; i >= 0; i--)
        {
            var config = sources[i].Config;
            if (config is not null && SafeHasPath(config, path)) return sources[i].File;
        }
        return mainFile;
    }

    private static bool SafeHasPath(Config config, string path)
    {
        try
        {
            return config.HasPath(path);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            return false;
        }
    }

    private const string IdDescription = "1 to 64 letters, digits, '.', '_' or '-' starting with a letter or digit";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^.+$")]
    private static partial Regex AnyText();

    [GeneratedRegex(@"\s*\(got .*?\)")]
    private static partial Regex GotValue();

    [GeneratedRegex(@"\s*at position (?<at>\d+)")]
    private static partial Regex ParsePosition();

    [GeneratedRegex("@@env:(?<name>[A-Za-z_][A-Za-z0-9_]*)@@")]
    private static partial Regex EnvironmentMarkerPattern();
}
