using System.Collections.Immutable;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Gpio;

namespace Fleet.Actors.Devices.Scripting;

/// <summary>
/// The script engine's reading path: turns the readings the log accepted into the triggers they
/// fire for the enabled scripts. Keeps the latest value of every reading a script names (conditions
/// read them when a run starts), the arming of each threshold trigger (hysteresis) and the last
/// level of each input line (edges from level readings). Used on the engine's thread only.
/// </summary>
internal sealed class TriggerEvaluator(GpioSettings gpio)
{
    private readonly Dictionary<string, GpioLineSettings> _inputsById =
        gpio.Lines.Where(l => l.Direction == GpioDirection.Input).ToDictionary(l => l.Id, StringComparer.Ordinal);

    private readonly Dictionary<string, double> _readings = new(StringComparer.Ordinal);
    private readonly Dictionary<(string ScriptId, int Trigger), bool> _armed = new();
    private readonly Dictionary<string, bool> _lineLevels = new(StringComparer.Ordinal);

    /// <summary>What the enabled scripts listen to.</summary>
    public TriggerIndex Index { get; private set; } = TriggerIndex.Empty;

    /// <summary>The latest value of each reading a script names, by <c>name</c> and by <c>device.name</c>.</summary>
    public IReadOnlyDictionary<string, double> Readings => _readings;

    /// <summary>
    /// The installed scripts changed from <paramref name="previous"/> to <paramref name="scripts"/>:
    /// index the enabled ones and forget the arming of triggers whose script changed or went.
    /// Returns the index it replaced (its interval timers are to be cancelled).
    /// </summary>
    public TriggerIndex Update(ImmutableDictionary<string, ScriptDefinition> scripts, ImmutableDictionary<string, ScriptDefinition> previous)
    {
        foreach (var key in _armed.Keys.Where(k => !scripts.TryGetValue(k.ScriptId, out var s) || s != previous.GetValueOrDefault(k.ScriptId)).ToList())
            _armed.Remove(key);
        var before = Index;
        Index = TriggerIndex.Build(scripts.Values.Where(s => s.Enabled));
        return before;
    }

    /// <summary>The scripts that <paramref name="accepted"/> fires, with a description of the trigger each time; null when none.</summary>
    public List<(ScriptDefinition Script, string Trigger)>? Observe(WalProtocol.ReadingsAccepted accepted)
    {
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
                // A raise or a one-shot alert starts the scripts; the end of a condition (CLEARED) does not.
                case AlertValue a when a.State != AlertState.Cleared && Index.Alerts.TryGetValue(a.Name, out var scripts):
                    foreach (var script in scripts) (fired ??= new()).Add((script, "alert " + a.Name));
                    break;
            }
        }
        return fired;
    }

    private void Observe(string name, double value, ref List<(ScriptDefinition, string)>? fired)
    {
        if (!Index.Readings.Contains(name)) return;
        _readings[name] = value;
        if (!Index.Thresholds.TryGetValue(name, out var thresholds)) return;
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
        if (!Index.Edges.TryGetValue(line.Pin, out var triggers)) return;
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
}
