using Fleet.Actors.Core.Scripting;
using FsCheck;
using FsCheck.Fluent;
using static Fleet.Actors.Core.Tests.Scripting.TestScripts;

namespace Fleet.Actors.Core.Tests.Scripting;

public class ScriptJsonTests
{
    [Fact]
    public void Write_should_use_the_documented_form()
    {
        var script = new ScriptDefinition("cooling", "Cooling control", ScriptPriority.Emergency, true,
            ValueArray.Of<ScriptTrigger>(new ThresholdTrigger("water_temp", ComparisonOperator.GreaterThan, 28.5, 0.5), new IntervalTrigger(TimeSpan.FromSeconds(5))),
            ValueArray.Of<ScriptCondition>(new NotCondition(new CompareCondition("oxygen", ComparisonOperator.LessThan, new ConstantOperand(5)))),
            ValueArray.Of<ScriptAction>(new GpioWriteAction(17, 1), new DelayAction(TimeSpan.FromMilliseconds(1500)), new RaiseAlertAction("hot", ScriptAlertSeverity.Critical)));

        Assert.Equal(
            """
            {"id":"cooling","name":"Cooling control","priority":"emergency","enabled":true,"triggers":[{"type":"threshold","reading":"water_temp","op":">","value":28.5,"hysteresis":0.5},{"type":"interval","every":"5s"}],"conditions":[{"not":{"reading":"oxygen","op":"<","value":5}}],"actions":[{"type":"gpio-write","line":17,"level":1},{"type":"delay","duration":"1500ms"},{"type":"raise-alert","name":"hot","severity":"critical"}]}
            """,
            ScriptJson.Write(script));
    }

    // Every trigger, condition and action kind, a numeric priority and limits (docs/scripting.md).
    private const string DocumentedExample = """
        limits { max-actions-per-run = 20, max-delay = 90s }
        scripts = [
          { id = cooling, name = "Cooling control", priority = 77, enabled = false
            triggers = [ { type = gpio-edge, line = 4, edge = rising }, { type = alert, alert = oxygen-low } ]
            conditions = [ { any = [ { reading = a, op = ">=", other = b }, { all = [ { reading = c, op = "!=", value = -1e-7 } ] } ] } ]
            actions = [
              { type = modbus-write-register, device = plc1, address = 40, value = 1200 }
              { type = modbus-write-coil, device = plc1, address = 3, value = false }
              { type = publish, topic = "fleet/x", payload = "" }
              { type = call-script, script = shutdown }
            ] }
          { id = shutdown, actions = [ { type = delay, duration = 2.5ms } ] }
        ]
        """;

    /// <summary>The exact text: the script store persists scripts in this form.</summary>
    [Fact]
    public void The_documented_example_should_be_written_exactly_and_the_store_snapshot_without_limits()
    {
        var document = ScriptParser.ParseHocon(DocumentedExample).Document!;
        const string scripts = """[{"id":"cooling","name":"Cooling control","priority":77,"enabled":false,"triggers":[{"type":"gpio-edge","line":4,"edge":"rising"},{"type":"alert","alert":"oxygen-low"}],"conditions":[{"any":[{"reading":"a","op":">=","other":"b"},{"all":[{"reading":"c","op":"!=","value":-1E-07}]}]}],"actions":[{"type":"modbus-write-register","device":"plc1","address":40,"value":1200},{"type":"modbus-write-coil","device":"plc1","address":3,"value":false},{"type":"publish","topic":"fleet/x","payload":""},{"type":"call-script","script":"shutdown"}]},{"id":"shutdown","name":"shutdown","priority":"normal","enabled":true,"actions":[{"type":"delay","duration":"2.5ms"}]}]""";

        Assert.Equal("""{"limits":{"max-execution-time":"30s","max-actions-per-run":20,"max-call-depth":5,"max-delay":"90s","max-runs-per-minute":60}""" + ",\"scripts\":" + scripts + "}", ScriptJson.Write(document));
        Assert.Equal("{\"scripts\":" + scripts + "}", System.Text.Encoding.UTF8.GetString(ScriptJson.WriteScripts(document.Scripts)));
    }

    [Fact]
    public void The_documented_example_should_survive_writing_and_parsing_again()
    {
        var parsed = ScriptParser.ParseHocon(DocumentedExample);
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors));

        var json = ScriptJson.Write(parsed.Document!, indented: true);
        var again = ScriptParser.ParseJson(json);

        Assert.True(again.IsValid, string.Join("\n", again.Errors));
        Assert.Equal(parsed.Document, again.Document);
        Assert.Contains("\"priority\": 77", json);
        Assert.Contains("\"max-delay\": \"90s\"", json);
        Assert.Contains("\"duration\": \"2.5ms\"", json);
    }

    [Theory]
    [InlineData(0L, "0ms")]
    [InlineData(2 * TimeSpan.TicksPerHour, "2h")]
    [InlineData(90 * TimeSpan.TicksPerMinute, "90m")]
    [InlineData(90 * TimeSpan.TicksPerSecond, "90s")]
    [InlineData(1500 * TimeSpan.TicksPerMillisecond, "1500ms")]
    [InlineData(12_345L, "1.2345ms")]
    [InlineData(3L, "0.00035ms")] // 0.0003 ms would read back as 2 ticks
    public void Durations_should_be_written_in_a_form_that_reads_back_to_the_same_tick(long ticks, string expected)
    {
        Assert.Equal(expected, ScriptJson.FormatDuration(TimeSpan.FromTicks(ticks)));
        var script = Script("d", new DelayAction(TimeSpan.FromTicks(ticks)));
        Assert.Equal(script, ScriptParser.ParseStoredScript(ScriptJson.Write(script)).Script);
    }

    [Fact]
    public void Conditions_nested_as_deep_as_the_parser_allows_should_round_trip()
    {
        ScriptCondition condition = new CompareCondition("x", ComparisonOperator.Equal, new ReadingOperand("y"));
        for (var i = 0; i < 16; i++) condition = i % 2 == 0 ? new NotCondition(condition) : new AllCondition(ValueArray.Of(condition));
        var script = Script("deep", new PublishAction("t", "p")) with { Conditions = ValueArray.Of(condition) };

        Assert.Equal(script, ParseBack(script));
    }

    [Fact]
    public void Values_no_document_can_hold_should_not_be_written()
    {
        var nan = Script("nan", new PublishAction("t", "p")) with
        {
            Triggers = ValueArray.Of<ScriptTrigger>(new ThresholdTrigger("x", ComparisonOperator.GreaterThan, double.NaN, 0)),
        };
        var negative = Script("neg", new DelayAction(TimeSpan.FromSeconds(-1)));
        var outOfRange = Script("far", new GpioWriteAction(5000, 1));

        Assert.Throws<ArgumentException>(() => ScriptJson.Write(nan));
        Assert.Throws<ArgumentException>(() => ScriptJson.Write(negative));
        Assert.Contains("finite", ScriptJson.StorageProblem(nan));
        Assert.Contains("negative", ScriptJson.StorageProblem(negative));
        Assert.Contains("actions[0].line", ScriptJson.StorageProblem(outOfRange));
        Assert.Null(ScriptJson.StorageProblem(Script("fine", new GpioWriteAction(17, 1))));
    }

    [Fact]
    public void Any_valid_document_should_parse_back_equal_after_writing()
    {
        Prop.ForAll(Generators.Document.ToArbitrary(), document =>
        {
            var called = document.Scripts.SelectMany(s => s.CalledScriptIds);
            var json = ScriptJson.Write(document);
            var parsed = ScriptParser.ParseJson(json, called);
            Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors) + "\n" + json);
            Assert.Equal(document, parsed.Document);
            // The single-script form the store persists reads back equal too.
            foreach (var script in document.Scripts) Assert.Equal(script, ParseBack(script));
        }).QuickCheckThrowOnFailure();
    }

    private static ScriptDefinition? ParseBack(ScriptDefinition script)
    {
        var (read, problems) = ScriptParser.ParseStoredScript(ScriptJson.Write(script));
        Assert.Empty(problems);
        return read;
    }

    /// <summary>Generators of valid scripts: every trigger, condition and action kind, values in the parser's ranges.</summary>
    internal static class Generators
    {
        private const string IdChars = "ABXYZabxyz0189-_.";

        // Pieces rather than single chars: no lone surrogates, and quoting, escapes and non-ASCII all occur.
        private static readonly string[] Solid = ["a", "Z", "7", "water_temp", "\"", "\\", "é", "日本", "😀", "/", "<>&", "{}", "'", "+"];
        private static readonly string[] Blank = [" ", "\n", "\t"];

        /// <summary>Any text, blank or empty included (names and payloads).</summary>
        private static readonly Gen<string> AnyText = Gen.Elements(Solid.Concat(Blank).ToArray()).ArrayOf().Select(string.Concat);

        private static readonly Gen<string> Id =
            from length in Gen.Frequency((4, Gen.Choose(1, 8)), (1, Gen.Choose(1, 64)))
            from chars in Gen.Elements(IdChars.ToCharArray()).ArrayOf(length)
            select new string(chars);

        /// <summary>Text with at least one non-blank piece (the parser requires it for names of things).</summary>
        private static readonly Gen<string> Text =
            from before in Gen.Elements("", " ", "\t")
            from first in Gen.Elements(Solid)
            from rest in AnyText
            select before + first + rest;

        private static readonly Gen<double> AnyFinite =
            from words in Gen.Choose(0, 0xFFFF).ArrayOf(4)
            let value = BitConverter.Int64BitsToDouble(words.Aggregate(0L, (bits, word) => (bits << 16) | (long)word))
            where double.IsFinite(value)
            select value;

        private static readonly Gen<double> Number = Gen.Frequency(
            (3, Gen.Choose(-100_000, 100_000).Select(i => i / 100.0)),
            (2, AnyFinite),
            (1, Gen.Elements(0.0, -0.0, double.Epsilon, double.MaxValue, double.MinValue, 1e-300, 0.1, 1.0 / 3, 28.5)));

        private static readonly Gen<ComparisonOperator> Operator = Gen.Elements(Enum.GetValues<ComparisonOperator>());

        private static Gen<TimeSpan> Duration(TimeSpan min, TimeSpan max)
        {
            var ticks = Gen.Frequency(
                (2, Gen.Choose(0, (int)Math.Min(int.MaxValue, max.Ticks / TimeSpan.TicksPerMillisecond)).Select(ms => ms * TimeSpan.TicksPerMillisecond)),
                (1, Gen.Choose(0, (int)(max.Ticks / TimeSpan.TicksPerSecond)).Select(s => s * TimeSpan.TicksPerSecond)),
                (1, Gen.Choose(0, (int)(max.Ticks / TimeSpan.TicksPerMinute)).Select(m => m * TimeSpan.TicksPerMinute)),
                (2, from s in Gen.Choose(0, (int)(max.Ticks / TimeSpan.TicksPerSecond))
                    from t in Gen.Choose(0, (int)TimeSpan.TicksPerSecond - 1)
                    select s * TimeSpan.TicksPerSecond + t));
            return ticks.Select(t => TimeSpan.FromTicks(Math.Clamp(t, min.Ticks, max.Ticks)));
        }

        private static readonly Gen<ScriptTrigger> Trigger = Gen.OneOf(
            Duration(TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1)).Select(d => (ScriptTrigger)new IntervalTrigger(d)),
            from reading in Text
            from op in Operator
            from value in Number
            from hysteresis in Number
            select (ScriptTrigger)new ThresholdTrigger(reading, op, value, Math.Abs(hysteresis)),
            from line in Gen.Choose(0, 1023)
            from edge in Gen.Elements(Enum.GetValues<GpioEdge>())
            select (ScriptTrigger)new GpioEdgeTrigger(line, edge),
            Text.Select(alert => (ScriptTrigger)new AlertTrigger(alert)));

        private static readonly Gen<ScriptCondition> Compare =
            from reading in Text
            from op in Operator
            from right in Gen.OneOf(Number.Select(v => (Operand)new ConstantOperand(v)), Text.Select(r => (Operand)new ReadingOperand(r)))
            select (ScriptCondition)new CompareCondition(reading, op, right);

        private static Gen<ScriptCondition> Condition(int depth) => depth == 0
            ? Compare
            : Gen.Frequency(
                (3, Compare),
                (1, from n in Gen.Choose(1, 3) from inner in Condition(depth - 1).ListOf(n) select (ScriptCondition)new AllCondition(inner.ToValueArray())),
                (1, from n in Gen.Choose(1, 3) from inner in Condition(depth - 1).ListOf(n) select (ScriptCondition)new AnyCondition(inner.ToValueArray())),
                (1, Condition(depth - 1).Select(c => (ScriptCondition)new NotCondition(c))));

        private static readonly Gen<ScriptCondition> AnyCondition = Gen.Choose(0, 4).SelectMany(Condition);

        private static readonly Gen<ScriptAction> Action = Gen.OneOf(
            from line in Gen.Choose(0, 1023)
            from level in Gen.Choose(0, 1)
            select (ScriptAction)new GpioWriteAction(line, level),
            from device in Text
            from address in Gen.Choose(0, 65535)
            from value in Gen.Choose(0, 65535)
            select (ScriptAction)new ModbusWriteRegisterAction(device, address, value),
            from device in Text
            from address in Gen.Choose(0, 65535)
            from value in Gen.Elements(true, false)
            select (ScriptAction)new ModbusWriteCoilAction(device, address, value),
            Duration(TimeSpan.Zero, TimeSpan.FromDays(1)).Select(d => (ScriptAction)new DelayAction(d)),
            from topic in Text
            from payload in AnyText
            select (ScriptAction)new PublishAction(topic, payload),
            from name in Text
            from severity in Gen.Elements(Enum.GetValues<ScriptAlertSeverity>())
            select (ScriptAction)new RaiseAlertAction(name, severity),
            Id.Select(id => (ScriptAction)new CallScriptAction(id)));

        public static readonly Gen<ScriptDefinition> Definition =
            from id in Id
            from name in Gen.Frequency((1, Gen.Constant(id)), (2, AnyText))
            from priority in Gen.Frequency((1, Gen.Elements(Enum.GetValues<ScriptPriority>())), (1, Gen.Choose(0, 255).Select(p => (ScriptPriority)p)))
            from enabled in Gen.Elements(true, false)
            from triggerCount in Gen.Choose(0, 3)
            from triggers in Trigger.ListOf(triggerCount)
            from conditionCount in Gen.Choose(0, 3)
            from conditions in AnyCondition.ListOf(conditionCount)
            from actionCount in Gen.Choose(1, 6)
            from actions in Action.ListOf(actionCount)
            select new ScriptDefinition(id, name, priority, enabled, triggers.ToValueArray(), conditions.ToValueArray(), actions.ToValueArray());

        private static readonly Gen<ScriptLimits> Limits =
            from execution in Duration(TimeSpan.FromSeconds(1), TimeSpan.FromHours(1))
            from actions in Gen.Choose(1, 10_000)
            from depth in Gen.Choose(0, 100)
            from delay in Duration(TimeSpan.Zero, TimeSpan.FromHours(1))
            from runs in Gen.Choose(1, 100_000)
            select new ScriptLimits(execution, actions, depth, delay, runs);

        public static readonly Gen<ScriptDocument> Document =
            from limits in Limits
            from count in Gen.Choose(0, 4)
            from scripts in Definition.ListOf(count)
            select new ScriptDocument(limits, scripts.DistinctBy(s => s.Id).ToValueArray());
    }
}
