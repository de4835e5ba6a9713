using System.Collections.Immutable;

namespace Fleet.Actors.Core.Scripting;

/// <summary>A command to the script store (a later remote-command issue exposes them).</summary>
public abstract record ScriptStoreCommand;

/// <summary>Install a new script.</summary>
public sealed record InstallScript(ScriptDefinition Script) : ScriptStoreCommand;

/// <summary>Replace an installed script with a new definition of the same id.</summary>
public sealed record ReplaceScript(ScriptDefinition Script) : ScriptStoreCommand;

/// <summary>Enable an installed script.</summary>
public sealed record EnableScript(string ScriptId) : ScriptStoreCommand;

/// <summary>Disable an installed script (kept, but neither triggered nor run).</summary>
public sealed record DisableScript(string ScriptId) : ScriptStoreCommand;

/// <summary>Remove an installed script.</summary>
public sealed record RemoveScript(string ScriptId) : ScriptStoreCommand;

/// <summary>
/// Marker for everything the script store persists (its events and snapshot); bound to
/// <see cref="ScriptSerializer"/> by <see cref="ScriptStoreHosting.SerializationHocon"/>.
/// </summary>
public interface IScriptStorePersisted;

/// <summary>An event of the script store, persisted by the store actor and folded by <see cref="ScriptStoreState.Apply"/>.</summary>
public abstract record ScriptStoreEvent(string ScriptId) : IScriptStorePersisted;

/// <summary>A script was installed.</summary>
public sealed record ScriptInstalled(ScriptDefinition Script) : ScriptStoreEvent(Script.Id);

/// <summary>A script was replaced by a new definition.</summary>
public sealed record ScriptReplaced(ScriptDefinition Script) : ScriptStoreEvent(Script.Id);

/// <summary>A script was enabled.</summary>
public sealed record ScriptEnabled(string ScriptId) : ScriptStoreEvent(ScriptId);

/// <summary>A script was disabled.</summary>
public sealed record ScriptDisabled(string ScriptId) : ScriptStoreEvent(ScriptId);

/// <summary>A script was removed.</summary>
public sealed record ScriptRemoved(string ScriptId) : ScriptStoreEvent(ScriptId);

/// <summary>The store's state as saved in a snapshot: every installed script (with its enabled flag), ordered by id.</summary>
public sealed record ScriptStoreSnapshot(ValueArray<ScriptDefinition> Scripts) : IScriptStorePersisted;

/// <summary>
/// A stored row of the script store that could not be decoded. <see cref="ScriptSerializer"/>
/// returns it instead of throwing, so one bad row is logged and skipped rather than stopping recovery.
/// </summary>
/// <param name="Manifest">The row's manifest.</param>
/// <param name="Length">The row's size in bytes.</param>
/// <param name="Error">Why it did not decode.</param>
public sealed record CorruptScriptRecord(string Manifest, int Length, string Error);

/// <summary>A command turned into an event, or refused with a reason.</summary>
public sealed record ScriptStoreDecision(ScriptStoreEvent? Event, string? RefusedBecause)
{
    /// <summary>True when the command was accepted.</summary>
    public bool Accepted => Event is not null;

    internal static ScriptStoreDecision Accept(ScriptStoreEvent e) => new(e, null);

    internal static ScriptStoreDecision Refuse(string reason) => new(null, reason);
}

/// <summary>
/// The installed scripts, immutable. <see cref="Decide"/> validates a command against the state
/// and returns the event to persist; <see cref="Apply"/> folds a persisted event in (it trusts the
/// event: it was validated before it was persisted).
/// </summary>
public sealed record ScriptStoreState(ImmutableDictionary<string, ScriptDefinition> Scripts)
{
    /// <summary>No scripts.</summary>
    public static ScriptStoreState Empty { get; } = new(ImmutableDictionary.Create<string, ScriptDefinition>(StringComparer.Ordinal));

    /// <summary>The state restored from a snapshot.</summary>
    public static ScriptStoreState From(ScriptStoreSnapshot snapshot) =>
        new(snapshot.Scripts.ToImmutableDictionary(s => s.Id, StringComparer.Ordinal));

    /// <summary>The state as a snapshot (scripts ordered by id, so equal states give equal snapshots).</summary>
    public ScriptStoreSnapshot ToSnapshot() =>
        new(Scripts.Values.OrderBy(s => s.Id, StringComparer.Ordinal).ToValueArray());

    /// <summary>Validates a command into an event, or refuses it.</summary>
    public ScriptStoreDecision Decide(ScriptStoreCommand command) => command switch
    {
        InstallScript c when Scripts.ContainsKey(c.Script.Id) => ScriptStoreDecision.Refuse($"script \"{c.Script.Id}\" is already installed (replace it instead)"),
        InstallScript c => CheckCalls(c.Script) ?? ScriptStoreDecision.Accept(new ScriptInstalled(c.Script)),
        ReplaceScript c when !Scripts.ContainsKey(c.Script.Id) => Unknown(c.Script.Id),
        ReplaceScript c => CheckCalls(c.Script) ?? ScriptStoreDecision.Accept(new ScriptReplaced(c.Script)),
        EnableScript c => Scripts.ContainsKey(c.ScriptId) ? ScriptStoreDecision.Accept(new ScriptEnabled(c.ScriptId)) : Unknown(c.ScriptId),
        DisableScript c => Scripts.ContainsKey(c.ScriptId) ? ScriptStoreDecision.Accept(new ScriptDisabled(c.ScriptId)) : Unknown(c.ScriptId),
        RemoveScript c when !Scripts.ContainsKey(c.ScriptId) => Unknown(c.ScriptId),
        RemoveScript c => Callers(c.ScriptId) is { Count: > 0 } callers
            ? ScriptStoreDecision.Refuse($"script \"{c.ScriptId}\" is called by {string.Join(", ", callers.Select(id => $"\"{id}\""))}")
            : ScriptStoreDecision.Accept(new ScriptRemoved(c.ScriptId)),
        _ => ScriptStoreDecision.Refuse($"unknown command {command.GetType().Name}"),
    };

    /// <summary>Folds an event into the state.</summary>
    public ScriptStoreState Apply(ScriptStoreEvent e) => e switch
    {
        ScriptInstalled i => this with { Scripts = Scripts.SetItem(i.Script.Id, i.Script) },
        ScriptReplaced r => this with { Scripts = Scripts.SetItem(r.Script.Id, r.Script) },
        ScriptEnabled en => SetEnabled(en.ScriptId, true),
        ScriptDisabled d => SetEnabled(d.ScriptId, false),
        ScriptRemoved r => this with { Scripts = Scripts.Remove(r.ScriptId) },
        _ => this,
    };

    private ScriptStoreState SetEnabled(string id, bool enabled) =>
        Scripts.TryGetValue(id, out var script) ? this with { Scripts = Scripts.SetItem(id, script with { Enabled = enabled }) } : this;

    private ScriptStoreDecision? CheckCalls(ScriptDefinition script)
    {
        // A script may call itself (the call depth limit bounds it); any other callee must be installed.
        var unknown = script.CalledScriptIds.Where(id => id != script.Id && !Scripts.ContainsKey(id)).ToList();
        return unknown.Count == 0 ? null : ScriptStoreDecision.Refuse($"script \"{script.Id}\" calls unknown script {string.Join(", ", unknown.Select(id => $"\"{id}\""))}");
    }

    private List<string> Callers(string id) =>
        Scripts.Values.Where(s => s.Id != id && s.CalledScriptIds.Contains(id)).Select(s => s.Id).Order(StringComparer.Ordinal).ToList();

    private static ScriptStoreDecision Unknown(string id) => ScriptStoreDecision.Refuse($"no script \"{id}\" is installed");
}
