using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Plc;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Scripting;

/// <summary>
/// The vehicle's script engine (actor <c>scripts</c>): owns the persisted script store, watches the
/// readings the log accepted (thresholds, GPIO edges, alerts), runs interval timers, executes runs
/// through <see cref="ScriptRunner"/> and performs their effects: writes to GPIO lines and PLCs after
/// arbitration in <see cref="WriteArbiter"/>, published messages and alerts as journaled records.
/// Every run outcome (but runs whose conditions did not hold) and every write decision is journaled.
/// </summary>
/// <remarks>
/// Never blocks: device writes are asked with a timeout and their answers come back through
/// <c>PipeTo</c>; delays are timers. Records about a write are told to the log before the write is
/// sent, so the log always has them first.
/// </remarks>
internal sealed class ScriptEngine : ReceiveActor, IWithTimers
{
    /// <summary>Device id of the records the engine journals.</summary>
    public const string DeviceId = "scripts";

    private const string CycleTimer = "cycle";
    private const string StoreTimer = "store-restart";
    private static readonly TimeSpan MinStoreBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxStoreBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Batches of accepted readings held while the configured scripts are being installed.</summary>
    private const int MaxHeldBatches = 256;
    private static readonly TimeSpan WarningInterval = TimeSpan.FromSeconds(10);

    private readonly ScriptingSettings _settings;
    private readonly IActorRef _log;
    private readonly IActorRef? _gpio;
    private readonly IActorRef? _plcs;
    private readonly ScriptMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly ScriptRunner _runner;
    private readonly WriteArbiter _arbiter = new();
    private readonly string _vehicleId;
    private IActorRef? _store;
    private TimeSpan _storeBackoff = MinStoreBackoff;
    private int _configurationPending;
    private readonly Queue<WalProtocol.ReadingsAccepted> _held = new();
    private readonly Dictionary<int, GpioLineSettings> _linesByPin;
    private readonly Dictionary<string, GpioLineSettings> _inputsById;
    private readonly RateLimitedLog _refusalLog;

    private readonly Dictionary<string, double> _readings = new(StringComparer.Ordinal);
    private readonly Dictionary<(string ScriptId, int Trigger), bool> _armed = new();
    private readonly Dictionary<string, bool> _lineLevels = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, Waiting> _waiting = new();
    private ImmutableDictionary<string, ScriptDefinition> _scripts = ImmutableDictionary<string, ScriptDefinition>.Empty;
    private TriggerIndex _index = TriggerIndex.Empty;
    private bool _stopped;
    private bool? _wantsReadings;

    public ScriptEngine(string vehicleId, ScriptingSettings settings, IActorRef log, IActorRef? gpio, GpioSettings gpioSettings,
        IActorRef? plcs, AgentMetrics metrics, TimeProvider time)
    {
        _vehicleId = vehicleId;
        _settings = settings;
        _log = log;
        _gpio = gpio;
        _plcs = plcs;
        _metrics = new ScriptMetrics(metrics, vehicleId);
        _time = time;
        _runner = new ScriptRunner(settings.Document.Limits, time);
        _refusalLog = new RateLimitedLog(WarningInterval, time);
        _linesByPin = gpioSettings.Lines.GroupBy(l => l.Pin).ToDictionary(g => g.Key, g => g.First());
        _inputsById = gpioSettings.Lines.Where(l => l.Direction == GpioDirection.Input).ToDictionary(l => l.Id, StringComparer.Ordinal);

        Receive<ScriptStoreProtocol.ScriptsChanged>(OnScriptsChanged);
        Receive<ScriptStoreProtocol.Execute>(command =>
        {
            if (_store is { } store) store.Forward(command);
            else Sender.Tell(new ScriptStoreProtocol.CommandRefused("the script store is restarting; try again"));
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_store), OnStoreStopped);
        Receive<StartStore>(_ => StartStoreActor());
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
        Receive<CycleTick>(_ => _arbiter.Close());
        Receive<WriteDone>(OnWriteDone);
        Receive<ScriptProtocol.RunNow>(run => Sender.Tell(StartRequested(run.ScriptId)));
        Receive<ScriptProtocol.GetStatus>(_ => Sender.Tell(new ScriptProtocol.Status(
            _scripts.Count, _scripts.Values.Count(s => s.Enabled), _waiting.Count, _stopped)));
        Receive<SensorProtocol.StopIntake>(_ => Stop());
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props for the engine of one vehicle. <paramref name="gpio"/> and <paramref name="plcs"/> are
    /// the vehicle's supervisors (null when none are configured); <paramref name="log"/> takes the records.
    /// </summary>
    public static Props Props(string vehicleId, ScriptingSettings settings, IActorRef log, IActorRef? gpio, GpioSettings gpioSettings,
        IActorRef? plcs, AgentMetrics metrics, TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new ScriptEngine(vehicleId, settings, log, gpio, gpioSettings, plcs, metrics, time ?? TimeProvider.System));

    protected override void PreStart()
    {
        StartStoreActor();
        Timers.StartPeriodicTimer(CycleTimer, CycleTick.Instance, _settings.Cycle);
    }

    // ---------------------------------------------------------------- the store

    private void StartStoreActor()
    {
        _store = Context.ActorOf(ScriptStoreActor.Props(_vehicleId, _settings.SnapshotEvery), "store");
        Context.Watch(_store);
        _store.Tell(new ScriptStoreProtocol.Subscribe(Self));
    }

    /// <summary>
    /// A store stops when its journal fails (a write or the recovery). The installed scripts keep
    /// running from the last known state; a new store is started after a growing backoff.
    /// </summary>
    private void OnStoreStopped(Terminated terminated)
    {
        _store = null;
        // Its answers to the configuration will not come; act on what is known.
        _configurationPending = 0;
        ReleaseHeldReadings();
        _logger.Error("Script store stopped; restarting it in {0} (scripts keep running as last known)", _storeBackoff);
        Timers.StartSingleTimer(StoreTimer, StartStore.Instance, _storeBackoff);
        _storeBackoff = TimeSpan.FromTicks(Math.Min(_storeBackoff.Ticks * 2, MaxStoreBackoff.Ticks));
    }

    // ---------------------------------------------------------------- installed scripts

    private void OnScriptsChanged(ScriptStoreProtocol.ScriptsChanged changed)
    {
        _storeBackoff = MinStoreBackoff;
        var previous = _scripts;
        _scripts = changed.Scripts;
        _metrics.Installed.Set(_scripts.Count);
        // The first notice of a (re)started store: bring the configured scripts in (idempotent).
        if (changed.Cause is null) ApplyConfiguration();

        // A waiting run of a script that changed is cancelled: the new definition (or none) takes over.
        foreach (var (id, waiting) in _waiting.ToList())
        {
            var root = waiting.Run.Root.Id;
            if (_scripts.TryGetValue(root, out var now) && now == previous.GetValueOrDefault(root) && now.Enabled) continue;
            Cancel(id, waiting, _scripts.ContainsKey(root) ? $"script \"{root}\" was replaced or disabled" : $"script \"{root}\" was removed");
        }
        foreach (var id in previous.Keys.Where(id => !_scripts.ContainsKey(id))) _runner.Forget(id);
        foreach (var key in _armed.Keys.Where(k => !_scripts.TryGetValue(k.ScriptId, out var s) || s != previous.GetValueOrDefault(k.ScriptId)).ToList())
            _armed.Remove(key);

        var before = _index;
        _index = TriggerIndex.Build(_scripts.Values.Where(s => s.Enabled));
        RestartIntervalTimers(before);
        var wants = _index.WantsReadings;
        if (wants != _wantsReadings)
        {
            _wantsReadings = wants;
            Context.Parent.Tell(new ScriptProtocol.WantsReadings(wants));
        }
    }

    /// <summary>
    /// Installs the configured scripts the store lacks and replaces those it holds in another form
    /// (an enabled flag changed by command is kept). Callees go first, so that calls resolve.
    /// </summary>
    private void ApplyConfiguration()
    {
        foreach (var script in CalleesFirst(_settings.Document.Scripts))
        {
            ScriptStoreCommand? command = !_scripts.TryGetValue(script.Id, out var stored) ? new InstallScript(script)
                : stored with { Enabled = script.Enabled } != script ? new ReplaceScript(script)
                : null;
            if (command is null || _store is null) continue;
            _store.Tell(new ScriptStoreProtocol.Execute(command));
            _configurationPending++;
        }
    }

    /// <summary>
    /// One configuration command answered. After the last, the held readings are released by a
    /// message to self, so that the store's change notice (sent right after its answer) is applied first.
    /// </summary>
    private void ConfigurationCommandDone()
    {
        if (_configurationPending > 0 && --_configurationPending == 0) Self.Tell(ConfigurationApplied.Instance);
    }

    private void ReleaseHeldReadings()
    {
        while (_configurationPending == 0 && _held.TryDequeue(out var held)) OnReadingsAccepted(held);
    }

    private static IEnumerable<ScriptDefinition> CalleesFirst(IReadOnlyList<ScriptDefinition> scripts)
    {
        var byId = scripts.ToDictionary(s => s.Id, StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var ordered = new List<ScriptDefinition>();
        void Visit(ScriptDefinition script, HashSet<string> path)
        {
            if (done.Contains(script.Id) || !path.Add(script.Id)) return;
            foreach (var callee in script.CalledScriptIds)
                if (byId.TryGetValue(callee, out var c)) Visit(c, path);
            done.Add(script.Id);
            ordered.Add(script);
        }
        foreach (var script in scripts) Visit(script, new HashSet<string>(StringComparer.Ordinal));
        return ordered;
    }

    private void RestartIntervalTimers(TriggerIndex before)
    {
        foreach (var key in before.IntervalTimerKeys) Timers.Cancel(key);
        if (_stopped) return;
        foreach (var (key, tick, every) in _index.Intervals)
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
        if (_configurationPending > 0)
        {
            // Until the configured scripts are installed, so that they all see the same readings.
            if (_held.Count < MaxHeldBatches) _held.Enqueue(accepted);
            else _metrics.HeldDropped.Inc(accepted.Readings.Count);
            return;
        }
        if (_stopped || !_index.WantsReadings) return;
        List<(ScriptDefinition Script, string Trigger)>? fired = null;
        foreach (var reading in accepted.Readings)
        {
            switch (reading.Value)
            {
                case MeasurementValue m:
                    Observe(m.Name, m.Value, ref fired);
                    Observe(reading.DeviceId + "." + m.Name, m.Value, ref fired);
                    if (_inputsById.TryGetValue(reading.DeviceId, out var line)) ObserveLine(line, m, ref fired);
                    break;
                case AlertValue a when _index.Alerts.TryGetValue(a.Name, out var scripts):
                    foreach (var script in scripts) (fired ??= new()).Add((script, "alert " + a.Name));
                    break;
            }
        }
        if (fired is not null) StartRuns(fired);
    }

    private void Observe(string name, double value, ref List<(ScriptDefinition, string)>? fired)
    {
        if (!_index.Readings.Contains(name)) return;
        _readings[name] = value;
        if (!_index.Thresholds.TryGetValue(name, out var thresholds)) return;
        foreach (var (script, index, trigger) in thresholds)
        {
            var key = (script.Id, index);
            var (fires, armed) = trigger.Observe(value, _armed.GetValueOrDefault(key, true));
            _armed[key] = armed;
            if (fires) (fired ??= new()).Add((script, $"threshold {name} {trigger.Operator.Symbol()} {trigger.Value} (at {value})"));
        }
    }

    /// <summary>
    /// Edges of an input line: from its edge readings when it publishes edges, otherwise from
    /// changes of its level readings (so a line publishing both does not fire twice).
    /// </summary>
    private void ObserveLine(GpioLineSettings line, MeasurementValue m, ref List<(ScriptDefinition, string)>? fired)
    {
        if (!_index.Edges.TryGetValue(line.Pin, out var triggers)) return;
        bool rising;
        if (line.Publish is GpioPublish.Edges or GpioPublish.Both)
        {
            if (m.Unit != "edge") return;
            rising = m.Name.EndsWith("_rising", StringComparison.Ordinal);
        }
        else
        {
            if (m.Unit != "bool") return;
            var level = m.Value != 0;
            var known = _lineLevels.TryGetValue(line.Id, out var before);
            _lineLevels[line.Id] = level;
            if (!known || before == level) return;
            rising = level;
        }
        foreach (var (script, trigger) in triggers)
        {
            if (trigger.Edge == GpioEdge.Both || trigger.Edge == (rising ? GpioEdge.Rising : GpioEdge.Falling))
                (fired ??= new()).Add((script, $"gpio-edge pin {line.Pin} ({line.Id}) {(rising ? "rising" : "falling")}"));
        }
    }

    // ---------------------------------------------------------------- runs

    /// <summary>Starts the fired scripts, highest priority first (so their writes are held first in the cycle).</summary>
    private void StartRuns(List<(ScriptDefinition Script, string Trigger)> fired)
    {
        if (_stopped) return;
        foreach (var (script, trigger) in fired.OrderByDescending(f => (byte)f.Script.Priority))
            Handle(_runner.Start(script.Id, _scripts, _readings), script.Id, trigger);
    }

    private ScriptProtocol.RunRequested StartRequested(string scriptId)
    {
        if (_stopped) return new ScriptProtocol.RunRequested(scriptId, ScriptOutcomes.Name(RunOutcomeKind.Cancelled), "the engine is stopped");
        var step = _runner.Start(scriptId, _scripts, _readings);
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

    /// <summary>Performs a step's effects in order, then records its end or schedules its resumption.</summary>
    private void Handle(RunStep step, string scriptId, string trigger)
    {
        var records = new List<Reading>();
        var writes = new List<WriteProposal>();
        var now = _time.GetUtcNow();
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
                    records.Add(new Reading(DeviceId, unixMs, new MessageValue(p.Topic, p.Payload)));
                    break;
                case AlertRequested a:
                    records.Add(new Reading(DeviceId, unixMs, new AlertValue(a.Name, ScriptOutcomes.Severity(a.Severity), "script:" + a.ScriptId,
                        $"raised by script \"{a.ScriptId}\" (run started by {trigger})")));
                    _logger.Warning("Script {0} raised alert {1} ({2})", a.ScriptId, a.Name, a.Severity);
                    break;
            }
        }

        if (step.Outcome is { } outcome)
        {
            _metrics.Runs(outcome.Kind).Inc();
            if (outcome.Kind != RunOutcomeKind.ConditionsNotMet)
                records.Add(ScriptOutcomes.RunRecord(unixMs, scriptId, trigger, outcome, step.Run, now));
            LogOutcome(scriptId, trigger, outcome);
        }
        else if (step.Run is { WaitingUntil: { } until } run)
        {
            _waiting[run.RunId] = new Waiting(run, trigger);
            _metrics.Waiting.Set(_waiting.Count);
            Timers.StartSingleTimer(RunTimer(run.RunId), new ResumeRun(run.RunId), until > now ? until - now : TimeSpan.Zero);
        }

        // The log hears of a write before the write is sent.
        if (records.Count > 0) _log.Tell(new WalProtocol.LogReadings(records));
        foreach (var write in writes) Perform(write);
    }

    private void Cancel(Guid runId, Waiting waiting, string reason)
    {
        _waiting.Remove(runId);
        _metrics.Waiting.Set(_waiting.Count);
        Timers.Cancel(RunTimer(runId));
        var outcome = new RunOutcome(RunOutcomeKind.Cancelled, reason);
        _metrics.Runs(outcome.Kind).Inc();
        var now = _time.GetUtcNow();
        _log.Tell(new WalProtocol.LogReadings([ScriptOutcomes.RunRecord(now.ToUnixTimeMilliseconds(), waiting.Run.Root.Id, waiting.Trigger, outcome, waiting.Run, now)]));
        LogOutcome(waiting.Run.Root.Id, waiting.Trigger, outcome);
    }

    private void Stop()
    {
        if (!_stopped)
        {
            _stopped = true;
            foreach (var key in _index.IntervalTimerKeys) Timers.Cancel(key);
            foreach (var (id, waiting) in _waiting.ToList()) Cancel(id, waiting, "the agent is shutting down");
        }
        Sender.Tell(SensorProtocol.IntakeStopped.Instance);
    }

    // ---------------------------------------------------------------- writes

    private void Perform(WriteProposal write)
    {
        var requestedBy = $"script {write.ScriptId}";
        var timeout = _settings.WriteTimeout;
        var self = Self;
        switch (write.Target)
        {
            case GpioLineTarget g when _gpio is not null && _linesByPin.TryGetValue(g.Line, out var line) && line.Direction == GpioDirection.Output:
                _gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Write(line.Id, write.Value != 0, requestedBy), timeout).PipeTo(self,
                    success: result => result switch
                    {
                        GpioProtocol.Refused r => new WriteDone(write, "refused", r.Reason),
                        GpioProtocol.Failed f => new WriteDone(write, "failed", f.Reason),
                        _ => new WriteDone(write, "done", null),
                    },
                    failure: ex => new WriteDone(write, "failed", $"GPIO line {line.Id} did not answer within {timeout.TotalSeconds:0.#} s"));
                break;
            case GpioLineTarget g:
                self.Tell(new WriteDone(write, "refused", $"no GPIO output line on pin {g.Line}"));
                break;
            case ModbusRegisterTarget r when _plcs is not null:
                AskPlc(new PlcProtocol.WriteRegister(r.Device, (ushort)r.Address, (ushort)write.Value), write, timeout);
                break;
            case ModbusCoilTarget c when _plcs is not null:
                AskPlc(new PlcProtocol.WriteCoil(c.Device, (ushort)c.Address, write.Value != 0), write, timeout);
                break;
            default:
                self.Tell(new WriteDone(write, "refused", "no PLCs are configured"));
                break;
        }
    }

    private void AskPlc(PlcProtocol.IWithPlcId request, WriteProposal write, TimeSpan timeout) =>
        _plcs!.Ask<PlcProtocol.WriteResult>(request, timeout).PipeTo(Self,
            success: result => result switch
            {
                PlcProtocol.Refused r => new WriteDone(write, "refused", r.Reason),
                PlcProtocol.Failed f => new WriteDone(write, "failed", f.Reason),
                _ => new WriteDone(write, "done", null),
            },
            failure: _ => new WriteDone(write, "failed", $"PLC {request.PlcId} did not answer within {timeout.TotalSeconds:0.#} s"));

    private void OnWriteDone(WriteDone done)
    {
        _metrics.Writes(done.Outcome).Inc();
        if (done.Error is null) return;
        var p = done.Write;
        _logger.Warning("Script {0}: {1} := {2} {3}: {4}", p.ScriptId, p.Target, p.Value, done.Outcome, done.Error);
        _log.Tell(new WalProtocol.LogReadings([new Reading(DeviceId, _time.GetUtcNow().ToUnixTimeMilliseconds(),
            new ScriptWriteValue(ScriptOutcomes.Target(p.Target), p.Value, done.Outcome, p.ScriptId, (byte)p.Priority, Error: done.Error))]));
    }

    // ---------------------------------------------------------------- records and logs

    private Reading WriteRecord(long unixMs, WriteDecision decision)
    {
        _metrics.Writes(ScriptOutcomes.Name(decision.Outcome)).Inc();
        var p = decision.Proposal;
        var o = decision.Other;
        return new Reading(DeviceId, unixMs, new ScriptWriteValue(ScriptOutcomes.Target(p.Target), p.Value, ScriptOutcomes.Name(decision.Outcome),
            p.ScriptId, (byte)p.Priority, o?.ScriptId, o is null ? null : (byte)o.Priority, o?.Value));
    }

    private void LogDecision(WriteDecision decision)
    {
        switch (decision.Outcome)
        {
            case WriteOutcome.Won:
                _logger.Warning("Script conflict won: {0}", decision.Describe());
                break;
            case WriteOutcome.Lost:
                _logger.Warning("Script conflict lost: {0}", decision.Describe());
                break;
            case WriteOutcome.Overridden:
                break;
            default:
                _logger.Debug("Script write: {0}", decision.Describe());
                break;
        }
    }

    private void LogOutcome(string scriptId, string trigger, RunOutcome outcome)
    {
        switch (outcome.Kind)
        {
            case RunOutcomeKind.Completed or RunOutcomeKind.ConditionsNotMet:
                _logger.Debug("Script {0} ({1}): {2}, {3}", scriptId, trigger, ScriptOutcomes.Name(outcome.Kind), outcome.Reason);
                break;
            case RunOutcomeKind.RateLimited:
                // A trigger that keeps firing would fill the log: one line per interval, with a count.
                if (_refusalLog.ShouldLog(out var suppressed))
                    _logger.Warning("Script {0} ({1}): rate limited, {2} ({3} more rate-limited runs not logged)", scriptId, trigger, outcome.Reason, suppressed);
                break;
            default:
                _logger.Warning("Script {0} ({1}): {2}, {3}", scriptId, trigger, ScriptOutcomes.Name(outcome.Kind), outcome.Reason);
                break;
        }
    }

    private static string RunTimer(Guid runId) => "run-" + runId.ToString("N");

    private sealed record Waiting(ScriptRun Run, string Trigger);

    private sealed record ResumeRun(Guid RunId);

    private sealed record WriteDone(WriteProposal Write, string Outcome, string? Error);

    private sealed class ConfigurationApplied
    {
        public static readonly ConfigurationApplied Instance = new();

        private ConfigurationApplied()
        {
        }
    }

    private sealed class StartStore
    {
        public static readonly StartStore Instance = new();

        private StartStore()
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
