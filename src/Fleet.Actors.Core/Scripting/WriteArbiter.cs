namespace Fleet.Actors.Core.Scripting;

/// <summary>Something a script can write: a GPIO line, a Modbus holding register or a Modbus coil.</summary>
public abstract record WriteTarget;

/// <summary>A GPIO output line.</summary>
public sealed record GpioLineTarget(int Line) : WriteTarget
{
    /// <inheritdoc />
    public override string ToString() => $"gpio line {Line}";
}

/// <summary>A holding register of a Modbus device.</summary>
public sealed record ModbusRegisterTarget(string Device, int Address) : WriteTarget
{
    /// <inheritdoc />
    public override string ToString() => $"modbus {Device} register {Address}";
}

/// <summary>A coil of a Modbus device.</summary>
public sealed record ModbusCoilTarget(string Device, int Address) : WriteTarget
{
    /// <inheritdoc />
    public override string ToString() => $"modbus {Device} coil {Address}";
}

/// <summary>
/// A write that a script asks for: the target, the value (GPIO level 0/1, register 0..65535, coil
/// 0/1) and who asks with what priority.
/// </summary>
public sealed record WriteProposal(WriteTarget Target, int Value, string ScriptId, string ScriptName, ScriptPriority Priority);

/// <summary>How a proposed write fared against the other writes of the cycle.</summary>
public enum WriteOutcome
{
    /// <summary>No other write to the target this cycle: the write stands.</summary>
    Write,

    /// <summary>Overrides an earlier write with a different value and a lower or equal priority (equal: last write wins).</summary>
    Won,

    /// <summary>Reported for the earlier write that a <see cref="Won"/> write replaced.</summary>
    Overridden,

    /// <summary>Blocked by an earlier write of higher priority; the existing value is kept.</summary>
    Lost,

    /// <summary>The same value as the write already held: skipped, nothing more to write.</summary>
    Duplicate,
}

/// <summary>
/// One arbitration outcome with both sides, for logging and counting.
/// </summary>
/// <param name="Outcome">What happened to <paramref name="Proposal"/>.</param>
/// <param name="Proposal">The write this decision is about.</param>
/// <param name="Other">The write it met (null for <see cref="WriteOutcome.Write"/>).</param>
public sealed record WriteDecision(WriteOutcome Outcome, WriteProposal Proposal, WriteProposal? Other)
{
    /// <summary>The target both writes are for.</summary>
    public WriteTarget Target => Proposal.Target;

    /// <summary>A log line naming both scripts, their priorities and both values.</summary>
    public string Describe()
    {
        var p = Proposal;
        var me = $"'{p.ScriptName}' ({p.ScriptId}, priority {(byte)p.Priority})";
        if (Other is not { } o) return $"{p.Target}: script {me} writes {p.Value}";
        var them = $"'{o.ScriptName}' ({o.ScriptId}, priority {(byte)o.Priority})";
        return Outcome switch
        {
            WriteOutcome.Won => $"{p.Target}: script {me} overrides {them}: {o.Value} -> {p.Value}",
            WriteOutcome.Overridden => $"{p.Target}: script {me} overridden by {them}: {p.Value} -> {o.Value}",
            WriteOutcome.Lost => $"{p.Target}: script {me} blocked by {them}: keeping {o.Value} (wanted {p.Value})",
            _ => $"{p.Target}: script {me} writes {p.Value}, already written by {them}: skipped",
        };
    }
}

/// <summary>
/// Resolves conflicting script writes within one cycle. Per target it holds the write of the
/// highest priority seen so far, the latest among equals; a same-value write of at least that
/// priority takes over ownership (so that a lower-priority script cannot later override it) but
/// is a <see cref="WriteOutcome.Duplicate"/>. <see cref="Close"/> ends the cycle and returns the
/// writes to perform. Not thread-safe: one owner (the script engine actor) uses it.
/// </summary>
public sealed class WriteArbiter
{
    private readonly Dictionary<WriteTarget, WriteProposal> _held = new();
    private readonly List<WriteTarget> _order = new();
    private readonly HashSet<WriteTarget> _seeded = new();

    /// <summary>True once something was proposed in this cycle (standing writes alone do not open one).</summary>
    public bool HasProposals { get; private set; }

    /// <summary>Proposes a write; returns the decision about it, plus an <see cref="WriteOutcome.Overridden"/> one for the write it replaced.</summary>
    public IReadOnlyList<WriteDecision> Propose(WriteProposal proposal)
    {
        ArgumentNullException.ThrowIfNull(proposal);
        HasProposals = true;
        if (!_held.TryGetValue(proposal.Target, out var held))
        {
            _held[proposal.Target] = proposal;
            _order.Add(proposal.Target);
            return [new WriteDecision(WriteOutcome.Write, proposal, null)];
        }
        var standing = _seeded.Contains(proposal.Target);
        if (standing && held.ScriptId == proposal.ScriptId)
        {
            // The holder of a standing write changes it (an alert output that blinks): a plain write, no conflict.
            _held[proposal.Target] = proposal;
            _seeded.Remove(proposal.Target);
            return [new WriteDecision(proposal.Value == held.Value ? WriteOutcome.Duplicate : WriteOutcome.Write, proposal, null)];
        }
        // A standing write (an emergency stop's hold) yields only to a higher priority, never to an equal one.
        var takesOver = standing ? proposal.Priority > held.Priority : proposal.Priority >= held.Priority;
        if (takesOver) _seeded.Remove(proposal.Target);
        if (takesOver) _held[proposal.Target] = proposal;
        if (proposal.Value == held.Value) return [new WriteDecision(WriteOutcome.Duplicate, proposal, held)];
        return takesOver
            ? [new WriteDecision(WriteOutcome.Won, proposal, held), new WriteDecision(WriteOutcome.Overridden, held, proposal)]
            : [new WriteDecision(WriteOutcome.Lost, proposal, held)];
    }

    /// <summary>
    /// Places a standing write (an emergency stop's hold) at the start of a cycle without a decision:
    /// proposals with another value lose against it unless their priority is higher (an equal
    /// priority does not win against it, so nothing wins against a hold at 255), or they come from the
    /// same holder (its <see cref="WriteProposal.ScriptId"/>), which may change its own standing write.
    /// </summary>
    public void Seed(WriteProposal proposal)
    {
        ArgumentNullException.ThrowIfNull(proposal);
        if (_held.TryGetValue(proposal.Target, out var held) && held.Priority > proposal.Priority) return;
        _held[proposal.Target] = proposal;
        _seeded.Add(proposal.Target);
    }

    /// <summary>Takes back a standing write placed by <see cref="Seed"/>, unless another write has taken its target over since.</summary>
    public void Unseed(WriteProposal proposal)
    {
        ArgumentNullException.ThrowIfNull(proposal);
        if (!_seeded.Contains(proposal.Target) || !_held.TryGetValue(proposal.Target, out var held) || held != proposal) return;
        _held.Remove(proposal.Target);
        _seeded.Remove(proposal.Target);
    }

    /// <summary>Ends the cycle: the final write of each target, in the order targets were first written; the arbiter is empty again.</summary>
    public IReadOnlyList<WriteProposal> Close()
    {
        var writes = _order.Select(t => _held[t]).ToList();
        _held.Clear();
        _order.Clear();
        _seeded.Clear();
        HasProposals = false;
        return writes;
    }
}
