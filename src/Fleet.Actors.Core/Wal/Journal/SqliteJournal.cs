using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Microsoft.Data.Sqlite;

namespace Fleet.Actors.Core.Wal.Journal;

/// <summary>
/// Akka.Persistence journal on one SQLite file through Microsoft.Data.Sqlite, with the table layout
/// of Akka.Persistence.Sql (so that a data folder written by that plugin reads on, and back):
/// <c>journal(ordering, created, deleted, persistence_id, sequence_number, message, tags, manifest,
/// identifier, writer_uuid)</c>. A write is one transaction of plain INSERTs, prepared once on the store's
/// kept writer connection (one fsync at <c>synchronous = full</c>); no query compiler, no expression trees (docs/adr/0018-own-sqlite-journal.md).
/// Deleting keeps the highest row, marked deleted, so that the highest sequence number survives.
/// </summary>
public sealed class SqliteJournal : AsyncWriteJournal
{
    private const string Insert =
        "INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, tags, manifest, identifier, writer_uuid) " +
        "VALUES ($created, 0, $pid, $seq, $message, $tags, $manifest, $identifier, $writer)";

    private readonly SqliteStore _store;
    private readonly PayloadSerialization _serialization;

    /// <summary>Created by Akka.Persistence with the plugin's configuration section.</summary>
    public SqliteJournal(Config config)
    {
        _store = new SqliteStore(config);
        _serialization = new PayloadSerialization(Context.System);
    }

    /// <inheritdoc />
    protected override Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        // Serialized here, on the journal's thread; a payload that cannot be serialized rejects its AtomicWrite only.
        var writes = messages.Select(write => Rows(write)).ToList();
        return _store.WriteAsync<IImmutableList<Exception?>>(writer => writer.InTransaction(() =>
        {
            var command = writer.Command(Insert, "$created", "$pid", "$seq", "$message", "$tags", "$manifest", "$identifier", "$writer");
            var parameters = command.Parameters;
            var (created, pid, seq, message, tags, manifest, identifier, writerUuid) =
                (parameters[0], parameters[1], parameters[2], parameters[3], parameters[4], parameters[5], parameters[6], parameters[7]);
            foreach (var (rows, _) in writes)
                foreach (var row in rows)
                {
                    created.Value = row.Created;
                    pid.Value = row.PersistenceId;
                    seq.Value = row.SequenceNr;
                    message.Value = row.Message;
                    tags.Value = row.Tags;
                    manifest.Value = row.Manifest;
                    identifier.Value = row.SerializerId;
                    writerUuid.Value = (object?)row.WriterUuid ?? DBNull.Value;
                    command.ExecuteNonQuery();
                }
            return writes.Select(w => w.Rejected).ToImmutableList();
        }), cancellationToken);
    }

    private (IReadOnlyList<Row> Rows, Exception? Rejected) Rows(AtomicWrite write)
    {
        try
        {
            var now = DateTime.UtcNow.Ticks;
            var rows = new List<Row>();
            foreach (var representation in (IImmutableList<IPersistentRepresentation>)write.Payload)
            {
                var (payload, tags) = representation.Payload is Tagged tagged
                    ? (tagged.Payload, tagged.Tags.Count == 0 ? "" : ";" + string.Join(";", tagged.Tags) + ";")
                    : (representation.Payload, "");
                var (bytes, serializerId, manifest) = _serialization.Serialize(payload);
                rows.Add(new Row(representation.Timestamp == 0 ? now : representation.Timestamp, representation.PersistenceId,
                    representation.SequenceNr, bytes, tags, manifest, serializerId, representation.WriterGuid));
            }
            return (rows, null);
        }
        catch (Exception ex)
        {
            return ([], ex);
        }
    }

    /// <inheritdoc />
    protected override Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken) =>
        _store.WriteAsync(writer => writer.InTransaction(() =>
        {
            // The highest row stays (marked deleted when it is in the range): it carries the highest sequence number.
            var command = writer.Command("""
                DELETE FROM journal WHERE persistence_id = $pid AND sequence_number <= $to
                  AND sequence_number < (SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $pid);
                UPDATE journal SET deleted = 1 WHERE persistence_id = $pid AND sequence_number <= $to;
                """, "$pid", "$to");
            command.Parameters[0].Value = persistenceId;
            command.Parameters[1].Value = toSequenceNr;
            return command.ExecuteNonQuery();
        }), cancellationToken);

    /// <inheritdoc />
    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback)
    {
        if (max <= 0 || toSequenceNr < fromSequenceNr) return Task.CompletedTask;
        return _store.ReadAsync(connection =>
        {
            foreach (var row in JournalRows.Read(connection, persistenceId, fromSequenceNr, toSequenceNr, max, _serialization))
                recoveryCallback(row.Persistent);
            return 0;
        }, CancellationToken.None);
    }

    /// <inheritdoc />
    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken) =>
        _store.ReadAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $pid AND sequence_number >= $from";
            command.Parameters.AddWithValue("$pid", persistenceId);
            command.Parameters.AddWithValue("$from", fromSequenceNr);
            return command.ExecuteScalar() is long highest ? highest : 0L;
        }, cancellationToken);

    /// <inheritdoc />
    protected override void PostStop()
    {
        _store.Dispose();
        base.PostStop();
    }

    private sealed record Row(long Created, string PersistenceId, long SequenceNr, byte[] Message, string Tags, string Manifest, int SerializerId, string? WriterUuid);
}
