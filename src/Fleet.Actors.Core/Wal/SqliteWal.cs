using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// Where the write-ahead log lives: our own Akka.Persistence plugins on Microsoft.Data.Sqlite
/// (<see cref="Journal.SqliteJournal"/>, <see cref="Journal.SqliteSnapshotStore"/>,
/// <see cref="Journal.SqliteReadJournal"/>), journal and snapshots in separate files so they never
/// lock each other, in the table layout of Akka.Persistence.Sql (docs/adr/0001-wal-on-akka-persistence-sql-sqlite.md,
/// docs/adr/0018-own-sqlite-journal.md).
/// </summary>
public static class SqliteWal
{
    /// <summary>HOCON path of the journal plugin.</summary>
    public const string JournalPluginId = "akka.persistence.journal.fleet-sqlite";

    /// <summary>HOCON path of the snapshot plugin.</summary>
    public const string SnapshotPluginId = "akka.persistence.snapshot-store.fleet-sqlite";

    /// <summary>HOCON path of the query plugin used to read unsent entries back.</summary>
    public const string ReadJournalPluginId = "akka.persistence.query.journal.fleet-sqlite";

    /// <summary>
    /// Creates the folder and prepares both files (<see cref="JournalFiles.Prepare"/>: <c>journal_mode=WAL</c>,
    /// the plugins' tables, the file's identity). This must run before the actor system starts: the
    /// mode is stored in the file, and switching it needs an exclusive lock. A file SQLite reports as
    /// damaged is quarantined and replaced by a fresh one, and so is a snapshot file that
    /// <c>PRAGMA quick_check</c> finds damaged; the list says which.
    /// </summary>
    public static IReadOnlyList<QuarantinedFile> PrepareFiles(string journalPath, string snapshotPath)
    {
        var quarantined = new List<QuarantinedFile>();
        foreach (var (path, journal) in new[] { (journalPath, true), (snapshotPath, false) })
        {
            try
            {
                JournalFiles.Prepare(path, journal);
                // The snapshot file is small: a full check at every start finds damage that no read
                // would report yet (an index page, found by a new user's tryout). The journal can be
                // large; its damage is found when it is read.
                if (!journal && JournalFiles.QuarantineIfDamaged(path, journal: false) is { } damaged) quarantined.Add(damaged);
            }
            catch (SqliteException ex) when (JournalFiles.IsDamage(ex))
            {
                if (JournalFiles.QuarantineIfDamaged(path, journal) is { } moved) quarantined.Add(moved);
                else throw;
            }
        }
        // Pooled connections would keep the files open; release them so the plugins start clean.
        ReleaseConnections();
        return quarantined;
    }

    private static int _connectionGeneration;

    /// <summary>
    /// How many times <see cref="ReleaseConnections"/> ran: a connection opened under an older
    /// generation may point at a file that was moved away since and must be opened afresh.
    /// </summary>
    internal static int ConnectionGeneration => Volatile.Read(ref _connectionGeneration);

    /// <summary>
    /// Releases every connection the agent holds to the log's files: the pooled ones at once, the
    /// journal's kept writer connection before its next write. Called whenever a file is about to be
    /// or has been replaced.
    /// </summary>
    public static void ReleaseConnections()
    {
        Interlocked.Increment(ref _connectionGeneration);
        SqliteConnection.ClearAllPools();
    }

    /// <summary>The connection string for one SQLite file.</summary>
    public static string ConnectionString(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    /// <summary>Plugin configuration for the journal, snapshot and query plugins on these files.</summary>
    public static Config Hocon(string journalPath, string snapshotPath, SqliteSynchronous synchronous)
    {
        var journal = Quote(ConnectionString(journalPath));
        var snapshots = Quote(ConnectionString(snapshotPath));
        var sync = synchronous == SqliteSynchronous.Full ? "full" : "normal";
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "{{JournalPluginId}}"
                fleet-sqlite {
                  class = "{{typeof(Journal.SqliteJournal).FullName}}, {{typeof(Journal.SqliteJournal).Assembly.GetName().Name}}"
                  plugin-dispatcher = "akka.actor.default-dispatcher"
                  connection-string = {{journal}}
                  synchronous = {{sync}}
                }
              }
              snapshot-store {
                plugin = "{{SnapshotPluginId}}"
                fleet-sqlite {
                  class = "{{typeof(Journal.SqliteSnapshotStore).FullName}}, {{typeof(Journal.SqliteSnapshotStore).Assembly.GetName().Name}}"
                  plugin-dispatcher = "akka.actor.default-dispatcher"
                  connection-string = {{snapshots}}
                  synchronous = {{sync}}
                }
              }
              query.journal.fleet-sqlite {
                class = "{{typeof(Journal.SqliteReadJournalProvider).FullName}}, {{typeof(Journal.SqliteReadJournalProvider).Assembly.GetName().Name}}"
                connection-string = {{journal}}
                max-buffer-size = 1000
              }
            }
            """);
    }

    /// <summary>Bytes the journal takes on disk (main file plus the SQLite -wal file).</summary>
    public static long SizeOnDisk(string journalPath)
    {
        long size = 0;
        foreach (var file in new[] { journalPath, journalPath + "-wal" })
        {
            var info = new FileInfo(file);
            if (info.Exists) size += info.Length;
        }
        return size;
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
