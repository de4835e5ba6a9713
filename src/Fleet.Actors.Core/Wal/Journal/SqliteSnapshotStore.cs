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
        return _store.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT OR REPLACE INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id)
                VALUES ($pid, $seq, $created, $snapshot, $manifest, $serializer)
                """;
            command.Parameters.AddWithValue("$pid", metadata.PersistenceId);
            command.Parameters.AddWithValue("$seq", metadata.SequenceNr);
            command.Parameters.AddWithValue("$created", metadata.Timestamp.Ticks);
            command.Parameters.AddWithValue("$snapshot", bytes);
            command.Parameters.AddWithValue("$manifest", manifest);
            command.Parameters.AddWithValue("$serializer", serializerId);
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    /// <inheritdoc />
    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken) =>
        _store.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM snapshot WHERE persistence_id = $pid AND sequence_number = $seq";
            command.Parameters.AddWithValue("$pid", metadata.PersistenceId);
            command.Parameters.AddWithValue("$seq", metadata.SequenceNr);
            return command.ExecuteNonQuery();
        }, cancellationToken);

    /// <inheritdoc />
    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        _store.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"DELETE FROM snapshot WHERE {Criteria}";
            Bind(command, persistenceId, criteria);
            return command.ExecuteNonQuery();
        }, cancellationToken);

    private static void Bind(SqliteCommand command, string persistenceId, SnapshotSelectionCriteria criteria)
    {
        command.Parameters.AddWithValue("$pid", persistenceId);
        command.Parameters.AddWithValue("$maxSeq", criteria.MaxSequenceNr);
        command.Parameters.AddWithValue("$minSeq", criteria.MinSequenceNr);
        command.Parameters.AddWithValue("$maxTs", criteria.MaxTimeStamp.Ticks);
        command.Parameters.AddWithValue("$minTs", criteria.MinTimestamp?.Ticks ?? 0L);
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _store.Dispose();
        base.PostStop();
    }
}
