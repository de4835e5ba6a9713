using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;
using Microsoft.Data.Sqlite;

namespace Fleet.Actors.Core.Wal.Journal;

/// <summary>
/// Akka.Persistence snapshot store on one SQLite file through Microsoft.Data.Sqlite, with the table
/// layout of Akka.Persistence.Sql: <c>snapshot(persistence_id, sequence_number, created, snapshot,
/// manifest, serializer_id)</c>, <c>created</c> in ticks.
/// </summary>
public sealed class SqliteSnapshotStore : SnapshotStore
{
    private const string Criteria =
        "persistence_id = $pid AND sequence_number <= $maxSeq AND sequence_number >= $minSeq AND created <= $maxTs AND created >= $minTs";

    private readonly SqliteStore _store;
    private readonly PayloadSerialization _serialization;

    /// <summary>Created by Akka.Persistence with the plugin's configuration section.</summary>
    public SqliteSnapshotStore(Config config)
    {
        _store = new SqliteStore(config);
        _serialization = new PayloadSerialization(Context.System);
    }

    /// <inheritdoc />
    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        _store.ReadAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT sequence_number, created, snapshot, manifest, serializer_id FROM snapshot WHERE {Criteria} ORDER BY sequence_number DESC LIMIT 1";
            Bind(command, persistenceId, criteria);
            using var reader = command.ExecuteReader();
            if (!reader.Read()) return null;
            var payload = _serialization.Deserialize((byte[])reader.GetValue(2), reader.IsDBNull(4) ? null : reader.GetInt32(4),
                reader.IsDBNull(3) ? "" : reader.GetString(3));
            return new SelectedSnapshot(new SnapshotMetadata(persistenceId, reader.GetInt64(0), new DateTime(reader.GetInt64(1), DateTimeKind.Utc)), payload);
        }, cancellationToken);

    /// <inheritdoc />
    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        var (bytes, serializerId, manifest) = _serialization.Serialize(snapshot);
        return _store.WriteAsync(writer =>
        {
            var command = writer.Command("""
                INSERT OR REPLACE INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id)
                VALUES ($pid, $seq, $created, $snapshot, $manifest, $serializer)
                """, "$pid", "$seq", "$created", "$snapshot", "$manifest", "$serializer");
            SetValues(command, metadata.PersistenceId, metadata.SequenceNr, metadata.Timestamp.Ticks, bytes, manifest, serializerId);
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    /// <inheritdoc />
    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken) =>
        _store.WriteAsync(writer =>
        {
            var command = writer.Command("DELETE FROM snapshot WHERE persistence_id = $pid AND sequence_number = $seq", "$pid", "$seq");
            SetValues(command, metadata.PersistenceId, metadata.SequenceNr);
            return command.ExecuteNonQuery();
        }, cancellationToken);

    /// <inheritdoc />
    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        _store.WriteAsync(writer =>
        {
            var command = writer.Command($"DELETE FROM snapshot WHERE {Criteria}", CriteriaParameters);
            SetValues(command, CriteriaValues(persistenceId, criteria));
            return command.ExecuteNonQuery();
        }, cancellationToken);

    private static readonly string[] CriteriaParameters = ["$pid", "$maxSeq", "$minSeq", "$maxTs", "$minTs"];

    private static void SetValues(SqliteCommand command, params ReadOnlySpan<object> values)
    {
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i];
    }

    private static void Bind(SqliteCommand command, string persistenceId, SnapshotSelectionCriteria criteria)
    {
        var values = CriteriaValues(persistenceId, criteria);
        for (var i = 0; i < values.Length; i++) command.Parameters.AddWithValue(CriteriaParameters[i], values[i]);
    }

    /// <summary>The values of <see cref="CriteriaParameters"/>, in their order.</summary>
    private static object[] CriteriaValues(string persistenceId, SnapshotSelectionCriteria criteria) =>
        [persistenceId, criteria.MaxSequenceNr, criteria.MinSequenceNr, criteria.MaxTimeStamp.Ticks, criteria.MinTimestamp?.Ticks ?? 0L];

    /// <inheritdoc />
    protected override void PostStop()
    {
        _store.Dispose();
        base.PostStop();
    }
}
