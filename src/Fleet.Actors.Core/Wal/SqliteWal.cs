using System.Data.Common;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using LinqToDB;
using LinqToDB.Interceptors;
using Microsoft.Data.Sqlite;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// Where the write-ahead log lives: Akka.Persistence.Sql with the SQLite provider
/// (Microsoft.Data.Sqlite, <c>SQLite.MS</c>), journal and snapshots in separate files so they
/// never lock each other (docs/adr/0001-wal-on-akka-persistence-sql-sqlite.md).
/// </summary>
public static class SqliteWal
{
    /// <summary>HOCON path of the journal plugin.</summary>
    public const string JournalPluginId = "akka.persistence.journal.sql";

    /// <summary>HOCON path of the snapshot plugin.</summary>
    public const string SnapshotPluginId = "akka.persistence.snapshot-store.sql";

    /// <summary>HOCON path of the query plugin used to read unsent entries back.</summary>
    public const string ReadJournalPluginId = "akka.persistence.query.journal.sql";

    /// <summary>linq2db provider name of Microsoft.Data.Sqlite.</summary>
    public const string ProviderName = LinqToDB.ProviderName.SQLiteMS;

    /// <summary>
    /// Creates the folder and prepares both files (<see cref="JournalFiles.Prepare"/>: <c>journal_mode=WAL</c>,
    /// the plugins' tables, the file's identity). This must run before the actor system starts: the
    /// mode is stored in the file, and switching it needs an exclusive lock. A file SQLite reports as
    /// damaged is quarantined and replaced by a fresh one; the list says which.
    /// </summary>
    public static IReadOnlyList<QuarantinedFile> PrepareFiles(string journalPath, string snapshotPath)
    {
        var quarantined = new List<QuarantinedFile>();
        foreach (var (path, journal) in new[] { (journalPath, true), (snapshotPath, false) })
        {
            try
            {
                JournalFiles.Prepare(path, journal);
            }
            catch (SqliteException ex) when (JournalFiles.IsDamage(ex))
            {
                if (JournalFiles.QuarantineIfDamaged(path, journal) is { } moved) quarantined.Add(moved);
                else throw;
            }
        }
        // Pooled connections would keep the files open; release them so the plugins start clean.
        SqliteConnection.ClearAllPools();
        return quarantined;
    }

    /// <summary>The connection string for one SQLite file.</summary>
    public static string ConnectionString(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    /// <summary>Plugin configuration for the journal, snapshot and query plugins on these files.</summary>
    public static Config Hocon(string journalPath, string snapshotPath)
    {
        var journal = Quote(ConnectionString(journalPath));
        var snapshots = Quote(ConnectionString(snapshotPath));
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "{{JournalPluginId}}"
                sql {
                  connection-string = {{journal}}
                  provider-name = "{{ProviderName}}"
                  auto-initialize = on
                  tag-write-mode = Csv
                  # SQLite has one writer: more parallel writers only contend for its lock.
                  parallelism = 1
                  # Entries are blobs of encoded records: pass them as parameters rather than as
                  # hex literals built into the SQL text.
                  prefer-parameters-on-multirow-insert = true
                }
              }
              snapshot-store {
                plugin = "{{SnapshotPluginId}}"
                sql {
                  connection-string = {{snapshots}}
                  provider-name = "{{ProviderName}}"
                  auto-initialize = on
                }
              }
              query.journal.sql {
                connection-string = {{journal}}
                provider-name = "{{ProviderName}}"
                write-plugin = "{{JournalPluginId}}"
                tag-read-mode = Csv
              }
            }
            """).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    /// <summary>
    /// linq2db options for each plugin, with an interceptor that sets <c>PRAGMA synchronous</c> and
    /// a busy timeout on every connection the plugins open.
    /// </summary>
    public static Setup DataOptions(string journalPath, string snapshotPath, SqliteSynchronous synchronous)
    {
        var interceptor = new PragmaInterceptor(synchronous);
        var setup = new MultiDataOptionsSetup();
        var journal = new DataOptions().UseConnectionString(ProviderName, ConnectionString(journalPath)).UseInterceptor(interceptor);
        setup.AddDataOptions(JournalPluginId, journal);
        setup.AddDataOptions(ReadJournalPluginId, journal);
        setup.AddDataOptions(SnapshotPluginId,
            new DataOptions().UseConnectionString(ProviderName, ConnectionString(snapshotPath)).UseInterceptor(interceptor));
        return setup;
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

    private sealed class PragmaInterceptor(SqliteSynchronous synchronous) : ConnectionInterceptor
    {
        private readonly string _sql =
            $"PRAGMA synchronous={(synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL")}; PRAGMA busy_timeout=30000;";

        public override void ConnectionOpened(ConnectionEventData eventData, DbConnection connection)
        {
            using var command = connection.CreateCommand();
            command.CommandText = _sql;
            command.ExecuteNonQuery();
        }

        public override async Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = _sql;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
