using Microsoft.Data.Sqlite;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// The two SQLite files of the log as files: their schema, the identity each one carries, and the
/// quarantine of a damaged one. A file that SQLite reports as damaged (error 11, "database disk
/// image is malformed", or 26, "file is not a database") is moved aside into
/// <c>quarantine/&lt;time&gt;-&lt;name&gt;/</c> next to it, kept for forensics, and replaced by a fresh
/// one with a new identity; the log notices the new identity and resumes its sequence above the
/// high-water mark it keeps outside the journal (<see cref="SequenceMark"/>).
/// </summary>
public static class JournalFiles
{
    /// <summary>The table that holds a file's identity (one row, a GUID made when the file was created).</summary>
    public const string IdentityTable = "fleet_store";

    // The tables Akka.Persistence.Sql creates on SQLite (auto-initialize), so that a fresh file made
    // here is ready for the plugins, which initialize their tables only once, at start.
    // JournalFilesTests checks that this is exactly what the plugin makes, less the journal's two
    // indexes on created and on sequence_number alone: no query of the agent reads through them
    // (replay, the highest sequence number and deletes use journal_uq), and each kept two more
    // b-trees to write in every group commit. Prepare drops them from a file that has them.
    private const string JournalSchema = """
        CREATE TABLE IF NOT EXISTS [journal]
        (
        	[ordering]        INTEGER        NOT NULL PRIMARY KEY AUTOINCREMENT,
        	[created]         INTEGER        NOT NULL,
        	[deleted]         Bit            NOT NULL,
        	[persistence_id]  NVarChar(255)  NOT NULL,
        	[sequence_number] INTEGER        NOT NULL,
        	[message]         VarBinary      NOT NULL,
        	[tags]            NVarChar(100)      NULL,
        	[manifest]        NVarChar(500)      NULL,
        	[identifier]      INTEGER            NULL,
        	[writer_uuid]     NVarChar(128)      NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS journal_uq ON journal (persistence_id, sequence_number);
        DROP INDEX IF EXISTS journal_created_idx;
        DROP INDEX IF EXISTS journal_sequence_number_idx;
        """;

    private const string SnapshotSchema = """
        CREATE TABLE IF NOT EXISTS [snapshot]
        (
        	[persistence_id]  NVarChar(255) NOT NULL,
        	[sequence_number] INTEGER       NOT NULL,
        	[created]         INTEGER       NOT NULL,
        	[snapshot]        VarBinary         NULL,
        	[manifest]        NVarChar(500)     NULL,
        	[serializer_id]   INTEGER           NULL,

        	CONSTRAINT [PK_snapshot] PRIMARY KEY ([persistence_id], [sequence_number])
        );
        CREATE INDEX IF NOT EXISTS snapshot_sequence_number_idx ON snapshot (sequence_number);
        CREATE INDEX IF NOT EXISTS snapshot_created_idx ON snapshot (created);
        """;

    private static readonly object Gate = new();

    /// <summary>
    /// Opens the file (creating it), switches it to <c>journal_mode=WAL</c>, creates the plugin's
    /// tables and the identity, and returns the identity. Throws what SQLite throws.
    /// </summary>
    public static string Prepare(string path, bool journal)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        using var connection = new SqliteConnection(SqliteWal.ConnectionString(path));
        connection.Open();
        var mode = Scalar(connection, "PRAGMA journal_mode=WAL;") as string;
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"SQLite refused journal_mode=WAL for {path} (mode is '{mode}')");
        // One transaction for the schema and the identity: a fresh file costs one commit (one fsync)
        // instead of one per statement; on a file that has them nothing is written.
        using var transaction = connection.BeginTransaction();
        Execute(connection, journal ? JournalSchema : SnapshotSchema, transaction);
        Execute(connection, $"CREATE TABLE IF NOT EXISTS {IdentityTable} (id TEXT NOT NULL);", transaction);
        if (Scalar(connection, $"SELECT id FROM {IdentityTable} LIMIT 1;", transaction) is not string id)
        {
            id = Guid.NewGuid().ToString("N");
            Execute(connection, $"INSERT INTO {IdentityTable} (id) VALUES ('{id}');", transaction);
        }
        transaction.Commit();
        return id;
    }

    /// <summary>The identity of a prepared file (its <see cref="IdentityTable"/> row), or null when it has none.</summary>
    public static string? Identity(string path)
    {
        using var connection = new SqliteConnection(SqliteWal.ConnectionString(path));
        connection.Open();
        return Scalar(connection, $"SELECT id FROM {IdentityTable} LIMIT 1;") as string;
    }

    /// <summary>True when SQLite says the file is damaged or not a database (anywhere in the exception chain).</summary>
    public static bool IsDamage(Exception? exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            if (ex is SqliteException { SqliteErrorCode: 11 or 26 }) return true;
            if (ex is AggregateException aggregate && aggregate.InnerExceptions.Any(IsDamage)) return true;
        }
        return false;
    }

    /// <summary>
    /// Checks the file (<c>PRAGMA quick_check</c>) and, when SQLite finds it damaged, quarantines it
    /// and prepares a fresh one in its place. Returns where the damaged file went, or null when the
    /// file is sound (for example because another caller already replaced it).
    /// </summary>
    public static QuarantinedFile? QuarantineIfDamaged(string path, bool journal)
    {
        lock (Gate)
        {
            if (Inspect(path, MaxFindingsKept) is not { } findings) return null;
            var problem = OneLine(findings);
            // Pooled connections hold the damaged file open; writes through them would go to it.
            SqliteWal.ReleaseConnections();
            var name = Path.GetFileName(path);
            var folder = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "quarantine",
                DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmssfff'Z'", System.Globalization.CultureInfo.InvariantCulture) + "-" + Path.GetFileNameWithoutExtension(name));
            Directory.CreateDirectory(folder);
            // The fresh file is made whole beside the damaged one and renamed into its place: other
            // parts of the agent retrying their recovery meanwhile never open a file without its
            // tables, nor create one of their own that the fresh file would have to share a -wal with.
            var fresh = path + ".fresh";
            var identity = PrepareAside(fresh, journal);
            foreach (var suffix in new[] { "", "-wal", "-shm" })
                if (File.Exists(path + suffix)) File.Move(path + suffix, Path.Combine(folder, name + suffix));
            File.Move(fresh, path, overwrite: true);
            // The whole of what SQLite found, for forensics (the log line is shortened).
            File.WriteAllText(Path.Combine(folder, "reason.txt"), $"{DateTime.UtcNow:O} {path}:{Environment.NewLine}{findings}{Environment.NewLine}");
            SqliteWal.ReleaseConnections();
            return new QuarantinedFile(path, folder, problem, identity);
        }
    }

    private const int MaxFindingsKept = 100;

    /// <summary>
    /// <see cref="Prepare"/> on a file of its own, left complete in the one file (its -wal checkpointed
    /// into it and removed), so that it can be renamed into place. Returns its identity.
    /// </summary>
    private static string PrepareAside(string path, bool journal)
    {
        foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(path + suffix);
        var identity = Prepare(path, journal);
        SqliteWal.ReleaseConnections();
        using (var connection = new SqliteConnection(SqliteWal.ConnectionString(path) + ";Pooling=False"))
        {
            connection.Open();
            Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE);");
        }
        // The last connection closed: SQLite removed the -wal and -shm files (a -wal left would hold nothing the file lacks).
        foreach (var suffix in new[] { "-wal", "-shm" }) File.Delete(path + suffix);
        return identity;
    }

    /// <summary>Null when SQLite finds nothing wrong with the file; otherwise what it found, on one line.</summary>
    public static string? Check(string path) => Inspect(path, 3) is { } findings ? OneLine(findings) : null;

    /// <summary>Null when the file is sound; otherwise up to <paramref name="maxFindings"/> of SQLite's findings, one per line.</summary>
    private static string? Inspect(string path, int maxFindings)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var connection = new SqliteConnection(SqliteWal.ConnectionString(path) + ";Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA quick_check;";
            using var reader = command.ExecuteReader();
            var findings = new List<string>();
            while (reader.Read() && findings.Count < maxFindings) findings.Add(reader.GetString(0));
            return findings is ["ok"] ? null : string.Join('\n', findings);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 11 or 26)
        {
            return ex.Message;
        }
    }

    private static string OneLine(string text)
    {
        var line = string.Join("; ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return line.Length <= 200 ? line : line[..200] + "...";
    }

    private static object? Scalar(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.ExecuteNonQuery();
    }
}

/// <summary>A damaged file moved aside and replaced by a fresh one.</summary>
/// <param name="Path">The file's path (now a fresh file).</param>
/// <param name="QuarantineFolder">Where the damaged file (and its -wal and -shm files) went.</param>
/// <param name="Problem">What SQLite found.</param>
/// <param name="NewIdentity">The identity of the fresh file.</param>
public sealed record QuarantinedFile(string Path, string QuarantineFolder, string Problem, string NewIdentity);
