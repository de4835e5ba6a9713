using Fleet.Actors.Core.Scripting;

namespace Fleet.Actors.Core.Tests.Scripting;

public class ScriptParserTests
{
    private const string Json = """
        {
          "limits": { "max-actions-per-run": 20, "max-delay": "10s" },
          "scripts": [
            {
              "id": "cooling",
              "name": "Cooling control",
              "priority": "normal",
              "triggers": [
                { "type": "threshold", "reading": "water_temp", "op": ">", "value": 28.5, "hysteresis": 0.5 },
                { "type": "interval", "every": "30s" }
              ],
              "conditions": [
                { "any": [ { "reading": "water_temp", "op": ">=", "other": "air_temp" },
                           { "not": { "reading": "oxygen", "op": "<", "value": 5 } } ] }
              ],
              "actions": [
                { "type": "gpio-write", "line": 17, "level": 1 },
                { "type": "modbus-write-register", "device": "plc1", "address": 40, "value": 1200 },
                { "type": "delay", "duration": "500ms" },
                { "type": "call-script", "script": "shutdown" }
              ]
            },
            {
              "id": "shutdown",
              "priority": 255,
              "enabled": false,
              "triggers": [ { "type": "gpio-edge", "line": 4, "edge": "falling" }, { "type": "alert", "alert": "oxygen-low" } ],
              "actions": [
                { "type": "modbus-write-coil", "device": "plc1", "address": 3, "value": true },
                { "type": "publish", "topic": "pond/1/state", "payload": "stopped" },
                { "type": "raise-alert", "name": "pumps-stopped", "severity": "critical" }
              ]
            }
          ]
        }
        """;

    private const string Hocon = """
        limits { max-actions-per-run = 20, max-delay = 10s }
        scripts = [
          {
            id = cooling
            name = "Cooling control"
            priority = normal
            triggers = [
              { type = threshold, reading = water_temp, op = ">", value = 28.5, hysteresis = 0.5 }
              { type = interval, every = 30s }
            ]
            conditions = [
              { any = [ { reading = water_temp, op = ">=", other = air_temp }
                        { not { reading = oxygen, op = "<", value = 5 } } ] }
            ]
            actions = [
              { type = gpio-write, line = 17, level = 1 }
              { type = modbus-write-register, device = plc1, address = 40, value = 1200 }
              { type = delay, duration = 500ms }
              { type = call-script, script = shutdown }
            ]
          }
          {
            id = shutdown
            priority = 255
            enabled = false
            triggers = [ { type = gpio-edge, line = 4, edge = falling }, { type = alert, alert = oxygen-low } ]
            actions = [
              { type = modbus-write-coil, device = plc1, address = 3, value = true }
              { type = publish, topic = "pond/1/state", payload = stopped }
              { type = raise-alert, name = pumps-stopped, severity = critical }
            ]
          }
        ]
        """;

    private static ScriptDocument Valid(ScriptParseResult result)
    {
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        return result.Document!;
    }

    [Fact]
    public void Json_and_hocon_should_give_the_same_model()
    {
        var json = Valid(ScriptParser.ParseJson(Json));
        var hocon = Valid(ScriptParser.ParseHocon(Hocon));

        Assert.Equal(json, hocon);
        var cooling = json.Scripts[0];
        Assert.Equal(new ThresholdTrigger("water_temp", ComparisonOperator.GreaterThan, 28.5, 0.5), cooling.Triggers[0]);
        Assert.Equal(new IntervalTrigger(TimeSpan.FromSeconds(30)), cooling.Triggers[1]);
        Assert.Equal(new AnyCondition(ValueArray.Of<ScriptCondition>(
            new CompareCondition("water_temp", ComparisonOperator.GreaterOrEqual, new ReadingOperand("air_temp")),
            new NotCondition(new CompareCondition("oxygen", ComparisonOperator.LessThan, new ConstantOperand(5))))), cooling.Conditions[0]);
        Assert.Equal(ValueArray.Of<ScriptAction>(
            new GpioWriteAction(17, 1),
            new ModbusWriteRegisterAction("plc1", 40, 1200),
            new DelayAction(TimeSpan.FromMilliseconds(500)),
            new CallScriptAction("shutdown")), cooling.Actions);
        var shutdown = json.Scripts[1];
        Assert.Equal(ScriptPriority.Emergency, shutdown.Priority);
        Assert.False(shutdown.Enabled);
        Assert.Equal("shutdown", shutdown.Name);
        Assert.Equal(new GpioEdgeTrigger(4, GpioEdge.Falling), shutdown.Triggers[0]);
        Assert.Equal(new RaiseAlertAction("pumps-stopped", ScriptAlertSeverity.Critical), shutdown.Actions[2]);
        Assert.Equal(ScriptLimits.Default with { MaxActionsPerRun = 20, MaxDelay = TimeSpan.FromSeconds(10) }, json.Limits);
    }

    [Fact]
    public void Absent_limits_should_be_the_defaults() =>
        Assert.Equal(ScriptLimits.Default, Valid(ScriptParser.ParseJson("""{ "scripts": [] }""")).Limits);

    [Theory]
    [InlineData("json")]
    [InlineData("hocon")]
    public void Errors_should_name_the_path_of_the_bad_element(string syntax)
    {
        var result = syntax == "json"
            ? ScriptParser.ParseJson("""
                { "scripts": [
                    { "id": "a", "actions": [ { "type": "publish", "topic": "t" } ] },
                    { "id": "b", "actions": [ { "type": "publish", "topic": "t" } ] },
                    { "id": "c", "actions": [ { "type": "delay", "duration": "1s" }, { "type": "gpio-write", "line": 3, "level": 2 } ] } ] }
                """)
            : ScriptParser.ParseHocon("""
                scripts = [
                  { id = a, actions = [ { type = publish, topic = t } ] }
                  { id = b, actions = [ { type = publish, topic = t } ] }
                  { id = c, actions = [ { type = delay, duration = 1s }, { type = gpio-write, line = 3, level = 2 } ] } ]
                """);

        Assert.False(result.IsValid);
        Assert.Equal(["scripts[2].actions[1].level: must be 0 or 1 (got \"2\")"], result.Errors);
    }

    [Fact]
    public void Invalid_documents_should_report_every_problem_with_its_path()
    {
        var result = ScriptParser.ParseJson("""
            {
              "limits": { "max-call-depth": 500, "max-delay": "soon" },
              "scripts": [
                { "id": "a", "priority": "urgent", "actions": [
                    { "type": "shell", "command": "rm -rf /" },
                    { "type": "modbus-write-register", "device": "plc1", "value": 70000 },
                    { "type": "call-script", "script": "nowhere" },
                    { "type": "gpio-write", "line": 3, "levle": 1 } ] },
                { "id": "a", "actions": [ { "type": "delay" } ] },
                { "name": "no id", "actions": [] },
                { "id": "t", "triggers": [ { "type": "threshold", "reading": "x", "op": "~", "value": 1 } ],
                  "conditions": [ { "reading": "x", "op": ">", "value": 1, "other": "y" } ],
                  "actions": [ { "type": "publish", "topic": "t" } ] }
              ]
            }
            """);

        Assert.False(result.IsValid);
        var errors = result.Errors.ToList();
        Assert.Contains("limits.max-call-depth: must be between 0 and 100 (got 500)", errors);
        Assert.Contains("limits.max-delay: must be a duration such as 500ms, 5s or 2m (got \"soon\")", errors);
        Assert.Contains("scripts[0].priority: must be low, normal, high, critical, emergency or a number from 0 to 255 (got \"urgent\")", errors);
        Assert.Contains(errors, e => e.StartsWith("scripts[0].actions[0].type: must be one of gpio-write,", StringComparison.Ordinal));
        Assert.Contains("scripts[0].actions[1].address: is required (a whole number from 0 to 65535)", errors);
        Assert.Contains("scripts[0].actions[1].value: must be between 0 and 65535 (got 70000)", errors);
        Assert.Contains("scripts[0].actions[2].script: calls unknown script \"nowhere\"", errors);
        Assert.Contains("scripts[0].actions[3].level: is required (0 or 1)", errors);
        Assert.Contains("scripts[0].actions[3].levle: is not a known setting (misspelt?)", errors);
        Assert.Contains("scripts[1].id: duplicate id \"a\" (also scripts[0].id)", errors);
        Assert.Contains("scripts[1].actions[0].duration: is required (a duration such as 500ms, 5s or 2m)", errors);
        Assert.Contains("scripts[2].id: is required", errors);
        Assert.Contains("scripts[3].triggers[0].op: must be one of >, >=, <, <=, ==, != (got \"~\")", errors);
        Assert.Contains("scripts[3].conditions[0].value: a comparison needs exactly one of value (a number) or other (a reading name)", errors);
    }

    [Fact]
    public void Calls_to_scripts_known_elsewhere_should_be_accepted()
    {
        const string doc = """{ "scripts": [ { "id": "a", "actions": [ { "type": "call-script", "script": "installed" } ] } ] }""";
        Assert.False(ScriptParser.ParseJson(doc).IsValid);
        Assert.True(ScriptParser.ParseJson(doc, ["installed"]).IsValid);
    }

    [Fact]
    public void A_script_without_actions_should_be_refused() =>
        Assert.Equal(["scripts[0].actions: is required (a list of at least one action)"],
            ScriptParser.ParseHocon("scripts = [ { id = a } ]").Errors);

    [Fact]
    public void A_script_with_an_empty_action_list_should_be_refused()
    {
        Assert.Equal(["scripts[0].actions: must have at least one action (a script that does nothing is a mistake)"],
            ScriptParser.ParseHocon("scripts = [ { id = a, actions = [] } ]").Errors);
        Assert.Equal(["scripts[0].actions: must have at least one action (a script that does nothing is a mistake)"],
            ScriptParser.ParseJson("""{ "scripts": [ { "id": "a", "actions": [] } ] }""").Errors);
    }

    [Fact]
    public void Syntax_errors_should_be_reported_not_thrown()
    {
        Assert.StartsWith(": is not valid JSON", ScriptParser.ParseJson("{ \"scripts\": [ ").Errors.Single(), StringComparison.Ordinal);
        Assert.False(ScriptParser.ParseHocon("scripts = [ { id = ").IsValid);
    }
}
