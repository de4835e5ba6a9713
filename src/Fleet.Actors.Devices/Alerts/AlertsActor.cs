using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Health;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Devices.Alerts;

/// <summary>
/// The vehicle's alerts (actor <c>alerts</c>, docs/alerts.md): evaluates the configured rules on the
/// readings the log accepted (only while a rule on readings exists, <see cref="AlertsProtocol.WantsReadings"/>),
/// on harsh-driving events, health samples and device status changes (EventStream, only the kinds a
/// rule watches, filtered by vehicle), takes <see cref="AlertsProtocol.Raise"/> and
/// <see cref="AlertsProtocol.Clear"/> from other actors (script alerts included), debounces them all
/// in one <see cref="AlertBook"/>, journals what goes out as <see cref="AlertValue"/> records
/// through the write-ahead log (device id <c>alerts</c>; from there they also travel in the uplink's
/// high-priority lane), counts them, and has its child <c>outputs</c> (<see cref="ActuationActor"/>)
/// drive the configured GPIO outputs.
/// </summary>
internal sealed class AlertsActor : UntypedActor, IWithTimers
{
    /// <summary>Device id of the alert records this actor journals.</summary>
    public const string DeviceId = "alerts";

    private const string DueTimer = "debounce-due";

    private readonly string _vehicleId;
    private readonly IActorRef _log;
    private readonly AlertMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly IActorRef _outputs;
    private readonly AlertBook _book;
    private readonly List<object> _signals = new();
    private readonly Dictionary<(string RuleId, string Device), DeviceStatusChanged> _down = new();
    private AlertsSettings _settings;
    private RuleEvaluator _rules;
    private bool? _wantsReadings;

    public AlertsActor(string vehicleId, AlertsSettings settings, IActorRef log, IActorRef writes, AgentMetrics metrics, TimeProvider time)
    {
        _vehicleId = vehicleId;
        _settings = settings;
        _log = log;
        _time = time;
        _metrics = new AlertMetrics(metrics, vehicleId);
        _book = new AlertBook(settings.Debounce);
        _rules = new RuleEvaluator(settings.Rules);
        _outputs = Context.ActorOf(ActuationActor.Props(settings.Actuation, writes, _metrics, time), "outputs");
    }

    // Messages by a switch on their type, not ReceiveActor's Receive<T>: its expression trees run in
    // an interpreter with reflection calls in the native agent (docs/adr/0024-busy-actors-match-messages-with-a-switch.md).
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case WalProtocol.ReadingsAccepted accepted:
                Evaluate(() => _rules.Observe(accepted, _signals));
                break;
            case HarshDrivingDetected drivingEvent:
                // Another vehicle's (a fleet node's event stream), or of a kind no rule watches any
                // more (between Unsubscribe and the last published one): nothing to do.
                if (drivingEvent.VehicleId == _vehicleId) Evaluate(() => _rules.Observe(drivingEvent, _signals));
                break;
            case HealthSampled health:
                if (health.VehicleId == _vehicleId) Evaluate(() => _rules.Observe(health.Sample, _signals));
                break;
            case DeviceStatusChanged device:
                if (device.VehicleId == _vehicleId) OnDeviceStatus(device);
                break;
            case DownFor down:
                OnDownFor(down);
                break;
            case AlertsProtocol.Raise raise:
                Signal(raise);
                break;
            case AlertsProtocol.Clear clear:
                Signal(clear);
                break;
            case DebounceDue:
                ReleaseDue();
                break;
            case AlertsProtocol.Apply apply:
                OnApply(apply);
                break;
            case AlertsProtocol.GetStatus:
                var actuating = _outputs.Ask<List<string>>(AlertsProtocol.GetStatus.Instance, TimeSpan.FromSeconds(5));
                var status = (_settings.Rules.Count, _book.ActiveAlerts.Select(a => a.ToString()).Order(StringComparer.Ordinal).ToList(), _book.HeldCount);
                actuating.PipeTo(Sender, success: lines => new AlertsProtocol.Status(status.Item1, status.Item2, status.Item3, lines));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props for the alerts of one vehicle: <paramref name="log"/> takes the alert records,
    /// <paramref name="writes"/> the outputs' writes (the script engine, or the vehicle agent, which passes them on to it).
    /// </summary>
    public static Props Props(string vehicleId, AlertsSettings settings, IActorRef log, IActorRef writes, AgentMetrics metrics, TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new AlertsActor(vehicleId, settings, log, writes, metrics, time ?? TimeProvider.System));

    protected override void PreStart()
    {
        Subscribe();
        TellWantsReadings();
        if (_settings.Rules.Count > 0)
            _logger.Info("Alert rules: {0} (debounce {1})", string.Join(", ", _settings.Rules.Select(r => $"{r.Id} ({r.Kind} -> {r.Type}, {AlertMetrics.Name(r.Severity)})")),
                Scripting.ScriptOutcomes.Describe(_settings.Debounce));
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    // ---------------------------------------------------------------- rules

    private void Evaluate(Action observe)
    {
        observe();
        if (_signals.Count == 0) return;
        foreach (var signal in _signals) Signal(signal);
        _signals.Clear();
    }

    /// <summary>
    /// A device went down: each device-down rule that watches it raises after its time (a timer per
    /// rule and device); up again, the timer is cancelled and a raised alert cleared.
    /// </summary>
    private void OnDeviceStatus(DeviceStatusChanged changed)
    {
        foreach (var rule in _rules.DeviceDownRulesFor(changed.DeviceId))
        {
            var key = (rule.Id, changed.DeviceId);
            if (changed.Up)
            {
                if (!_down.Remove(key)) continue;
                Timers.Cancel(DownTimer(key));
                Signal(RuleEvaluator.DeviceUp(rule, changed));
            }
            else if (!_down.ContainsKey(key))
            {
                _down[key] = changed;
                if (rule.For <= TimeSpan.Zero) Signal(RuleEvaluator.DeviceDown(rule, changed));
                else Timers.StartSingleTimer(DownTimer(key), new DownFor(rule.Id, changed.DeviceId), rule.For);
            }
        }
    }

    private void OnDownFor(DownFor elapsed)
    {
        if (!_down.TryGetValue((elapsed.RuleId, elapsed.DeviceId), out var down)) return;
        if (_settings.Rules.FirstOrDefault(r => r.Id == elapsed.RuleId) is DeviceDownRule rule) Signal(RuleEvaluator.DeviceDown(rule, down));
    }

    private static string DownTimer((string RuleId, string Device) key) => $"down/{key.RuleId}/{key.Device}";

    // ---------------------------------------------------------------- the book

    private void Signal(object signal)
    {
        var now = _time.GetUtcNow();
        switch (signal)
        {
            case AlertsProtocol.Raise raise when Refuse(raise.Type, raise.Source, raise.DeviceId) is { } problem:
                _logger.Warning("Alert raise from {0} ignored: {1}", raise.Source, problem);
                return;
            case AlertsProtocol.Raise raise:
                Handle(_book.Raise(Bounded(raise), now), raise.Type);
                break;
            case AlertsProtocol.Clear clear:
                Handle(_book.Clear(clear with { Message = Truncate(clear.Message) }, now), clear.Type);
                break;
        }
    }

    private void Handle(AlertBook.Outcome outcome, string type)
    {
        switch (outcome)
        {
            case AlertBook.Emit emit:
                Emit(emit.Value);
                break;
            case AlertBook.Held:
                _logger.Debug("Alert {0} held back by the debounce ({1})", type, Scripting.ScriptOutcomes.Describe(_book.Debounce));
                ScheduleDue();
                break;
            case AlertBook.Suppressed suppressed:
                _metrics.Suppressed(type, suppressed.Severity).Inc();
                _logger.Debug("Alert {0} suppressed by the debounce", type);
                break;
        }
    }

    private void ReleaseDue()
    {
        foreach (var value in _book.Due(_time.GetUtcNow())) Emit(value);
        ScheduleDue();
    }

    private void ScheduleDue()
    {
        if (_book.NextDue() is not { } next)
        {
            Timers.Cancel(DueTimer);
            return;
        }
        var delay = next - _time.GetUtcNow();
        Timers.StartSingleTimer(DueTimer, DebounceDue.Instance, delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
    }

    /// <summary>Journals the alert (the log's listener hands it to the uplink's high-priority lane once durable), counts and logs it, and drives the outputs.</summary>
    private void Emit(AlertValue alert)
    {
        if (ReadingValidator.Validate(alert) is { } problem)
        {
            _logger.Error("Alert {0} from {1} not journaled: {2}", alert.Name, alert.Source, problem);
            return;
        }
        _log.Tell(new WalProtocol.LogReadings([new Reading(DeviceId, _time.GetUtcNow().ToUnixTimeMilliseconds(), alert)]));
        var on = alert.DeviceId is null ? "" : " on " + alert.DeviceId;
        if (alert.State == AlertState.Cleared)
        {
            _metrics.Cleared(alert.Name).Inc();
            _logger.Info("Alert {0} cleared ({1}{2}): {3}", alert.Name, alert.Source, on, alert.Message);
            return;
        }
        _metrics.Triggered(alert.Name, alert.Severity).Inc();
        _logger.Warning("Alert {0} ({1}) from {2}{3}: {4}{5}", alert.Name, AlertMetrics.Name(alert.Severity), alert.Source, on, alert.Message,
            alert.Suppressed > 0 ? $" ({alert.Suppressed} more suppressed by the debounce since the last one)" : "");
        _outputs.Tell(new ActuationActor.Actuate(alert));
    }

    // Texts from other actors are bounded here, so that what goes out always passes validation.
    private static AlertsProtocol.Raise Bounded(AlertsProtocol.Raise raise) => raise with { Message = Truncate(raise.Message) };

    private static string Truncate(string text) => text.Length <= ReadingValidator.MaxTextLength ? text : text[..(ReadingValidator.MaxTextLength - 1)] + "…";

    private static string? Refuse(string type, string source, string? deviceId) =>
        string.IsNullOrWhiteSpace(type) || type.Length > ReadingValidator.MaxIdLength ? $"the alert type \"{type}\" is empty or longer than {ReadingValidator.MaxIdLength} characters"
        : source is null || source.Length > ReadingValidator.MaxIdLength ? $"the source of {type} is missing or longer than {ReadingValidator.MaxIdLength} characters"
        : deviceId is not null && (string.IsNullOrWhiteSpace(deviceId) || deviceId.Length > ReadingValidator.MaxIdLength) ? $"the device of {type} is empty or too long"
        : null;

    // ---------------------------------------------------------------- configuration

    /// <summary>
    /// New rules: those that read back equal keep their state; alerts of rules that changed or went
    /// are cleared (their conditions are judged anew), and their device timers stop.
    /// </summary>
    private void OnApply(AlertsProtocol.Apply apply)
    {
        var before = _settings;
        _settings = apply.Settings;
        _book.Debounce = _settings.Debounce;
        _rules = new RuleEvaluator(_settings.Rules, _rules, before.Rules);
        var gone = before.Rules.Where(r => !_settings.Rules.Contains(r)).ToList();
        foreach (var rule in gone)
        {
            foreach (var active in _book.ActiveAlerts.Where(a => a.Source == rule.Source).ToList())
                Signal(new AlertsProtocol.Clear(active.Type, active.Source, active.DeviceId, $"rule {rule.Id} was changed or removed by a configuration change"));
            foreach (var key in _down.Keys.Where(k => k.RuleId == rule.Id).ToList())
            {
                _down.Remove(key);
                Timers.Cancel(DownTimer(key));
            }
        }
        _outputs.Tell(new ActuationActor.Reconfigure(_settings.Actuation));
        Context.System.EventStream.Unsubscribe(Self);
        Subscribe();
        TellWantsReadings();
        ReleaseDue();
        var added = _settings.Rules.Count(r => !before.Rules.Contains(r));
        _logger.Info("Alert rules changed: {0} rules ({1} new or changed, {2} changed or removed), debounce {3}, {4} outputs",
            _settings.Rules.Count, added, gone.Count, Scripting.ScriptOutcomes.Describe(_settings.Debounce), _settings.Actuation.Count);
    }

    private void Subscribe()
    {
        var stream = Context.System.EventStream;
        if (_rules.WatchesDriving) stream.Subscribe(Self, typeof(HarshDrivingDetected));
        if (_rules.WatchesHealth) stream.Subscribe(Self, typeof(HealthSampled));
        if (_rules.WatchesDevices) stream.Subscribe(Self, typeof(DeviceStatusChanged));
    }

    private void TellWantsReadings()
    {
        var wants = _settings.WantsReadings;
        if (wants == _wantsReadings) return;
        _wantsReadings = wants;
        Context.Parent.Tell(new AlertsProtocol.WantsReadings(wants));
    }

    private sealed record DownFor(string RuleId, string DeviceId);

    private sealed class DebounceDue
    {
        public static readonly DebounceDue Instance = new();
    }
}
