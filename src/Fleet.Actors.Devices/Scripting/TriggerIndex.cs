using Fleet.Actors.Core.Scripting;

namespace Fleet.Actors.Devices.Scripting;

/// <summary>An interval trigger of a script is due.</summary>
internal sealed record IntervalTick(string ScriptId, string Description);

/// <summary>What the enabled scripts listen to, indexed for the engine's reading path.</summary>
internal sealed record TriggerIndex(
    IReadOnlySet<string> Readings,
    IReadOnlyDictionary<string, List<(ScriptDefinition Script, int Index, ThresholdTrigger Trigger)>> Thresholds,
    IReadOnlyDictionary<int, List<(ScriptDefinition Script, GpioEdgeTrigger Trigger)>> Edges,
    IReadOnlyDictionary<string, List<ScriptDefinition>> Alerts,
    IReadOnlyList<(string Key, IntervalTick Tick, TimeSpan Every)> Intervals,
    IReadOnlyList<string> IntervalTimerKeys)
{
    public static TriggerIndex Empty { get; } = Build([]);

    public bool WantsReadings => Readings.Count > 0 || Edges.Count > 0 || Alerts.Count > 0;

    public static TriggerIndex Build(IEnumerable<ScriptDefinition> enabled)
    {
        var readings = new HashSet<string>(StringComparer.Ordinal);
        var thresholds = new Dictionary<string, List<(ScriptDefinition, int, ThresholdTrigger)>>(StringComparer.Ordinal);
        var edges = new Dictionary<int, List<(ScriptDefinition, GpioEdgeTrigger)>>();
        var alerts = new Dictionary<string, List<ScriptDefinition>>(StringComparer.Ordinal);
        var intervals = new List<(string, IntervalTick, TimeSpan)>();
        foreach (var script in enabled)
        {
            foreach (var condition in script.Conditions) AddNames(condition, readings);
            for (var i = 0; i < script.Triggers.Count; i++)
            {
                switch (script.Triggers[i])
                {
                    case ThresholdTrigger t:
                        readings.Add(t.Reading);
                        Add(thresholds, t.Reading, (script, i, t));
                        break;
                    case GpioEdgeTrigger g:
                        Add(edges, g.Line, (script, g));
                        break;
                    case AlertTrigger a:
                        Add(alerts, a.Alert, script);
                        break;
                    case IntervalTrigger every:
                        intervals.Add(($"interval-{script.Id}-{i}", new IntervalTick(script.Id, "interval " + ScriptOutcomes.Describe(every.Every)), every.Every));
                        break;
                }
            }
        }
        return new TriggerIndex(readings, thresholds, edges, alerts, intervals, intervals.Select(i => i.Item1).ToList());
    }

    private static void AddNames(ScriptCondition condition, HashSet<string> names)
    {
        switch (condition)
        {
            case CompareCondition c:
                names.Add(c.Reading);
                if (c.Right is ReadingOperand r) names.Add(r.Reading);
                break;
            case AllCondition all:
                foreach (var inner in all.Conditions) AddNames(inner, names);
                break;
            case AnyCondition any:
                foreach (var inner in any.Conditions) AddNames(inner, names);
                break;
            case NotCondition not:
                AddNames(not.Condition, names);
                break;
        }
    }

    private static void Add<TKey, TValue>(Dictionary<TKey, List<TValue>> map, TKey key, TValue value) where TKey : notnull
    {
        if (!map.TryGetValue(key, out var list)) map[key] = list = new List<TValue>();
        list.Add(value);
    }
}
