using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Fleet.Actors.Core.Commands.Journal;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Google.Protobuf;
using static Fleet.Actors.Core.Commands.CommandProtocol;

namespace Fleet.Actors.Core.Commands;

/// <summary>
/// The commands of one vehicle (actor <c>commands</c>), event-sourced: every message from the
/// commands topic is verified (<see cref="CommandVerifier"/>), checked against the ids already
/// accepted (<see cref="CommandLedger"/>), and its decision journaled before the broker gets its
/// PUBACK and before anything runs. An accepted command is sent to the actor that owns what it
/// changes (the routing table the vehicle agent builds), with a journaled <c>Started</c> row just
/// before, so that after a crash a command that never started is run and one that started is
/// reported <c>interrupted</c>: it runs at most once. The ACK goes out when the owner takes the
/// command on or finishes it, at the latest after <see cref="CommandSettings.AcknowledgeWithin"/>;
/// an owner that refuses at once (an illegal state transition) makes it a NACK instead. Every answer goes to <c>responses</c> as a
/// <see cref="Respond"/>; the same command again gets the answers it got the first time, marked
/// duplicate, and runs no more.
/// </summary>
internal sealed class CommandActor : ReceivePersistentActor, IWithTimers
{
    private const string PruneTimer = "prune";

    private readonly VehicleIdentity _vehicle;
    private readonly CommandSettings _settings;
    private readonly IReadOnlyDictionary<CommandType, IActorRef> _owners;
    private readonly IActorRef _responses;
    private readonly CommandMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly CommandVerifier _verifier;
    private readonly CommandLedger _ledger = new();
    private readonly Dictionary<string, Running> _running = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly RateLimitedLog _refusalLog;
    private readonly IActorRef? _gate;
    private int _rowsSinceSnapshot;
    private long _lastSnapshotSequenceNr;

    // Commands wait (stashed) until the history mark says whether the ledger is whole.
    private bool _historyKnown;
    private bool _rewriteMark;
    private string? _replacedWhileChecking;

    public CommandActor(VehicleIdentity vehicle, CommandSettings settings, IReadOnlyDictionary<CommandType, IActorRef> owners, IActorRef responses,
        CommandMetrics metrics, TimeProvider time, IActorRef? gate)
    {
        _gate = gate;
        _vehicle = vehicle;
        _settings = settings;
        _owners = owners;
        _responses = responses;
        _metrics = metrics;
        _time = time;
        _verifier = new CommandVerifier(settings, vehicle);
        _refusalLog = new RateLimitedLog(TimeSpan.FromSeconds(10), time);
        PersistenceId = PersistenceIdFor(vehicle.VehicleId);

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is Seen seen) _ledger.Apply(seen);
            else _log.Error("Skipping the unreadable command snapshot {0} of {1}: {2}", offer.Metadata.SequenceNr, PersistenceId, offer.Snapshot);
            _lastSnapshotSequenceNr = offer.Metadata.SequenceNr;
        });
        Recover<IMessage>(row =>
        {
            _ledger.Apply(row);
            _rowsSinceSnapshot++;
        });
        Recover<CorruptCommandRecord>(corrupt => _log.Error("Skipping corrupt command journal row {0} of {1} ({2}, {3} bytes): {4}",
            LastSequenceNr, PersistenceId, corrupt.Manifest, corrupt.Length, corrupt.Error));
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<Inbound>(inbound =>
        {
            if (_historyKnown) OnInbound(inbound);
            else Stash.Stash();
        });
        Command<HistoryChecked>(OnHistoryChecked);
        Command<HistoryMarkWritten>(written => written.LogProblem(_log, PersistenceId));
        Command<Accept>(a => OnAnswer(a.CommandId, running => EnsureAcknowledged(running)));
        Command<Progress>(p => OnAnswer(p.CommandId, running =>
        {
            EnsureAcknowledged(running);
            var progress = Response(running.Command, ResponseStatus.Progress, "", p.Message);
            progress.Progress = Math.Min(p.Percent, 100);
            Send(progress);
        }));
        Command<Succeed>(s => OnAnswer(s.CommandId, running =>
        {
            var response = Response(running.Command, ResponseStatus.Succeeded, "", s.Message);
            if (s.Details is not null) foreach (var (name, value) in s.Details) response.Details[name] = value;
            response.OperationalState = s.OperationalState ?? "";
            Finish(running, response);
        }));
        Command<Fail>(f => OnAnswer(f.CommandId, running => Finish(running, Response(running.Command, ResponseStatus.Failed, f.Reason, f.Message))));
        Command<Refuse>(r => OnAnswer(r.CommandId, running =>
        {
            var response = Response(running.Command, running.Acknowledged ? ResponseStatus.Failed : ResponseStatus.Nack, r.Reason, r.Message);
            response.OperationalState = r.OperationalState ?? "";
            Finish(running, response);
        }));
        Command<AcknowledgeDue>(due => OnAnswer(due.CommandId, EnsureAcknowledged));
        Command<ExecutionTimedOut>(t => OnAnswer(t.CommandId, running => Finish(running, Response(running.Command, ResponseStatus.Failed, CommandRefusals.Timeout,
            $"{running.Command.Type.ToWireName()} got no answer within {_settings.ExecutionTimeout.TotalSeconds:0.#} s"))));
        Command<Wal.JournalQuarantined>(replaced =>
        {
            // The rows of the replaced file are gone: the remembered command ids must not go with them.
            _log.Warning("Command journal {0}: {1} was replaced after damage; saving a snapshot of the {2} remembered command ids at once",
                PersistenceId, replaced.File.Path, _ledger.Count);
            _rowsSinceSnapshot = 0;
            // While the history check runs, the mark must keep the files it compares with (rewritten
            // now, a check that reads it late would find nothing replaced), and the ledger cannot tell
            // whether it recovered from the file before or after the replacement: the history counts as lost.
            if (_historyKnown) _rewriteMark = true;
            else _replacedWhileChecking = replaced.File.Path;
            SaveSnapshot(_ledger.Snapshot());
        });
        Command<PruneTick>(_ => _ledger.Prune(_time.GetUtcNow().ToUnixTimeMilliseconds(), _settings.MaxClockSkew));
        Command<GetStatus>(_ => Sender.Tell(new CommandProtocol.Status(_ledger.Count, _running.Count)));
        Command<SaveSnapshotSuccess>(OnSnapshotSaved);
        // A damaged file met by a snapshot or a deletion is quarantined; the ledger, whole in memory, goes on.
        Command<SaveSnapshotFailure>(f =>
        {
            if (!ReportDamage(f.Cause, "saving a snapshot")) _log.Warning("Snapshot of {0} failed ({1}); the journal keeps its rows until the next one", PersistenceId, f.Cause.Message);
        });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f =>
        {
            if (!ReportDamage(f.Cause, "deleting old rows")) _log.Warning("Deleting old rows of {0} failed: {1}", PersistenceId, f.Cause.Message);
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f =>
        {
            if (!ReportDamage(f.Cause, "deleting old snapshots")) _log.Warning("Deleting old snapshots of {0} failed: {1}", PersistenceId, f.Cause.Message);
        });
    }

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(Wal.JournalQuarantined));
        _gate?.Tell(BackoffGateProtocol.Starting.Instance);
        base.PreStart();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        base.PostStop();
    }

    /// <summary>The persistence id of a vehicle's command journal.</summary>
    public static string PersistenceIdFor(string vehicleId) => "commands-" + Uri.EscapeDataString(vehicleId);

    /// <summary>Props for the command actor of <paramref name="vehicle"/>; <paramref name="owners"/> says who executes each type.</summary>
    public static Props Props(VehicleIdentity vehicle, CommandSettings settings, IReadOnlyDictionary<CommandType, IActorRef> owners, IActorRef responses,
        CommandMetrics metrics, TimeProvider? time = null, IActorRef? gate = null) =>
        Akka.Actor.Props.Create(() => new CommandActor(vehicle, settings, owners, responses, metrics, time ?? TimeProvider.System, gate));

    /// <summary>
    /// Props for the command actor of <paramref name="vehicle"/> behind a <see cref="BackoffGate"/>: a
    /// ledger stopped by its journal (a damaged file, quarantined meanwhile) is started again after a
    /// backoff, and a command that arrives while it is down is refused at once
    /// (<see cref="CommandRefusals.Unavailable"/>), not left unanswered.
    /// </summary>
    public static Props GatedProps(VehicleIdentity vehicle, CommandSettings settings, IReadOnlyDictionary<CommandType, IActorRef> owners, IActorRef responses,
        CommandMetrics metrics, TimeProvider? time = null)
    {
        var clock = time ?? TimeProvider.System;
        return BackoffGate.Props("the command ledger", gate => Props(vehicle, settings, owners, responses, metrics, clock, gate), "ledger",
            (message, _, why) => RefuseWhileDown(message, why, vehicle, settings, responses, metrics, clock));
    }

    /// <summary>
    /// A command that arrives while no ledger runs: it cannot be journaled, so it is not run; it is
    /// refused (NACK, <see cref="CommandRefusals.Unavailable"/>, or why it would be refused anyway)
    /// and its PUBACK sent, so that the issuer has its answer at once and may send it again.
    /// </summary>
    private static bool RefuseWhileDown(object message, string why, VehicleIdentity vehicle, CommandSettings settings, IActorRef responses,
        CommandMetrics metrics, TimeProvider time)
    {
        if (message is not Inbound inbound) return false;
        metrics.Received.Inc();
        var (verified, refusal) = new CommandVerifier(settings, vehicle).Verify(inbound.Payload, time.GetUtcNow());
        var reason = refusal?.Reason ?? CommandRefusals.Unavailable;
        metrics.Errors(reason).Inc();
        responses.Tell(new Respond(Response(vehicle, time, verified?.Command ?? refusal?.Command, ResponseStatus.Nack, reason,
            refusal?.Message ?? $"the command ledger cannot take commands now: {why}; nothing was run, send it again shortly")));
        Acknowledge(inbound);
        return true;
    }

    private void OnRecovered()
    {
        Timers.StartPeriodicTimer(PruneTimer, PruneTick.Instance, TimeSpan.FromMinutes(1));
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var unfinished in _ledger.Unfinished.ToList())
        {
            var command = Decode(unfinished.PendingSignedCommand);
            // Its ACK, if any, went out before the restart: only the final answer now.
            var running = new Running(command, Acknowledged: true);
            if (unfinished.Started && command.Type is CommandType.Reboot or CommandType.ServiceRestart)
                Finish(running, Response(command, ResponseStatus.Succeeded, "", $"the agent is back after the {command.Type.ToWireName()}"));
            else if (unfinished.Started)
                Finish(running, Response(command, ResponseStatus.Failed, CommandRefusals.Interrupted,
                    $"the agent stopped while {command.Type.ToWireName()} ran; it is not run again, and what it had done stays done " +
                    "(see the vehicle's operational_state and DIAGNOSTICS)"));
            else if (command.ExpiresAt <= nowMs)
                Finish(running, Response(command, ResponseStatus.Failed, CommandRefusals.Expired, "accepted, but the agent stopped before it ran and it has expired since"));
            else
            {
                _log.Info("Running command {0} ({1}) that was accepted before the restart", command.CommandId, command.Type.ToWireName());
                Start(command);
            }
        }
        _log.Info("Command journal {0} recovered: {1} command ids remembered", PersistenceId, _ledger.Count);
        if (_settings.History is not { } files)
        {
            _historyKnown = true;
            _gate?.Tell(BackoffGateProtocol.Up.Instance);
            return;
        }
        HistoryMark.CheckAndTell(files, Self);
    }

    /// <summary>
    /// The journal or snapshot file that held the ledger was replaced since the last run (quarantined
    /// after damage): the ids it held are gone, and a command among them sent again would run again.
    /// From now on, commands issued before this moment that the ledger does not know are refused
    /// (<see cref="CommandRefusals.HistoryLost"/>); the horizon is journaled and snapshotted.
    /// </summary>
    private void OnHistoryChecked(HistoryChecked checkedHistory)
    {
        var replacedWhileChecking = _replacedWhileChecking;
        _replacedWhileChecking = null;
        if (!checkedHistory.MayBeLost && replacedWhileChecking is null)
        {
            HistoryKnown();
            return;
        }
        var why = checkedHistory.MayBeLost ? checkedHistory.Why : $"{replacedWhileChecking} was replaced after damage while its start checked the history";
        var lost = new HistoryLost { Before = _time.GetUtcNow().ToUnixTimeMilliseconds(), Reason = why };
        Persist(lost, row =>
        {
            _ledger.Apply(row);
            _log.Warning("Command history of {0} lost: {1}. Commands issued before {2:yyyy-MM-dd HH:mm:ss} UTC that this agent does not remember are refused (history-lost) instead of risking running them twice",
                PersistenceId, why, DateTimeOffset.FromUnixTimeMilliseconds(row.Before).UtcDateTime);
            _rowsSinceSnapshot = 0;
            SaveSnapshot(_ledger.Snapshot());
            HistoryKnown();
        });
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

    // ---------------------------------------------------------------- deciding

    private void OnInbound(Inbound inbound)
    {
        _metrics.Received.Inc();
        var now = _time.GetUtcNow();
        var (verified, refusal) = _verifier.Verify(inbound.Payload, now);
        if (refusal is not null)
        {
            RefuseInbound(refusal, inbound, now);
            return;
        }

        var command = verified!.Command;
        if (_ledger.Find(command.CommandId) is null && command.IssuedAt <= _ledger.HistoryLostBefore)
        {
            RefuseInbound(new CommandRefusal(CommandRefusals.HistoryLost,
                $"this vehicle lost its command history at {DateTimeOffset.FromUnixTimeMilliseconds(_ledger.HistoryLostBefore).UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC (a damaged journal file was replaced) " +
                $"and cannot tell whether command '{command.CommandId}', issued before, already ran; send it again under a new command id", command, verified.ContentHash), inbound, now);
            return;
        }
        if (_ledger.Find(command.CommandId) is { } seen)
        {
            if (seen.ContentHash.Span.SequenceEqual(verified.ContentHash))
            {
                RepeatAnswers(command, seen);
                Acknowledge(inbound);
            }
            else
                RefuseInbound(new CommandRefusal(CommandRefusals.Replayed, $"command id '{command.CommandId}' was used before by another command", command, verified.ContentHash),
                    inbound, now);
            return;
        }
        if (_ledger.Count >= _settings.MaxRemembered && _ledger.Prune(now.ToUnixTimeMilliseconds(), _settings.MaxClockSkew) == 0)
        {
            RefuseInbound(new CommandRefusal(CommandRefusals.Busy, $"{_ledger.Count} command ids are remembered, the most allowed; try again later", command,
                verified.ContentHash), inbound, now);
            return;
        }
        if (!_owners.ContainsKey(command.Type))
        {
            RefuseInbound(new CommandRefusal(CommandRefusals.Unsupported, UnsupportedMessage(command.Type), command, verified.ContentHash),
                inbound, now);
            return;
        }

        var row = new Accepted { SignedCommand = ByteString.CopyFrom(verified.Signed), ReceivedAt = now.ToUnixTimeMilliseconds() };
        Persist(row, accepted =>
        {
            _ledger.Apply(accepted);
            Acknowledge(inbound);
            _log.Info("Command {0} ({1}) from {2} accepted", command.CommandId, command.Type.ToWireName(), command.Issuer);
            AfterRow();
            Start(command);
        });
    }

    private void RefuseInbound(CommandRefusal refusal, Inbound inbound, DateTimeOffset now)
    {
        _metrics.Errors(refusal.Reason).Inc();
        var command = refusal.Command;
        if (_refusalLog.ShouldLog(out var suppressed))
            _log.Warning("Command {0} ({1}) from {2} refused: {3}: {4}{5}", CommandVerifier.Printable(command?.CommandId ?? "?"),
                command?.Type.ToWireName() ?? "?", CommandVerifier.Printable(command?.Issuer ?? "?"), refusal.Reason, refusal.Message,
                suppressed > 0 ? $" ({suppressed} more refusals since the last one logged)" : "");
        var row = new Refused
        {
            CommandId = command?.CommandId ?? "",
            Issuer = command?.Issuer ?? "",
            Type = command?.Type ?? CommandType.Unspecified,
            Reason = refusal.Reason,
            Message = refusal.Message,
            ReceivedAt = now.ToUnixTimeMilliseconds(),
            ExpiresAt = command?.ExpiresAt ?? 0,
            ContentHash = ByteString.CopyFrom(refusal.ContentHash),
        };
        Persist(row, _ =>
        {
            Acknowledge(inbound);
            Send(Response(command, ResponseStatus.Nack, refusal.Reason, refusal.Message));
            AfterRow();
        });
    }

    private void RepeatAnswers(Wire.Command command, SeenCommand seen)
    {
        _log.Info("Command {0} ({1}) arrived again; repeating its answer, not running it again", command.CommandId, command.Type.ToWireName());
        var final = seen.Answers.LastOrDefault();
        if (final is null || final.Status is ResponseStatus.Succeeded or ResponseStatus.Failed)
        {
            var ack = Response(command, ResponseStatus.Ack, "", "accepted before");
            ack.Duplicate = true;
            Send(ack);
        }
        if (final is null) return;
        var again = final.Clone();
        again.Duplicate = true;
        again.Timestamp = _time.GetUtcNow().ToUnixTimeMilliseconds();
        Send(again);
    }

    // ---------------------------------------------------------------- running

    private void Start(Wire.Command command)
    {
        Persist(new Started { CommandId = command.CommandId }, started =>
        {
            _ledger.Apply(started);
            AfterRow();
            _running[command.CommandId] = new Running(command, Acknowledged: false);
            Timers.StartSingleTimer(TimerKey(command.CommandId), new ExecutionTimedOut(command.CommandId), _settings.ExecutionTimeout);
            Timers.StartSingleTimer(AckTimerKey(command.CommandId), new AcknowledgeDue(command.CommandId), _settings.AcknowledgeWithin);
            _owners[command.Type].Tell(new Execute(command.CommandId, command));
        });
    }

    private void OnAnswer(string commandId, Action<Running> handle)
    {
        if (_running.TryGetValue(commandId, out var running)) handle(running);
        else _log.Debug("Late answer for command {0} ignored (it is finished)", commandId);
    }

    private void EnsureAcknowledged(Running running)
    {
        if (running.Acknowledged) return;
        Timers.Cancel(AckTimerKey(running.Command.CommandId));
        if (_running.ContainsKey(running.Command.CommandId)) _running[running.Command.CommandId] = running with { Acknowledged = true };
        Send(Response(running.Command, ResponseStatus.Ack, "", "verified and journaled"));
    }

    private void Finish(Running running, CommandResponse final)
    {
        var command = running.Command;
        if (final.Status != ResponseStatus.Nack) EnsureAcknowledged(running);
        _running.Remove(command.CommandId);
        Timers.Cancel(TimerKey(command.CommandId));
        Timers.Cancel(AckTimerKey(command.CommandId));
        Persist(new Completed { Response = final }, completed =>
        {
            _ledger.Apply(completed);
            AfterRow();
            if (final.Status == ResponseStatus.Succeeded) _metrics.Executed(command.Type.ToWireName(), "succeeded").Inc();
            else
            {
                _metrics.Errors(final.Reason).Inc();
                if (final.Status == ResponseStatus.Failed) _metrics.Executed(command.Type.ToWireName(), "failed").Inc();
            }
            if (final.Status == ResponseStatus.Succeeded)
                _log.Info("Command {0} ({1}) succeeded: {2}", command.CommandId, command.Type.ToWireName(), final.Message);
            else
                _log.Warning("Command {0} ({1}) {2}: {3}: {4}", command.CommandId, command.Type.ToWireName(),
                    final.Status == ResponseStatus.Nack ? "refused" : "failed", final.Reason, final.Message);
            Send(final);
        });
    }

    // ---------------------------------------------------------------- answering and housekeeping

    private CommandResponse Response(Wire.Command? command, ResponseStatus status, string reason, string message) =>
        Response(_vehicle, _time, command, status, reason, message);

    private static CommandResponse Response(VehicleIdentity vehicle, TimeProvider time, Wire.Command? command, ResponseStatus status, string reason,
        string message) => new()
    {
        CommandId = command?.CommandId ?? "",
        VehicleId = vehicle.VehicleId,
        Tenant = vehicle.Tenant,
        Status = status,
        Reason = reason,
        Message = message,
        Timestamp = time.GetUtcNow().ToUnixTimeMilliseconds(),
        Type = command?.Type ?? CommandType.Unspecified,
    };

    private void Send(CommandResponse response) => _responses.Tell(new Respond(response));

    private static void Acknowledge(Inbound inbound)
    {
        if (inbound.Acknowledge is not { } acknowledge) return;
        // The broker's PUBACK; a failure (the link dropped) means the broker sends it again: answered as a duplicate.
        acknowledge().ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    private void AfterRow()
    {
        if (++_rowsSinceSnapshot < _settings.SnapshotEvery) return;
        _rowsSinceSnapshot = 0;
        _ledger.Prune(_time.GetUtcNow().ToUnixTimeMilliseconds(), _settings.MaxClockSkew);
        SaveSnapshot(_ledger.Snapshot());
    }

    // Rows and snapshots before the previous snapshot are deleted: the journal keeps the audit rows
    // of the last two snapshot intervals and stays bounded.
    private void OnSnapshotSaved(SaveSnapshotSuccess saved)
    {
        if (_rewriteMark)
        {
            // The ledger is in the new files now: they are the ones to compare with at the next start.
            _rewriteMark = false;
            WriteMark();
        }
        if (_lastSnapshotSequenceNr > 0)
        {
            DeleteMessages(_lastSnapshotSequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(_lastSnapshotSequenceNr - 1));
        }
        _lastSnapshotSequenceNr = saved.Metadata.SequenceNr;
    }

    /// <inheritdoc />
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        // Damage: one line said it; the base class would log the stack trace.
        if (!BackoffGate.ReportStopping(Context, _gate, _log, $"Command ledger {PersistenceId}", reason, "recovery")) base.OnRecoveryFailure(reason, message);
    }

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        if (!BackoffGate.ReportStopping(Context, _gate, _log, $"Command ledger {PersistenceId}", cause, "a journal write")) base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <summary>When SQLite called a file damaged, has it quarantined (one line in the log, the stack trace at Debug); true when it did.</summary>
    private bool ReportDamage(Exception cause, string where) =>
        JournalQuarantine.Get(Context.System).ReportDamage(cause, _log, $"Command ledger {PersistenceId} ({where})");

    private static Wire.Command Decode(ByteString signed) => Wire.Command.Parser.ParseFrom(SignedCommand.Parser.ParseFrom(signed).Command);

    private static string UnsupportedMessage(CommandType type) => type switch
    {
        CommandType.Reboot => "REBOOT is not configured on this agent (fleet.commands.system.reboot)",
        CommandType.ServiceRestart => "SERVICE_RESTART is not configured on this agent (fleet.commands.system.service-restart)",
        CommandType.OtaUpdate => "OTA_UPDATE is not available in this version",
        _ => $"{type.ToWireName()} is not available on this agent",
    };

    private static string TimerKey(string commandId) => "timeout-" + commandId;

    private static string AckTimerKey(string commandId) => "ack-" + commandId;

    private sealed record Running(Wire.Command Command, bool Acknowledged);

    private sealed record ExecutionTimedOut(string CommandId);

    private sealed record AcknowledgeDue(string CommandId);


    private sealed class PruneTick
    {
        public static readonly PruneTick Instance = new();
    }
}
