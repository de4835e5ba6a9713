using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Core.Tests.Telemetry;

public class ReadingValidatorTests
{
    public static TheoryData<ReadingValue, string> Invalid => new()
    {
        { new PositionValue(91, 0, 0), "latitude" },
        { new PositionValue(0, -181, 0), "longitude" },
        { new PositionValue(0, 0, 361), "heading" },
        { new PositionValue(double.NaN, 0, 0), "latitude" },
        { new PositionValue(0, 0, 0, Speed: -1), "speed" },
        { new PositionValue(0, 0, 0, Speed: 400), "speed" },
        { new MeasurementValue("rpm", double.PositiveInfinity, "rpm"), "finite" },
        { new MeasurementValue(" ", 1, "rpm"), "name" },
        { new MotionValue(500, 0, 9.8), "acceleration" },
        { new MotionValue(0, 0, 9.8, GyroZ: 5000), "angular" },
        { new StatusValue(OperationalState.Ready, 101), "energy" },
        { new DiagnosticsValue(120, null, null, null, null), "percentage" },
        { new GapValue(5, 4, 0, "x"), "gap" },
        { new AlertValue("", AlertSeverity.Warning, "script:a", ""), "alert name is empty" },
        { new AlertValue(new string('a', 257), AlertSeverity.Warning, "script:a", ""), "alert name is 257 characters" },
        { new AlertValue("a", AlertSeverity.Unspecified, "script:a", ""), "severity" },
        { new AlertValue("a", (AlertSeverity)7, "script:a", ""), "severity 7" },
        { new AlertValue("a", AlertSeverity.Info, new string('s', 257), ""), "alert source" },
        { new AlertValue("a", AlertSeverity.Info, "script:a", new string('m', 1025)), "alert message is 1025 characters" },
        { new AlertValue("a", AlertSeverity.Info, "script:a", null!), "alert message is missing" },
        { new AlertValue("a", AlertSeverity.Info, "rule:a", "", AlertState.Unspecified), "state Unspecified" },
        { new AlertValue("a", AlertSeverity.Info, "rule:a", "", AlertState.Raised, " "), "alert device id is empty" },
        { new AlertValue("a", AlertSeverity.Info, "rule:a", "", AlertState.Raised, Suppressed: -1), "negative suppressed count" },
        { new AlertValue("a", AlertSeverity.Info, "rule:a", "", Causes: Enumerable.Repeat(new AlertCause("obd", "x", 1), 17).ToArray()), "17 causes, more than 16" },
        { new AlertValue("a", AlertSeverity.Info, "rule:a", "", Causes: [new AlertCause("obd", "x", double.NaN)]), "not a finite number" },
        { new AlertValue("a", AlertSeverity.Info, "rule:a", "", Causes: [new AlertCause("obd", "", 1)]), "alert cause name is empty" },
        { new AlertValue("a", AlertSeverity.Info, "rule:a", "", Causes: [new AlertCause("obd", "x", 1, Sequence: 0)]), "sequence 0" },
        { new ScriptRunValue(" ", "interval 5s", "completed", "", 1, 10), "script id is empty" },
        { new ScriptRunValue("s", "interval 5s", "", "", 1, 10), "outcome is empty" },
        { new ScriptRunValue("s", "interval 5s", "StoppedTimeLimit", "", 1, 10), "not one of completed" },
        { new ScriptRunValue("s", "interval 5s", "won", "", 1, 10), "outcome 'won'" },
        { new ScriptRunValue("s", "interval 5s", "completed", "", -1, 10), "negative action count" },
        { new ScriptRunValue("s", "interval 5s", "completed", "", 1, -10), "negative duration" },
        { new ScriptRunValue("s", "interval 5s", "failed", new string('r', 1025), 0, 0), "reason is 1025" },
        { new ScriptRunValue("s", new string('t', 257), "completed", "", 1, 10), "trigger" },
        { new ScriptWriteValue("", 1, "write", "s", 50), "target is empty" },
        { new ScriptWriteValue("gpio:" + new string('1', 252), 1, "write", "s", 50), "target is 257 characters" },
        { new ScriptWriteValue("gpio:17", 1, "", "s", 50), "outcome is empty" },
        { new ScriptWriteValue("gpio:17", 1, "completed", "s", 50), "not one of write" },
        { new ScriptWriteValue("gpio:17", 1, "write", "", 50), "script id is empty" },
        { new ScriptWriteValue("gpio:17", 1, "write", "s", 256), "priority 256 outside 0..255" },
        { new ScriptWriteValue("gpio:17", 1, "write", "s", -1), "priority -1 outside 0..255" },
        { new ScriptWriteValue("gpio:17", 1, "won", "s", 50, "", 10, 0), "other script id is empty" },
        { new ScriptWriteValue("gpio:17", 1, "won", "s", 50, "t", 300, 0), "other priority 300" },
        { new ScriptWriteValue("gpio:17", 1, "failed", "s", 50, Error: new string('e', 1025)), "error is 1025" },
        { new ScriptWriteValue("gpio:17", 2, "write", "s", 50), "value 2 for gpio:17 outside 0..1" },
        { new ScriptWriteValue("modbus:plc1:coil:3", -1, "write", "s", 50), "value -1 for modbus:plc1:coil:3 outside 0..1" },
        { new ScriptWriteValue("modbus:plc1:register:40", 65_536, "write", "s", 50), "outside 0..65535" },
        { new ScriptWriteValue("gpio:17", 1, "lost", "s", 50, "t", 100, 5), "other value 5 for gpio:17 outside 0..1" },
        { new MessageValue("", "x"), "topic is empty" },
        { new MessageValue(new string('t', 257), "x"), "topic is 257" },
        { new MessageValue("t", null!), "no payload" },
        { new MessageValue("t", new string('p', 65_537)), "65537 bytes" },
        // 32 769 characters, but two bytes each in UTF-8: the bound is on the bytes that travel.
        { new MessageValue("t", new string('é', 32_769)), "65538 bytes" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validator_should_refuse_impossible_values_and_say_why(ReadingValue value, string reason)
    {
        var problem = ReadingValidator.Validate(value);
        Assert.NotNull(problem);
        Assert.Contains(reason, problem, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Validator_should_accept_plausible_values()
    {
        Assert.Null(ReadingValidator.Validate(new PositionValue(53.5, 9.9, 359.99, -3, 33, 1.2)));
        Assert.Null(ReadingValidator.Validate(new MeasurementValue("coolant_temp", -12, "°C")));
        Assert.Null(ReadingValidator.Validate(new MotionValue(-7, 3, 9.81, 1, 2, 3)));
        Assert.Null(ReadingValidator.Validate(new StatusValue(OperationalState.Ready, 0, 100)));
    }

    [Fact]
    public void Validator_should_accept_alerts_and_script_records_up_to_their_bounds()
    {
        foreach (var severity in new[] { AlertSeverity.Info, AlertSeverity.Warning, AlertSeverity.Critical })
            Assert.Null(ReadingValidator.Validate(new AlertValue("oxygen-low", severity, "script:cooling", "O₂ low")));
        Assert.Null(ReadingValidator.Validate(new AlertValue(new string('a', 256), AlertSeverity.Info, "", new string('m', 1024))));

        foreach (var outcome in new[] { "completed", "stopped_action_limit", "stopped_time_limit", "stopped_call_depth", "stopped_delay_too_long", "rate_limited", "failed", "cancelled" })
            Assert.Null(ReadingValidator.Validate(new ScriptRunValue("cooling", "interval 5s", outcome, "why", 3, 512)));
        Assert.Null(ReadingValidator.Validate(new ScriptRunValue(new string('s', 256), "", "failed", new string('r', 1024), 0, 0)));

        foreach (var outcome in new[] { "write", "won", "overridden", "lost", "duplicate", "failed", "refused" })
            Assert.Null(ReadingValidator.Validate(new ScriptWriteValue("modbus:plc1:register:40", 1200, outcome, "cooling", 50)));
        Assert.Null(ReadingValidator.Validate(new ScriptWriteValue("gpio:17", 0, "lost", "cooling", 0, "shutdown", 255, 1)));
        Assert.Null(ReadingValidator.Validate(new ScriptWriteValue("gpio:17", 1, "failed", "cooling", 255, Error: new string('e', 1024))));

        Assert.Null(ReadingValidator.Validate(new MessageValue("pumps/status", "")));
        Assert.Null(ReadingValidator.Validate(new MessageValue(new string('t', 256), new string('p', 65_536))));
        Assert.Null(ReadingValidator.Validate(new MessageValue("t", new string('é', 32_768))));
    }
}
