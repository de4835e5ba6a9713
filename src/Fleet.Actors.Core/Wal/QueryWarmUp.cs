using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using LinqToDB.Mapping;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// Runs the kinds of query the SQL journal and snapshot plugins run at recovery (create a table,
/// insert a row, latest row by key, highest sequence number, a page of rows in order) against an
/// in-memory SQLite database on a thread-pool thread, so that linq2db's one-time cost (JIT of its
/// query-building pipeline, mapping set-up) is paid on the idle core while the host starts rather
/// than on the log's recovery path. See docs/adr/0010-warm-up-of-the-journal-queries.md.
/// </summary>
public static class QueryWarmUp
{
    /// <summary>
    /// Starts the warm-up and returns at once. The task never faults: it completes with true when
    /// the queries ran and false when they failed, which only means the plugins pay the cost themselves.
    /// </summary>
    public static Task<bool> Start() => Task.Run(async () =>
    {
        try
        {
            await RunAsync().ConfigureAwait(false);
            return true;
        }
        catch (Exception)
        {
            // Nothing depends on the warm-up; the plugins run the same code again when they need it.
            return false;
        }
    });

    /// <summary>The warm-up itself; throws when linq2db or SQLite cannot run the queries (tests call it).</summary>
    internal static async Task RunAsync()
    {
        var mapping = new MappingSchema();
        new FluentMappingBuilder(mapping).Entity<WarmUpRow>().HasTableName("warm_up")
            .Property(r => r.PersistenceId).IsPrimaryKey().HasLength(255)
            .Property(r => r.SequenceNumber).IsPrimaryKey()
            .Property(r => r.Payload)
            .Property(r => r.Deleted)
            .Build();
        var options = new DataOptions().UseConnectionString(SqliteWal.ProviderName, "Data Source=:memory:").UseMappingSchema(mapping);
        await using var db = new DataConnection(options);
        await db.CreateTableAsync<WarmUpRow>().ConfigureAwait(false);
        await db.InsertAsync(new WarmUpRow { PersistenceId = "warm-up", SequenceNumber = 1, Payload = [1] }).ConfigureAwait(false);
        var persistenceId = "warm-up";
        long from = 0;
        var rows = db.GetTable<WarmUpRow>();
        _ = await rows.Where(r => r.PersistenceId == persistenceId && r.SequenceNumber >= from)
            .OrderByDescending(r => r.SequenceNumber).FirstOrDefaultAsync().ConfigureAwait(false);
        _ = await rows.Where(r => r.PersistenceId == persistenceId).MaxAsync(r => (long?)r.SequenceNumber).ConfigureAwait(false);
        _ = await rows.Where(r => r.PersistenceId == persistenceId && r.SequenceNumber >= from && !r.Deleted)
            .OrderBy(r => r.SequenceNumber).Take(100).ToListAsync().ConfigureAwait(false);
    }

    private sealed class WarmUpRow
    {
        public string PersistenceId { get; set; } = "";

        public long SequenceNumber { get; set; }

        public byte[] Payload { get; set; } = [];

        public bool Deleted { get; set; }
    }
}
