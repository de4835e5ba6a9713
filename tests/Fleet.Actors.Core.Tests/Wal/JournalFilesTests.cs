using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;
using static Fleet.Actors.Core.Wal.WalProtocol;

namespace Fleet.Actors.Core.Tests.Wal;

public sealed class JournalFilesTests : TestKit
{
    private readonly WalFiles _files;

    public JournalFilesTests(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private JournalFilesTests(WalFiles files, ITestOutputHelper output) : base(files.Setup(), "journal-files", output)
    {
        _files = files;
    }

    /// <summary>
    /// The agent used Akka.Persistence.Sql (linq2db) on these files before it had its own plugins:
    /// a data folder that plugin made, with unsent readings, acknowledged ones and a snapshot, must
    /// read on with the agent's plugins after an upgrade (same tables, same rows), and the schema of
    /// a fresh file must be the one that plugin makes (less two indexes nothing reads through).
    /// </summary>
    [Fact]
    public void A_log_written_by_Akka_Persistence_Sql_should_read_on_with_our_plugins_and_fresh_files_should_have_its_schema()
    {
        using var old = new WalFiles();
        const int Written = 30;
        var sqlPlugin = Akka.Configuration.ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            akka.persistence {
              journal { plugin = "akka.persistence.journal.sql", sql { connection-string = "Data Source={{old.JournalPath}}", provider-name = "{{LinqToDB.ProviderName.SQLiteMS}}", auto-initialize = on, tag-write-mode = Csv } }
              snapshot-store { plugin = "akka.persistence.snapshot-store.sql", sql { connection-string = "Data Source={{old.SnapshotPath}}", provider-name = "{{LinqToDB.ProviderName.SQLiteMS}}", auto-initialize = on } }
            }
            """).WithFallback(WalHosting.SerializationHocon).WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
        var before = ActorSystem.Create("sql-plugin-made", sqlPlugin);
        try
        {
            // Acknowledged readings, a snapshot (every 10 events) and unsent readings.
            var log = before.ActorOf(WalActor.Props("v", new WalSettings { SnapshotEvery = 10, ReadJournalPluginId = "akka.persistence.query.journal.sql" },
                new WalMetrics(new AgentMetrics(), "v")));
            for (var i = 1; i <= Written; i++)
            {
                log.Tell(new LogReadings([new Reading("obd", 1_700_000_000_000 + i, new MeasurementValue("rpm", i, "rpm"))]));
                var sequence = i;
                AwaitCondition(() => log.Ask<WalStatus>(GetStatus.Instance, TimeSpan.FromSeconds(5)).Result.LastSequence >= sequence, TimeSpan.FromSeconds(10));
                if (i == 20) log.Tell(new Delivered(20, 20));
            }
            AwaitCondition(() => Count(old.SnapshotPath, "SELECT COUNT(*) FROM snapshot") > 0, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        }
        finally
        {
            before.Terminate().Wait(TimeSpan.FromSeconds(10));
            SqliteWal.ReleaseConnections();
        }

        var pluginJournal = Schema(old.JournalPath);
        var pluginSnapshots = Schema(old.SnapshotPath);

        // The same files under the agent's own plugins: everything unsent is read back in order.
        var after = ActorSystem.Create("upgraded", WalHosting.Setup(old.JournalPath, old.SnapshotPath, SqliteSynchronous.Full,
            Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING")));
        try
        {
            var log = after.ActorOf(WalActor.Props("v", new WalSettings(), new WalMetrics(new AgentMetrics(), "v")));
            var status = log.Ask<WalStatus>(GetStatus.Instance, TimeSpan.FromSeconds(10)).Result;
            Assert.Equal(Written, status.LastSequence);
            Assert.Equal(Written - 20, status.UnsentCount);
            // Read back as the uplink does (the journal below the memory cache, then the cache).
            var sequences = new List<int>();
            long readUpTo = 0;
            while (sequences.Count < Written - 20)
            {
                var read = log.Ask<EntriesRead>(new ReadEntries(sequences.Count, readUpTo, 1024 * 1024), TimeSpan.FromSeconds(10)).Result;
                sequences.AddRange(read.Entries.SelectMany(e => Enumerable.Range((int)e.Entry.FirstSequence, e.Entry.Count)));
                readUpTo = read.Entries[^1].JournalSeq;
            }
            Assert.Equal(Enumerable.Range(21, Written - 20), sequences);
        }
        finally
        {
            after.Terminate().Wait(TimeSpan.FromSeconds(10));
        }

        // A fresh file has the plugin's schema, less the two journal indexes no query reads through;
        // the agent's start dropped them from the plugin's file too, and changed nothing else.
        using var ours = new WalFiles();
        JournalFiles.Prepare(ours.JournalPath, journal: true);
        JournalFiles.Prepare(ours.SnapshotPath, journal: false);
        string[] unread = ["journal_created_idx", "journal_sequence_number_idx"];
        bool Unread(string row) => unread.Any(index => row.StartsWith($"index {index}:", StringComparison.Ordinal));
        Assert.Equal(2, pluginJournal.Count(Unread));
        Assert.Equal(pluginJournal.Where(row => !Unread(row)), Schema(ours.JournalPath));
        Assert.Equal(pluginSnapshots, Schema(ours.SnapshotPath));
        Assert.Equal(Schema(ours.JournalPath), Schema(old.JournalPath));
    }

    /// <summary>
    /// A fresh file's schema and identity are written in one transaction (one fsync instead of one a
    /// statement): the identity must be committed with it and stay what later starts find.
    /// </summary>
    [Fact]
    public void Preparing_a_fresh_file_should_commit_its_identity_and_keep_it_on_later_starts()
    {
        using var fresh = new WalFiles();
        var identity = JournalFiles.Prepare(fresh.JournalPath, journal: true);
        SqliteWal.ReleaseConnections();

        Assert.Matches("^[0-9a-f]{32}$", identity);
        Assert.Equal(identity, JournalFiles.Identity(fresh.JournalPath));
        Assert.Equal(identity, JournalFiles.Prepare(fresh.JournalPath, journal: true));
        Assert.Equal(1, Count(fresh.JournalPath, $"SELECT COUNT(*) FROM {JournalFiles.IdentityTable}"));
        Assert.Equal(0, Count(fresh.JournalPath, "SELECT COUNT(*) FROM journal"));
    }

    [Fact]
    public void A_damaged_file_should_be_moved_aside_and_replaced_by_a_fresh_one_with_a_new_identity()
    {
        var before = JournalFiles.Identity(_files.JournalPath);
        Assert.Null(JournalFiles.Check(_files.JournalPath));
        Assert.Null(JournalFiles.QuarantineIfDamaged(_files.JournalPath, journal: true));
        WalFiles.ExecuteSql(_files.JournalPath,
            "INSERT INTO journal (created, deleted, persistence_id, sequence_number, message) " +
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) SELECT 0, 0, 'p', i, randomblob(200) FROM n");

        WalFiles.DamagePages(_files.JournalPath);
        var problem = JournalFiles.Check(_files.JournalPath);
        Assert.NotNull(problem);
        Assert.DoesNotContain('\n', problem);

        var moved = JournalFiles.QuarantineIfDamaged(_files.JournalPath, journal: true);
        Assert.NotNull(moved);
        Assert.True(File.Exists(Path.Combine(moved.QuarantineFolder, "journal.db")), "the damaged file was not kept");
        // reason.txt keeps all of what SQLite found (the problem in the log line is shortened to one line).
        var reason = File.ReadAllText(Path.Combine(moved.QuarantineFolder, "reason.txt"));
        Assert.DoesNotContain("...", reason);
        Assert.True(reason.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length > 2, reason);
        Assert.Null(JournalFiles.Check(_files.JournalPath));
        Assert.Equal(moved.NewIdentity, JournalFiles.Identity(_files.JournalPath));
        Assert.NotEqual(before, moved.NewIdentity);
        Assert.Equal(0, Count(_files.JournalPath, "SELECT COUNT(*) FROM journal"));
        // A second report of the same damage finds a sound file and does nothing.
        Assert.Null(JournalFiles.QuarantineIfDamaged(_files.JournalPath, journal: true));
    }

    [Fact]
    public void Preparing_a_damaged_file_at_start_should_quarantine_it()
    {
        WalFiles.ExecuteSql(_files.SnapshotPath,
            "INSERT INTO snapshot (persistence_id, sequence_number, created, snapshot) " +
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) SELECT 'p', i, 0, randomblob(300) FROM n");
        WalFiles.DamagePages(_files.SnapshotPath);

        var quarantined = SqliteWal.PrepareFiles(_files.JournalPath, _files.SnapshotPath);

        var file = Assert.Single(quarantined);
        Assert.Equal(_files.SnapshotPath, file.Path);
        Assert.Null(JournalFiles.Check(_files.SnapshotPath));
        Assert.Equal(0, Count(_files.SnapshotPath, "SELECT COUNT(*) FROM snapshot"));
    }

    /// <summary>
    /// Found by a new user's tryout: damage on an index page of snapshots.db went unnoticed (the
    /// agent said ready, and the damage waited for the read that would meet it). The start checks
    /// the small snapshot file whole and quarantines it.
    /// </summary>
    [Fact]
    public void A_snapshot_file_damaged_where_no_read_looks_yet_should_be_quarantined_at_start()
    {
        WalFiles.ExecuteSql(_files.SnapshotPath,
            "INSERT INTO snapshot (persistence_id, sequence_number, created, snapshot) " +
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) SELECT 'persistence-' || i, i, 0, randomblob(100) FROM n");
        Assert.True(WalFiles.DamageIndexPages(_files.SnapshotPath) > 0, "no index page");
        // Preparing reads no index: on its own it does not see the damage.
        JournalFiles.Prepare(_files.SnapshotPath, journal: false);
        Assert.NotNull(JournalFiles.Check(_files.SnapshotPath));

        var quarantined = SqliteWal.PrepareFiles(_files.JournalPath, _files.SnapshotPath);

        Assert.Equal(_files.SnapshotPath, Assert.Single(quarantined).Path);
        Assert.Null(JournalFiles.Check(_files.SnapshotPath));
    }

    private static long Count(string path, string sql) => WalFiles.Scalar(path, sql);

    private static List<string> Schema(string path)
    {
        using var connection = new SqliteConnection(SqliteWal.ConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT type, name, sql FROM sqlite_master WHERE name NOT IN ('{JournalFiles.IdentityTable}', 'sqlite_sequence') ORDER BY name";
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            var sql = reader.IsDBNull(2) ? "" : Regex.Replace(reader.GetString(2).Replace("IF NOT EXISTS ", ""), @"\s+", " ").Trim();
            rows.Add($"{reader.GetString(0)} {reader.GetString(1)}: {sql}");
        }
        return rows;
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _files.Dispose();
    }
}
