namespace Fleet.Actors.Core.Scripting;

/// <summary>
/// How much a script's writes weigh when scripts disagree about one pin, register or coil within a
/// cycle (see <see cref="WriteArbiter"/>). Any value 0..255 is allowed; these are the named levels.
/// </summary>
public enum ScriptPriority : byte
{
    /// <summary>Loses to everything else.</summary>
    Low = 0,

    /// <summary>The default.</summary>
    Normal = 50,

    /// <summary>Overrides normal scripts.</summary>
    High = 100,

    /// <summary>Wins most conflicts.</summary>
    Critical = 200,

    /// <summary>The highest: safety scripts.</summary>
    Emergency = 255,
}

/// <summary>
/// One declarative script: what starts it, what must hold, what it does. No arbitrary code: every
/// action is one of a closed set of records, and the runner enforces <see cref="ScriptLimits"/>.
/// </summary>
/// <param name="Id">Unique id, used by <see cref="CallScriptAction"/> and by store commands.</param>
/// <param name="Name">Human name for logs (conflict messages name both scripts).</param>
/// <param name="Priority">Weight of this script's writes in <see cref="WriteArbiter"/>.</param>
/// <param name="Enabled">A disabled script is neither triggered nor run.</param>
/// <param name="Triggers">What starts a run.</param>
/// <param name="Conditions">All must hold when a run starts, otherwise the run is skipped.</param>
/// <param name="Actions">Executed in order by <see cref="ScriptRunner"/>.</param>
public sealed record ScriptDefinition(
    string Id,
    string Name,
    ScriptPriority Priority,
    bool Enabled,
    ValueArray<ScriptTrigger> Triggers,
    ValueArray<ScriptCondition> Conditions,
    ValueArray<ScriptAction> Actions)
{
    /// <summary>Ids of the scripts this one calls directly.</summary>
    public IEnumerable<string> CalledScriptIds => Actions.OfType<CallScriptAction>().Select(c => c.ScriptId).Distinct();
}

/// <summary>Comparison between a reading and a value or another reading.</summary>
public enum ComparisonOperator
{
    /// <summary><c>&gt;</c></summary>
    GreaterThan,

    /// <summary><c>&gt;=</c></summary>
    GreaterOrEqual,

    /// <summary><c>&lt;</c></summary>
    LessThan,

    /// <summary><c>&lt;=</c></summary>
    LessOrEqual,

    /// <summary><c>==</c></summary>
    Equal,

    /// <summary><c>!=</c></summary>
    NotEqual,
}

/// <summary>Text forms of <see cref="ComparisonOperator"/>.</summary>
public static class ComparisonOperators
{
    /// <summary>The symbol as scripts write it: <c>&gt;</c>, <c>&gt;=</c>, <c>&lt;</c>, <c>&lt;=</c>, <c>==</c>, <c>!=</c>.</summary>
    public static string Symbol(this ComparisonOperator op) => op switch
    {
        ComparisonOperator.GreaterThan => ">",
        ComparisonOperator.GreaterOrEqual => ">=",
        ComparisonOperator.LessThan => "<",
        ComparisonOperator.LessOrEqual => "<=",
        ComparisonOperator.Equal => "==",
        ComparisonOperator.NotEqual => "!=",
        _ => throw new ArgumentException($"unknown operator {op}", nameof(op)),
    };
}

/// <summary>Which edge of a GPIO input starts a script.</summary>
public enum GpioEdge
{
    /// <summary>Low to high.</summary>
    Rising,

    /// <summary>High to low.</summary>
    Falling,

    /// <summary>Either.</summary>
    Both,
}

/// <summary>Severity of an alert raised by a script.</summary>
public enum ScriptAlertSeverity
{
    /// <summary>Informational.</summary>
    Info,

    /// <summary>Needs attention.</summary>
    Warning,

    /// <summary>Needs action now.</summary>
    Critical,
}

/// <summary>What starts a script run.</summary>
public abstract record ScriptTrigger;

/// <summary>Runs the script every <paramref name="Every"/>.</summary>
public sealed record IntervalTrigger(TimeSpan Every) : ScriptTrigger;

/// <summary>
/// Runs the script when a named reading crosses <paramref name="Value"/> in the direction of
/// <paramref name="Operator"/>; it re-arms only once the reading is back past the value by
/// <paramref name="Hysteresis"/>, so a reading hovering at the threshold does not fire every sample.
/// </summary>
public sealed record ThresholdTrigger(string Reading, ComparisonOperator Operator, double Value, double Hysteresis) : ScriptTrigger
{
    /// <summary>
    /// Feeds one sample of the reading. Fires when the trigger is armed and the comparison holds,
    /// then stays disarmed until the comparison fails against the value moved back by the
    /// hysteresis (for <c>&gt;</c> 28 with hysteresis 0.5: re-armed at 27.5 or below). A new
    /// trigger is armed. The caller keeps the returned armed flag for the next sample.
    /// </summary>
    public (bool Fires, bool Armed) Observe(double sample, bool armed)
    {
        if (armed) return CompareCondition.Compare(sample, Operator, Value) ? (true, false) : (false, true);
        var rearmAt = Operator switch
        {
            ComparisonOperator.GreaterThan or ComparisonOperator.GreaterOrEqual => Value - Hysteresis,
            ComparisonOperator.LessThan or ComparisonOperator.LessOrEqual => Value + Hysteresis,
            _ => Value,
        };
        return (false, !CompareCondition.Compare(sample, Operator, rearmAt));
    }
}

/// <summary>Runs the script on an edge of a GPIO input line.</summary>
public sealed record GpioEdgeTrigger(int Line, GpioEdge Edge) : ScriptTrigger;

/// <summary>Runs the script when the named alert is raised.</summary>
public sealed record AlertTrigger(string Alert) : ScriptTrigger;

/// <summary>The right side of a comparison: a constant or another reading.</summary>
public abstract record Operand
{
    /// <summary>The operand's value, or null when it names a reading that is not known.</summary>
    public abstract double? Resolve(IReadOnlyDictionary<string, double> readings);
}

/// <summary>A constant.</summary>
public sealed record ConstantOperand(double Value) : Operand
{
    /// <inheritdoc />
    public override double? Resolve(IReadOnlyDictionary<string, double> readings) => Value;
}

/// <summary>The current value of another named reading.</summary>
public sealed record ReadingOperand(string Reading) : Operand
{
    /// <inheritdoc />
    public override double? Resolve(IReadOnlyDictionary<string, double> readings) =>
        readings.TryGetValue(Reading, out var value) ? value : null;
}

/// <summary>A condition checked against a snapshot of named readings when a run starts.</summary>
public abstract record ScriptCondition
{
    /// <summary>True when the condition holds; a comparison with an unknown reading does not hold.</summary>
    public abstract bool Holds(IReadOnlyDictionary<string, double> readings);
}

/// <summary>Compares a named reading with a constant or another reading.</summary>
public sealed record CompareCondition(string Reading, ComparisonOperator Operator, Operand Right) : ScriptCondition
{
    /// <inheritdoc />
    public override bool Holds(IReadOnlyDictionary<string, double> readings) =>
        readings.TryGetValue(Reading, out var left) && Right.Resolve(readings) is { } right && Compare(left, Operator, right);

    /// <summary>Applies <paramref name="op"/> to two numbers.</summary>
    public static bool Compare(double left, ComparisonOperator op, double right) => op switch
    {
        ComparisonOperator.GreaterThan => left > right,
        ComparisonOperator.GreaterOrEqual => left >= right,
        ComparisonOperator.LessThan => left < right,
        ComparisonOperator.LessOrEqual => left <= right,
        ComparisonOperator.Equal => left == right,
        ComparisonOperator.NotEqual => left != right,
        _ => false,
    };
}

/// <summary>Holds when every inner condition holds.</summary>
public sealed record AllCondition(ValueArray<ScriptCondition> Conditions) : ScriptCondition
{
    /// <inheritdoc />
    public override bool Holds(IReadOnlyDictionary<string, double> readings) => Conditions.All(c => c.Holds(readings));
}

/// <summary>Holds when at least one inner condition holds.</summary>
public sealed record AnyCondition(ValueArray<ScriptCondition> Conditions) : ScriptCondition
{
    /// <inheritdoc />
    public override bool Holds(IReadOnlyDictionary<string, double> readings) => Conditions.Any(c => c.Holds(readings));
}

/// <summary>Holds when the inner condition does not.</summary>
public sealed record NotCondition(ScriptCondition Condition) : ScriptCondition
{
    /// <inheritdoc />
    public override bool Holds(IReadOnlyDictionary<string, double> readings) => !Condition.Holds(readings);
}

/// <summary>One step of a script.</summary>
public abstract record ScriptAction;

/// <summary>Sets a GPIO output line to <paramref name="Level"/> (0 or 1).</summary>
public sealed record GpioWriteAction(int Line, int Level) : ScriptAction;

/// <summary>Writes a holding register (function code 6) of a configured Modbus device.</summary>
public sealed record ModbusWriteRegisterAction(string Device, int Address, int Value) : ScriptAction;

/// <summary>Writes a coil (function code 5) of a configured Modbus device.</summary>
public sealed record ModbusWriteCoilAction(string Device, int Address, bool Value) : ScriptAction;

/// <summary>Waits before the next action (at most <see cref="ScriptLimits.MaxDelay"/>).</summary>
public sealed record DelayAction(TimeSpan Duration) : ScriptAction;

/// <summary>Publishes a message on a topic.</summary>
public sealed record PublishAction(string Topic, string Payload) : ScriptAction;

/// <summary>Raises an alert.</summary>
public sealed record RaiseAlertAction(string Name, ScriptAlertSeverity Severity) : ScriptAction;

/// <summary>Runs another script's actions inside this run (counted against the call depth).</summary>
public sealed record CallScriptAction(string ScriptId) : ScriptAction;

/// <summary>
/// Bounds on one run. The defaults are those of SPEC.md capability 7.
/// </summary>
/// <param name="MaxExecutionTime">From start to the last action, delays included.</param>
/// <param name="MaxActionsPerRun">Actions executed in one run, called scripts' actions included.</param>
/// <param name="MaxCallDepth">How deep <see cref="CallScriptAction"/> may nest (the started script is depth 0).</param>
/// <param name="MaxDelay">The longest single <see cref="DelayAction"/>.</param>
/// <param name="MaxRunsPerMinute">Runs started per script within any 60 s window.</param>
public sealed record ScriptLimits(
    TimeSpan MaxExecutionTime,
    int MaxActionsPerRun,
    int MaxCallDepth,
    TimeSpan MaxDelay,
    int MaxRunsPerMinute)
{
    /// <summary>30 s, 50 actions, depth 5, 60 s per delay, 60 runs per minute.</summary>
    public static ScriptLimits Default { get; } = new(TimeSpan.FromSeconds(30), 50, 5, TimeSpan.FromSeconds(60), 60);
}

/// <summary>A parsed set of scripts with the limits that apply to them.</summary>
public sealed record ScriptDocument(ScriptLimits Limits, ValueArray<ScriptDefinition> Scripts);
