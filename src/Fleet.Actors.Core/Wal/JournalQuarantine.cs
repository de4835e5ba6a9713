using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Microsoft.Data.Sqlite;

namespace Fleet.Actors.Core.Wal;

/// <summary>Published on the event stream when a damaged journal or snapshot file was replaced.</summary>
public sealed record JournalQuarantined(QuarantinedFile File, bool Journal);

/// <summary>
/// Where persistent actors report that SQLite called their files damaged. The check and the
/// quarantine run on the thread pool, one at a time per process, so a file reported by several
/// actors at once is quarantined once (the later checks find the fresh file sound); each replaced
/// file is logged and announced as <see cref="JournalQuarantined"/>. The reporting actor has
/// usually failed and is restarted by its backoff supervisor, by which time the fresh file is in place.
/// </summary>
public sealed class JournalQuarantine : IExtension
{
    private readonly ActorSystem _system;
    private readonly ILoggingAdapter _log;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    private JournalQuarantine(ActorSystem system)
    {
        _system = system;
        _log = Logging.GetLogger(system, "journal-quarantine");
        PluginFiles = SqliteFiles(system.Settings.Config);
    }

    /// <summary>
    /// The SQLite files of the default journal and snapshot plugins, the ones a persistent actor
    /// uses unless it names others (the script store, the command ledger); null when those plugins
    /// are not the SQLite plugins (an in-memory journal in tests).
    /// </summary>
    public (string Journal, string Snapshot)? PluginFiles { get; }

    /// <summary>The extension of <paramref name="system"/>.</summary>
    public static JournalQuarantine Get(ActorSystem system) => system.WithExtension<JournalQuarantine, Provider>();

    /// <summary>
    /// When SQLite called a file damaged (<see cref="JournalFiles.IsDamage"/>): logs one line naming
    /// <paramref name="who"/> and the cause (the stack trace at Debug) and has both files checked and
    /// the damaged one quarantined (<see cref="CheckAsync"/>). Returns false, doing nothing, for any
    /// other failure, and when the files are not known.
    /// </summary>
    public bool ReportDamage(Exception cause, ILoggingAdapter log, string who, string? journalPath, string? snapshotPath)
    {
        if (!JournalFiles.IsDamage(cause) || journalPath is null || snapshotPath is null) return false;
        log.Error("{0} met a damaged file ({1}); checking and quarantining it", who, cause.GetBaseException().Message);
        log.Debug("{0}", cause);
        CheckAsync(journalPath, snapshotPath).ContinueWith(
            t => _log.Error("Checking {0} and {1} for damage failed: {2}", journalPath, snapshotPath, t.Exception!.GetBaseException().Message),
            TaskContinuationOptions.OnlyOnFaulted);
        return true;
    }

    /// <summary>
    /// <see cref="ReportDamage(Exception, ILoggingAdapter, string, string?, string?)"/> for an actor
    /// that persists through the default plugins (<see cref="PluginFiles"/>).
    /// </summary>
    public bool ReportDamage(Exception cause, ILoggingAdapter log, string who) =>
        ReportDamage(cause, log, who, PluginFiles?.Journal, PluginFiles?.Snapshot);

    /// <summary>Checks both files and quarantines the damaged ones; completes with what was replaced.</summary>
    public Task<IReadOnlyList<JournalQuarantined>> CheckAsync(string journalPath, string snapshotPath) => Task.Run(async () =>
    {
        await _oneAtATime.WaitAsync().ConfigureAwait(false);
        try
        {
            var replaced = new List<JournalQuarantined>();
            foreach (var (path, journal) in new[] { (journalPath, true), (snapshotPath, false) })
            {
                if (JournalFiles.QuarantineIfDamaged(path, journal) is not { } file) continue;
                _log.Error("{0} is damaged ({1}): moved to {2}; going on with a fresh file", path, file.Problem, file.QuarantineFolder);
                var quarantined = new JournalQuarantined(file, journal);
                _system.EventStream.Publish(quarantined);
                replaced.Add(quarantined);
            }
            return (IReadOnlyList<JournalQuarantined>)replaced;
        }
        finally
        {
            _oneAtATime.Release();
        }
    });

    private static (string Journal, string Snapshot)? SqliteFiles(Config config)
    {
        string? File(string pluginKey)
        {
            var plugin = config.GetString(pluginKey, null);
            if (string.IsNullOrEmpty(plugin) || config.GetString(plugin + ".class", "")?.StartsWith(typeof(Journal.SqliteJournal).Namespace + ".Sqlite", StringComparison.Ordinal) != true) return null;
            var source = new SqliteConnectionStringBuilder(config.GetString(plugin + ".connection-string", "")).DataSource;
            return string.IsNullOrEmpty(source) ? null : source;
        }

        return File("akka.persistence.journal.plugin") is { } journal && File("akka.persistence.snapshot-store.plugin") is { } snapshot
            ? (journal, snapshot)
            : null;
    }

    private sealed class Provider : ExtensionIdProvider<JournalQuarantine>
    {
        public override JournalQuarantine CreateExtension(ExtendedActorSystem system) => new(system);
    }
}
