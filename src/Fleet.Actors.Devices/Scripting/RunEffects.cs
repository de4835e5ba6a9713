using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Devices.Alerts;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Devices.Scripting;

/// <summary>
/// What the steps of runs do, turned into records for the log and writes for the devices. Each
/// write is proposed to the cycle's <see cref="WriteArbiter"/>; every decision is journaled and
/// counted, conflicts are logged at Warning, and only <c>write</c> and <c>won</c> are performed.
/// Published messages become records; raised alerts go to the vehicle's alerts actor (or, for an
/// engine without one, become records). A run that ended is counted, journaled
/// (unless its conditions did not hold) and logged (rate-limited runs at most once per 10 s, with
/// a count). Used on the engine's thread only.
/// </summary>
internal sealed class RunEffects(ScriptMetrics metrics, ILoggingAdapter logger, TimeProvider time, IActorRef? alerts = null)
{
    private static readonly TimeSpan RateLimitedLogInterval = TimeSpan.FromSeconds(10);

    private readonly WriteArbiter _arbiter = new();
    private readonly RateLimitedLog _rateLimitedLog = new(RateLimitedLogInterval, time);

    private readonly Dictionary<string, IReadOnlyList<WriteProposal>> _holds = new(StringComparer.Ordinal);

    /// <summary>True while the current cycle holds proposals: it must be closed after <c>fleet.scripting.cycle</c>.</summary>
    public bool CycleOpen => _arbiter.HasProposals;

    /// <summary>Ends the arbitration cycle: the writes of the next one start from the standing holds only.</summary>
    public void CloseCycle()
    {
        _arbiter.Close();
        foreach (var hold in _holds.Values)
            foreach (var write in hold) _arbiter.Seed(write);
    }

    /// <summary>
    /// A write asked for from outside a script (a command, an emergency stop), arbitrated like a
    /// script's: its records and whether to perform it (<c>write</c> or <c>won</c>), with the outcome's name.
    /// </summary>
    public (List<Reading> Records, bool Perform, string Outcome, WriteProposal? Winner) Propose(WriteProposal proposal, DateTimeOffset now)
    {
        var records = new List<Reading>();
        var unixMs = now.ToUnixTimeMilliseconds();
        var outcome = WriteOutcome.Write;
        WriteProposal? winner = null;
        foreach (var decision in _arbiter.Propose(proposal))
        {
            records.Add(WriteRecord(unixMs, decision));
            LogDecision(decision);
            if (decision.Proposal != proposal) continue;
            outcome = decision.Outcome;
            if (outcome == WriteOutcome.Lost) winner = decision.Other;
        }
        return (records, outcome is WriteOutcome.Write or WriteOutcome.Won, ScriptOutcomes.Name(outcome), winner);
    }

    /// <summary>Keeps <paramref name="writes"/> standing in every cycle until <see cref="Release"/>: lower priorities lose against them.</summary>
    public void Hold(string holder, IReadOnlyList<WriteProposal> writes)
    {
        _holds[holder] = writes;
        // Standing from now on, in this cycle too.
        foreach (var write in writes) _arbiter.Seed(write);
    }

    /// <summary>Ends a hold; returns false when there was none.</summary>
    public bool Release(string holder)
    {
        if (!_holds.Remove(holder, out var writes)) return false;
        // Released at once, in this cycle too: a write right after a reset must not lose against the old hold.
        foreach (var write in writes) _arbiter.Unseed(write);
        return true;
    }

    /// <summary>
    /// The records of <paramref name="step"/> of a run of <paramref name="scriptId"/> (started by
    /// <paramref name="trigger"/>), in order, and the writes to perform after the log has them.
    /// </summary>
    public (List<Reading> Records, List<WriteProposal> Writes) Apply(RunStep step, string scriptId, string trigger, DateTimeOffset now)
    {
        var records = new List<Reading>();
        var writes = new List<WriteProposal>();
        var unixMs = now.ToUnixTimeMilliseconds();
        foreach (var effect in step.Effects)
        {
            switch (effect)
            {
                case WriteRequested w:
                    foreach (var decision in _arbiter.Propose(w.Proposal))
                    {
                        records.Add(WriteRecord(unixMs, decision));
                        LogDecision(decision);
                        if (decision.Proposal == w.Proposal && decision.Outcome is WriteOutcome.Write or WriteOutcome.Won)
                            writes.Add(w.Proposal);
                    }
                    break;
                case PublishRequested p:
                    records.Add(new Reading(ScriptEngine.DeviceId, unixMs, new MessageValue(p.Topic, p.Payload)));
                    break;
                case AlertRequested a:
                    var message = $"raised by script \"{a.ScriptId}\" (run started by {trigger})";
                    if (alerts is not null)
                    {
                        // The same path as every other alert: debounce, journal, high-priority lane, counters, outputs.
                        alerts.Tell(new AlertsProtocol.Raise(a.Name, ScriptOutcomes.Severity(a.Severity), "script:" + a.ScriptId, Message: message, OneShot: true));
                        logger.Debug("Script {0} raised alert {1} ({2})", a.ScriptId, a.Name, a.Severity);
                        break;
                    }
                    records.Add(new Reading(ScriptEngine.DeviceId, unixMs, new AlertValue(a.Name, ScriptOutcomes.Severity(a.Severity), "script:" + a.ScriptId, message)));
                    logger.Warning("Script {0} raised alert {1} ({2})", a.ScriptId, a.Name, a.Severity);
                    break;
            }
        }
        if (step.Outcome is { } outcome && Ended(scriptId, trigger, outcome, step.Run, now) is { } ended) records.Add(ended);
        return (records, writes);
    }

    /// <summary>Counts and logs the end of a run; returns its record, or null for a run whose conditions did not hold (only counted).</summary>
    public Reading? Ended(string scriptId, string trigger, RunOutcome outcome, ScriptRun? run, DateTimeOffset now)
    {
        metrics.Runs(outcome.Kind).Inc();
        LogOutcome(scriptId, trigger, outcome);
        return outcome.Kind == RunOutcomeKind.ConditionsNotMet ? null
            : ScriptOutcomes.RunRecord(now.ToUnixTimeMilliseconds(), scriptId, trigger, outcome, run, now);
    }

    private Reading WriteRecord(long unixMs, WriteDecision decision)
    {
        metrics.Writes(ScriptOutcomes.Name(decision.Outcome)).Inc();
        var p = decision.Proposal;
        var o = decision.Other;
        return new Reading(ScriptEngine.DeviceId, unixMs, new ScriptWriteValue(ScriptOutcomes.Target(p.Target), p.Value, ScriptOutcomes.Name(decision.Outcome),
            p.ScriptId, (byte)p.Priority, o?.ScriptId, o is null ? null : (byte)o.Priority, o?.Value));
    }

    private void LogDecision(WriteDecision decision)
    {
        switch (decision.Outcome)
        {
            case WriteOutcome.Won:
                logger.Warning("Script conflict won: {0}", decision.Describe());
                break;
            case WriteOutcome.Lost:
                logger.Warning("Script conflict lost: {0}", decision.Describe());
                break;
            case WriteOutcome.Overridden:
                break;
            default:
                logger.Debug("Script write: {0}", decision.Describe());
                break;
        }
    }

    private void LogOutcome(string scriptId, string trigger, RunOutcome outcome)
    {
        switch (outcome.Kind)
        {
            case RunOutcomeKind.Completed or RunOutcomeKind.ConditionsNotMet:
                logger.Debug("Script {0} ({1}): {2}, {3}", scriptId, trigger, ScriptOutcomes.Name(outcome.Kind), outcome.Reason);
                break;
            case RunOutcomeKind.RateLimited:
                // A trigger that keeps firing would fill the log: one line per interval, with a count.
                if (_rateLimitedLog.ShouldLog(out var suppressed))
                    logger.Warning("Script {0} ({1}): rate limited, {2} ({3} more rate-limited runs not logged)", scriptId, trigger, outcome.Reason, suppressed);
                break;
            default:
                logger.Warning("Script {0} ({1}): {2}, {3}", scriptId, trigger, ScriptOutcomes.Name(outcome.Kind), outcome.Reason);
                break;
        }
    }
}
