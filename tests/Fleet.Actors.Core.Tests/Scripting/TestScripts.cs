using Fleet.Actors.Core.Scripting;

namespace Fleet.Actors.Core.Tests.Scripting;

/// <summary>Builders for scripts in tests.</summary>
internal static class TestScripts
{
    public static ScriptDefinition Script(string id, params ScriptAction[] actions) => Script(id, ScriptPriority.Normal, actions);

    public static ScriptDefinition Script(string id, ScriptPriority priority, params ScriptAction[] actions) =>
        new(id, id, priority, true, ValueArray<ScriptTrigger>.Empty, ValueArray<ScriptCondition>.Empty, actions.ToValueArray());

    public static Dictionary<string, ScriptDefinition> Installed(params ScriptDefinition[] scripts) =>
        scripts.ToDictionary(s => s.Id, StringComparer.Ordinal);

    public static readonly Dictionary<string, double> NoReadings = new();
}
