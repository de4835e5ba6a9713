using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Host.Tests.Support;

namespace Fleet.Actors.Host.Tests.Configuration;

/// <summary>
/// <c>fleet.scripting</c> through the agent's configuration loader: the settings it gives, and a
/// problem with the full key for a bad script and for every reference to hardware that is not configured.
/// </summary>
public sealed class ScriptingConfigurationTests : IDisposable
{
    private const string Hardware = """
        fleet.gpio.lines = [
          { id = door, pin = 17, direction = input }
          { id = horn, pin = 27, direction = output }
        ]
        fleet.plcs = [ { id = plc1, host = "127.0.0.1", points = [ { name = temp, address = 1 } ] } ]

        """;

    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Shipped_files_should_configure_no_scripts_and_the_documented_defaults()
    {
        var scripting = _folder.Load().Vehicle.Scripting;
        Assert.Empty(scripting.Document.Scripts);
        Assert.Equal(ScriptLimits.Default, scripting.Document.Limits);
        Assert.Equal(TimeSpan.FromMilliseconds(100), scripting.Cycle);
        Assert.Equal(TimeSpan.FromSeconds(6), scripting.WriteTimeout);
    }

    [Fact]
    public void Scripting_section_should_reach_the_vehicle_settings()
    {
        var overlay = _folder.Overlay(Hardware + """
            fleet.scripting {
              cycle = 250ms
              limits { max-runs-per-minute = 5 }
              scripts = [
                { id = honk, priority = emergency, triggers = [ { type = gpio-edge, line = 17, edge = rising } ],
                  actions = [ { type = gpio-write, line = 27, level = 1 }, { type = modbus-write-coil, device = plc1, address = 3, value = true } ] }
              ]
            }
            """);

        var scripting = _folder.Load(overlay).Vehicle.Scripting;

        Assert.Equal(TimeSpan.FromMilliseconds(250), scripting.Cycle);
        Assert.Equal(5, scripting.Document.Limits.MaxRunsPerMinute);
        var script = Assert.Single(scripting.Document.Scripts);
        Assert.Equal(("honk", ScriptPriority.Emergency), (script.Id, script.Priority));
        Assert.Equal(new GpioEdgeTrigger(17, GpioEdge.Rising), Assert.Single(script.Triggers));
    }

    [Theory]
    [InlineData("{ type = gpio-write, line = 5, level = 1 }", "fleet.scripting.scripts[0].actions[0].line", "no GPIO line on pin 5 is configured")]
    [InlineData("{ type = gpio-write, line = 17, level = 1 }", "fleet.scripting.scripts[0].actions[0].line", "pin 17 is the input line \"door\"")]
    [InlineData("{ type = modbus-write-register, device = plc9, address = 1, value = 2 }", "fleet.scripting.scripts[0].actions[0].device", "no PLC \"plc9\" is configured")]
    [InlineData("{ type = modbus-write-coil, device = plc9, address = 1, value = true }", "fleet.scripting.scripts[0].actions[0].device", "no PLC \"plc9\" is configured")]
    [InlineData("{ type = gpio-write, line = 27, level = 2 }", "fleet.scripting.scripts[0].actions[0].level", "must be 0 or 1")]
    [InlineData("{ type = shell }", "fleet.scripting.scripts[0].actions[0].type", "must be one of")]
    public void Bad_action_should_be_reported_with_its_full_key(string action, string key, string problem)
    {
        var overlay = _folder.Overlay(Hardware + $"fleet.scripting.scripts = [ {{ id = s, actions = [ {action} ] }} ]\n");
        var ex = _folder.LoadFails(overlay);
        var line = Assert.Single(ex.Problems);
        Assert.StartsWith($"{overlay}: {key}: ", line, StringComparison.Ordinal);
        Assert.Contains(problem, line, StringComparison.Ordinal);
    }

    [Fact]
    public void Edge_trigger_on_an_output_and_unknown_keys_should_be_reported()
    {
        var overlay = _folder.Overlay(Hardware + """
            fleet.scripting {
              cycel = 1s
              scripts = [ { id = s, triggers = [ { type = gpio-edge, line = 27 } ], actions = [ { type = publish, topic = t } ] } ]
            }
            """);
        var ex = _folder.LoadFails(overlay);
        Assert.Equal(2, ex.Problems.Count);
        Assert.Contains(ex.Problems, p => p.StartsWith($"{overlay}: fleet.scripting.scripts[0].triggers[0].line: pin 27 is the output line \"horn\"", StringComparison.Ordinal));
        Assert.Contains(ex.Problems, p => p.StartsWith($"{overlay}: fleet.scripting.cycel: is not a known setting", StringComparison.Ordinal));
    }

    /// <summary>
    /// A script's reference to hardware that is not configured is reported with the scripts' other
    /// problems, in the same pass. Before: a bad priority in one script hid the unknown GPIO line of
    /// another until the priority was fixed and the agent run again.
    /// </summary>
    [Fact]
    public void Unknown_gpio_line_should_be_reported_together_with_the_other_problems_of_the_scripts()
    {
        var overlay = _folder.Overlay(Hardware + """
            fleet.scripting.limits.max-call-depth = 1000
            fleet.scripting.scripts = [
              { id = a, priority = urgent, actions = [ { type = publish, topic = t } ] }
              { id = b, actions = [ { type = gpio-write, line = 5, level = 1 } ] }
              { id = c, triggers = [ { type = gpio-edge, line = 6 } ], actions = [ { type = gpio-write, line = 7, level = 2 }, { type = gpio-write, level = 1 } ] }
            ]
            """);
        var ex = _folder.LoadFails(overlay);
        string[] expected =
            [
                "fleet.scripting.limits.max-call-depth: must be between 0 and 100 (got 1000)",
                "fleet.scripting.scripts[0].priority: must be low, normal, high, critical, emergency or a number from 0 to 255 (got \"urgent\")",
                "fleet.scripting.scripts[1].actions[0].line: no GPIO line on pin 5 is configured (fleet.gpio.lines)",
                "fleet.scripting.scripts[2].triggers[0].line: no GPIO line on pin 6 is configured (fleet.gpio.lines)",
                "fleet.scripting.scripts[2].actions[0].level: must be 0 or 1 (got \"2\")",
                "fleet.scripting.scripts[2].actions[0].line: no GPIO line on pin 7 is configured (fleet.gpio.lines)",
                // A missing line is not also reported as "no GPIO line on pin 0".
                "fleet.scripting.scripts[2].actions[1].line: is required (a whole number from 0 to 1023)",
            ];
        Assert.All(ex.Problems, p => Assert.StartsWith(overlay + ": ", p, StringComparison.Ordinal));
        Assert.Equal(expected.Order(StringComparer.Ordinal), ex.Problems.Select(p => p[(overlay.Length + 2)..]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Commented_example_in_agent_conf_should_load_when_uncommented()
    {
        var lines = File.ReadLines(_folder.AgentConf).Where(l => l.StartsWith("  #   ", StringComparison.Ordinal)).Select(l => l[6..]);
        var example = "fleet {\n" + string.Join("\n", lines) + "\n}\n";
        var settings = _folder.Load(_folder.Overlay(example));

        var script = Assert.Single(settings.Vehicle.Scripting.Document.Scripts);
        Assert.Equal(("hot-engine", ScriptPriority.High), (script.Id, script.Priority));
        Assert.Equal(27, Assert.Single(settings.Vehicle.Gpio.Lines).Pin);
    }
}
