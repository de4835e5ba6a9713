using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Host.Configuration;
using Fleet.Actors.Host.Tests.Support;

namespace Fleet.Actors.Host.Tests.Configuration;

/// <summary>
/// <see cref="AgentConfiguration.Load"/> on a temporary copy of the shipped <c>hocon/</c> folder:
/// defaults, environment overrides, overlays, and one problem line "file: key: problem" for every
/// bad value, attributed to the file that sets it.
/// </summary>
public sealed class AgentConfigurationTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>The one problem line, checked for file, full key and problem text.</summary>
    private static void AssertOnlyProblem(ConfigurationException ex, string file, string key, string problem)
    {
        var line = Assert.Single(ex.Problems);
        AssertProblemLine(line, file, key, problem);
    }

    /// <summary>An overlay holding <paramref name="hocon"/> is refused with one problem naming it, the key and the problem.</summary>
    private void AssertOverlayRefused(string hocon, string key, string problem)
    {
        var overlay = _folder.Overlay(hocon + "\n", "bad.conf");
        AssertOnlyProblem(_folder.LoadFails(overlay), overlay, key, problem);
    }

    private static void AssertProblemLine(string line, string file, string key, string problem)
    {
        Assert.StartsWith($"{file}: {key}: ", line, StringComparison.Ordinal);
        Assert.Contains(problem, line, StringComparison.Ordinal);
    }

    [Fact]
    public void Shipped_files_should_load_without_problems_and_give_the_documented_defaults()
    {
        var settings = _folder.Load();

        Assert.Equal("truck-001", settings.Vehicle.VehicleId);
        Assert.Equal("acme", settings.Vehicle.Tenant);
        Assert.Equal(
            [("gps", "sim-gps", 1.0), ("obd", "sim-obd", 1.0), ("imu", "sim-imu", 10.0)],
            settings.Vehicle.Sensors.Select(s => (s.Id, s.Type, s.RateHz)));
        Assert.Equal("127.0.0.1", settings.Vehicle.Uplink.Broker.Host);
        Assert.Equal(18830, settings.Vehicle.Uplink.Broker.Port);
        Assert.Null(settings.Vehicle.Uplink.Broker.Username);
        Assert.Equal(new EmbeddedBrokerSettings(EmbeddedBrokerMode.Auto, true, "127.0.0.1", 18830), settings.EmbeddedBroker);
        Assert.Equal(SqliteSynchronous.Full, settings.Synchronous);
        Assert.Equal("data", settings.DataDirectory);
        Assert.Equal(Path.Combine("data", "journal.db"), settings.JournalPath);
        Assert.Equal(Path.Combine("data", "journal.db"), settings.Vehicle.Wal.JournalPath);
        Assert.Equal(5000, settings.Vehicle.Uplink.MaxBatchRecords);
        Assert.Equal(256 * 1024, settings.Vehicle.Uplink.MaxBatchBytes);
        Assert.Equal(PayloadCompression.Zstd, settings.Vehicle.Uplink.Compression);
        Assert.Equal(128 * 1024, settings.Vehicle.Wal.MaxEntryBytes);
        Assert.Equal(256L * 1024 * 1024, settings.Vehicle.Wal.MaxUnsentBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(200), settings.Vehicle.Wal.DeliveredFlushInterval);
        Assert.Equal(TimeSpan.FromSeconds(25), settings.Vehicle.DrainTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.Vehicle.ShutdownTimeout);
        Assert.Equal(new LoggingSettings("information", "logs/agent-.log", 7, 64L * 1024 * 1024, LogFormat.Text), settings.Logging);
        Assert.Empty(settings.EnvironmentKeys);
        Assert.Equal([_folder.AkkaConf, _folder.AgentConf], settings.Files);
        Assert.Equal(1000, settings.Hocon.GetInt("akka.persistence.query.journal.fleet-sqlite.max-buffer-size"));
    }

    [Fact]
    public void MQTT_BROKER_should_reach_the_uplink_broker()
    {
        var settings = _folder.Load(name => name == "MQTT_BROKER" ? "mqtt://10.1.2.3:1884" : null);
        Assert.Equal("10.1.2.3", settings.Vehicle.Uplink.Broker.Host);
        Assert.Equal(1884, settings.Vehicle.Uplink.Broker.Port);
    }

    [Fact]
    public void Environment_overrides_should_reach_identity_credentials_data_folder_and_embedded_broker()
    {
        var environment = new Dictionary<string, string>
        {
            ["FLEET_VEHICLE_ID"] = "truck-042",
            ["FLEET_TENANT"] = "globex",
            ["FLEET_DATA_DIR"] = "/var/lib/fleet",
            ["FLEET_EMBEDDED_BROKER"] = "off",
            ["FLEET_LOG_LEVEL"] = "debug",
            ["MQTT_USERNAME"] = "agent \"7\"",
            ["MQTT_PASSWORD"] = @"p\a\\ss""word",
        };
        var settings = _folder.Load(environment.GetValueOrDefault);

        Assert.Equal("truck-042", settings.Vehicle.VehicleId);
        Assert.Equal("globex", settings.Vehicle.Tenant);
        Assert.Equal("/var/lib/fleet", settings.DataDirectory);
        Assert.Equal("/var/lib/fleet/journal.db", settings.JournalPath);
        Assert.False(settings.EmbeddedBroker.Enabled);
        Assert.Equal("debug", settings.Logging.Level);
        Assert.Equal("agent \"7\"", settings.Vehicle.Uplink.Broker.Username);
        Assert.Equal(@"p\a\\ss""word", settings.Vehicle.Uplink.Broker.Password);
    }

    /// <summary>
    /// A bad value from a variable names the variable first (that is where it is corrected), then the
    /// key and the file that reads it. Before: only "agent.conf: fleet.uplink.broker.url: ...", which
    /// sends the operator to a file that holds no mistake.
    /// </summary>
    [Theory]
    [InlineData("MQTT_BROKER", "nonsense://x", "fleet.uplink.broker.url", "scheme 'nonsense' is not supported")]
    [InlineData("FLEET_LOG_LEVEL", "loud", "fleet.logging.level", "must be verbose, debug, information, warning or error")]
    [InlineData("FLEET_VEHICLE_ID", "truck 7", "fleet.vehicle.id", "must be 1 to 64 letters")]
    [InlineData("FLEET_EMBEDDED_BROKER", "maybe", "fleet.embedded-broker.enabled", "must be on, off or auto")]
    public void Bad_value_from_the_environment_should_name_the_variable_the_key_and_the_file_that_reads_it(string variable, string value, string key, string problem)
    {
        var ex = Assert.Throws<ConfigurationException>(() => _folder.Load(name => name == variable ? value : null));
        var line = Assert.Single(ex.Problems);
        Assert.StartsWith($"environment variable {variable} ({key}, read in {_folder.AgentConf}): ", line, StringComparison.Ordinal);
        Assert.Contains(problem, line, StringComparison.Ordinal);
        // The value is not repeated: a variable may hold a secret.
        Assert.DoesNotContain(value, line, StringComparison.Ordinal);
    }

    [Fact]
    public void Variable_overridden_by_an_overlay_should_not_be_blamed_for_the_overlay_value()
    {
        var overlay = _folder.Overlay("fleet.uplink.broker.url = \"http://x\"\n", "site.conf");
        var ex = Assert.Throws<ConfigurationException>(() => _folder.Load(name => name == "MQTT_BROKER" ? "mqtt://10.0.0.1:1883" : null, overlay));
        AssertOnlyProblem(ex, overlay, "fleet.uplink.broker.url", "scheme 'http' is not supported");
    }

    [Fact]
    public void Keys_set_from_the_environment_should_be_listed_with_their_variable()
    {
        var environment = new Dictionary<string, string> { ["MQTT_BROKER"] = "mqtt://10.0.0.1:1883", ["FLEET_DATA_DIR"] = "/var/lib/fleet" };
        var settings = _folder.Load(environment.GetValueOrDefault);
        Assert.Equal(new Dictionary<string, string> { ["fleet.uplink.broker.url"] = "MQTT_BROKER", ["fleet.data-dir"] = "FLEET_DATA_DIR" },
            settings.EnvironmentKeys.ToDictionary());
    }

    [Fact]
    public void Password_without_a_username_should_be_reported_not_dropped()
    {
        var ex = Assert.Throws<ConfigurationException>(() => _folder.Load(name => name == "MQTT_PASSWORD" ? "secret" : null));
        var line = Assert.Single(ex.Problems);
        Assert.StartsWith("environment variable MQTT_PASSWORD (fleet.uplink.broker.password, read in ", line, StringComparison.Ordinal);
        Assert.EndsWith("is set but no username is (fleet.uplink.broker.username, MQTT_USERNAME)", line, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", line, StringComparison.Ordinal);
    }

    /// <summary>
    /// The rule of docs/configuration.md: <c>enabled = auto</c> (shipped) runs the embedded broker only
    /// when the uplink goes to it; an explicit on (variable or file) always runs it. Before: MQTT_BROKER
    /// to another broker left the embedded broker running, listening for nobody (or failing on its port).
    /// </summary>
    [Theory]
    [InlineData("mqtt://10.1.2.3:1883", null, "", false)]
    [InlineData("mqtt://broker.example:18830", null, "", false)]
    [InlineData("mqtt://10.1.2.3:1883", "on", "", true)]
    [InlineData("mqtt://10.1.2.3:1883", null, "fleet.embedded-broker.enabled = on", true)]
    [InlineData("mqtt://localhost:18830", null, "", true)]
    [InlineData("mqtt://127.0.0.1:18830", "off", "", false)]
    [InlineData(null, null, "", true)]
    [InlineData(null, null, "fleet.embedded-broker.port = 18831", false)]
    [InlineData(null, null, "fleet.embedded-broker { host = \"0.0.0.0\" }\nfleet.uplink.broker.url = \"mqtt://[::1]:18830\"", true)]
    public void Embedded_broker_should_run_when_the_uplink_goes_to_it_or_when_it_is_explicitly_on(string? mqttBroker, string? embeddedVariable, string overlay, bool runs)
    {
        var environment = new Dictionary<string, string?> { ["MQTT_BROKER"] = mqttBroker, ["FLEET_EMBEDDED_BROKER"] = embeddedVariable };
        var settings = _folder.Load(name => environment.GetValueOrDefault(name), _folder.Overlay(overlay + "\n"));
        Assert.Equal(runs, settings.EmbeddedBroker.Enabled);
    }

    [Fact]
    public void Overlay_should_override_the_shipped_value()
    {
        var overlay = _folder.Overlay("fleet.uplink.batch.max-records = 42\nfleet.wal.synchronous = normal\n");
        var settings = _folder.Load(overlay);
        Assert.Equal(42, settings.Vehicle.Uplink.MaxBatchRecords);
        Assert.Equal(SqliteSynchronous.Normal, settings.Synchronous);
        // Everything the overlay does not mention keeps the shipped value.
        Assert.Equal("truck-001", settings.Vehicle.VehicleId);
        Assert.Equal(3, settings.Vehicle.Sensors.Count);
        Assert.Equal([_folder.AkkaConf, _folder.AgentConf, overlay], settings.Files);
    }

    [Fact]
    public void Later_overlay_should_win_over_an_earlier_one()
    {
        var first = _folder.Overlay("fleet.uplink.batch.max-records = 42\nfleet.vehicle.tenant = first\n", "first.conf");
        var second = _folder.Overlay("fleet { uplink { batch { max-records = 43 } } }\n", "second.conf");
        var settings = _folder.Load(first, second);
        Assert.Equal(43, settings.Vehicle.Uplink.MaxBatchRecords);
        Assert.Equal("first", settings.Vehicle.Tenant);
    }

    [Fact]
    public void Overlay_list_should_replace_the_shipped_sensor_list()
    {
        var overlay = _folder.Overlay("fleet.sensors = [ { id = only-gps, type = sim-gps, rate-hz = 5 } ]\n");
        var sensor = Assert.Single(_folder.Load(overlay).Vehicle.Sensors);
        Assert.Equal(("only-gps", 5.0), (sensor.Id, sensor.RateHz));
    }

    [Fact]
    public void Empty_sensor_list_should_mean_no_sensors()
    {
        var overlay = _folder.Overlay("fleet.sensors = []\n");
        Assert.Empty(_folder.Load(overlay).Vehicle.Sensors);
    }

    [Fact]
    public void Serial_sensor_should_get_its_driver_options_from_its_own_keys()
    {
        var overlay = _folder.Overlay("""
            fleet.sensors = [ { id = gps, type = gps-nmea, port = "/dev/ttyACM0", baud = 38400, parity = even, min-mode = 3d, max-fix-age = 5s, record-to = "gps.trace" } ]
            """ + "\n");
        var sensor = Assert.Single(_folder.Load(overlay).Vehicle.Sensors);
        var options = sensor.OptionsOf<Fleet.Actors.Devices.Gps.NmeaGpsOptions>();

        Assert.Equal(("/dev/ttyACM0", 38400, System.IO.Ports.Parity.Even, "gps.trace"), (options.Serial.Port, options.Serial.BaudRate, options.Serial.Parity, options.Serial.RecordTo));
        Assert.Equal((Fleet.Actors.Devices.Gps.GpsMode.Fix3D, TimeSpan.FromSeconds(5), Fleet.Actors.Devices.Gps.GpsTimeSource.Receiver), (options.MinMode, options.MaxFixAge, options.TimeSource));
    }

    [Fact]
    public void Overlay_should_reach_akka_settings_in_the_merged_tree()
    {
        var overlay = _folder.Overlay("akka.persistence.query.journal.fleet-sqlite.max-buffer-size = 7\n");
        Assert.Equal(7, _folder.Load(overlay).Hocon.GetInt("akka.persistence.query.journal.fleet-sqlite.max-buffer-size"));
    }

    /// <summary>
    /// Misspelt or unknown keys under <c>akka</c> are reported like those under <c>fleet</c>, checked
    /// against the reference configuration of the Akka assemblies in use. Before: Akka ignored them
    /// and the agent ran with the default it was meant to change.
    /// </summary>
    [Theory]
    [InlineData("akka.persistence.journal.fleet-sqlite.synchronus = full", "akka.persistence.journal.fleet-sqlite.synchronus", "is not a known setting (misspelt?)")]
    [InlineData("akka.log-dead-leters = 3", "akka.log-dead-leters", "is not a known setting (misspelt?)")]
    [InlineData("akka { actor { ask-timout = 5s } }", "akka.actor.ask-timout", "is not a known setting (misspelt?)")]
    [InlineData("akka.persistence.journal.fleet-sqlit.synchronous = full", "akka.persistence.journal.fleet-sqlit", "is not a plugin Akka knows (fleet-sqlite, inmem, proxy) and names no class (misspelt?)")]
    [InlineData("akka.persistence.query.journal.fleet-sqlite.max-bufer-size = 10", "akka.persistence.query.journal.fleet-sqlite.max-bufer-size", "is not a known setting")]
    [InlineData("akka.actor.deployment { \"/user/x\" { nr-of-instanses = 3 } }", "akka.actor.deployment.\"/user/x\".nr-of-instanses", "is not a known setting")]
    [InlineData("akka.actor.deployment { user-x { router = round-robin-pool } }", "akka.actor.deployment.user-x", "is not an actor path")]
    [InlineData("akka.actor.my-dispatcher { type = Dispatcher, trhoughput = 5 }", "akka.actor.my-dispatcher.trhoughput", "is not a known setting")]
    [InlineData("akka.stream.materializer.initial-input-bufer-size = 8", "akka.stream.materializer.initial-input-bufer-size", "is not a known setting")]
    [InlineData("akka.coordinated-shutdown.phases.flush { timout = 3s }", "akka.coordinated-shutdown.phases.flush.timout", "is not a known setting")]
    [InlineData("akka.remote.dot-netty.tcp.port = 4053", "akka.remote", "is not a known setting")]
    [InlineData("akka.actor.default-dispatcher.throughput = many", "akka.actor.default-dispatcher.throughput", "must be a number (got \"many\")")]
    [InlineData("akka.loglevel = LOUD", "akka.loglevel", "must be one of DEBUG, ERROR, INFO, OFF, WARNING (got \"LOUD\")")]
    [InlineData("akka.log-dead-letters-during-shutdown = maybe", "akka.log-dead-letters-during-shutdown", "must be on or off (got \"maybe\")")]
    [InlineData("akka.coordinated-shutdown.default-phase-timeout = soon", "akka.coordinated-shutdown.default-phase-timeout", "must be a duration such as 500ms, 5s or 2m (got \"soon\")")]
    [InlineData("akka.actor.my-dispatcher { type = Dispatcher, throughput = lots }", "akka.actor.my-dispatcher.throughput", "must be a number (got \"lots\")")]
    public void Unknown_akka_key_in_an_overlay_should_name_the_overlay_and_the_key(string hocon, string key, string problem) =>
        AssertOverlayRefused(hocon, key, problem);

    [Fact]
    public void Unknown_akka_key_in_akka_conf_should_name_akka_conf()
    {
        File.WriteAllText(_folder.AkkaConf, File.ReadAllText(_folder.AkkaConf).Replace("max-buffer-size", "max-bufer-size", StringComparison.Ordinal));
        AssertOnlyProblem(_folder.LoadFails(), _folder.AkkaConf, "akka.persistence.query.journal.fleet-sqlite.max-bufer-size", "is not a known setting");
    }

    /// <summary>Sections whose children the user names are accepted where Akka accepts them.</summary>
    [Fact]
    public void Akka_sections_the_user_names_should_be_accepted()
    {
        var overlay = _folder.Overlay("""
            akka.persistence.journal.custom { class = "My.Journal, My", anything = 1 }
            akka.persistence.journal.fleet-sqlite { circuit-breaker.max-failures = 3, recovery-event-timeout = 60s }
            akka.persistence.snapshot-store.fleet-sqlite.snapshot-is-optional = true
            akka.actor.deployment { "/user/workers" { router = round-robin-pool, nr-of-instances = 3, resizer.enabled = on } }
            akka.actor.serializers { mine = "My.Serializer, My" }
            akka.actor.serialization-bindings { "My.Message, My" = mine }
            akka.actor.serialization-identifiers { "My.Serializer, My" = 4242 }
            akka.actor.io-dispatcher { type = Dispatcher, throughput = 1, dedicated-thread-pool.thread-count = 2 }
            akka.actor.mailbox.my-mailbox { mailbox-type = "My.Mailbox, My", mailbox-capacity = 100 }
            akka.coordinated-shutdown.phases.flush { depends-on = [service-stop], timeout = 3s }
            akka.loggers = ["Akka.Event.DefaultLogger"]
            """);
        Assert.Equal(60, _folder.Load(overlay).Hocon.GetTimeSpan("akka.persistence.journal.fleet-sqlite.recovery-event-timeout").TotalSeconds);
    }

    [Fact]
    public void Syntax_error_that_only_Akka_finds_should_name_the_file_line_and_column()
    {
        // HOCON allows a ',' after an object, Akka 1.5's parser does not.
        var overlay = _folder.Overlay("fleet.wal.max-entry-records = 3\nakka.actor.d { type = Dispatcher, a { b = 1 }, c = 2 }\n", "bad.conf");
        var line = Assert.Single(_folder.LoadFails(overlay).Problems);
        Assert.Equal($"{overlay}: line 2, column 46: Unknown token", line);
    }

    // One row per kind of bad value. Each is set in an overlay, so the problem must name the overlay,
    // not agent.conf (which sets most of these keys too).
    public static TheoryData<string, string, string> BadValues => new()
    {
        { "fleet.uplink.batch.max-records = 0", "fleet.uplink.batch.max-records", "must be at least 1 (got 0)" },
        { "fleet.uplink.batch.max-records = -5", "fleet.uplink.batch.max-records", "must be at least 1 (got -5)" },
        { "fleet.uplink.batch.max-records = abc", "fleet.uplink.batch.max-records", "must be a whole number (got \"abc\")" },
        { "fleet.uplink.batch.max-records = 2.5", "fleet.uplink.batch.max-records", "must be a whole number (got \"2.5\")" },
        { "fleet.wal.max-pending-readings = -1", "fleet.wal.max-pending-readings", "must be at least 1 (got -1)" },
        { "fleet.embedded-broker.port = 70000", "fleet.embedded-broker.port", "must be between 1 and 65535 (got 70000)" },
        {
            "fleet.sensors = [ { id = gps, type = sim-gps }, { id = obd, type = sim-obd, rate-hz = -1 } ]",
            "fleet.sensors[1].rate-hz", "must be between 0.001 and 100000 (got -1)"
        },
        {
            "fleet.sensors = [ { id = gps, type = sim-gps }, { id = obd, type = sim-obd, rate-hz = 0 } ]",
            "fleet.sensors[1].rate-hz", "must be between 0.001 and 100000 (got 0)"
        },
        {
            "fleet.sensors = [ { id = gps, type = gps-nmea } ]",
            "fleet.sensors[0].port", "is required (a device path such as /dev/ttyUSB0), or give replay { file = ... }"
        },
        {
            "fleet.sensors = [ { id = gps, type = gps-nmea, port = \"/dev/ttyUSB0\", min-mode = 4d } ]",
            "fleet.sensors[0].min-mode", "must be 2d or 3d (got \"4d\")"
        },
        {
            "fleet.sensors = [ { id = gps, type = gps-nmea, port = \"/dev/ttyUSB0\", baud = 12 } ]",
            "fleet.sensors[0].baud", "must be between 50 and 4000000 (got 12)"
        },
        {
            "fleet.sensors = [ { id = gps, type = gps-nmea, port = \"/dev/ttyUSB0\", prot = 1 } ]",
            "fleet.sensors[0].prot", "is not a known setting (misspelt?)"
        },
        {
            "fleet.sensors = [ { id = gps, type = gps-nmea, replay { file = \"/nonexistent/gps.log\" } } ]",
            "fleet.sensors[0].replay.file", "does not exist: /nonexistent/gps.log"
        },
        {
            "fleet.sensors = [ { id = gps, type = sim-gps, rate-hz = fast } ]",
            "fleet.sensors[0].rate-hz", "must be a number (got \"fast\")"
        },
        { "fleet.uplink.batch.linger = soon", "fleet.uplink.batch.linger", "must be a duration such as 500ms, 5s or 2m (got \"soon\")" },
        { "fleet.uplink.broker.keep-alive = 15 parsecs", "fleet.uplink.broker.keep-alive", "must be a duration" },
        { "fleet.uplink.batch.linger = -5s", "fleet.uplink.batch.linger", "(got \"-5s\")" },
        { "fleet.wal.delivered-flush-interval = 0ms", "fleet.wal.delivered-flush-interval", "must be between" },
        { "fleet.shutdown.drain-timeout = 2h", "fleet.shutdown.drain-timeout", "must be between" },
        { "fleet.shutdown { drain-timeout = 30s, timeout = 30s }", "fleet.shutdown.drain-timeout", "must be less than shutdown.timeout (30s)" },
        { "fleet.health { sample-interval = 10s, heartbeat-interval = 5s }", "fleet.health.heartbeat-interval", "must be at least sample-interval (10s)" },
        { "fleet.health { sample-interval = 10s, uplink-stall-timeout = 15s }", "fleet.health.uplink-stall-timeout", "must be 0 (off) or at least two sample intervals (20s)" },
        { "fleet.health.sample-interval = 10ms", "fleet.health.sample-interval", "must be between" },
        { "fleet.shutdown.timeout = 0s", "fleet.shutdown.timeout", "must be between" },
        {
            "fleet.operations.safe-stop.settle = 45s", "fleet.operations.safe-stop.settle",
            "must be less than commands.execution-timeout (30s), or a safe stop that completes is reported FAILED (timeout)"
        },
        { "fleet.uplink.reconnect.probe-interval = -1s", "fleet.uplink.reconnect.probe-interval", "(got \"-1s\")" },
        { "fleet.uplink.broker { url = \"mqtts://b\", tls.check-interval = -1s }", "fleet.uplink.broker.tls.check-interval", "(got \"-1s\")" },
        {
            "fleet.sensors = [ { id = gps, type = sim-gps, reconnect.min-backoff = never } ]",
            "fleet.sensors[0].reconnect.min-backoff", "must be a duration"
        },
        { "fleet.wal.max-entry-bytes = lots", "fleet.wal.max-entry-bytes", "must be a size such as 64KiB or 256MiB (got \"lots\")" },
        { "fleet.uplink.batch.max-bytes = 12XB", "fleet.uplink.batch.max-bytes", "must be a size" },
        { "fleet.uplink.batch.max-bytes = 100", "fleet.uplink.batch.max-bytes", "must be between 1024 and 67108864 (got 100)" },
        { "fleet.wal.synchronous = sometimes", "fleet.wal.synchronous", "must be one of full, normal (got \"sometimes\")" },
        { "fleet.uplink.compression.codec = gzip", "fleet.uplink.compression.codec", "must be one of zstd, none (got \"gzip\")" },
        { "fleet.embedded-broker.enabled = maybe", "fleet.embedded-broker.enabled", "must be on, off or auto (got \"maybe\")" },
        { "fleet.embedded-broker.host = localhost", "fleet.embedded-broker.host", "must be an IP address to listen on" },
        { "fleet.logging.format = xml", "fleet.logging.format", "must be one of text, json (got \"xml\")" },
        { "fleet.logging.file-size-limit = 100", "fleet.logging.file-size-limit", "must be at least 1024 (got 100)" },
        { "fleet.logging.file-size-limit = big", "fleet.logging.file-size-limit", "must be a size" },
        { "fleet.logging.level = loud", "fleet.logging.level", "must be verbose, debug, information, warning or error (got \"loud\")" },
        { "fleet.simulation.route = atlantis", "fleet.simulation.route", "must be one of hamburg-port (got \"atlantis\")" },
        {
            "fleet.sensors = [ { id = lidar, type = sim-lidar } ]",
            // Only the start of the list: every sensor issue adds driver types to it.
            "fleet.sensors[0].type", "unknown driver type \"sim-lidar\" (known: "
        },
        {
            "fleet.sensors = [ { id = imu, type = imu-mpu6050, simulated = on, accel-range-g = 3 } ]",
            "fleet.sensors[0].accel-range-g", "must be one of 2, 4, 8, 16 (got 3)"
        },
        {
            "fleet.sensors = [ { id = gps, type = sim-gps }, { id = gps, type = sim-imu } ]",
            "fleet.sensors", "sensor id \"gps\" is used more than once"
        },
        { "fleet.sensors = [ { type = sim-gps } ]", "fleet.sensors[0].id", "is required" },
        { "fleet.sensors = [ { id = gps, type = sim-gps }, 42 ]", "fleet.sensors[1]", "must be an object" },
        { "fleet.sensors { gps { type = sim-gps } }", "fleet.sensors", "must be a list" },
        { "fleet.vehicle.id = \"truck 001/x\"", "fleet.vehicle.id", "must be 1 to 64 letters, digits, '.', '_' or '-' starting with a letter or digit (got \"truck 001/x\")" },
        { "fleet.vehicle.id = \"-truck\"", "fleet.vehicle.id", "must be 1 to 64 letters" },
        { $"fleet.vehicle.id = {new string('t', 65)}", "fleet.vehicle.id", "must be 1 to 64 letters" },
        { "fleet.vehicle.id = \"\"", "fleet.vehicle.id", "is required" },
        { "fleet.uplink.bacth.max-records = 10", "fleet.uplink.bacth.max-records", "is not a known setting (misspelt?)" },
        { "fleet.sensors = [ { id = gps, type = sim-gps, rate_hz = 5 } ]", "fleet.sensors[0].rate_hz", "is not a known setting" },
        { "fleet.colour = blue", "fleet.colour", "is not a known setting" },
        { "fleet.uplink.broker.url = \"http://broker:1883\"", "fleet.uplink.broker.url", "scheme 'http' is not supported (use mqtt:// or mqtts://)" },
        { "fleet.uplink.broker.url = \"mqtt://\"", "fleet.uplink.broker.url", "is not a broker address (expected mqtt://host:port)" },
        { "fleet.uplink.topics.telemetry = \"\"", "fleet.uplink.topics.telemetry", "must not be empty" },
        { "fleet.uplink.topics.status = \"fleet/{tenant}/{truck}/status\"", "fleet.uplink.topics.status", "has an unknown placeholder" },
        { "fleet.uplink.compression.level = 30", "fleet.uplink.compression.level", "must be between 1 and 19" },
        { "fleet.uplink.reconnect.max-backoff = 100ms", "fleet.uplink.reconnect.max-backoff", "must not be less than min-backoff" },
        { "fleet.wal.snapshot-every = 5", "fleet.wal.snapshot-every", "must be at least 10" },
        { "fleet.scripting.max-writes-awaiting-log = 0", "fleet.scripting.max-writes-awaiting-log", "must be between 1 and 100000" },
        // A constraint between two keys (docs/configuration.md): a journal row must fit in a segment.
        { "fleet.wal { segment-bytes = 64KiB, max-entry-bytes = 128KiB }", "fleet.wal.segment-bytes", "must be at least max-entry-bytes" },
        { "fleet.data-dir = \"  \"", "fleet.data-dir", "must not be empty" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void Bad_value_in_an_overlay_should_name_the_overlay_the_full_key_and_the_problem(string hocon, string key, string problem) =>
        AssertOverlayRefused(hocon, key, problem);

    [Fact]
    public void Object_where_a_single_value_belongs_should_be_reported_against_the_overlay()
    {
        var overlay = _folder.Overlay("fleet.vehicle.id { nested = 1 }\n", "bad.conf");
        var ex = _folder.LoadFails(overlay);
        AssertProblemLine(Assert.Single(ex.Problems, p => p.Contains("single value", StringComparison.Ordinal)),
            overlay, "fleet.vehicle.id", "must be a single value, not an object or a list");
        Assert.All(ex.Problems, p => Assert.StartsWith($"{overlay}: fleet.vehicle.id: ", p, StringComparison.Ordinal));
    }

    /// <summary>
    /// A number too large for an int is refused, and the message says what the limit is. Fails today:
    /// <c>ConfigReader.InRange</c> words every out-of-range value of an unbounded-above key as
    /// "must be at least 1 (got 99999999999)", which is true of the value given (see the report).
    /// </summary>
    [Fact]
    public void Integer_too_large_for_the_setting_should_be_reported_with_the_limit()
    {
        var overlay = _folder.Overlay("fleet.uplink.batch.max-records = 99999999999\n", "bad.conf");
        var ex = _folder.LoadFails(overlay);
        AssertOnlyProblem(ex, overlay, "fleet.uplink.batch.max-records", "2147483647");
    }

    /// <summary>
    /// A duration out of range names its bounds the way the configuration writes durations (found
    /// by a new user: "must be between 00:00:00 and 00:00:10 (got 20s)").
    /// </summary>
    [Fact]
    public void Duration_out_of_range_should_name_its_bounds_as_durations_are_written() =>
        AssertOverlayRefused("fleet.wal.commit-interval = 20s", "fleet.wal.commit-interval", "must be between 0s and 10s (got 20s)");

    /// <summary>The early-commit threshold of the log is read and checked like its other bounds.</summary>
    [Fact]
    public void Commit_records_should_be_read_and_refused_below_one()
    {
        Assert.Equal(32, new WalSettings().CommitRecords);
        AssertOverlayRefused("fleet.wal.commit-records = 0", "fleet.wal.commit-records", "must be at least 1");
    }

    /// <summary>
    /// Enum settings take their names only. Fails today: <c>Enum.TryParse</c> also accepts numbers, so
    /// <c>synchronous = 0</c> (SQLite's "off") silently means full, <c>1</c> means normal, and the flags
    /// syntax <c>"full, normal"</c> means normal (see the report).
    /// </summary>
    [Theory]
    [InlineData("fleet.wal.synchronous = 0", "fleet.wal.synchronous")]
    [InlineData("fleet.uplink.compression.codec = 1", "fleet.uplink.compression.codec")]
    [InlineData("fleet.wal.synchronous = \"full, normal\"", "fleet.wal.synchronous")]
    public void Enum_setting_should_accept_only_the_names_of_its_values(string hocon, string key)
    {
        var overlay = _folder.Overlay(hocon + "\n", "bad.conf");
        var ex = _folder.LoadFails(overlay);
        AssertOnlyProblem(ex, overlay, key, "must be one of");
    }

    [Fact]
    public void Enum_setting_should_accept_any_case()
    {
        var overlay = _folder.Overlay("fleet.wal.synchronous = NORMAL\nfleet.uplink.compression.codec = None\n");
        var settings = _folder.Load(overlay);
        Assert.Equal(SqliteSynchronous.Normal, settings.Synchronous);
        Assert.Equal(PayloadCompression.None, settings.Vehicle.Uplink.Compression);
    }

    [Fact]
    public void Bad_value_in_agent_conf_should_name_agent_conf()
    {
        _folder.EditAgentConf(t => t.Replace("max-records = 5000", "max-records = -3", StringComparison.Ordinal));
        var ex = _folder.LoadFails();
        AssertOnlyProblem(ex, _folder.AgentConf, "fleet.uplink.batch.max-records", "must be at least 1 (got -3)");
    }

    [Fact]
    public void Missing_vehicle_id_should_be_reported_against_agent_conf()
    {
        _folder.EditAgentConf(t => t
            .Replace("id = \"truck-001\"", "", StringComparison.Ordinal)
            .Replace("id = ${?FLEET_VEHICLE_ID}", "", StringComparison.Ordinal));
        var ex = _folder.LoadFails();
        AssertOnlyProblem(ex, _folder.AgentConf, "fleet.vehicle.id", "is required");
    }

    [Fact]
    public void Every_problem_should_be_reported_at_once_each_against_its_own_file()
    {
        _folder.EditAgentConf(t => t.Replace("snapshot-every = 500", "snapshot-every = many", StringComparison.Ordinal));
        var overlay = _folder.Overlay("fleet.uplink.batch.max-records = 0\nfleet.wal.synchronous = sometimes\n", "bad.conf");
        var ex = _folder.LoadFails(overlay);

        Assert.Equal(3, ex.Problems.Count);
        AssertProblemLine(Assert.Single(ex.Problems, p => p.Contains("snapshot-every", StringComparison.Ordinal)),
            _folder.AgentConf, "fleet.wal.snapshot-every", "must be a whole number (got \"many\")");
        AssertProblemLine(Assert.Single(ex.Problems, p => p.Contains("max-records", StringComparison.Ordinal)),
            overlay, "fleet.uplink.batch.max-records", "must be at least 1");
        AssertProblemLine(Assert.Single(ex.Problems, p => p.Contains("synchronous", StringComparison.Ordinal)),
            overlay, "fleet.wal.synchronous", "must be one of");
        // The exception's message carries every line too, for callers that only log the exception.
        Assert.All(ex.Problems, p => Assert.Contains(p, ex.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Broken_syntax_in_an_overlay_should_name_the_overlay_and_the_line()
    {
        var overlay = _folder.Overlay("fleet {\n  uplink {\n    batch.max-records = 10\n  }\n", "broken.conf");
        var ex = _folder.LoadFails(overlay);
        var line = Assert.Single(ex.Problems);
        Assert.Equal($"{overlay}: line 1, column 7: '{{' is never closed", line);
    }

    [Fact]
    public void Broken_syntax_in_agent_conf_should_name_agent_conf_and_the_line()
    {
        _folder.EditAgentConf(t => t.Replace("id = \"truck-001\"", "id = \"truck-001", StringComparison.Ordinal));
        var ex = _folder.LoadFails();
        var line = Assert.Single(ex.Problems);
        Assert.StartsWith($"{_folder.AgentConf}: line 9, column ", line, StringComparison.Ordinal);
        Assert.EndsWith("unterminated string", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Broken_syntax_in_akka_conf_should_name_akka_conf()
    {
        File.AppendAllText(_folder.AkkaConf, "akka.actor {\n");
        var ex = _folder.LoadFails();
        var line = Assert.Single(ex.Problems);
        Assert.StartsWith($"{_folder.AkkaConf}: line ", line, StringComparison.Ordinal);
        Assert.Contains("never closed", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Required_environment_variable_that_is_not_set_should_name_the_overlay_and_the_line()
    {
        var overlay = _folder.Overlay("# the fleet's broker\nfleet.uplink.broker.url = ${FLEET_TEST_BROKER}\n", "env.conf");
        var ex = _folder.LoadFails(overlay);
        var line = Assert.Single(ex.Problems);
        Assert.Equal($"{overlay}: line 2, column 27: environment variable FLEET_TEST_BROKER is not set", line);
    }

    [Fact]
    public void Missing_agent_conf_should_be_reported_with_its_path()
    {
        File.Delete(_folder.AgentConf);
        var ex = _folder.LoadFails();
        var line = Assert.Single(ex.Problems);
        Assert.StartsWith($"{_folder.AgentConf}: file not found", line, StringComparison.Ordinal);
        Assert.Contains("--config-dir", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_configuration_folder_should_be_reported_with_the_agent_conf_path()
    {
        var missing = Path.Combine(_folder.Root, "no-such-folder");
        var ex = Assert.Throws<ConfigurationException>(() => AgentConfiguration.Load(missing, [], ConfigFolder.NoEnvironment));
        Assert.StartsWith($"{Path.Combine(missing, AgentConfiguration.AgentFile)}: file not found", Assert.Single(ex.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_overlay_should_be_reported_with_its_path()
    {
        var missing = Path.Combine(_folder.Root, "missing.conf");
        var ex = _folder.LoadFails(missing);
        Assert.Equal($"{missing}: file not found", Assert.Single(ex.Problems));
    }

    [Fact]
    public void Missing_akka_conf_should_be_allowed()
    {
        File.Delete(_folder.AkkaConf);
        var settings = _folder.Load();
        Assert.Equal([_folder.AgentConf], settings.Files);
        Assert.Equal("truck-001", settings.Vehicle.VehicleId);
    }
}
