using System.Globalization;
using Fleet.Actors.Core.Health;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Devices.Alerts;

/// <summary>
/// Turns what the rules watch into <see cref="AlertsProtocol.Raise"/> and <see cref="AlertsProtocol.Clear"/>
/// signals: accepted readings and health samples through threshold conditions (a duration by the
/// data's own timestamps, hysteresis for the recovery), harsh-driving events into one-shot alerts.
/// Devices down are timed by the actor; their texts are made here. Pure and single-threaded.
/// </summary>
internal sealed class RuleEvaluator
{
    private readonly Dictionary<string, List<ReadingRule>> _readingRules = new(StringComparer.Ordinal);
    private readonly List<HealthRule> _healthRules;
    private readonly List<DrivingEventRule> _drivingRules;
    private readonly List<DeviceDownRule> _deviceDownRules;
    private readonly Dictionary<(string RuleId, string Device), ThresholdCondition> _conditions = new();

    /// <summary>
    /// Indexes <paramref name="rules"/>; the conditions of rules that equal a rule of
    /// <paramref name="previous"/> (a configuration change that left them alone) are kept.
    /// </summary>
    public RuleEvaluator(IReadOnlyList<AlertRule> rules, RuleEvaluator? previous = null, IReadOnlyList<AlertRule>? previousRules = null)
    {
        foreach (var rule in rules.OfType<ReadingRule>())
        {
            if (!_readingRules.TryGetValue(rule.Measurement, out var list)) _readingRules[rule.Measurement] = list = new();
            list.Add(rule);
        }
        _healthRules = rules.OfType<HealthRule>().ToList();
        _drivingRules = rules.OfType<DrivingEventRule>().ToList();
        _deviceDownRules = rules.OfType<DeviceDownRule>().ToList();
        if (previous is null || previousRules is null) return;
        var unchanged = rules.Where(r => previousRules.Contains(r)).Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var (key, condition) in previous._conditions)
            if (unchanged.Contains(key.RuleId)) _conditions[key] = condition;
    }

    /// <summary>Whether any rule watches health samples, harsh-driving events, devices.</summary>
    public bool WatchesHealth => _healthRules.Count > 0;

    /// <inheritdoc cref="WatchesHealth"/>
    public bool WatchesDriving => _drivingRules.Count > 0;

    /// <inheritdoc cref="WatchesHealth"/>
    public bool WatchesDevices => _deviceDownRules.Count > 0;

    /// <summary>The rules on readings see the readings the log accepted (with their sequences).</summary>
    public void Observe(WalProtocol.ReadingsAccepted accepted, List<object> signals)
    {
        var readings = accepted.Readings;
        for (var i = 0; i < readings.Count; i++)
        {
            var reading = readings[i];
            if (reading.Value is not MeasurementValue m || !_readingRules.TryGetValue(m.Name, out var rules)) continue;
            foreach (var rule in rules)
            {
                if (rule.Device is { } device && device != reading.DeviceId) continue;
                var cause = new AlertCause(reading.DeviceId, m.Name, m.Value, accepted.SequenceOf(i), reading.TimestampMs);
                var what = $"{m.Name} on {reading.DeviceId}";
                Threshold(rule, rule.Threshold, rule.For, reading.DeviceId, reading.DeviceId, what, m.Value, reading.TimestampMs, cause, signals);
            }
        }
    }

    /// <summary>The rules on health fields see a sample; an unavailable field changes nothing.</summary>
    public void Observe(HealthSample sample, List<object> signals)
    {
        foreach (var rule in _healthRules)
        {
            if (sample[rule.Field] is not { } value) continue;
            var cause = new AlertCause("", rule.Field, value, TimestampMs: sample.TimestampMs);
            Threshold(rule, rule.Threshold, rule.For, "", null, rule.Field, value, sample.TimestampMs, cause, signals);
        }
    }

    /// <summary>The rules on driving events see a harsh brake, acceleration or cornering.</summary>
    public void Observe(HarshDrivingDetected detected, List<object> signals)
    {
        var e = detected.Event;
        foreach (var rule in _drivingRules)
        {
            if (rule.Event != e.Type || e.Magnitude < rule.MinMagnitude || (rule.Device is { } device && device != detected.SensorId)) continue;
            var text = $"{e.Type} of {Number(e.Magnitude)} m/s² for {e.Duration.TotalMilliseconds:0} ms on {detected.SensorId}"
                + (rule.MinMagnitude > 0 ? $" (at least {Number(rule.MinMagnitude)} m/s²)" : "");
            signals.Add(new AlertsProtocol.Raise(rule.Type, rule.Severity, rule.Source, detected.SensorId, Join(rule.Message, text),
                [new AlertCause(detected.SensorId, e.Type, e.Magnitude, TimestampMs: detected.TimestampMs)], OneShot: true));
        }
    }

    /// <summary>The device-down rules that watch <paramref name="deviceId"/>.</summary>
    public IEnumerable<DeviceDownRule> DeviceDownRulesFor(string deviceId) =>
        _deviceDownRules.Where(r => r.Device is null || r.Device == deviceId);

    /// <summary>The raise of a device that has been down for the rule's time.</summary>
    public static AlertsProtocol.Raise DeviceDown(DeviceDownRule rule, DeviceStatusChanged down) =>
        new(rule.Type, rule.Severity, rule.Source, down.DeviceId,
            Join(rule.Message, $"{down.Domain} device {down.DeviceId} down{(rule.For > TimeSpan.Zero ? $" for more than {Scripting.ScriptOutcomes.Describe(rule.For)}" : "")}{(down.Reason.Length > 0 ? ": " + down.Reason : "")}"),
            [new AlertCause(down.DeviceId, "down", TimestampMs: down.TimestampMs, Detail: down.Reason.Length > 0 ? down.Reason : null)]);

    /// <summary>The clear of a device that is up again.</summary>
    public static AlertsProtocol.Clear DeviceUp(DeviceDownRule rule, DeviceStatusChanged up) =>
        new(rule.Type, rule.Source, up.DeviceId, $"{up.Domain} device {up.DeviceId} is up again",
            [new AlertCause(up.DeviceId, "up", TimestampMs: up.TimestampMs)]);

    private void Threshold(AlertRule rule, Threshold threshold, TimeSpan hold, string key, string? deviceId, string what, double value, long timestampMs,
        AlertCause cause, List<object> signals)
    {
        if (!_conditions.TryGetValue((rule.Id, key), out var condition)) _conditions[(rule.Id, key)] = condition = new ThresholdCondition();
        switch (condition.Observe(threshold, hold, value, timestampMs, cause))
        {
            case ThresholdCondition.Change.Raise:
                var first = condition.FirstCause!;
                var since = hold > TimeSpan.Zero ? $" for {Scripting.ScriptOutcomes.Describe(TimeSpan.FromMilliseconds(timestampMs - first.TimestampMs!.Value))}" : "";
                IReadOnlyList<AlertCause> causes = first == cause ? [cause] : [first, cause];
                signals.Add(new AlertsProtocol.Raise(rule.Type, rule.Severity, rule.Source, deviceId,
                    Join(rule.Message, $"{what} at {Number(value)}, {threshold}{since}"), causes));
                break;
            case ThresholdCondition.Change.Clear:
                signals.Add(new AlertsProtocol.Clear(rule.Type, rule.Source, deviceId, $"{what} back at {Number(value)} ({threshold})", [cause]));
                break;
        }
    }

    private static string Join(string prefix, string text) => prefix.Length == 0 ? text : $"{prefix}: {text}";

    private static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>
/// One threshold rule's condition for one device: beyond the threshold since when (pending), and
/// whether its alert is raised. The duration counts by the observations' own timestamps, so late
/// batches and virtual time judge it the same way.
/// </summary>
internal sealed class ThresholdCondition
{
    private long? _pendingSinceMs;

    /// <summary>What an observation changed.</summary>
    public enum Change
    {
        /// <summary>Nothing.</summary>
        None,

        /// <summary>The condition has held long enough: raise.</summary>
        Raise,

        /// <summary>Back past the threshold by the hysteresis: clear.</summary>
        Clear,
    }

    /// <summary>True while the alert is raised.</summary>
    public bool Raised { get; private set; }

    /// <summary>The observation that first crossed the threshold (of the pending or raised condition).</summary>
    public AlertCause? FirstCause { get; private set; }

    /// <summary>Takes one observation.</summary>
    public Change Observe(Threshold threshold, TimeSpan hold, double value, long timestampMs, AlertCause cause)
    {
        if (Raised)
        {
            if (!threshold.Recovered(value)) return Change.None;
            Raised = false;
            FirstCause = null;
            return Change.Clear;
        }
        if (!threshold.Crossed(value))
        {
            // It must hold without a break.
            _pendingSinceMs = null;
            FirstCause = null;
            return Change.None;
        }
        if (_pendingSinceMs is null)
        {
            _pendingSinceMs = timestampMs;
            FirstCause = cause;
        }
        if (timestampMs - _pendingSinceMs.Value < (long)hold.TotalMilliseconds) return Change.None;
        _pendingSinceMs = null;
        Raised = true;
        return Change.Raise;
    }
}
