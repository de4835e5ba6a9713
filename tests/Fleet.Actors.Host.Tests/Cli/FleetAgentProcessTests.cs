using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Fleet.Actors.Host.Cli;
using Fleet.Actors.Host.Configuration;
using Fleet.Actors.Host.Tests.Support;

namespace Fleet.Actors.Host.Tests.Cli;

/// <summary>
/// The real <c>fleet-agent</c> program, run as a child process: an unusable configuration ends it
/// with exit code 1 and a message on stderr naming the file, the key and the problem, before
/// anything is started or written; <c>verify</c> refuses bad arguments.
/// </summary>
public sealed class FleetAgentProcessTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private Task<ProcessResult> Run(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        AgentProcess.RunAsync(_folder.Root, environment, args);

    private void AssertRefusedBeforeStarting(ProcessResult result)
    {
        Assert.True(result.ExitCode == RunCommand.ConfigurationError, result.ToString());
        Assert.StartsWith("fleet-agent: invalid configuration", result.StandardError, StringComparison.Ordinal);
        // Refused before the data folder, the log file or the embedded broker exist.
        Assert.False(Directory.Exists(Path.Combine(_folder.Root, "data")), "the data folder was created");
        Assert.DoesNotContain("starting", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_with_a_bad_value_in_an_overlay_should_exit_1_naming_the_overlay_key_and_problem()
    {
        var overlay = _folder.Overlay("fleet.uplink.batch.max-records = 0\n", "bad.conf");
        var result = await Run(null, "run", "--config-dir", _folder.Directory, "--config", overlay);
        AssertRefusedBeforeStarting(result);
        Assert.Contains($"{overlay}: fleet.uplink.batch.max-records: must be at least 1 (got 0)", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_with_several_overlays_should_report_each_problem_against_its_own_file()
    {
        var first = _folder.Overlay("fleet.wal.synchronous = sometimes\n", "first.conf");
        var second = _folder.Overlay("fleet.sensors = [ { id = gps, type = sim-lidar } ]\n", "second.conf");
        var result = await Run(null, "run", "--config-dir", _folder.Directory, "--config", first, "--config", second);
        AssertRefusedBeforeStarting(result);
        Assert.Contains($"{first}: fleet.wal.synchronous: must be one of", result.StandardError, StringComparison.Ordinal);
        Assert.Contains($"{second}: fleet.sensors[0].type: unknown driver type \"sim-lidar\"", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_with_broken_syntax_in_agent_conf_should_exit_1_naming_the_file_and_line()
    {
        var line = File.ReadLines(_folder.AgentConf).TakeWhile(l => l != "  simulation {").Count() + 1;
        _folder.EditAgentConf(t => t.Replace("  simulation {", "  simulation", StringComparison.Ordinal));
        var result = await Run(null, "run", "--config-dir", _folder.Directory);
        AssertRefusedBeforeStarting(result);
        Assert.Contains($"{_folder.AgentConf}: line {line}, column 1: 'simulation' is a key without a value", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_should_apply_MQTT_BROKER_from_its_environment_and_name_the_variable_when_its_value_is_bad()
    {
        // A broker address the agent refuses proves the variable reached the settings without starting anything.
        var result = await Run(new Dictionary<string, string> { ["MQTT_BROKER"] = "nonsense://x" }, "run", "--config-dir", _folder.Directory);
        AssertRefusedBeforeStarting(result);
        Assert.Contains($"  environment variable MQTT_BROKER (fleet.uplink.broker.url, read in {_folder.AgentConf}): scheme 'nonsense' is not supported",
            result.StandardError, StringComparison.Ordinal);
    }

    /// <summary>
    /// Another program holds the embedded broker's port: one line names the port, the cause and how to
    /// run without the embedded broker, and the process exits 1. Before: an unhandled SocketException
    /// with MQTTnet's and the host's stack traces.
    /// </summary>
    [Fact]
    public async Task Run_with_the_embedded_broker_port_in_use_should_exit_1_with_one_line_naming_the_port_and_the_way_out()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var result = await RunWithBrokerPortHeld(port);

        Assert.True(result.ExitCode == 1, result.ToString());
        var output = result.StandardOutput + result.StandardError;
        var line = Assert.Single(Lines(output), l => l.Contains("embedded MQTT broker", StringComparison.Ordinal));
        Assert.Contains($"cannot listen on 127.0.0.1:{port}: the port is in use", line, StringComparison.Ordinal);
        Assert.Contains("FLEET_EMBEDDED_BROKER=off", line, StringComparison.Ordinal);
        Assert.Contains("fleet.embedded-broker.port", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
        // The agent never started.
        Assert.DoesNotContain("starting", result.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>
    /// <c>command send</c> to a broker address where nothing listens: exit 3 with the socket's own
    /// reason, not MQTTnet's wrapper ("Error while connecting host 'Unspecified/127.0.0.1:...'").
    /// </summary>
    [Fact]
    public async Task Command_send_to_a_port_where_nothing_listens_should_exit_3_naming_the_refused_connection()
    {
        var keys = Path.Combine(_folder.Root, "keys");
        var generated = await Run(null, "keys", "generate", "--name", "ops", "--out", keys);
        Assert.True(generated.ExitCode == 0, generated.ToString());
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var result = await Run(null, "command", "send", "--broker", $"mqtt://127.0.0.1:{port}", "--key", Path.Combine(keys, "ops.key"),
            "--tenant", "t", "--vehicle", "v", "--type", "DIAGNOSTICS", "--timeout", "5s");

        Assert.True(result.ExitCode == CommandSendCommand.NoAnswer, result.ToString());
        var line = Assert.Single(Lines(result.StandardError));
        Assert.Equal($"fleet-agent command send: mqtt://127.0.0.1:{port}: Cannot reach broker 127.0.0.1:{port}: Connection refused", line);
    }

    [Fact]
    public async Task Run_should_log_the_files_it_read_in_one_info_line()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        // The held port ends the run right after the configuration is read; the line is written before.
        var result = await RunWithBrokerPortHeld(((IPEndPoint)holder.LocalEndpoint).Port, environment: new() { ["FLEET_TENANT"] = "globex" });

        var overlay = Path.Combine(_folder.Root, "port.conf");
        var line = Assert.Single(Lines(result.StandardOutput), l => l.Contains("Configuration from", StringComparison.Ordinal));
        Assert.Contains($"INF] Configuration from {_folder.AkkaConf}, {_folder.AgentConf}, {overlay} (later files win); from the environment: FLEET_TENANT (fleet.vehicle.tenant)",
            line, StringComparison.Ordinal);
    }

    /// <summary><c>fleet.logging.format = json</c>: every line on the console and in the file is a JSON object (CLEF).</summary>
    [Fact]
    public async Task Run_with_the_json_log_format_should_write_one_json_object_per_line_to_console_and_file()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var result = await RunWithBrokerPortHeld(((IPEndPoint)holder.LocalEndpoint).Port, "fleet.logging.format = json\n");

        var logFile = Assert.Single(Directory.GetFiles(Path.Combine(_folder.Root, "data", "logs")));
        foreach (var text in new[] { result.StandardOutput, await File.ReadAllTextAsync(logFile) })
        {
            var lines = Lines(text).ToList();
            Assert.True(lines.Count >= 2, result.ToString());
            foreach (var line in lines)
            {
                using var json = JsonDocument.Parse(line);
                Assert.True(json.RootElement.TryGetProperty("@t", out _), line);
                Assert.True(json.RootElement.TryGetProperty("@mt", out _), line);
            }
            Assert.Contains(lines, l => l.Contains("\"@l\":\"Fatal\"", StringComparison.Ordinal) && l.Contains("the port is in use", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Check_with_a_valid_configuration_should_exit_0_and_print_it_with_secrets_masked_starting_nothing()
    {
        var overlay = _folder.Overlay("""
            fleet.uplink.broker.url = "mqtt://agent:url-secret-1@10.9.8.7:1883"
            fleet.uplink.batch.max-records = 42
            akka.persistence.journal.fleet-sqlite.connection-string = "Data Source=x.db;Password=cs-secret-2"
            """, "site.conf");
        // A file with a password in it must be private to its owner, or the agent refuses it.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(overlay, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var environment = new Dictionary<string, string> { ["MQTT_USERNAME"] = "agent", ["MQTT_PASSWORD"] = "env-secret-3" };

        var result = await Run(environment, "check", "--config-dir", _folder.Directory, "--config", overlay);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.StandardError);
        var output = result.StandardOutput;
        Assert.Contains($"# Files (later ones win): {_folder.AkkaConf}, {_folder.AgentConf}, {overlay}", output, StringComparison.Ordinal);
        Assert.Contains("# From the environment: MQTT_USERNAME (fleet.uplink.broker.username), MQTT_PASSWORD (fleet.uplink.broker.password)", output, StringComparison.Ordinal);
        // The uplink goes to another broker, so the embedded one (enabled = auto) stays off.
        Assert.Contains("# Embedded broker: off (enabled = auto and the uplink goes to 10.9.8.7:1883)", output, StringComparison.Ordinal);
        Assert.Contains("      max-records = 42", output, StringComparison.Ordinal);
        Assert.Contains($"      password = \"{EffectiveConfiguration.Mask}\"", output, StringComparison.Ordinal);
        Assert.Contains($"url = \"mqtt://agent:{EffectiveConfiguration.Mask}@10.9.8.7:1883\"", output, StringComparison.Ordinal);
        Assert.Contains($"connection-string = \"Data Source=x.db;Password={EffectiveConfiguration.Mask}\"", output, StringComparison.Ordinal);
        foreach (var secret in new[] { "url-secret-1", "cs-secret-2", "env-secret-3" })
            Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
        // Nothing was started or written.
        Assert.False(Directory.Exists(Path.Combine(_folder.Root, "data")), "the data folder was created");
        Assert.DoesNotContain("listening", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// A password file that others can read: <c>run</c> refuses to start, exit 1, one line naming the
    /// file and its mode (as ssh does for a private key), before anything is started or written.
    /// </summary>
    [Fact]
    public async Task Run_with_a_password_file_readable_by_others_should_exit_1_with_one_line_naming_file_and_mode()
    {
        var password = Path.Combine(_folder.Root, "broker-password");
        await File.WriteAllTextAsync(password, "pw-secret-4\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(password, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var overlay = _folder.Overlay($"fleet.uplink.broker {{ username = agent, password-file = \"{password}\" }}", "site.conf");

        var result = await Run(null, "run", "--config-dir", _folder.Directory, "--config", overlay);

        Assert.True(result.ExitCode == RunCommand.ConfigurationError, result.ToString());
        Assert.Equal($"fleet-agent: {password}: permissions 0644 are too open: it holds the broker password (fleet.uplink.broker.password-file) and must not be readable by group or others (chmod 600 {password})",
            result.StandardError.TrimEnd());
        Assert.False(Directory.Exists(Path.Combine(_folder.Root, "data")), "the data folder was created");
        Assert.DoesNotContain("pw-secret-4", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
    }

    /// <summary><c>check</c> shows where the password file is (a path, not a secret) and never its content.</summary>
    [Fact]
    public async Task Check_should_show_the_password_file_path_but_not_the_password()
    {
        var password = Path.Combine(_folder.Root, "broker-password");
        await File.WriteAllTextAsync(password, "pw-secret-5\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(password, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var overlay = _folder.Overlay($"fleet.uplink.broker {{ username = agent, password-file = \"{password}\" }}", "site.conf");

        var result = await Run(null, "check", "--config-dir", _folder.Directory, "--config", overlay);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"password-file = \"{password}\"", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("pw-secret-5", result.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>
    /// One run of <c>check</c> names every problem: values of the agent's keys, a misspelt Akka key, a
    /// bad variable, and a script's reference to a GPIO line that does not exist next to another
    /// problem of the same scripts. Before: no <c>check</c>; <c>run</c> ignored the Akka key and named
    /// the GPIO line only once the script's other problem was fixed.
    /// </summary>
    [Fact]
    public async Task Check_should_report_every_problem_in_one_pass_and_exit_1()
    {
        var overlay = _folder.Overlay("""
            fleet.uplink.batch.max-records = 0
            akka.persistence.journal.fleet-sqlite.synchronus = full
            fleet.scripting.scripts = [
              { id = a, priority = urgent, actions = [ { type = publish, topic = t } ] }
              { id = b, actions = [ { type = gpio-write, line = 5, level = 1 } ] }
            ]
            """, "site.conf");

        var result = await Run(new Dictionary<string, string> { ["FLEET_EMBEDDED_BROKER"] = "maybe" }, "check", "--config-dir", _folder.Directory, "--config", overlay);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal("", result.StandardOutput);
        var expected = new[]
        {
            "fleet-agent: invalid configuration",
            $"{overlay}: fleet.uplink.batch.max-records: must be at least 1 (got 0)",
            $"{overlay}: akka.persistence.journal.fleet-sqlite.synchronus: is not a known setting (misspelt?)",
            $"{overlay}: fleet.scripting.scripts[0].priority: must be low, normal, high, critical, emergency or a number from 0 to 255 (got \"urgent\")",
            $"{overlay}: fleet.scripting.scripts[1].actions[0].line: no GPIO line on pin 5 is configured (fleet.gpio.lines)",
            $"environment variable FLEET_EMBEDDED_BROKER (fleet.embedded-broker.enabled, read in {_folder.AgentConf}): must be on, off or auto",
        };
        Assert.Equal(expected.Order(StringComparer.Ordinal), Lines(result.StandardError).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Run_with_a_folder_without_agent_conf_should_exit_1_naming_the_missing_file()
    {
        var empty = Path.Combine(_folder.Root, "empty");
        Directory.CreateDirectory(empty);
        var result = await Run(null, "run", "--config-dir", empty);
        AssertRefusedBeforeStarting(result);
        Assert.Contains($"{Path.Combine(empty, AgentConfiguration.AgentFile)}: file not found", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_with_a_missing_overlay_should_exit_1_naming_it()
    {
        var missing = Path.Combine(_folder.Root, "missing.conf");
        var result = await Run(null, "run", "--config-dir", _folder.Directory, "--config", missing);
        AssertRefusedBeforeStarting(result);
        Assert.Contains($"{missing}: file not found", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_without_config_dir_should_read_the_hocon_folder_of_the_working_directory()
    {
        _folder.EditAgentConf(t => t.Replace("tenant = \"acme\"", "tenant = \"ac me\"", StringComparison.Ordinal));
        var result = await Run(null, "run");
        AssertRefusedBeforeStarting(result);
        Assert.Contains($"{_folder.AgentConf}: fleet.vehicle.tenant: must be 1 to 64 letters", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_with_a_data_folder_it_cannot_create_should_exit_1_naming_the_key()
    {
        // /proc does not allow new folders, even for root.
        var overlay = _folder.Overlay("fleet.data-dir = \"/proc/fleet-agent-test\"\nfleet.embedded-broker.enabled = off\n", "data.conf");
        var result = await Run(null, "run", "--config-dir", _folder.Directory, "--config", overlay);
        Assert.True(result.ExitCode == RunCommand.ConfigurationError, result.ToString());
        Assert.Contains("cannot use the data folder /proc/fleet-agent-test (fleet.data-dir)", result.StandardError, StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs the agent with its embedded broker (and the uplink) on <paramref name="port"/>, which the
    /// test holds, and the data folder in the scratch folder: the run ends when the broker cannot listen.
    /// </summary>
    private Task<ProcessResult> RunWithBrokerPortHeld(int port, string extra = "", Dictionary<string, string>? environment = null)
    {
        var overlay = _folder.Overlay($"""
            fleet.embedded-broker.port = {port}
            fleet.uplink.broker.url = "mqtt://127.0.0.1:{port}"
            fleet.data-dir = {JsonSerializer.Serialize(Path.Combine(_folder.Root, "data"))}

            """ + extra, "port.conf");
        return Run(environment, "run", "--config-dir", _folder.Directory, "--config", overlay);
    }

    private static IEnumerable<string> Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public async Task Verify_with_a_broker_of_an_unknown_scheme_should_exit_1_without_connecting()
    {
        var result = await Run(null, "verify", "--broker", "nonsense://x");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("fleet-agent verify: --broker: scheme 'nonsense' is not supported", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Listening on", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_should_refuse_an_idle_timeout_that_is_not_a_duration()
    {
        var result = await Run(null, "verify", "--broker", "mqtt://127.0.0.1:1", "--idle-timeout", "abc");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("'abc' is not a duration", result.StandardError, StringComparison.Ordinal);
        // The parser stops it: the command never tried the broker.
        Assert.DoesNotContain("cannot subscribe", result.StandardError, StringComparison.Ordinal);
    }
}
