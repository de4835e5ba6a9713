using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using static Fleet.Actors.Core.Scripting.ScriptStoreProtocol;

namespace Fleet.Actors.Core.Scripting;

/// <summary>
/// The installed scripts of one vehicle, event-sourced. <see cref="ScriptStoreState.Decide"/>
/// validates a command; an accepted change is persisted, applied and only then answered and
/// published to subscribers. Every <c>snapshotEvery</c> events the state is saved as a snapshot
/// and the journal rows and snapshots before the previous snapshot are deleted, so the store stays
/// small on disk (two snapshots and at most twice <c>snapshotEvery</c> rows) and a corrupt latest
/// snapshot can be repaired: the store deletes it, refuses commands and stops, and its next start
/// (its <c>BackoffSupervisor</c> under the engine starts it again) recovers from the snapshot before
/// it and the rows kept since. A file that SQLite calls damaged, met in the recovery, a write, a
/// snapshot or a deletion, is reported to <see cref="Wal.JournalQuarantine"/> (the log's quarantine:
/// moved aside, replaced by a fresh one); when it was met in the recovery or a write the store
/// stops, tells its subscribers <see cref="StoreDamaged"/>, and the next one starts on the fresh file.
/// </summary>
/// <remarks>
/// Rows are written by <see cref="ScriptSerializer"/> (bind it with
/// <see cref="ScriptStoreHosting.SerializationHocon"/>). A row that does not decode is logged and
/// skipped at recovery. <c>Persist</c> stashes commands
/// while a write is in flight, so each command is decided against every change before it.
/// </remarks>
internal sealed class ScriptStoreActor : ReceivePersistentActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly int _snapshotEvery;
    private readonly HashSet<IActorRef> _subscribers = new();
    private readonly IActorRef? _subscriber;

    private ScriptStoreState _state = ScriptStoreState.Empty;
    private int _eventsSinceSnapshot;
    private bool _snapshotInFlight;
    private IActorRef? _awaitingWrite;

    // The newest good snapshot (recovered or saved); rows and snapshots before it are kept until the next one.
    private long _lastSnapshotSequenceNr;

    // A snapshot offered at recovery that did not decode: deleted, then the store stops and is restarted.
    private long? _corruptSnapshotSequenceNr;

    public ScriptStoreActor(string vehicleId, int snapshotEvery, IActorRef? subscriber)
    {
        PersistenceId = PersistenceIdFor(vehicleId);
        _snapshotEvery = snapshotEvery;
        _subscriber = subscriber;

        Recover<SnapshotOffer>(OnSnapshotOffer);
        Recover<ScriptStoreEvent>(e =>
        {
            _state = _state.Apply(e);
            _eventsSinceSnapshot++;
        });
        Recover<CorruptScriptRecord>(c => ReportCorrupt(c, "journal row", LastSequenceNr));
        Recover<RecoveryCompleted>(_ => OnRecovered());

        // While a corrupt snapshot is being deleted the state is incomplete: commands are refused and
        // nothing of it is shown (subscribers subscribe again to the restarted store).
        Command<Execute>(e => Repairing, _ => Sender.Tell(new CommandRefused("the script store is repairing a corrupt snapshot; try again")));
        Command<GetScripts>(_ => Repairing, _ => { });
        Command<Subscribe>(_ => Repairing, _ => { });
        Command<Execute>(HandleExecute);
        Command<GetScripts>(_ => Sender.Tell(new Scripts(_state.Scripts)));
        Command<Subscribe>(HandleSubscribe);
        Command<Unsubscribe>(u =>
        {
            if (_subscribers.Remove(u.Subscriber)) Context.Unwatch(u.Subscriber);
        });
        Command<Terminated>(t =>
        {
            if (_subscribers.Remove(t.ActorRef)) _log.Debug("Subscriber {0} of {1} stopped; dropped", t.ActorRef.Path, PersistenceId);
        });
        Command<Wal.JournalQuarantined>(_ => !Repairing, OnFileReplaced);
        Command<SaveSnapshotSuccess>(OnSnapshotSaved);
        // A damaged file met by a snapshot or a deletion is quarantined; the store, whole in memory,
        // goes on and saves a snapshot in the fresh file (OnFileReplaced).
        Command<SaveSnapshotFailure>(f =>
        {
            _snapshotInFlight = false;
            if (!ReportDamage(f.Cause, "saving a snapshot")) _log.Warning(f.Cause, "Snapshot of {0} failed; the journal keeps every event until the next one", PersistenceId);
        });
        Command<DeleteMessagesSuccess>(d => _log.Debug("Deleted script store rows up to {0}", d.ToSequenceNr));
        Command<DeleteMessagesFailure>(f =>
        {
            if (!ReportDamage(f.Cause, "deleting old rows")) _log.Warning(f.Cause, "Deleting script store rows up to {0} failed", f.ToSequenceNr);
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f =>
        {
            if (!ReportDamage(f.Cause, "deleting old snapshots")) _log.Warning(f.Cause, "Deleting old script store snapshots failed");
        });
        Command<DeleteSnapshotSuccess>(d =>
        {
            _log.Warning("Deleted corrupt snapshot {0} of {1}; stopping so that the next start recovers from the one before", d.Metadata.SequenceNr, PersistenceId);
            Context.Stop(Self);
        });
        Command<DeleteSnapshotFailure>(f =>
        {
            _log.Error(f.Cause, "Deleting corrupt snapshot {0} of {1} failed; stopping", f.Metadata.SequenceNr, PersistenceId);
            Context.Stop(Self);
        });
    }

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <inheritdoc />
    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(Wal.JournalQuarantined));
        base.PreStart();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        base.PostStop();
    }

    private bool Repairing => _corruptSnapshotSequenceNr is not null;

    /// <summary>The persistence id of a vehicle's script store.</summary>
    public static string PersistenceIdFor(string vehicleId) => "scripts-" + Uri.EscapeDataString(vehicleId);

    /// <summary>
    /// Props for the script store of <paramref name="vehicleId"/>, snapshotting every
    /// <paramref name="snapshotEvery"/> events. <paramref name="subscriber"/>, when given, is
    /// subscribed by every store started from these props once it has recovered (as by
    /// <see cref="Subscribe"/>), so that a supervisor's restarts need no new subscription.
    /// </summary>
    public static Props Props(string vehicleId, int snapshotEvery = 100, IActorRef? subscriber = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(snapshotEvery, 1);
        return Akka.Actor.Props.Create(() => new ScriptStoreActor(vehicleId, snapshotEvery, subscriber));
    }

    private void OnSnapshotOffer(SnapshotOffer offer)
    {
        switch (offer.Snapshot)
        {
            case ScriptStoreSnapshot snapshot:
                _state = ScriptStoreState.From(snapshot);
                _lastSnapshotSequenceNr = offer.Metadata.SequenceNr;
                break;
            case CorruptScriptRecord corrupt:
                // The rows after it are replayed, but the state it held is missing: repaired after recovery.
                ReportCorrupt(corrupt, "snapshot", offer.Metadata.SequenceNr);
                _corruptSnapshotSequenceNr = offer.Metadata.SequenceNr;
                break;
        }
        _eventsSinceSnapshot = 0;
    }

    private void OnRecovered()
    {
        if (_corruptSnapshotSequenceNr is { } corrupt)
        {
            // The state is incomplete: answer nothing from it, delete the snapshot and stop (see the class remarks).
            DeleteSnapshot(corrupt);
            return;
        }
        _log.Info("Script store {0} recovered: {1} scripts ({2} enabled)", PersistenceId, _state.Scripts.Count, _state.Scripts.Values.Count(s => s.Enabled));
        if (_subscriber is not null) HandleSubscribe(new Subscribe(_subscriber));
    }

    private void ReportCorrupt(CorruptScriptRecord corrupt, string what, long sequenceNr)
    {
        _log.Error("Skipping corrupt {0} {1} of {2} ({3}, {4} bytes): {5}",
            what, sequenceNr, PersistenceId, corrupt.Manifest, corrupt.Length, corrupt.Error);
    }

    private void HandleExecute(Execute execute)
    {
        var decision = _state.Decide(execute.Command);
        var problem = decision.Event switch
        {
            null => decision.RefusedBecause,
            ScriptInstalled i => CannotStore(i.Script),
            ScriptReplaced r => CannotStore(r.Script),
            _ => null,
        };
        if (problem is not null)
        {
            _log.Warning("Refused {0}: {1}", Describe(execute.Command), problem);
            Sender.Tell(new CommandRefused(problem));
            return;
        }

        var requester = Sender;
        // Kept for OnPersistRejected/OnPersistFailure, which do not run the callback.
        _awaitingWrite = requester;
        Persist(decision.Event!, persisted =>
        {
            _awaitingWrite = null;
            _state = _state.Apply(persisted);
            _log.Info("Script {0} {1}", persisted.ScriptId, Verb(persisted));
            requester.Tell(new CommandAccepted(persisted));
            var changed = new ScriptsChanged(_state.Scripts, persisted);
            foreach (var subscriber in _subscribers) subscriber.Tell(changed);
            _eventsSinceSnapshot++;
            MaybeSnapshot();
        });
    }

    private static string? CannotStore(ScriptDefinition script) =>
        ScriptJson.StorageProblem(script) is { } problem ? $"script \"{script.Id}\" cannot be stored: {problem}" : null;

    private void HandleSubscribe(Subscribe subscribe)
    {
        if (_subscribers.Add(subscribe.Subscriber)) Context.Watch(subscribe.Subscriber);
        subscribe.Subscriber.Tell(new ScriptsChanged(_state.Scripts, null));
    }

    /// <summary>
    /// The journal or snapshot file was damaged and replaced: the rows or snapshots this store would
    /// recover from are gone with it, but its state in memory is whole, so it saves a snapshot of it
    /// in the fresh files at once (recovery then starts from there).
    /// </summary>
    private void OnFileReplaced(Wal.JournalQuarantined replaced)
    {
        _log.Warning("Script store {0}: {1} was replaced after damage; saving a snapshot of the {2} scripts at once",
            PersistenceId, replaced.File.Path, _state.Scripts.Count);
        _snapshotInFlight = true;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(_state.ToSnapshot());
    }

    private void MaybeSnapshot()
    {
        if (_snapshotInFlight || _eventsSinceSnapshot < _snapshotEvery) return;
        _snapshotInFlight = true;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(_state.ToSnapshot());
    }

    private void OnSnapshotSaved(SaveSnapshotSuccess success)
    {
        _snapshotInFlight = false;
        // Recovery starts from this snapshot; the previous one and the rows since are kept in case it
        // cannot be read back, and everything before the previous one is no longer needed.
        var previous = _lastSnapshotSequenceNr;
        _lastSnapshotSequenceNr = success.Metadata.SequenceNr;
        if (previous > 0)
        {
            DeleteMessages(previous);
            DeleteSnapshots(new SnapshotSelectionCriteria(previous - 1));
        }
        // Changes made while this snapshot was being written may already be due for the next one.
        MaybeSnapshot();
    }

    private static string Verb(ScriptStoreEvent e) => e switch
    {
        ScriptInstalled => "installed",
        ScriptReplaced => "replaced",
        ScriptEnabled => "enabled",
        ScriptDisabled => "disabled",
        ScriptRemoved => "removed",
        _ => "changed",
    };

    private static string Describe(ScriptStoreCommand command) => command switch
    {
        InstallScript c => $"installing script \"{c.Script.Id}\"",
        ReplaceScript c => $"replacing script \"{c.Script.Id}\"",
        EnableScript c => $"enabling script \"{c.ScriptId}\"",
        DisableScript c => $"disabling script \"{c.ScriptId}\"",
        RemoveScript c => $"removing script \"{c.ScriptId}\"",
        _ => command.GetType().Name,
    };

    /// <inheritdoc />
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // Nothing was stored and the state is unchanged: the store goes on.
        _log.Error(cause, "Journal rejected script store event {0} of {1}", sequenceNr, PersistenceId);
        _awaitingWrite?.Tell(new CommandRefused($"the journal rejected the change: {cause.Message}"));
        _awaitingWrite = null;
    }

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _awaitingWrite?.Tell(new CommandRefused($"the journal write failed ({cause.Message}); the store restarts and recovers what was stored"));
        _awaitingWrite = null;
        if (ReportLoss(cause, "a write")) return; // one line said it; the base class would log the stack trace
        _log.Error(cause, "Journal write {0} of {1} failed; the store stops and its supervisor restarts it", sequenceNr, PersistenceId);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <inheritdoc />
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        if (ReportLoss(reason, "recovery")) return; // one line said it; the base class would log the stack trace
        _log.Error(reason, "Recovery of {0} failed", PersistenceId);
        base.OnRecoveryFailure(reason, message);
    }

    /// <summary>
    /// When SQLite called a file damaged, has it quarantined (one line in the log, the stack trace
    /// at Debug). True when it did. The store goes on (<see cref="ReportLoss"/> for failures that stop it).
    /// </summary>
    private bool ReportDamage(Exception cause, string where) =>
        Wal.JournalQuarantine.Get(Context.System).ReportDamage(cause, _log, $"Script store {PersistenceId} ({where})");

    /// <summary>
    /// <see cref="ReportDamage"/> for a failure that stops the store (its recovery, a write): the next
    /// store starts on the fresh file, holding what that still holds; the subscribers hear of it.
    /// </summary>
    private bool ReportLoss(Exception cause, string where)
    {
        if (!ReportDamage(cause, where)) return false;
        var damaged = new StoreDamaged(PersistenceId, cause.GetBaseException().Message);
        foreach (var subscriber in _subscribers) subscriber.Tell(damaged);
        if (_subscriber is not null && !_subscribers.Contains(_subscriber)) _subscriber.Tell(damaged);
        return true;
    }
}
