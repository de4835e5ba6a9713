using Akka.Actor;
using Akka.Event;

namespace Fleet.Actors.Core.Wal;

/// <summary>Published on the event stream when a damaged journal or snapshot file was replaced.</summary>
public sealed record JournalQuarantined(QuarantinedFile File, bool Journal);

/// <summary>
/// Where persistent actors report that SQLite called their files damaged. The check and the
/// quarantine run on the thread pool, one at a time per process; each replaced file is logged and
/// announced as <see cref="JournalQuarantined"/>. The reporting actor has already failed and is
/// restarted by its backoff supervisor, by which time the fresh file is in place.
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
    }

    /// <summary>The extension of <paramref name="system"/>.</summary>
    public static JournalQuarantine Get(ActorSystem system) => system.WithExtension<JournalQuarantine, Provider>();

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

    private sealed class Provider : ExtensionIdProvider<JournalQuarantine>
    {
        public override JournalQuarantine CreateExtension(ExtendedActorSystem system) => new(system);
    }
}
