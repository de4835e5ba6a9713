using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Core.Tests.Uplink;

/// <summary>Batches encoded into payloads that fit the broker's maximum packet size.</summary>
public sealed class BatchSplitterTests
{
    private static readonly VehicleIdentity Vehicle = new("truck-s", "acme");

    private static StoredEntry Entry(long journalSeq, long firstSequence, int count)
    {
        var writer = new EntryWriter();
        for (var i = 0; i < count; i++)
        {
            var s = firstSequence + i;
            writer.Append(s, new Reading(i % 2 == 0 ? "gps" : "obd", 1_700_000_000_000 + s * 37, new PositionValue(53.5 + s * 1e-5, 9.9 - s * 1e-5, s % 360, 10 + s % 9, 8, 1)));
        }
        var first = 1_700_000_000_000 + firstSequence * 37;
        return new StoredEntry(journalSeq, new LogEntry(firstSequence, count, first, first + (count - 1) * 37, writer.Seal()));
    }

    private static List<DecodedRecord> Decode(IEnumerable<EncodedBatch> batches, PayloadCompression compression) =>
        batches.SelectMany(b => BatchCodec.Decode(b.Payload, BatchCodec.EncodingName(compression)).Records).ToList();

    [Theory]
    [InlineData(PayloadCompression.None)]
    [InlineData(PayloadCompression.Zstd)]
    public void Every_payload_should_fit_and_decode_to_the_same_records_in_order(PayloadCompression compression)
    {
        using var codec = new BatchCodec(compression);
        var entries = new[] { Entry(1, 1, 700), Entry(2, 701, 3), Entry(3, 704, 1500) };
        var whole = codec.Encode(Vehicle.VehicleId, Vehicle.Tenant, entries.Select(e => e.Entry.Records).ToList()).Payload;

        var batches = BatchSplitter.Encode(codec, Vehicle, entries, maxPayloadBytes: 2000).ToList();

        Assert.True(batches.Count > 3, $"{batches.Count} payloads");
        Assert.All(batches, b => Assert.True(b.Payload.Length <= 2000, $"{b.Payload.Length} bytes"));
        Assert.Equal(Decode([new EncodedBatch(whole, 0, entries)], compression), Decode(batches, compression));
        // Only the part that completes an entry acknowledges it, and the last part acknowledges the last entry.
        Assert.True(batches[^1].Acknowledges);
        Assert.Equal((3, 2203L), (batches[^1].LastJournalSeq, batches[^1].LastSequence));
        Assert.All(batches.Where(b => !b.Acknowledges), b => Assert.True(b.LastSequence < entries.Single(e => e.JournalSeq == b.LastJournalSeq).Entry.LastSequence));
        Assert.All(batches.Where(b => b.Acknowledges), b => Assert.Equal(entries.Single(e => e.JournalSeq == b.LastJournalSeq).Entry.LastSequence, b.LastSequence));
    }

    [Fact]
    public void Batch_that_fits_should_stay_one_payload()
    {
        using var codec = new BatchCodec(PayloadCompression.Zstd);
        var entries = new[] { Entry(1, 1, 100), Entry(2, 101, 100) };
        var batch = Assert.Single(BatchSplitter.Encode(codec, Vehicle, entries, int.MaxValue));
        Assert.Equal(entries, batch.Entries);
        Assert.True(batch.Acknowledges);
    }

    [Fact]
    public void Single_record_larger_than_the_limit_should_be_refused_as_unsupported()
    {
        using var codec = new BatchCodec(PayloadCompression.None);
        var ex = Assert.Throws<MqttLinkException>(() => BatchSplitter.Encode(codec, Vehicle, [Entry(1, 1, 10)], maxPayloadBytes: 20).ToList());
        Assert.Equal(LinkFailure.Unsupported, ex.Kind);
        Assert.StartsWith("Record 1 alone needs a ", ex.Message, StringComparison.Ordinal);
    }
}
