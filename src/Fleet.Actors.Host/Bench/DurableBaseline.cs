using System.Diagnostics;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Host.Broker;
using Microsoft.Data.Sqlite;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Fleet.Actors.Host.Bench;

/// <summary>
/// The durable work of the agent's pipeline done by hand, without actors, devices or streams (the
/// fair baseline of issue 10): a writer thread encodes the same kind of readings with the agent's
/// encoder into entries of one batch each and appends each entry to SQLite in its own transaction
/// (<c>journal_mode=WAL</c>, the same <c>synchronous</c>, so one fsync per commit at <c>full</c>);
/// an uplink reads the committed rows in order, compresses each into a batch with the agent's
/// codec and publishes it at QoS 1 with the agent's in-flight window (4); the writer deletes the
/// acknowledged rows in its next transaction. Bounded like the agent: the writer waits while 64
/// entries are unsent. What it leaves out, and the agent pays for: the devices that make the
/// readings, sequence reservation, snapshots, metrics, notifications to scripts and alerts.
/// </summary>
internal sealed class DurableBaseline(MosquittoProcess broker, string directory, SqliteSynchronous synchronous, string tenant)
{
    private const int Window = 4;
    private const int MaxUnsentEntries = 64;

    /// <summary>Acknowledged readings per second and process CPU time per acknowledged reading.</summary>
    public sealed record Result(double ReadingsPerSecond, double CpuMicrosPerReading);

    /// <summary>Runs for <paramref name="warmUp"/> plus <paramref name="measured"/> and measures the second part.</summary>
    public async Task<Result> RunAsync(IReadOnlyList<Reading> readings, int recordsPerBatch, TimeSpan warmUp, TimeSpan measured, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"baseline-{Guid.NewGuid():N}.db");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var progress = new Progress();
        try
        {
            var writer = Task.Factory.StartNew(() => Write(path, readings, recordsPerBatch, progress, stop.Token), TaskCreationOptions.LongRunning);
            var uplink = Task.Run(() => UplinkAsync(path, progress, stop.Token), CancellationToken.None);

            await Task.Delay(warmUp, cancellationToken);
            var process = Process.GetCurrentProcess();
            var (cpuBefore, ackedBefore) = (process.TotalProcessorTime, Interlocked.Read(ref progress.AckedRecords));
            var clock = Stopwatch.StartNew();
            await Task.Delay(measured, cancellationToken);
            process.Refresh();
            var (cpuAfter, ackedAfter) = (process.TotalProcessorTime, Interlocked.Read(ref progress.AckedRecords));
            var elapsed = clock.Elapsed;

            await stop.CancelAsync();
            if ((await Failure(writer) ?? await Failure(uplink)) is { } failure)
                throw new InvalidOperationException("the durable baseline failed: " + failure.Message, failure);
            var acked = ackedAfter - ackedBefore;
            return new Result(acked / elapsed.TotalSeconds, acked == 0 ? double.NaN : (cpuAfter - cpuBefore).TotalMicroseconds / acked);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var file in Directory.GetFiles(directory, Path.GetFileName(path) + "*")) File.Delete(file);
        }
    }

    /// <summary>What ended <paramref name="task"/>, unless it was the cancellation that stops the run.</summary>
    private static async Task<Exception?> Failure(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    private sealed class Progress
    {
        public long CommittedSeq;
        public long AckedSeq;
        public long AckedRecords;
        public readonly SemaphoreSlim Committed = new(0);
        public readonly SemaphoreSlim Acked = new(0);
    }

    private void Write(string path, IReadOnlyList<Reading> readings, int recordsPerBatch, Progress progress, CancellationToken cancellationToken)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        Execute(connection, "PRAGMA journal_mode=WAL;");
        Execute(connection, $"PRAGMA synchronous={(synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL")};");
        Execute(connection, "CREATE TABLE log (seq INTEGER PRIMARY KEY, records INTEGER NOT NULL, payload BLOB NOT NULL);");
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO log (seq, records, payload) VALUES ($seq, $records, $payload)";
        var seqParameter = insert.Parameters.Add("$seq", SqliteType.Integer);
        var recordsParameter = insert.Parameters.Add("$records", SqliteType.Integer);
        var payloadParameter = insert.Parameters.Add("$payload", SqliteType.Blob);
        using var delete = connection.CreateCommand();
        delete.CommandText = "DELETE FROM log WHERE seq <= $upTo";
        var upToParameter = delete.Parameters.Add("$upTo", SqliteType.Integer);

        var entryWriter = new EntryWriter();
        long sequence = 1, entry = 0, deletedUpTo = 0, next = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            // Bounded like the agent's log: wait while too much is unsent.
            while (entry - Interlocked.Read(ref progress.AckedSeq) >= MaxUnsentEntries)
                progress.Acked.Wait(cancellationToken);
            for (var r = 0; r < recordsPerBatch; r++) entryWriter.Append(sequence++, readings[(int)(next++ % readings.Count)]);
            var count = entryWriter.Count;
            var payload = entryWriter.Seal();
            using var transaction = connection.BeginTransaction();
            var acked = Interlocked.Read(ref progress.AckedSeq);
            if (acked > deletedUpTo)
            {
                delete.Transaction = transaction;
                upToParameter.Value = acked;
                delete.ExecuteNonQuery();
                deletedUpTo = acked;
            }
            insert.Transaction = transaction;
            seqParameter.Value = ++entry;
            recordsParameter.Value = count;
            payloadParameter.Value = payload;
            insert.ExecuteNonQuery();
            transaction.Commit();
            Interlocked.Exchange(ref progress.CommittedSeq, entry);
            progress.Committed.Release();
        }
    }

    private async Task UplinkAsync(string path, Progress progress, CancellationToken cancellationToken)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithClientId("durable-baseline").Build(), cancellationToken);
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        // The writer creates the file and its table.
        await progress.Committed.WaitAsync(cancellationToken);
        connection.Open();
        await using var read = connection.CreateCommand();
        read.CommandText = "SELECT seq, records, payload FROM log WHERE seq > $after ORDER BY seq LIMIT 16";
        var afterParameter = read.Parameters.Add("$after", SqliteType.Integer);
        using var codec = new BatchCodec();
        var inFlight = new Queue<(long Seq, int Records, Task<MqttClientPublishResult> Publish)>();
        long readUpTo = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (Interlocked.Read(ref progress.CommittedSeq) <= readUpTo)
                {
                    await progress.Committed.WaitAsync(cancellationToken);
                    continue;
                }
                afterParameter.Value = readUpTo;
                var rows = new List<(long Seq, int Records, byte[] Payload)>();
                await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
                    while (await reader.ReadAsync(cancellationToken))
                        rows.Add((reader.GetInt64(0), reader.GetInt32(1), (byte[])reader.GetValue(2)));
                foreach (var (seq, records, payload) in rows)
                {
                    if (inFlight.Count == Window) await Acknowledged(inFlight.Dequeue(), progress);
                    var message = new MqttApplicationMessageBuilder().WithTopic($"fleet/{tenant}/durable/telemetry")
                        .WithPayload(codec.Encode("durable", tenant, [payload]).Payload)
                        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithContentType(BatchCodec.ContentType).Build();
                    inFlight.Enqueue((seq, records, client.PublishAsync(message, cancellationToken)));
                    readUpTo = seq;
                }
            }
        }
        finally
        {
            if (client.IsConnected) await client.DisconnectAsync(cancellationToken: CancellationToken.None);
        }
    }

    /// <summary>In order, like the agent's uplink: a batch counts once the broker acknowledged it and everything before it.</summary>
    private static async Task Acknowledged((long Seq, int Records, Task<MqttClientPublishResult> Publish) publish, Progress progress)
    {
        var result = await publish.Publish;
        if (!result.IsSuccess) throw new InvalidOperationException($"the broker refused a batch: {result.ReasonCode}");
        Interlocked.Add(ref progress.AckedRecords, publish.Records);
        Interlocked.Exchange(ref progress.AckedSeq, publish.Seq);
        progress.Acked.Release();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
