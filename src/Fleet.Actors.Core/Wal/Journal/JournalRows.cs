using Akka.Actor;
using Akka.Persistence;
using Microsoft.Data.Sqlite;

namespace Fleet.Actors.Core.Wal.Journal;

/// <summary>Reads journal rows of one persistence id in sequence order (replay and the read journal share it).</summary>
internal static class JournalRows
{
    /// <summary>A row as read: its global ordering and the event.</summary>
    public readonly record struct Stored(long Ordering, long Created, Persistent Persistent);

    /// <summary>Rows of <paramref name="persistenceId"/> from..to (not deleted), at most <paramref name="max"/>, in sequence order.</summary>
    public static IEnumerable<Stored> Read(SqliteConnection connection, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        PayloadSerialization serialization)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT ordering, created, sequence_number, message, manifest, identifier, writer_uuid FROM journal
            WHERE persistence_id = $pid AND sequence_number >= $from AND sequence_number <= $to AND deleted = 0
            ORDER BY sequence_number LIMIT $max
            """;
        command.Parameters.AddWithValue("$pid", persistenceId);
        command.Parameters.AddWithValue("$from", fromSequenceNr);
        command.Parameters.AddWithValue("$to", toSequenceNr);
        command.Parameters.AddWithValue("$max", max);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var sequenceNr = reader.GetInt64(2);
            var manifest = reader.IsDBNull(4) ? "" : reader.GetString(4);
            var payload = serialization.Deserialize((byte[])reader.GetValue(3), reader.IsDBNull(5) ? null : reader.GetInt32(5), manifest);
            var writer = reader.IsDBNull(6) ? null : reader.GetString(6);
            var created = reader.GetInt64(1);
            yield return new Stored(reader.GetInt64(0), created,
                new Persistent(payload, sequenceNr, persistenceId, manifest, false, ActorRefs.NoSender, writer, created));
        }
    }
}
