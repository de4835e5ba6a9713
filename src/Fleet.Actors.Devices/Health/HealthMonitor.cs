using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Health;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Alerts;
using Fleet.Actors.Devices.Supervision;

namespace Fleet.Actors.Devices.Health;

/// <summary>Messages of the health monitor.</summary>
public static class HealthProtocol
{
    /// <summary>Asks for the monitor's <see cref="HealthReport"/>.</summary>
    public sealed class GetHealth
    {
        public static readonly GetHealth Instance = new();
        private GetHealth() { }
    }

    /// <summary>What the monitor knows: the latest sample, the devices, the buffer left, current stalls.</summary>
    /// <param name="Latest">The latest sample (null before the first).</param>
    /// <param name="Devices">Every configured device, by domain and id.</param>
    /// <param name="Buffer">The log's disk budget and how long it lasts at the current rate (null before the first sample).</param>
    /// <param name="Stalls">Stuck parts found by the stall detector that have not recovered yet (part → what was seen).</param>
    /// <param name="Restarts">Restarts counted by each supervisor (<c>restarts_total</c> by supervisor).</param>
    /// <param name="Domains">The state of each domain at the latest sample: <c>log</c> (<c>up</c> or <c>not answering</c>),
    /// <c>uplink</c> (its state, e.g. <c>online</c>, or <c>not answering</c>), and each device domain
    /// (<c>sensors</c>, <c>gpio</c>, <c>plcs</c>: <c>3/3 up</c>, or <c>not answering</c>).</param>
    public sealed record HealthReport(
        HealthSample? Latest,
        IReadOnlyList<DeviceView> Devices,
        BufferView? Buffer,
        IReadOnlyDictionary<string, string> Stalls,
        IReadOnlyDictionary<string, long> Restarts,
        IReadOnlyDictionary<string, string>? Domains = null);

    /// <summary>One device for the status endpoint.</summary>
    /// <param name="Domain">sensors, gpio or plcs.</param>
    /// <param name="Id">The configured id.</param>
    /// <param name="Type">Driver or kind.</param>
    /// <param name="Up">Whether it runs now.</param>
    /// <param name="RatePerSecond">What it delivered per second between the last two samples (null after the first).</param>
    /// <param name="Count">What it delivered since the agent started (<see cref="DeviceActivity.Count"/>).</param>
    /// <param name="LastSeenMs">When it last delivered (Unix ms), where known.</param>
    /// <param name="ChangedMs">When it last went up or down (Unix ms), if it changed since the monitor started.</param>
    /// <param name="Reason">Why it is down (empty when up or not known).</param>
    /// <param name="Downs">How often it went down since the agent started.</param>
    public sealed record DeviceView(string Domain, string Id, string Type, bool Up, double? RatePerSecond, long Count, long? LastSeenMs,
        long? ChangedMs, string Reason, int Downs);

    /// <summary>The log's disk budget for unsent data and how long it would last offline.</summary>
    /// <param name="UnsentBytes">Unsent data now.</param>
    /// <param name="MaxUnsentBytes">The budget (<c>max-unsent-bytes</c>).</param>
    /// <param name="FillBytesPerSecond">How fast accepted data arrives (smoothed over the recent samples).</param>
    /// <param name="HoursLeft">Hours until the budget is full at that rate if the link went away now; null when nothing arrives.</param>
    public sealed record BufferView(long UnsentBytes, long MaxUnsentBytes, double FillBytesPerSecond, double? HoursLeft);
}

/// <summary>
/// The health monitor of one vehicle (actor <c>health</c>): every <see cref="HealthSettings.SampleInterval"/>
/// it reads the machine and the process (<see cref="IHealthSampler"/>, off its own thread), asks the
/// log (timing the answer: mailbox pressure), the uplink and the device supervisors, and publishes
/// the result as <see cref="HealthSampled"/> on the event stream (alert rules take it from there)
/// and as gauges. Every <see cref="HealthSettings.HeartbeatInterval"/> it journals the latest
/// sample as a diagnostics record, uplinked like any reading, and hands it to the uplink for the
/// retained status: the fleet's heartbeat. A source that fails costs only its fields (logged at most
/// once per <see cref="HealthSettings.ErrorLogInterval"/> per source, counted).
/// It is also the stall detector: the uplink connected with unsent data but nothing acknowledged for
/// <see cref="HealthSettings.UplinkStallTimeout"/> is restarted; a sensor that stopped itself because
/// its device went silent (stall-timeout) is restarted by its own supervisor. Either is counted,
/// logged, raised as an alert (<c>uplink-stalled</c>, <c>device-stalled</c>, source <c>stall-detector</c>)
/// and reported (<see cref="HealthProtocol.HealthReport.Stalls"/>, which makes the agent not ready)
/// until the part delivers again, when the alert is cleared.
/// </summary>
internal sealed class HealthMonitor : ReceiveActor, IWithTimers
{
    /// <summary>The device id of the health records in the log.</summary>
    public const string DeviceId = "health";

    private const string SampleTimer = "sample";
    private const string HeartbeatTimer = "heartbeat";
    private const string UplinkPart = "uplink";
    private const string StallSource = "stall-detector";

    private readonly string _vehicleId;
    private readonly HealthSettings _settings;
    private readonly IHealthSampler _sampler;
    private readonly IActorRef _log;
    private readonly IActorRef _uplink;
    private readonly IReadOnlyList<IActorRef> _domains;
    private readonly IActorRef? _alerts;
    private readonly AgentMetrics _agentMetrics;
    private readonly HealthMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly Dictionary<string, RateLimitedLog> _sourceLogs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DeviceEvents> _deviceEvents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Count, long AtMs)> _previousCounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _stalls = new(StringComparer.Ordinal);
    // What each stalled device had delivered when it stalled (null: not known yet); it has recovered once it delivers more.
    private readonly Dictionary<string, long?> _stalledAt = new(StringComparer.Ordinal);
    private IReadOnlyList<HealthProtocol.DeviceView> _devices = [];
    private IReadOnlyDictionary<string, string> _domainStates = new Dictionary<string, string>();
    private HealthSample? _latest;
    private HealthProtocol.BufferView? _buffer;
    private (long Bytes, long AtMs)? _previousAccepted;
    private double _fillRate;
    private bool _sampling;
    private long _lastAcknowledged = -1;
    private long _acknowledgedChangedAt;

    public HealthMonitor(string vehicleId, HealthSettings settings, IHealthSampler sampler, IActorRef log, IActorRef uplink,
        IReadOnlyList<IActorRef> domains, IActorRef? alerts, AgentMetrics metrics, TimeProvider time)
    {
        _alerts = alerts;
        _vehicleId = vehicleId;
        _settings = settings;
        _sampler = sampler;
        _log = log;
        _uplink = uplink;
        _domains = domains;
        _agentMetrics = metrics;
        _metrics = new HealthMetrics(metrics, vehicleId);
        _time = time;
        _acknowledgedChangedAt = time.GetTimestamp();

        Receive<SampleTick>(_ => StartSample());
        Receive<Sampled>(OnSampled);
        Receive<HeartbeatTick>(_ => Heartbeat());
        Receive<DeviceStatusChanged>(changed => changed.VehicleId == _vehicleId, OnDeviceChanged);
        Receive<DeviceStatusChanged>(_ => { });
        Receive<HealthProtocol.GetHealth>(_ => Sender.Tell(new HealthProtocol.HealthReport(_latest, _devices, _buffer,
            new Dictionary<string, string>(_stalls), Restarts(), _domainStates)));
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props for the monitor of one vehicle; <paramref name="domains"/> are the supervisors answering
    /// <see cref="GetDevices"/>, <paramref name="alerts"/> takes the stall alerts (none without it).
    /// </summary>
    public static Props Props(string vehicleId, HealthSettings settings, IHealthSampler sampler, IActorRef log, IActorRef uplink,
        IReadOnlyList<IActorRef> domains, AgentMetrics metrics, IActorRef? alerts = null, TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new HealthMonitor(vehicleId, settings, sampler, log, uplink, domains, alerts, metrics, time ?? TimeProvider.System));

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(DeviceStatusChanged));
        // The first sample soon after start (its CPU shares cover the start), then every interval.
        Timers.StartPeriodicTimer(SampleTimer, SampleTick.Instance, TimeSpan.FromSeconds(1), _settings.SampleInterval);
        Timers.StartPeriodicTimer(HeartbeatTimer, HeartbeatTick.Instance, _settings.HeartbeatInterval);
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void StartSample()
    {
        if (_sampling)
        {
            _metrics.SamplesSkipped.Inc();
            return;
        }
        _sampling = true;
        var (sampler, log, uplink, domains, time) = (_sampler, _log, _uplink, _domains, _time);
        // A part that does not answer within this is reported so; a slow answer delays the next sample (counted as skipped) rather than being lost.
        var timeout = TimeSpan.FromTicks(Math.Clamp(_settings.SampleInterval.Ticks, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromSeconds(5).Ticks));
        SampleAsync(sampler, log, uplink, domains, time, timeout).PipeTo(Self);
    }

    private static async Task<Sampled> SampleAsync(IHealthSampler sampler, IActorRef log, IActorRef uplink, IReadOnlyList<IActorRef> domains,
        TimeProvider time, TimeSpan timeout)
    {
        var machine = Task.Run(sampler.Sample);
        var asked = time.GetTimestamp();
        var logStatus = AskOrNull<WalProtocol.WalStatus>(log, WalProtocol.GetStatus.Instance, timeout);
        var linkStatus = AskOrNull<UplinkProtocol.UplinkStatus>(uplink, UplinkProtocol.GetStatus.Instance, timeout);
        var reports = domains.Select(d => AskOrNull<DeviceReport>(d, GetDevices.Instance, timeout)).ToList();
        var logAnswer = await logStatus.ConfigureAwait(false);
        var logMs = logAnswer is null ? (double?)null : time.GetElapsedTime(asked).TotalMilliseconds;
        await Task.WhenAll(reports).ConfigureAwait(false);
        MachineSample sample;
        try
        {
            sample = await machine.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A sampler is not supposed to throw; if one does, the sample goes on without its fields.
            sample = new MachineSample(new Dictionary<string, double>(), new Dictionary<string, string>(), [("sampler", ex.GetBaseException().Message)]);
        }
        var domainStates = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["log"] = logAnswer is null ? "not answering" : "up",
            ["uplink"] = (await linkStatus.ConfigureAwait(false))?.State ?? "not answering",
        };
        for (var i = 0; i < domains.Count; i++)
            domainStates[domains[i].Path.Name] = reports[i].Result is { } report ? $"{report.Devices.Count(d => d.Up)}/{report.Devices.Count} up" : "not answering";
        return new Sampled(sample, logAnswer, logMs, await linkStatus.ConfigureAwait(false),
            reports.SelectMany(r => r.Result?.Devices ?? []).ToList(), reports.Any(r => r.Result is null), domainStates);
    }

    private static async Task<T?> AskOrNull<T>(IActorRef actor, object message, TimeSpan timeout)
        where T : class
    {
        try
        {
            return await actor.Ask<T>(message, timeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AskTimeoutException or OperationCanceledException)
        {
            return null;
        }
    }

    private void OnSampled(Sampled sampled)
    {
        _sampling = false;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var values = new Dictionary<string, double>(sampled.Machine.Values, StringComparer.Ordinal);
        var unavailable = new Dictionary<string, string>(sampled.Machine.Unavailable, StringComparer.Ordinal);
        foreach (var (source, cause) in sampled.Machine.Failures) ReportSourceFailure(source, cause);

        if (sampled.LogMs is { } logMs) values[HealthFields.LogResponseMs] = Math.Round(logMs, 3);
        else unavailable[HealthFields.LogResponseMs] = "the log did not answer";

        _devices = DeviceViews(sampled.Devices, now);
        _domainStates = sampled.Domains;
        CheckStalledDevices(sampled.Devices, sampled.DevicesIncomplete);
        var devices = _devices.ToDictionary(d => d.Domain + "/" + d.Id, d => d.Up, StringComparer.Ordinal);
        if (sampled.DevicesIncomplete)
        {
            unavailable[HealthFields.DevicesUp] = unavailable[HealthFields.DevicesDown] = "a device supervisor did not answer";
            ReportSourceFailure("devices", "a device supervisor did not answer in time");
        }
        else
        {
            values[HealthFields.DevicesUp] = devices.Count(d => d.Value);
            values[HealthFields.DevicesDown] = devices.Count(d => !d.Value);
        }

        if (sampled.Log is { } log) _buffer = Buffer(log, now);
        CheckUplink(sampled.Log, sampled.Link);

        var sample = new HealthSample(now, values, unavailable, devices);
        _latest = sample;
        _metrics.Update(sample);
        Context.System.EventStream.Publish(new HealthSampled(_vehicleId, sample));
    }

    private IReadOnlyList<HealthProtocol.DeviceView> DeviceViews(IReadOnlyList<DeviceActivity> devices, long now)
    {
        var views = new List<HealthProtocol.DeviceView>(devices.Count);
        foreach (var device in devices)
        {
            var key = device.Domain + "/" + device.Id;
            double? rate = null;
            if (_previousCounts.TryGetValue(key, out var previous) && now > previous.AtMs && device.Count >= previous.Count)
                rate = Math.Round((device.Count - previous.Count) * 1000.0 / (now - previous.AtMs), 3);
            _previousCounts[key] = (device.Count, now);
            var events = _deviceEvents.GetValueOrDefault(key);
            views.Add(new HealthProtocol.DeviceView(device.Domain, device.Id, device.Type, device.Up, rate, device.Count, device.LastSeenMs,
                events?.ChangedMs, device.Up ? "" : events?.Reason ?? "", events?.Downs ?? 0));
        }
        foreach (var gone in _previousCounts.Keys.Except(devices.Select(d => d.Domain + "/" + d.Id)).ToList()) _previousCounts.Remove(gone);
        return views;
    }

    private HealthProtocol.BufferView Buffer(WalProtocol.WalStatus log, long now)
    {
        if (_previousAccepted is { } previous && now > previous.AtMs && log.AcceptedBytesTotal >= previous.Bytes)
        {
            var rate = (log.AcceptedBytesTotal - previous.Bytes) * 1000.0 / (now - previous.AtMs);
            // Smoothed, so that a burst or a quiet stop does not swing the estimate.
            _fillRate = _fillRate == 0 ? rate : 0.7 * _fillRate + 0.3 * rate;
        }
        _previousAccepted = (log.AcceptedBytesTotal, now);
        var left = Math.Max(0, log.MaxUnsentBytes - log.UnsentBytes);
        double? hours = _fillRate > 0 ? Math.Round(left / _fillRate / 3600, 2) : null;
        return new HealthProtocol.BufferView(log.UnsentBytes, log.MaxUnsentBytes, Math.Round(_fillRate, 1), hours);
    }

    /// <summary>
    /// Connected, with unsent data, and the acknowledged sequence has not moved for the stall timeout:
    /// restart the link. A stall is over when batches are acknowledged again (or, connected, nothing
    /// is left to send); while the link is down the clock does not run (that is an outage, for
    /// <c>/readyz</c>'s offline tolerance), and a stall found before stays reported.
    /// </summary>
    private void CheckUplink(WalProtocol.WalStatus? log, UplinkProtocol.UplinkStatus? link)
    {
        if (link is null || log is null) return;
        var now = _time.GetTimestamp();
        if (link.AcknowledgedSequence != _lastAcknowledged || link is { Connected: true } && log.UnsentCount == 0)
        {
            _lastAcknowledged = link.AcknowledgedSequence;
            _acknowledgedChangedAt = now;
            if (_stalls.Remove(UplinkPart))
            {
                var how = $"acknowledged up to sequence {link.AcknowledgedSequence}, {log.UnsentCount} unsent";
                _logger.Info("Uplink stall over: {0}", how);
                _alerts?.Tell(new AlertsProtocol.Clear("uplink-stalled", StallSource, Message: how));
            }
            return;
        }
        if (!link.Connected)
        {
            _acknowledgedChangedAt = now;
            return;
        }
        var stuck = _time.GetElapsedTime(_acknowledgedChangedAt, now);
        if (_settings.UplinkStallTimeout <= TimeSpan.Zero || stuck < _settings.UplinkStallTimeout) return;
        var reason = $"connected with {log.UnsentCount} unsent records but nothing acknowledged for {stuck.TotalSeconds:0}s (last acknowledged sequence {link.AcknowledgedSequence})";
        _logger.Warning("Uplink stalled: {0}; restarting it", reason);
        if (!_stalls.ContainsKey(UplinkPart))
            _alerts?.Tell(new AlertsProtocol.Raise("uplink-stalled", AlertSeverity.Warning, StallSource, Message: reason));
        _stalls[UplinkPart] = reason;
        _metrics.Stalls.Inc();
        _uplink.Tell(new UplinkProtocol.Restart("stalled: " + reason));
        // The next restart, if it stays stuck, after another full timeout.
        _acknowledgedChangedAt = now;
    }

    /// <summary>A stalled device has recovered when it has delivered since it stalled (or is no longer configured).</summary>
    private void CheckStalledDevices(IReadOnlyList<DeviceActivity> devices, bool incomplete)
    {
        foreach (var (key, baseline) in _stalledAt.ToList())
        {
            var device = devices.FirstOrDefault(d => d.Domain + "/" + d.Id == key);
            if (device is null)
            {
                if (incomplete) continue;
                _stalledAt.Remove(key);
                _stalls.Remove(key);
                continue;
            }
            if (baseline is null)
            {
                _stalledAt[key] = device.Count;
                continue;
            }
            if (!device.Up || device.Count <= baseline) continue;
            _stalledAt.Remove(key);
            _stalls.Remove(key);
            _logger.Info("{0} delivers again after its stall", key);
            _alerts?.Tell(new AlertsProtocol.Clear("device-stalled", StallSource, device.Id, $"{key} delivers again"));
        }
    }

    private void OnDeviceChanged(DeviceStatusChanged changed)
    {
        var key = changed.Domain + "/" + changed.DeviceId;
        var events = _deviceEvents.TryGetValue(key, out var known) ? known : _deviceEvents[key] = new DeviceEvents();
        events.Reason = changed.Reason;
        if (changed.Up)
        {
            // Open again is not recovered: a stalled device has recovered once it delivers (CheckStalledDevices).
            events.ChangedMs = changed.TimestampMs;
            events.Up = true;
            return;
        }
        // A device that keeps failing to open says so on every attempt: one down, with the latest reason.
        if (events.Up != false)
        {
            events.ChangedMs = changed.TimestampMs;
            events.Downs++;
        }
        events.Up = false;
        if (changed.Reason.StartsWith("stalled", StringComparison.Ordinal))
        {
            _metrics.Stalls.Inc();
            if (!_stalls.ContainsKey(key))
            {
                _stalledAt[key] = _previousCounts.TryGetValue(key, out var count) ? count.Count : null;
                _alerts?.Tell(new AlertsProtocol.Raise("device-stalled", AlertSeverity.Warning, StallSource, changed.DeviceId, $"{key} {changed.Reason}; restarted"));
            }
            _stalls[key] = changed.Reason;
        }
    }

    private void Heartbeat()
    {
        if (_latest is not { } sample) return;
        _log.Tell(new WalProtocol.LogReadings([new Reading(DeviceId, sample.TimestampMs, Diagnostics(sample))]));
        _uplink.Tell(new UplinkProtocol.SetHealth(sample));
        _metrics.Heartbeats.Inc();
    }

    /// <summary>The health record of a sample (the contract's diagnostics with the monitor's fields).</summary>
    public static DiagnosticsValue Diagnostics(HealthSample sample)
    {
        long? Whole(string field) => sample[field] is { } v ? (long)Math.Round(v) : null;
        int? Count(string field) => sample[field] is { } v ? (int)v : null;
        var down = sample.Devices.Where(d => !d.Value).Select(d => d.Key).Order(StringComparer.Ordinal).ToList();
        var health = new AgentHealth(
            Clamp(sample[HealthFields.ProcessCpuUsage], 100 * 1024), Whole(HealthFields.ProcessResidentBytes), Whole(HealthFields.GcHeapBytes),
            Whole(HealthFields.DiskFreeBytes), Whole(HealthFields.UptimeSeconds), Whole(HealthFields.ProcessUptimeSeconds),
            sample[HealthFields.LoadAverage1m], Count(HealthFields.DevicesUp), Count(HealthFields.DevicesDown), down,
            Count(HealthFields.ThreadPoolQueueLength), sample.Unavailable.Keys.Order(StringComparer.Ordinal).ToList());
        return new DiagnosticsValue(Clamp(sample[HealthFields.CpuUsage], 100), Clamp(sample[HealthFields.MemoryUsage], 100),
            Clamp(sample[HealthFields.DiskUsage], 100), sample[HealthFields.Temperature], null, health);
    }

    // Rounding of tick counts can put a share a hair outside its range; the record must stay valid.
    private static double? Clamp(double? value, double max) => value is { } v ? Math.Clamp(v, 0, max) : null;

    private void ReportSourceFailure(string source, string cause)
    {
        _metrics.SampleErrors(source).Inc();
        if (!_sourceLogs.TryGetValue(source, out var limiter))
            _sourceLogs[source] = limiter = new RateLimitedLog(_settings.ErrorLogInterval, _time);
        if (limiter.ShouldLog(out var suppressed))
            _logger.Warning("Health: {0} unavailable: {1}{2}", source, cause, suppressed > 0 ? $" [{suppressed} more failures since the last report]" : "");
    }

    private IReadOnlyDictionary<string, long> Restarts()
    {
        var restarts = _agentMetrics.Factory.CreateCounter("restarts_total", "Actor restarts by a supervisor.", [AgentMetrics.VehicleLabel, "supervisor"]);
        return restarts.GetAllLabelValues().Where(l => l[0] == _vehicleId)
            .ToDictionary(l => l[1], l => (long)restarts.WithLabels(l).Value, StringComparer.Ordinal);
    }

    private sealed class DeviceEvents
    {
        public long? ChangedMs;
        public bool? Up;
        public string Reason = "";
        public int Downs;
    }

    private sealed class SampleTick
    {
        public static readonly SampleTick Instance = new();
    }

    private sealed class HeartbeatTick
    {
        public static readonly HeartbeatTick Instance = new();
    }

    private sealed record Sampled(MachineSample Machine, WalProtocol.WalStatus? Log, double? LogMs, UplinkProtocol.UplinkStatus? Link,
        IReadOnlyList<DeviceActivity> Devices, bool DevicesIncomplete, IReadOnlyDictionary<string, string> Domains);
}
