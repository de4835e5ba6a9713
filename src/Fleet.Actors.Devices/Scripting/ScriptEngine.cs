using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Alerts;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Scripting;

/// <summary>
/// The vehicle's script engine (actor <c>scripts</c>): keeps the persisted script store running
/// (child <c>store</c>, a <c>BackoffSupervisor</c>), brings the configured scripts into it
/// (<see cref="ConfigurationInstall"/>), turns the readings the log accepted into triggers
/// (<see cref="TriggerEvaluator"/>), runs interval timers, executes runs through
/// <see cref="ScriptRunner"/> and hands their effects to <see cref="RunEffects"/> (arbitration,
/// records) and <see cref="DeviceWrites"/> (GPIO lines, PLCs). Every run outcome (but runs whose
/// conditions did not hold) and every write decision is journaled.
/// </summary>
/// <remarks>
/// Never blocks: device writes are asked with a timeout and their answers come back through
/// <c>PipeTo</c>; delays are timers. A write is sent only once the log has confirmed that its record
/// is durable (write-ahead: after a kill -9 or a power cut, no output has changed without a record
/// saying so); writes are sent in the order their records were logged. Only a hold (the emergency
/// stop's safe outputs) is applied at once, with its records told to the log: safety does not wait for the disk.
/// </remarks>
internal sealed class ScriptEngine : ReceiveActor, IWithTimers
{
    /// <summary>Device id of the records the engine journals.</summary>
    public const string DeviceId = "scripts";

    /// <summary>The alert raised when the store lost what it held to a damaged file (<see cref="ScriptStoreProtocol.StoreDamaged"/>).</summary>
    public const string StoreDamagedAlert = "script-store-damaged";

    private const string CycleTimer = "cycle";
    private const string LogTimer = "log-confirm";
    private static readonly TimeSpan MinStoreBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxStoreBackoff = TimeSpan.FromSeconds(30);

    /// <summary>A store that has run this long without stopping starts from the shortest backoff again.</summary>
    private static readonly TimeSpan StoreBackoffReset = TimeSpan.FromSeconds(60);

    private readonly string _vehicleId;
    private readonly ScriptingSettings _settings;
    private readonly IActorRef _log;
    private readonly ScriptMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly ScriptRunner _runner;
    private readonly ConfigurationInstall _configuration;
    private readonly TriggerEvaluator _triggers;
    private readonly RunEffects _effects;
    private readonly DeviceWrites _writes;
    private readonly IActorRef? _alerts;
    private readonly Dictionary<Guid, Waiting> _waiting = new();
    private readonly Dictionary<WriteProposal, (IActorRef Requester, string Outcome)> _externalWrites = new();
    // Writes whose records the log has not yet confirmed, in the order they were told to it.
    private readonly Queue<AwaitingLog> _awaitingLog = new();
    private long _lastConfirmId;
    private IActorRef _storeSupervisor = ActorRefs.Nobody;

    // The running store, from its first notice until it stops (null while it starts or restarts).
    private IActorRef? _store;
    private ImmutableDictionary<string, ScriptDefinition> _scripts = ImmutableDictionary<string, ScriptDefinition>.Empty;
    private bool _stopped;
    private bool? _wantsReadings;

    public ScriptEngine(string vehicleId, ScriptingSettings settings, IActorRef log, IActorRef? gpio, GpioSettings gpioSettings,
        IActorRef? plcs, AgentMetrics metrics, TimeProvider time, IActorRef? alerts)
    {
        _vehicleId = vehicleId;
        _settings = settings;
        _log = log;
        _metrics = new ScriptMetrics(metrics, vehicleId);
        _time = time;
        _alerts = alerts;
        _runner = new ScriptRunner(settings.Document.Limits, time);
        _configuration = new ConfigurationInstall(settings.Document.Scripts, _metrics);
        _triggers = new TriggerEvaluator(gpioSettings);
        _effects = new RunEffects(_metrics, _logger, time, alerts);
        _writes = new DeviceWrites(log, gpio, gpioSettings, plcs, settings.WriteTimeout, _metrics, time, _logger);

        Receive<ScriptStoreProtocol.ScriptsChanged>(OnScriptsChanged);
        // While no store runs, its supervisor answers for it (see StartStore).
        Receive<ScriptStoreProtocol.Execute>(command => _storeSupervisor.Forward(command));
        Receive<StoreStopped>(OnStoreStopped);
        Receive<ScriptStoreProtocol.StoreDamaged>(OnStoreDamaged);
        // Only the engine's own configuration commands are answered to it (others are forwarded).
        Receive<ScriptStoreProtocol.CommandAccepted>(_ => ConfigurationCommandDone());
        Receive<ScriptStoreProtocol.CommandRefused>(refused =>
        {
            _logger.Error("A configured script could not be installed: {0}", refused.Reason);
            ConfigurationCommandDone();
        });
        Receive<ConfigurationApplied>(_ => ReleaseHeldReadings());
        Receive<WalProtocol.ReadingsAccepted>(OnReadingsAccepted);
        Receive<IntervalTick>(tick => OnIntervalTick(tick));
        Receive<ResumeRun>(resume => OnResume(resume.RunId));
        Receive<CycleTick>(_ => _effects.CloseCycle());
        Receive<DeviceWrites.Done>(OnWriteDone);
        Receive<WalProtocol.Logged>(logged => OnLogAnswered(logged.ConfirmId, null));
        Receive<WalProtocol.NotLogged>(notLogged => OnLogAnswered(notLogged.ConfirmId, notLogged.Reason));
        Receive<LogTimeout>(_ => OnLogTimeout());
        Receive<ScriptProtocol.Write>(write => ExternalWrite(write, Sender, writeAhead: true));
        Receive<ScriptProtocol.Hold>(OnHold);
        Receive<ScriptProtocol.Release>(release => _effects.Release(release.Holder));
        Receive<ScriptProtocol.RunNow>(run => Sender.Tell(StartRequested(run.ScriptId)));
        Receive<ScriptProtocol.GetStatus>(_ => Sender.Tell(new ScriptProtocol.Status(
            _scripts.Count, _scripts.Values.Count(s => s.Enabled), _waiting.Count, _stopped)));
        Receive<SensorProtocol.StopIntake>(_ => Stop());
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props for the engine of one vehicle. <paramref name="gpio"/> and <paramref name="plcs"/> are
    /// the vehicle's supervisors (null when none are configured); <paramref name="log"/> takes the records;
    /// <paramref name="alerts"/> takes the scripts' alerts (<see cref="Alerts.AlertsProtocol.Raise"/>; null: they are journaled directly).
    /// </summary>
    public static Props Props(string vehicleId, ScriptingSettings settings, IActorRef log, IActorRef? gpio, GpioSettings gpioSettings,
        IActorRef? plcs, AgentMetrics metrics, TimeProvider? time = null, IActorRef? alerts = null) =>
        Akka.Actor.Props.Create(() => new ScriptEngine(vehicleId, settings, log, gpio, gpioSettings, plcs, metrics, time ?? TimeProvider.System, alerts));

    protected override void PreStart()
    {
        _storeSupervisor = StartStore();
    }

    /// <summary>
    /// An arbitration cycle opens with its first proposal and closes <c>fleet.scripting.cycle</c>
    /// later: no timer runs while no script or command writes (an idle agent is not woken ten times a second).
    /// </summary>
    private void KeepCycle()
    {
        if (_effects.CycleOpen && !Timers.IsTimerActive(CycleTimer)) Timers.StartSingleTimer(CycleTimer, CycleTick.Instance, _settings.Cycle);
    }

    // ---------------------------------------------------------------- the store

    /// <summary>
    /// The store stops when its journal fails (a write or the recovery) or after deleting a corrupt
    /// snapshot; its supervisor starts a new one after a growing backoff (1 s .. 30 s, with jitter)
    /// and, meanwhile, refuses the commands sent to it. Every store tells the engine its scripts once
    /// it has recovered (the engine is its subscriber from the start).
    /// </summary>
    private IActorRef StartStore()
    {
        var options = Backoff.OnStop(ScriptStoreActor.Props(_vehicleId, _settings.SnapshotEvery, subscriber: Self), "scripts",
                MinStoreBackoff, MaxStoreBackoff, randomFactor: 0.2, maxNrOfRetries: -1)
            .WithAutoReset(StoreBackoffReset)
            .WithReplyWhileStopped(new ScriptStoreProtocol.CommandRefused("the script store is restarting; try again"));
        return Context.ActorOf(BackoffSupervisor.Props(options), "store");
    }

    /// <summary>The installed scripts keep running from the last known state while the store restarts.</summary>
    private void OnStoreStopped(StoreStopped stopped)
    {
        if (!stopped.Store.Equals(_store)) return;
        _store = null;
        // Its answers to the configuration will not come; act on what is known.
        _configuration.Abandon();
        ReleaseHeldReadings();
        _logger.Error("Script store stopped; its supervisor starts it again after a backoff (scripts keep running as last known)");
    }

    /// <summary>
    /// The store lost what it held to a damaged file (it logged the cause): the next one starts on a
    /// fresh file and the configured scripts are installed again, but changes made by command since
    /// its last snapshot that survived (a script disabled remotely among them) may be gone. The
    /// vehicle's operator must hear of it.
    /// </summary>
    private void OnStoreDamaged(ScriptStoreProtocol.StoreDamaged damaged)
    {
        var message = $"the script store met a damaged file ({damaged.Cause}) and starts over on a fresh one: the configured scripts are installed again; "
            + "scripts installed, replaced, enabled or disabled by command since its last snapshot may be lost";
        if (_alerts is not null)
        {
            _alerts.Tell(new AlertsProtocol.Raise(StoreDamagedAlert, AlertSeverity.Critical, DeviceId, Message: message, OneShot: true));
            return;
        }
        var alert = new AlertValue(StoreDamagedAlert, AlertSeverity.Critical, DeviceId, message);
        _log.Tell(new WalProtocol.LogReadings([new Reading(DeviceId, _time.GetUtcNow().ToUnixTimeMilliseconds(), alert)]));
    }

    // ---------------------------------------------------------------- installed scripts

    private void OnScriptsChanged(ScriptStoreProtocol.ScriptsChanged changed)
    {
        var previous = _scripts;
        _scripts = changed.Scripts;
        _metrics.Installed.Set(_scripts.Count);
        // The first notice of a (re)started store: watch it and bring the configured scripts in (idempotent).
        if (changed.Cause is null && !Sender.Equals(_store))
        {
            _store = Sender;
            Context.WatchWith(_store, new StoreStopped(_store));
            foreach (var command in _configuration.Start(_scripts)) _store.Tell(new ScriptStoreProtocol.Execute(command));
        }

        // A waiting run of a script that changed is cancelled: the new definition (or none) takes over.
        foreach (var (id, waiting) in _waiting.ToList())
        {
            var root = waiting.Run.Root.Id;
            if (_scripts.TryGetValue(root, out var now) && now == previous.GetValueOrDefault(root) && now.Enabled) continue;
            Cancel(id, waiting, _scripts.ContainsKey(root) ? $"script \"{root}\" was replaced or disabled" : $"script \"{root}\" was removed");
        }
        foreach (var id in previous.Keys.Where(id => !_scripts.ContainsKey(id))) _runner.Forget(id);

        var before = _triggers.Update(_scripts, previous);
        RestartIntervalTimers(before);
        var wants = _triggers.Index.WantsReadings;
        if (wants != _wantsReadings)
        {
            _wantsReadings = wants;
            Context.Parent.Tell(new ScriptProtocol.WantsReadings(wants));
        }
    }

    /// <summary>
    /// One configuration command answered. After the last, the held readings are released by a
    /// message to self, so that the store's change notice (sent right after its answer) is applied first.
    /// </summary>
    private void ConfigurationCommandDone()
    {
        if (_configuration.Answered()) Self.Tell(ConfigurationApplied.Instance);
    }

    private void ReleaseHeldReadings()
    {
        while (_configuration.TryRelease(out var held)) OnReadingsAccepted(held);
    }

    private void RestartIntervalTimers(TriggerIndex before)
    {
        foreach (var key in before.IntervalTimerKeys) Timers.Cancel(key);
        if (_stopped) return;
        foreach (var (key, tick, every) in _triggers.Index.Intervals)
            Timers.StartPeriodicTimer(key, tick, every);
    }

    // ---------------------------------------------------------------- triggers

    private void OnIntervalTick(IntervalTick tick)
    {
        if (_scripts.TryGetValue(tick.ScriptId, out var script))
            StartRuns([(script, tick.Description)]);
    }

    private void OnReadingsAccepted(WalProtocol.ReadingsAccepted accepted)
    {
        // Until the configured scripts are installed, so that they all see the same readings.
        if (_configuration.Hold(accepted)) return;
        if (_stopped || !_triggers.Index.WantsReadings) return;
        if (_triggers.Observe(accepted) is { } fired) StartRuns(fired);
    }

    // ---------------------------------------------------------------- runs

    /// <summary>Starts the fired scripts, highest priority first (so their writes are held first in the cycle).</summary>
    private void StartRuns(List<(ScriptDefinition Script, string Trigger)> fired)
    {
        if (_stopped) return;
        foreach (var (script, trigger) in fired.OrderByDescending(f => (byte)f.Script.Priority))
            Handle(_runner.Start(script.Id, _scripts, _triggers.Readings), script.Id, trigger);
    }

    private ScriptProtocol.RunRequested StartRequested(string scriptId)
    {
        if (_stopped) return new ScriptProtocol.RunRequested(scriptId, ScriptOutcomes.Name(RunOutcomeKind.Cancelled), "the engine is stopped");
        var step = _runner.Start(scriptId, _scripts, _triggers.Readings);
        Handle(step, scriptId, "run-now");
        return step.Outcome is { } outcome
            ? new ScriptProtocol.RunRequested(scriptId, ScriptOutcomes.Name(outcome.Kind), outcome.Reason)
            : new ScriptProtocol.RunRequested(scriptId, "waiting", $"\"{scriptId}\" waits on a delay");
    }

    private void OnResume(Guid runId)
    {
        if (!_waiting.Remove(runId, out var waiting)) return;
        _metrics.Waiting.Set(_waiting.Count);
        Handle(_runner.Resume(waiting.Run), waiting.Run.Root.Id, waiting.Trigger);
    }

    /// <summary>Performs a step's effects in order, then schedules its resumption when it waits on a delay.</summary>
    private void Handle(RunStep step, string scriptId, string trigger)
    {
        var now = _time.GetUtcNow();
        var (records, writes) = _effects.Apply(step, scriptId, trigger, now);
        if (step.Outcome is null && step.Run is { WaitingUntil: { } until } run)
        {
            _waiting[run.RunId] = new Waiting(run, trigger);
            _metrics.Waiting.Set(_waiting.Count);
            Timers.StartSingleTimer(RunTimer(run.RunId), new ResumeRun(run.RunId), until > now ? until - now : TimeSpan.Zero);
        }

        LogThenPerform(records, writes);
        KeepCycle();
    }

    /// <summary>
    /// Arbitrates and performs a write asked for from outside the scripts; <paramref name="requester"/>
    /// hears how it went. Without <paramref name="writeAhead"/> it is performed at once, its records told to the log alongside.
    /// </summary>
    private WriteProposal ExternalWrite(ScriptProtocol.Write write, IActorRef requester, bool writeAhead)
    {
        var proposal = new WriteProposal(write.Target, write.Value, write.RequestedBy, write.RequestedBy, (ScriptPriority)Math.Clamp(write.Priority, 0, 255));
        var (records, perform, outcome, winner) = _effects.Propose(proposal, _time.GetUtcNow());
        KeepCycle();
        if (!perform)
        {
            var done = new ScriptProtocol.WriteDone(outcome, winner is null ? null
                : $"{winner.ScriptName} holds {winner.Target} at {winner.Value}, priority {(int)winner.Priority} ({winner.Priority}), this cycle");
            // Nothing to send (the value is already there, or another writer won), but the answer
            // still waits for the record: a command answered before its record is durable would,
            // after a kill -9, have succeeded without a trace in the log.
            if (writeAhead && records.Count > 0) AwaitLog(records, [], (requester, done));
            else
            {
                if (records.Count > 0) _log.Tell(new WalProtocol.LogReadings(records));
                requester.Tell(done);
            }
            return proposal;
        }
        _externalWrites[proposal] = (requester, outcome);
        if (writeAhead) LogThenPerform(records, [proposal]);
        else
        {
            if (records.Count > 0) _log.Tell(new WalProtocol.LogReadings(records));
            _writes.Perform(proposal, Self);
        }
        return proposal;
    }

    private void OnHold(ScriptProtocol.Hold hold)
    {
        var proposals = hold.Writes.Select(write => ExternalWrite(write, Sender, writeAhead: false)).ToList();
        _effects.Hold(hold.Holder, proposals);
    }

    // ---------------------------------------------------------------- write-ahead

    /// <summary>
    /// Tells the log <paramref name="records"/> and sends <paramref name="writes"/> to their devices
    /// once it has confirmed them durable (<see cref="WalProtocol.LogReadings.ConfirmId"/>). A write
    /// whose records the log refused, or did not confirm within the write timeout, is not sent; it
    /// fails with the reason like a write the device did not do.
    /// </summary>
    private void LogThenPerform(List<Reading> records, List<WriteProposal> writes)
    {
        if (writes.Count == 0)
        {
            if (records.Count > 0) _log.Tell(new WalProtocol.LogReadings(records));
            return;
        }
        AwaitLog(records, writes, null);
    }

    private void AwaitLog(List<Reading> records, List<WriteProposal> writes, (IActorRef Requester, ScriptProtocol.WriteDone Done)? answer)
    {
        if (_awaitingLog.Count >= _settings.MaxWritesAwaitingLog)
        {
            // The log is far behind: the queue is bounded, so this write fails unsent at once (its
            // decision still goes to the log, unconfirmed, like the failure record after it).
            _metrics.AwaitingLogFull.Inc();
            if (records.Count > 0) _log.Tell(new WalProtocol.LogReadings(records));
            var reason = $"{_awaitingLog.Count} writes already wait for the log to record theirs (fleet.scripting.max-writes-awaiting-log)";
            if (answer is var (requester, _)) requester.Tell(new ScriptProtocol.WriteDone("failed", $"not confirmed by the log: {reason}"));
            foreach (var write in writes) OnWriteDone(new DeviceWrites.Done(write, "failed", $"not sent: {reason}"));
            return;
        }
        var id = ++_lastConfirmId;
        _log.Tell(new WalProtocol.LogReadings(records) { ConfirmId = id });
        _awaitingLog.Enqueue(new AwaitingLog(id, writes, _time.GetTimestamp()) { Answer = answer });
        _metrics.AwaitingLog.Set(_awaitingLog.Count);
        if (!Timers.IsTimerActive(LogTimer)) Timers.StartSingleTimer(LogTimer, LogTimeout.Instance, _settings.WriteTimeout);
    }

    private void OnLogAnswered(long confirmId, string? failure)
    {
        foreach (var awaiting in _awaitingLog)
        {
            if (awaiting.Id != confirmId || awaiting.Answered) continue;
            awaiting.Answered = true;
            awaiting.Failure = failure;
        }
        PerformLogged();
    }

    /// <summary>Writes whose records the log has not confirmed within the write timeout are given up.</summary>
    private void OnLogTimeout()
    {
        foreach (var awaiting in _awaitingLog)
        {
            if (awaiting.Answered || _time.GetElapsedTime(awaiting.AskedAt) < _settings.WriteTimeout) continue;
            awaiting.Answered = true;
            awaiting.Failure = $"no confirmation within {_settings.WriteTimeout.TotalSeconds:0.#} s";
        }
        PerformLogged();
    }

    /// <summary>Sends (or fails) the answered writes at the head of the queue, in order.</summary>
    private void PerformLogged()
    {
        while (_awaitingLog.TryPeek(out var head) && head.Answered)
        {
            _awaitingLog.Dequeue();
            if (head.Answer is var (requester, done))
                requester.Tell(head.Failure is null ? done : new ScriptProtocol.WriteDone("failed", $"the log did not record it ({head.Failure})"));
            foreach (var write in head.Writes)
            {
                if (head.Failure is null) _writes.Perform(write, Self);
                else OnWriteDone(new DeviceWrites.Done(write, "failed", $"not sent: the log did not record it ({head.Failure})"));
            }
        }
        _metrics.AwaitingLog.Set(_awaitingLog.Count);
        Timers.Cancel(LogTimer);
        if (_awaitingLog.TryPeek(out var next))
        {
            var left = _settings.WriteTimeout - _time.GetElapsedTime(next.AskedAt);
            Timers.StartSingleTimer(LogTimer, LogTimeout.Instance, left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }
    }

    private void OnWriteDone(DeviceWrites.Done done)
    {
        _writes.Answered(done);
        if (_externalWrites.Remove(done.Write, out var external))
            external.Requester.Tell(new ScriptProtocol.WriteDone(done.Error is null ? external.Outcome : done.Outcome, done.Error));
    }

    private void Cancel(Guid runId, Waiting waiting, string reason)
    {
        _waiting.Remove(runId);
        _metrics.Waiting.Set(_waiting.Count);
        Timers.Cancel(RunTimer(runId));
        var ended = _effects.Ended(waiting.Run.Root.Id, waiting.Trigger, new RunOutcome(RunOutcomeKind.Cancelled, reason), waiting.Run, _time.GetUtcNow());
        _log.Tell(new WalProtocol.LogReadings([ended!]));
    }

    private void Stop()
    {
        if (!_stopped)
        {
            _stopped = true;
            foreach (var key in _triggers.Index.IntervalTimerKeys) Timers.Cancel(key);
            foreach (var (id, waiting) in _waiting.ToList()) Cancel(id, waiting, "the agent is shutting down");
        }
        Sender.Tell(SensorProtocol.IntakeStopped.Instance);
    }

    private static string RunTimer(Guid runId) => "run-" + runId.ToString("N");

    private sealed record Waiting(ScriptRun Run, string Trigger);

    /// <summary>Writes waiting for the log to confirm their records (<see cref="WalProtocol.LogReadings.ConfirmId"/> <paramref name="Id"/>).</summary>
    private sealed record AwaitingLog(long Id, List<WriteProposal> Writes, long AskedAt)
    {
        public bool Answered { get; set; }

        public string? Failure { get; set; }

        /// <summary>For a write with nothing to send: who hears <c>Done</c> once its records are durable.</summary>
        public (IActorRef Requester, ScriptProtocol.WriteDone Done)? Answer { get; init; }
    }

    private sealed class LogTimeout
    {
        public static readonly LogTimeout Instance = new();

        private LogTimeout()
        {
        }
    }

    private sealed record ResumeRun(Guid RunId);

    /// <summary>The store that was running (its supervisor's child) stopped.</summary>
    private sealed record StoreStopped(IActorRef Store);

    private sealed class ConfigurationApplied
    {
        public static readonly ConfigurationApplied Instance = new();

        private ConfigurationApplied()
        {
        }
    }

    private sealed class CycleTick
    {
        public static readonly CycleTick Instance = new();

        private CycleTick()
        {
        }
    }
}
