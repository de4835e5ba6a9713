using System.Collections.Immutable;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Devices.Scripting;

/// <summary>
/// Brings the configured scripts into the store each time a store starts: the commands that install
/// the scripts it lacks and replace those it holds in another form (an enabled flag changed by
/// command is kept), callees first so that calls resolve; and, until the store has answered them
/// all, the accepted readings held back (at most <see cref="MaxHeldBatches"/> batches, the rest
/// dropped and counted), so that every configured script sees the same readings. Used on the
/// engine's thread only.
/// </summary>
internal sealed class ConfigurationInstall(IReadOnlyList<ScriptDefinition> configured, ScriptMetrics metrics)
{
    /// <summary>Batches of accepted readings held while the configured scripts are being installed.</summary>
    public const int MaxHeldBatches = 256;

    private readonly IReadOnlyList<ScriptDefinition> _configured = CalleesFirst(configured);
    private readonly Queue<WalProtocol.ReadingsAccepted> _held = new();
    private int _pending;

    /// <summary>True while commands sent to the store are unanswered.</summary>
    public bool Pending => _pending > 0;

    /// <summary>The commands for a store that holds <paramref name="stored"/>; each one is to be sent and its answer reported.</summary>
    public IReadOnlyList<ScriptStoreCommand> Start(ImmutableDictionary<string, ScriptDefinition> stored)
    {
        var commands = new List<ScriptStoreCommand>();
        foreach (var script in _configured)
        {
            if (!stored.TryGetValue(script.Id, out var held)) commands.Add(new InstallScript(script));
            else if (held with { Enabled = script.Enabled } != script) commands.Add(new ReplaceScript(script));
        }
        _pending = commands.Count;
        return commands;
    }

    /// <summary>One command was answered; true when it was the last one.</summary>
    public bool Answered() => _pending > 0 && --_pending == 0;

    /// <summary>The store stopped: the answers of its commands will not come.</summary>
    public void Abandon() => _pending = 0;

    /// <summary>Holds <paramref name="accepted"/> while commands are pending (or drops and counts it when full); false when none are.</summary>
    public bool Hold(WalProtocol.ReadingsAccepted accepted)
    {
        if (_pending == 0) return false;
        if (_held.Count < MaxHeldBatches) _held.Enqueue(accepted);
        else metrics.HeldDropped.Inc(accepted.Readings.Count);
        return true;
    }

    /// <summary>The oldest held batch, once no command is pending.</summary>
    public bool TryRelease(out WalProtocol.ReadingsAccepted accepted)
    {
        accepted = null!;
        return _pending == 0 && _held.TryDequeue(out accepted!);
    }

    private static List<ScriptDefinition> CalleesFirst(IReadOnlyList<ScriptDefinition> scripts)
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
}
