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
    public async Task Run_should_apply_MQTT_BROKER_from_its_environment()
    {
        // A broker address the agent refuses proves the variable reached the settings without starting anything.
        var result = await Run(new Dictionary<string, string> { ["MQTT_BROKER"] = "nonsense://x" }, "run", "--config-dir", _folder.Directory);
        AssertRefusedBeforeStarting(result);
        Assert.Contains($"{_folder.AgentConf}: fleet.uplink.broker.url: scheme 'nonsense' is not supported", result.StandardError, StringComparison.Ordinal);
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
