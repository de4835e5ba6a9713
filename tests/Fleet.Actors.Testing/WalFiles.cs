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
        ConfigurationFactory.ParseString((extraHocon ?? "") + "\nakka.loglevel = INFO"));

    /// <summary>Runs one SQL statement on a file of the log (to damage rows on purpose); returns the rows it changed.</summary>
    public static int ExecuteSql(string path, string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection(SqliteWal.ConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    /// <summary>Runs one query with a single number as its answer (a count) on a file of the log.</summary>
    public static long Scalar(string path, string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection(SqliteWal.ConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// The log on these files with a disk budget that a second offline exceeds many times over
    /// (1 KiB entries and segments, 4 KiB unsent, a snapshot every 10 events).
    /// </summary>
    public WalSettings SmallBudget() => new()
    {
        JournalPath = JournalPath,
        MaxEntryBytes = 1024,
        MaxEntryRecords = 20,
        SegmentBytes = 1024,
        MaxUnsentBytes = 4 * 1024,
        CacheBytes = 2 * 1024,
        SnapshotEvery = 10,
    };

    /// <summary>The file of the log's sequence mark.</summary>
    public string SequencePath => Path.Combine(Directory, "wal.seq");

    /// <summary>
    /// Damages an SQLite file the way a power cut on a cheap SD card does: writes the log's
    /// pending changes into the main file first (checkpoint), then overwrites the start of every
    /// page after the first (the b-tree page headers), so that SQLite reports the file as
    /// malformed (error 11) as soon as it reads a table.
    /// </summary>
    public static void DamagePages(string path) => Damage(path, _ => true);

    /// <summary>
    /// Damages, as <see cref="DamagePages"/> does, only the pages that hold <paramref name="text"/>
    /// (UTF-8): the rows of one persistence id, in its table and in the index on it. Returns how many
    /// pages it overwrote.
    /// </summary>
    public static int DamagePagesHolding(string path, string text)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes(text);
        return Damage(path, page => page.IndexOf(needle) >= 0);
    }

    /// <summary>
    /// Damages, as <see cref="DamagePagesHolding"/> does, only the table leaf pages (the rows, page
    /// type 13) that hold <paramref name="text"/>, not the index pages: an actor that looks only at
    /// the index (another persistence id, or one whose snapshot is newer than every row) does not
    /// meet the damage; one that reads those rows does. Returns how many pages it overwrote.
    /// </summary>
    public static int DamageRowPagesHolding(string path, string text)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes(text);
        return Damage(path, page => page[0] == 13 && page.IndexOf(needle) >= 0);
    }

    /// <summary>
    /// Damages, as <see cref="DamagePages"/> does, only the index leaf pages (page type 10): no read
    /// of the rows meets it, <c>PRAGMA quick_check</c> does. Returns how many pages it overwrote.
    /// </summary>
    public static int DamageIndexPages(string path) => Damage(path, page => page[0] == 10);

    private static int Damage(string path, Func<ReadOnlySpan<byte>, bool> wanted)
    {
        Fleet.Actors.Core.Wal.SqliteWal.ReleaseConnections();
        // Under a running agent the checkpoint waits for its writers (busy timeout) rather than stop short.
        ExecuteSql(path, "PRAGMA busy_timeout=10000; PRAGMA wal_checkpoint(TRUNCATE);");
        Fleet.Actors.Core.Wal.SqliteWal.ReleaseConnections();
        var bytes = File.ReadAllBytes(path);
        // The page size is at offset 16 of the header, big-endian (1 means 65536).
        var pageSize = bytes[16] << 8 | bytes[17];
        if (pageSize == 1) pageSize = 65_536;
        var garbage = new byte[64];
        new Random(7).NextBytes(garbage);
        var damaged = 0;
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        for (var offset = pageSize; offset < bytes.Length; offset += pageSize)
        {
            if (!wanted(bytes.AsSpan(offset, Math.Min(pageSize, bytes.Length - offset)))) continue;
            file.Position = offset;
            file.Write(garbage);
            damaged++;
        }
        file.Flush(flushToDisk: true);
        return damaged;
    }

    public void Dispose()
    {
        Fleet.Actors.Core.Wal.SqliteWal.ReleaseConnections();
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
