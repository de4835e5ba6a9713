using Akka.Actor.Setup;
using Akka.Configuration;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Testing;

/// <summary>A temporary folder with the log's SQLite files, wired exactly as the agent wires them.</summary>
public sealed class WalFiles : IDisposable
{
    public WalFiles()
    {
        Directory = Path.Combine(Path.GetTempPath(), "fleet-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string JournalPath => Path.Combine(Directory, "journal.db");

    public string SnapshotPath => Path.Combine(Directory, "snapshots.db");

    /// <summary>The production setup (plugins, PRAGMAs, serializer) on these files.</summary>
    public ActorSystemSetup Setup(string? extraHocon = null) => WalHosting.Setup(JournalPath, SnapshotPath, SqliteSynchronous.Normal,
        ConfigurationFactory.ParseString((extraHocon ?? "") + "\nakka.loglevel = INFO\nakka.persistence.journal.sql.batch-size = 100"));

    /// <summary>Runs one SQL statement on a file of the log (to damage rows on purpose); returns the rows it changed.</summary>
    public static int ExecuteSql(string path, string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection(SqliteWal.ConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    /// <summary>Runs one SQL query on a file of the log and returns its single integer (a count, a maximum).</summary>
    public static long Scalar(string path, string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection(SqliteWal.ConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A test that failed may leave a file open; the folder is in /tmp.
        }
    }
}
