using System.Collections.Immutable;

namespace Fleet.Actors.Core.Scripting;

/// <summary>How a script run ended.</summary>
public enum RunOutcomeKind
{
    /// <summary>Every action executed.</summary>
    Completed,

    /// <summary>The script's conditions did not hold when the run started: nothing executed.</summary>
    ConditionsNotMet,

    /// <summary>Stopped before exceeding <see cref="ScriptLimits.MaxActionsPerRun"/>.</summary>
    StoppedActionLimit,

    /// <summary>Stopped because the run would exceed <see cref="ScriptLimits.MaxExecutionTime"/>.</summary>
    StoppedTimeLimit,

    /// <summary>Stopped before a call deeper than <see cref="ScriptLimits.MaxCallDepth"/>.</summary>
    StoppedCallDepth,

    /// <summary>Stopped at a delay longer than <see cref="ScriptLimits.MaxDelay"/>.</summary>
    StoppedDelayTooLong,

    /// <summary>Refused: the script already ran <see cref="ScriptLimits.MaxRunsPerMinute"/> times in the last minute.</summary>
    RateLimited,

    /// <summary>Failed for the reason given (unknown or disabled script, call to an unknown script).</summary>
    Failed,

    /// <summary>
    /// Ended by its owner while waiting on a delay: the script was replaced, disabled or removed, or
    /// the agent is shutting down.
    /// </summary>
    Cancelled,
}

/// <summary>The recorded outcome of a run, with a human reason for logs.</summary>
public sealed record RunOutcome(RunOutcomeKind Kind, string Reason)
{
    /// <summary>A failure for <paramref name="reason"/>.</summary>
    public static RunOutcome Failed(string reason) => new(RunOutcomeKind.Failed, reason);
}

/// <summary>What a run asks its owner to do; the runner never performs anything itself.</summary>
/// <param name="ScriptId">The script whose action produced the effect (a called script's id inside a call).</param>
public abstract record ScriptEffect(string ScriptId);

/// <summary>Write a GPIO line, register or coil; goes through <see cref="WriteArbiter"/> before it is performed.</summary>
public sealed record WriteRequested(WriteProposal Proposal) : ScriptEffect(Proposal.ScriptId);

/// <summary>Publish a message.</summary>
public sealed record PublishRequested(string ScriptId, string Topic, string Payload) : ScriptEffect(ScriptId);

/// <summary>Raise an alert.</summary>
public sealed record AlertRequested(string ScriptId, string Name, ScriptAlertSeverity Severity) : ScriptEffect(ScriptId);

/// <summary>The run waits until <paramref name="Until"/>, then the owner calls <see cref="ScriptRunner.Resume"/>.</summary>
public sealed record DelayRequested(string ScriptId, TimeSpan Duration, DateTimeOffset Until) : ScriptEffect(ScriptId);

/// <summary>One script in the call stack of a run and the index of its next action.</summary>
public sealed record RunFrame(ScriptDefinition Script, int NextAction);

/// <summary>
/// The state of one run between steps: immutable, so the owner can keep it in a message or field
/// while the run waits on a delay. Calls run inside the same run with the root script's priority,
/// so an emergency script calling a shared helper writes at emergency priority.
/// </summary>
public sealed record ScriptRun(
    Guid RunId,
    ScriptDefinition Root,
    DateTimeOffset StartedAt,
    int ActionsExecuted,
    ImmutableStack<RunFrame> Frames,
    IReadOnlyDictionary<string, ScriptDefinition> Scripts,
    IReadOnlyDictionary<string, double> Readings,
    DateTimeOffset? WaitingUntil)
{
    /// <summary>Calls in progress: 0 while the started script runs its own actions.</summary>
    public int CallDepth => Frames.Count() - 1;
}

/// <summary>
/// The result of starting or resuming a run: the effects to perform in order, then either a wait
/// (<see cref="Outcome"/> null and <see cref="ScriptRun.WaitingUntil"/> set) or the outcome.
/// </summary>
public sealed record RunStep(ScriptRun? Run, IReadOnlyList<ScriptEffect> Effects, RunOutcome? Outcome)
{
    /// <summary>True when the run is over.</summary>
    public bool IsFinished => Outcome is not null;
}

/// <summary>
/// Executes script runs as a step machine against an injected clock, enforcing
/// <see cref="ScriptLimits"/>. It returns effects instead of performing them; the owner (the
/// script engine actor) performs them, schedules a timer for each wait and calls
/// <see cref="Resume"/>. Holds the per-script rate limiter, so one runner per engine. Not thread-safe.
/// </summary>
public sealed class ScriptRunner
{
    private readonly ScriptLimits _limits;
    private readonly TimeProvider _time;
    private readonly ScriptRateLimiter _rateLimiter;

    /// <summary>A runner with the given limits and clock.</summary>
    public ScriptRunner(ScriptLimits limits, TimeProvider time)
    {
        _limits = limits;
        _time = time;
        _rateLimiter = new ScriptRateLimiter(limits.MaxRunsPerMinute);
    }

    /// <summary>The limits this runner enforces.</summary>
    public ScriptLimits Limits => _limits;

    /// <summary>
    /// Starts a run of <paramref name="scriptId"/> with a snapshot of the installed scripts and of
    /// the current readings, and executes it up to its first wait or its end.
    /// </summary>
    public RunStep Start(string scriptId, IReadOnlyDictionary<string, ScriptDefinition> scripts, IReadOnlyDictionary<string, double> readings)
    {
        var now = _time.GetUtcNow();
        if (!scripts.TryGetValue(scriptId, out var script)) return Finished(null, [], RunOutcome.Failed($"unknown script \"{scriptId}\""));
        if (!script.Enabled) return Finished(null, [], RunOutcome.Failed($"script \"{scriptId}\" is disabled"));
        if (!script.Conditions.All(c => c.Holds(readings)))
            return Finished(null, [], new RunOutcome(RunOutcomeKind.ConditionsNotMet, $"conditions of \"{scriptId}\" do not hold"));
        if (!_rateLimiter.TryAcquire(scriptId, now))
            return Finished(null, [], new RunOutcome(RunOutcomeKind.RateLimited, $"\"{scriptId}\" already ran {_limits.MaxRunsPerMinute} times in the last minute"));
        var run = new ScriptRun(Guid.NewGuid(), script, now, 0, ImmutableStack.Create(new RunFrame(script, 0)), scripts, readings, null);
        return Execute(run, now);
    }

    /// <summary>Continues a waiting run; before its wait is over, returns it unchanged with no effects.</summary>
    public RunStep Resume(ScriptRun run)
    {
        var now = _time.GetUtcNow();
        if (run.WaitingUntil is { } until && now < until) return new RunStep(run, [], null);
        return Execute(run with { WaitingUntil = null }, now);
    }

    /// <summary>Forgets the rate-limit history of a removed script.</summary>
    public void Forget(string scriptId) => _rateLimiter.Forget(scriptId);

    private RunStep Execute(ScriptRun run, DateTimeOffset now)
    {
        var effects = new List<ScriptEffect>();
        if (now - run.StartedAt > _limits.MaxExecutionTime)
            return Stop(run, effects, RunOutcomeKind.StoppedTimeLimit, $"ran {now - run.StartedAt}, limit {_limits.MaxExecutionTime}");
        var frames = run.Frames;
        var executed = run.ActionsExecuted;
        while (!frames.IsEmpty)
        {
            var frame = frames.Peek();
            if (frame.NextAction >= frame.Script.Actions.Count)
            {
                frames = frames.Pop();
                continue;
            }
            var at = $"\"{frame.Script.Id}\" action {frame.NextAction}";
            if (executed >= _limits.MaxActionsPerRun)
                return Stop(run with { Frames = frames, ActionsExecuted = executed }, effects, RunOutcomeKind.StoppedActionLimit, $"{at}: {executed} actions executed, limit {_limits.MaxActionsPerRun}");
            var action = frame.Script.Actions[frame.NextAction];
            frames = frames.Pop().Push(frame with { NextAction = frame.NextAction + 1 });
            executed++;
            var current = run with { Frames = frames, ActionsExecuted = executed };
            var id = frame.Script.Id;
            switch (action)
            {
                case GpioWriteAction a:
                    effects.Add(Write(run, frame.Script, new GpioLineTarget(a.Line), a.Level));
                    break;
                case ModbusWriteRegisterAction a:
                    effects.Add(Write(run, frame.Script, new ModbusRegisterTarget(a.Device, a.Address), a.Value));
                    break;
                case ModbusWriteCoilAction a:
                    effects.Add(Write(run, frame.Script, new ModbusCoilTarget(a.Device, a.Address), a.Value ? 1 : 0));
                    break;
                case PublishAction a:
                    effects.Add(new PublishRequested(id, a.Topic, a.Payload));
                    break;
                case RaiseAlertAction a:
                    effects.Add(new AlertRequested(id, a.Name, a.Severity));
                    break;
                case DelayAction a:
                    if (a.Duration > _limits.MaxDelay)
                        return Stop(current, effects, RunOutcomeKind.StoppedDelayTooLong, $"{at}: delay {a.Duration}, limit {_limits.MaxDelay}");
                    var until = now + a.Duration;
                    if (until - run.StartedAt > _limits.MaxExecutionTime)
                        return Stop(current, effects, RunOutcomeKind.StoppedTimeLimit, $"{at}: delay {a.Duration} would end the run after {until - run.StartedAt}, limit {_limits.MaxExecutionTime}");
                    if (a.Duration <= TimeSpan.Zero) break;
                    effects.Add(new DelayRequested(id, a.Duration, until));
                    return new RunStep(current with { WaitingUntil = until }, effects, null);
                case CallScriptAction a:
                    if (!run.Scripts.TryGetValue(a.ScriptId, out var callee))
                        return Finished(current, effects, RunOutcome.Failed($"{at}: calls unknown script \"{a.ScriptId}\""));
                    if (frames.Count() > _limits.MaxCallDepth)
                        return Stop(current, effects, RunOutcomeKind.StoppedCallDepth, $"{at}: call to \"{a.ScriptId}\" would be depth {frames.Count()}, limit {_limits.MaxCallDepth}");
                    // A called script that is disabled or whose conditions do not hold is skipped, not an error.
                    if (callee.Enabled && callee.Conditions.All(c => c.Holds(run.Readings))) frames = frames.Push(new RunFrame(callee, 0));
                    break;
                default:
                    return Finished(current, effects, RunOutcome.Failed($"{at}: unsupported action {action.GetType().Name}"));
            }
        }
        return Finished(run with { Frames = frames, ActionsExecuted = executed }, effects, new RunOutcome(RunOutcomeKind.Completed, $"{executed} actions"));
    }

    private static WriteRequested Write(ScriptRun run, ScriptDefinition script, WriteTarget target, int value) =>
        new(new WriteProposal(target, value, script.Id, script.Name, run.Root.Priority));

    private static RunStep Stop(ScriptRun run, List<ScriptEffect> effects, RunOutcomeKind kind, string reason) =>
        Finished(run, effects, new RunOutcome(kind, reason));

    private static RunStep Finished(ScriptRun? run, List<ScriptEffect> effects, RunOutcome outcome) =>
        new(run is null ? null : run with { WaitingUntil = null }, effects, outcome);
}
