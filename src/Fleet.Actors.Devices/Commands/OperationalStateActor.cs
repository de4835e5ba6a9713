using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Journal;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Alerts;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Scripting;
using static Fleet.Actors.Core.Commands.CommandProtocol;

namespace Fleet.Actors.Devices.Commands;

/// <summary>Messages of the operational state machine.</summary>
public static class OperationalStateProtocol
{
    /// <summary>Asks for the <see cref="Current"/> state.</summary>
    public sealed class GetState
    {
        /// <summary>The only instance.</summary>
        public static readonly GetState Instance = new();

        private GetState()
        {
        }
    }

    /// <summary>The state, its mission and route; also told to the listener after every change.</summary>
    public sealed record Current(OperationalState State, string MissionId, string RouteId)
    {
        /// <summary>The state as the contract spells it.</summary>
        public string StateName => OperationalStates.Name(State);
    }
}

/// <summary>
/// The vehicle's operational state machine (actor <c>operations</c>), event-sourced so that a
/// restart keeps it (an emergency stop survives a reboot): it carries out the fleet commands by
/// <see cref="OperationalStates.Decide"/>, journals every move before it answers, and tells the
/// listener (the vehicle agent, for the retained status topic) the new state. An emergency stop is
/// acted on at once: the configured outputs are written at emergency priority (255) through the
/// script engine and held there in every arbitration cycle, so scripts of lower priority lose,
/// until a signed reset; a safe stop holds its outputs at critical priority (200), reports
/// progress, and reaches SAFE_STOPPED after the settle time.
/// </summary>
internal sealed class OperationalStateActor : ReceivePersistentActor, IWithTimers
{
    private const string EmergencyHold = "emergency-stop";
    private const string SafeStopHold = "safe-stop";
    private const string SettleTimer = "settle";

    private readonly OperationsSettings _settings;
    private readonly GpioSettings _gpio;
    private readonly IActorRef _scripts;
    private readonly IActorRef _wal;
    private readonly IActorRef? _listener;
    private readonly IActorRef? _alerts;
    private readonly IActorRef? _gate;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private OperationalState _state = OperationalState.Ready;
    private string _missionId = "";
    private string _routeId = "";
    private (string CommandId, IActorRef ReplyTo)? _safeStop;
    private bool _recovered;

    // Commands wait (stashed) until the history mark says whether the state was recovered whole.
    private bool _historyKnown;
    private bool _replacedWhileChecking;

    public OperationalStateActor(string vehicleId, OperationsSettings settings, GpioSettings gpio, IActorRef scripts, IActorRef log, IActorRef? listener,
        TimeProvider time, IActorRef? alerts, IActorRef? gate)
    {
        _alerts = alerts;
        _gate = gate;
        _wal = log;
        _settings = settings;
        _gpio = gpio;
        _scripts = scripts;
        _listener = listener;
        _time = time;
        PersistenceId = "operations-" + Uri.EscapeDataString(vehicleId);

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not OperationalStateChanged changed) return;
            Apply(changed);
            _recovered = true;
        });
        Recover<OperationalStateChanged>(changed =>
        {
            Apply(changed);
            _recovered = true;
        });
        Recover<RecoveryCompleted>(_ => OnRecovered());
        Command<Execute>(execute =>
        {
            if (_historyKnown) OnExecute(execute);
            else Stash.Stash();
        });
        Command<HistoryChecked>(OnHistoryChecked);
        Command<HistoryMarkWritten>(written => written.LogProblem(_log, PersistenceId));
        Command<SaveSnapshotSuccess>(saved => DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1)));
        // A damaged file met by a snapshot or a deletion is quarantined; the state, whole in memory, goes on.
        Command<SaveSnapshotFailure>(f =>
        {
            if (!ReportDamage(f.Cause, "saving a snapshot"))
                _log.Warning("Snapshot of {0} failed ({1}); the state is in the journal only until the next change", PersistenceId, f.Cause.Message);
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f =>
        {
            if (!ReportDamage(f.Cause, "deleting old snapshots")) _log.Warning("Deleting old snapshots of {0} failed: {1}", PersistenceId, f.Cause.Message);
        });
        Command<OperationalStateProtocol.GetState>(_ => Sender.Tell(Current));
        Command<Settled>(_ => OnSettled());
        Command<ScriptProtocol.WriteDone>(done =>
        {
            if (!done.Succeeded) _log.Error("A safe output of state {0} was not set: {1}: {2}", OperationalStates.Name(_state), done.Outcome, done.Error);
        });
        Command<Core.Wal.JournalQuarantined>(replaced =>
        {
            if (!_historyKnown)
            {
                // The start's history check decides: journaled now, a state recovered from nothing
                // (the file replaced before the recovery read it) would pass for a known one, and the
                // mark rewritten now would hide the replacement from the check.
                _replacedWhileChecking = true;
                return;
            }
            // The journal that held the state was replaced after damage: write the state again (an emergency stop must outlive it).
            _log.Warning("{0} was replaced after damage; journaling the operational state {1} again", replaced.File.Path, Current.StateName);
            Move(_state, _missionId, _routeId, "", "journal replaced", WriteMark);
        });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f =>
        {
            if (!ReportDamage(f.Cause, "deleting old rows")) _log.Warning("Deleting old rows of {0} failed: {1}", PersistenceId, f.Cause.Message);
        });
    }

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(Core.Wal.JournalQuarantined));
        _gate?.Tell(BackoffGateProtocol.Starting.Instance);
        base.PreStart();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        base.PostStop();
    }

    /// <summary>
    /// Props for the state machine of one vehicle; <paramref name="alerts"/> (the vehicle's alerts actor)
    /// hears of emergency stops as the critical alert <c>emergency-stop</c>, raised and cleared by the reset.
    /// </summary>
    public static Props Props(string vehicleId, OperationsSettings settings, GpioSettings gpio, IActorRef scripts, IActorRef log, IActorRef? listener,
        TimeProvider time, IActorRef? alerts = null, IActorRef? gate = null) =>
        Akka.Actor.Props.Create(() => new OperationalStateActor(vehicleId, settings, gpio, scripts, log, listener, time, alerts, gate));

    /// <summary>
    /// <see cref="Props"/> behind a <see cref="BackoffGate"/>: a state machine stopped by its journal
    /// (a damaged file, quarantined meanwhile) is started again after a backoff and recovers what the
    /// files still hold (ADR 0011: a lost state comes up emergency-stopped); a command for it while it
    /// is down is refused at once (<see cref="CommandRefusals.Unavailable"/>).
    /// </summary>
    public static Props GatedProps(string vehicleId, OperationsSettings settings, GpioSettings gpio, IActorRef scripts, IActorRef log, IActorRef? listener,
        TimeProvider time, IActorRef? alerts = null) =>
        BackoffGate.Props("the operational state", gate => Props(vehicleId, settings, gpio, scripts, log, listener, time, alerts, gate), "state",
            (message, sender, why) =>
            {
                if (message is not Execute execute) return false;
                sender.Tell(new Refuse(execute.CommandId, CommandRefusals.Unavailable,
                    $"the operational state is not available: {why}; nothing was changed, send it again shortly"));
                return true;
            });

    /// <summary>The alert type of an emergency stop (critical, source <c>operations</c>): raised when it begins, cleared by the reset.</summary>
    public const string EmergencyStopAlert = "emergency-stop";

    /// <summary>Device id of the status records the state machine journals.</summary>
    public const string DeviceId = "operations";

    private OperationalStateProtocol.Current Current => new(_state, _missionId, _routeId);

    private void Apply(OperationalStateChanged changed)
    {
        _state = OperationalStates.Parse(changed.State);
        _missionId = changed.MissionId;
        _routeId = changed.RouteId;
    }

    private void OnRecovered()
    {
        // Outputs do not remember: a stop that was in force before the restart is put in force again.
        switch (_state)
        {
            case OperationalState.EmergencyStopped:
                _log.Warning("The vehicle is emergency-stopped (since before the restart); its safe outputs are set again");
                HoldOutputs(EmergencyHold, _settings.EmergencyStopOutputs, 255);
                RaiseEmergencyAlert("emergency-stopped since before the agent restarted; until RESET_EMERGENCY_STOP");
                break;
            case OperationalState.SafeStopped:
                HoldOutputs(SafeStopHold, _settings.SafeStopOutputs, 200);
                break;
            case OperationalState.SafeStopping:
                HoldOutputs(SafeStopHold, _settings.SafeStopOutputs, 200);
                Timers.StartSingleTimer(SettleTimer, Settled.Instance, _settings.SafeStopSettle);
                break;
        }
        // A vehicle that never had a command has nothing to tell the fleet's telemetry at start.
        Announce(journal: _recovered);
        if (_settings.History is not { } files)
        {
            _historyKnown = true;
            _gate?.Tell(BackoffGateProtocol.Up.Instance);
            return;
        }
        HistoryMark.CheckAndTell(files, Self);
    }

    /// <summary>
    /// Nothing was recovered, yet the files are not the ones the state was written to (quarantined
    /// after damage): the state is unknown, and it may have been an emergency stop, which only a
    /// signed reset may end. So the vehicle comes up emergency-stopped, with its outputs held.
    /// Otherwise the state as recovered is journaled and snapshotted once if it never was (so that a
    /// later loss of one file is survived and a loss of both is noticed) and the mark is written. A
    /// file replaced while the check ran counts as replaced, whatever the check read.
    /// </summary>
    private void OnHistoryChecked(HistoryChecked checkedHistory)
    {
        var replacedWhileChecking = _replacedWhileChecking;
        _replacedWhileChecking = false;
        if (!_recovered && (checkedHistory.MayBeLost || replacedWhileChecking))
        {
            var why = checkedHistory.MayBeLost ? checkedHistory.Why : "the journal was replaced after damage while the start checked it";
            _log.Error("The operational state of {0} was lost ({1}); it may have been an emergency stop, so the vehicle is emergency-stopped until a signed RESET_EMERGENCY_STOP",
                PersistenceId, why);
            HoldOutputs(EmergencyHold, _settings.EmergencyStopOutputs, 255);
            RaiseEmergencyAlert($"the operational state was lost ({why}); emergency-stopped until RESET_EMERGENCY_STOP");
            Move(OperationalState.EmergencyStopped, "", "", "", "state lost: " + why, HistoryKnown);
        }
        else if (!_recovered) Move(_state, _missionId, _routeId, "", "first start", HistoryKnown, announce: false);
        else if (replacedWhileChecking)
        {
            // Recovered before the file went: the state is known; it goes into the fresh file before the mark names it.
            _log.Warning("The journal of {0} was replaced after damage; journaling the operational state {1} again", PersistenceId, Current.StateName);
            Move(_state, _missionId, _routeId, "", "journal replaced", HistoryKnown);
        }
        else HistoryKnown();
    }

    private void HistoryKnown()
    {
        _historyKnown = true;
        WriteMark();
        Stash.UnstashAll();
        _gate?.Tell(BackoffGateProtocol.Up.Instance);
    }

    private void WriteMark()
    {
        if (_settings.History is { } files) HistoryMark.WriteAndTell(files, Self);
    }

    /// <summary>The state goes to the listener (retained status) and, as a status record, into the log (the fleet's telemetry).</summary>
    private void Announce(bool journal = true)
    {
        _listener?.Tell(Current);
        if (journal) _wal.Tell(new WalProtocol.LogReadings([new Reading(DeviceId, _time.GetUtcNow().ToUnixTimeMilliseconds(), new StatusValue(_state, null))]));
    }

    private void OnExecute(Execute execute)
    {
        var command = execute.Command;
        var (next, problem) = OperationalStates.Decide(_state, command, _missionId);
        if (problem is not null)
        {
            Sender.Tell(new Refuse(execute.CommandId, CommandRefusals.IllegalTransition, problem, OperationalStates.Name(_state)));
            return;
        }
        var replyTo = Sender;
        var before = _state;
        if (next == OperationalState.EmergencyStopped)
        {
            // At once, before the journal write: the outputs must not wait for the disk.
            Timers.Cancel(SettleTimer);
            _scripts.Tell(new ScriptProtocol.Release(SafeStopHold));
            HoldOutputs(EmergencyHold, _settings.EmergencyStopOutputs, 255);
            var why = command.PayloadCase == Core.Commands.Wire.Command.PayloadOneofCase.Stop && command.Stop.Reason.Length > 0 ? ": " + command.Stop.Reason : "";
            RaiseEmergencyAlert($"emergency stop by command {execute.CommandId}{why}; until RESET_EMERGENCY_STOP");
        }
        var mission = command.Type switch
        {
            CommandType.AssignMission => command.AssignMission.MissionId,
            CommandType.CancelMission => "",
            _ => _missionId,
        };
        var route = command.Type switch
        {
            CommandType.AssignMission => command.AssignMission.RouteId,
            CommandType.UpdateRoute => command.UpdateRoute.RouteId,
            CommandType.CancelMission => "",
            _ => _routeId,
        };
        var reason = command.PayloadCase == Core.Commands.Wire.Command.PayloadOneofCase.Stop ? command.Stop.Reason : "";
        Move(next, mission, route, execute.CommandId, reason, () =>
        {
            switch (command.Type)
            {
                case CommandType.EmergencyStop:
                    replyTo.Tell(new Succeed(execute.CommandId, _settings.EmergencyStopOutputs.Count == 0
                            ? "emergency stop (no safe outputs configured: fleet.operations.emergency-stop.outputs); until RESET_EMERGENCY_STOP"
                            : $"emergency stop: {Describe(_settings.EmergencyStopOutputs)} held at emergency priority until RESET_EMERGENCY_STOP",
                        OperationalState: Current.StateName));
                    break;
                case CommandType.ResetEmergencyStop:
                    _scripts.Tell(new ScriptProtocol.Release(EmergencyHold));
                    _alerts?.Tell(new AlertsProtocol.Clear(EmergencyStopAlert, DeviceId, Message: $"emergency stop reset by command {execute.CommandId}; the vehicle is safe-stopped"));
                    HoldOutputs(SafeStopHold, _settings.SafeStopOutputs, 200);
                    replyTo.Tell(new Succeed(execute.CommandId, "emergency stop reset; the vehicle is safe-stopped", OperationalState: Current.StateName));
                    break;
                case CommandType.SafeStop:
                    HoldOutputs(SafeStopHold, _settings.SafeStopOutputs, 200);
                    _safeStop = (execute.CommandId, replyTo);
                    replyTo.Tell(new Accept(execute.CommandId));
                    replyTo.Tell(new Progress(execute.CommandId, 50, $"safe stop under way (outputs: {Describe(_settings.SafeStopOutputs)})"));
                    Timers.StartSingleTimer(SettleTimer, Settled.Instance, _settings.SafeStopSettle);
                    break;
                default:
                    if (before == OperationalState.SafeStopped && next != OperationalState.SafeStopped) _scripts.Tell(new ScriptProtocol.Release(SafeStopHold));
                    replyTo.Tell(new Succeed(execute.CommandId, $"{OperationalStates.Name(before)} -> {Current.StateName}", OperationalState: Current.StateName));
                    break;
            }
        });
    }

    private void OnSettled()
    {
        if (_state != OperationalState.SafeStopping) return;
        Move(OperationalState.SafeStopped, _missionId, _routeId, _safeStop?.CommandId ?? "", "settled", () =>
        {
            if (_safeStop is { } stop) stop.ReplyTo.Tell(new Succeed(stop.CommandId, "safe-stopped", OperationalState: Current.StateName));
            _safeStop = null;
        });
    }

    private void Move(OperationalState next, string mission, string route, string commandId, string reason, Action then, bool announce = true)
    {
        var changed = new OperationalStateChanged
        {
            State = OperationalStates.Name(next), MissionId = mission, RouteId = route, CommandId = commandId, Reason = reason,
            At = _time.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        var before = _state;
        Persist(changed, persisted =>
        {
            Apply(persisted);
            _recovered = true;
            // The newest row is the whole state: older ones are not needed. It is also the snapshot,
            // in the other file, so that the loss of either file keeps the state.
            if (LastSequenceNr > 1) DeleteMessages(LastSequenceNr - 1);
            SaveSnapshot(persisted);
            if (before != _state) _log.Warning("Operational state {0} -> {1}{2}", OperationalStates.Name(before), Current.StateName,
                commandId.Length > 0 ? $" (command {commandId})" : "");
            if (announce) Announce();
            then();
        });
    }

    /// <summary>
    /// An emergency stop is also a critical alert: the fleet hears of it in the high-priority lane and
    /// the outputs configured for critical alerts (a buzzer) are driven. The safe outputs above do not
    /// wait for it: they are held directly, at 255.
    /// </summary>
    private void RaiseEmergencyAlert(string message) =>
        _alerts?.Tell(new AlertsProtocol.Raise(EmergencyStopAlert, AlertSeverity.Critical, DeviceId, Message: message));

    private void HoldOutputs(string holder, IReadOnlyList<SafeOutput> outputs, int priority)
    {
        var writes = new List<ScriptProtocol.Write>();
        foreach (var output in outputs)
        {
            var line = _gpio.Lines.FirstOrDefault(l => l.Id == output.Line);
            if (line is null) continue; // checked at start: only configured output lines get here
            writes.Add(new ScriptProtocol.Write(holder, new GpioLineTarget(line.Pin), output.Value ? 1 : 0, priority));
        }
        if (writes.Count > 0) _scripts.Tell(new ScriptProtocol.Hold(holder, writes));
    }

    /// <inheritdoc />
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        // Damage: one line said it; the base class would log the stack trace.
        if (!BackoffGate.ReportStopping(Context, _gate, _log, $"The operational state {PersistenceId}", reason, "recovery")) base.OnRecoveryFailure(reason, message);
    }

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        if (!BackoffGate.ReportStopping(Context, _gate, _log, $"The operational state {PersistenceId}", cause, "a journal write")) base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <summary>When SQLite called a file damaged, has it quarantined (one line in the log, the stack trace at Debug); true when it did.</summary>
    private bool ReportDamage(Exception cause, string where) =>
        JournalQuarantine.Get(Context.System).ReportDamage(cause, _log, $"The operational state {PersistenceId} ({where})");

    private static string Describe(IReadOnlyList<SafeOutput> outputs) =>
        outputs.Count == 0 ? "no outputs configured" : string.Join(", ", outputs.Select(o => $"{o.Line}={(o.Value ? 1 : 0)}"));


    private sealed class Settled
    {
        public static readonly Settled Instance = new();
    }
}
