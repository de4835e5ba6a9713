using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Telemetry.Wire;
using Fleet.Actors.Core.Wal;
using Google.Protobuf;

namespace Fleet.Actors.Core.Uplink;

/// <summary>
/// Encodes a batch into MQTT payloads no larger than the broker takes (its CONNACK Maximum Packet
/// Size): a batch whose payload is too large is halved by entries, and a single entry that is still
/// too large is halved by records, until every part fits. A part of an entry does not acknowledge
/// the entry (<see cref="EncodedBatch.Acknowledges"/>); the last part does, after the ones before it.
/// </summary>
internal static class BatchSplitter
{
    /// <summary>The payloads for <paramref name="entries"/>, in order; throws when a single record does not fit.</summary>
    public static IEnumerable<EncodedBatch> Encode(BatchCodec codec, VehicleIdentity vehicle, IReadOnlyList<StoredEntry> entries, int maxPayloadBytes, bool acknowledges = true)
    {
        var (payload, raw) = codec.Encode(vehicle.VehicleId, vehicle.Tenant, entries.Select(e => e.Entry.Records).ToList());
        if (payload.Length <= maxPayloadBytes)
        {
            yield return new EncodedBatch(payload, raw, entries) { Acknowledges = acknowledges };
            yield break;
        }
        if (entries.Count > 1)
        {
            var half = entries.Count / 2;
            foreach (var part in Encode(codec, vehicle, entries.Take(half).ToList(), maxPayloadBytes)) yield return part;
            foreach (var part in Encode(codec, vehicle, entries.Skip(half).ToList(), maxPayloadBytes, acknowledges)) yield return part;
            yield break;
        }
        var entry = entries[0];
        if (entry.Entry.Count < 2)
            throw new MqttLinkException(
                $"Record {entry.Entry.FirstSequence} alone needs a {payload.Length}-byte payload, more than the broker's maximum packet size allows ({maxPayloadBytes} bytes of payload)",
                null, LinkFailure.Unsupported);
        var (first, second) = Halve(entry);
        foreach (var part in Encode(codec, vehicle, [first], maxPayloadBytes, acknowledges: false)) yield return part;
        foreach (var part in Encode(codec, vehicle, [second], maxPayloadBytes, acknowledges)) yield return part;
    }

    /// <summary>
    /// Splits an entry's records in two. The second half's first record gets its absolute sequence
    /// and timestamp (in an entry only the first record carries them), so each half decodes alone.
    /// </summary>
    internal static (StoredEntry First, StoredEntry Second) Halve(StoredEntry stored)
    {
        var entry = stored.Entry;
        var split = entry.Count / 2;
        var input = new CodedInputStream(entry.Records.ToArray());
        var sequence = entry.FirstSequence - 1;
        long timestamp = 0;
        var firstBytes = 0;
        long firstLastTimestamp = 0, secondFirstTimestamp = 0;
        byte[]? secondHead = null;
        var restStart = 0;
        for (var i = 0; i <= split; i++)
        {
            if (input.ReadTag() != EntryWriter.RecordsTag) throw new InvalidDataException($"log entry {stored.JournalSeq} is not a run of records");
            var record = Record.Parser.ParseFrom(input.ReadBytes());
            sequence = record.HasSequence ? (long)record.Sequence : sequence + 1;
            timestamp = record.HasTimestamp ? record.Timestamp : timestamp + record.TimestampDelta;
            if (i < split)
            {
                firstBytes = (int)input.Position;
                firstLastTimestamp = timestamp;
                continue;
            }
            record.Sequence = (ulong)sequence;
            record.Timestamp = timestamp;
            record.TimestampDelta = 0;
            secondHead = WithTag(record);
            secondFirstTimestamp = timestamp;
            restStart = (int)input.Position;
        }
        var rest = entry.Records[restStart..];
        var secondRecords = new byte[secondHead!.Length + rest.Length];
        secondHead.CopyTo(secondRecords, 0);
        rest.Span.CopyTo(secondRecords.AsSpan(secondHead.Length));
        var first = entry with { Count = split, Records = entry.Records[..firstBytes], Eviction = null, LastTimestampMs = firstLastTimestamp };
        var second = entry with
        {
            FirstSequence = entry.FirstSequence + split,
            Count = entry.Count - split,
            FirstTimestampMs = secondFirstTimestamp,
            Records = secondRecords,
        };
        return (stored with { Entry = first }, stored with { Entry = second });
    }

    private static byte[] WithTag(Record record)
    {
        var size = record.CalculateSize();
        var bytes = new byte[1 + CodedOutputStream.ComputeLengthSize(size) + size];
        var output = new CodedOutputStream(bytes);
        output.WriteTag(15, WireFormat.WireType.LengthDelimited);
        output.WriteMessage(record);
        output.Flush();
        return bytes;
    }
}
