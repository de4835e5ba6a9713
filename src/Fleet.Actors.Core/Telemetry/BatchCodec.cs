using Fleet.Actors.Core.Telemetry.Wire;
using Google.Protobuf;
using ZstdSharp;

namespace Fleet.Actors.Core.Telemetry;

/// <summary>How an uplink payload is compressed; the MQTT user property <c>content-encoding</c> names it.</summary>
public enum PayloadCompression
{
    /// <summary>One zstd frame (RFC 8878).</summary>
    Zstd,

    /// <summary>The protobuf bytes as they are.</summary>
    None,
}

/// <summary>One record of a decoded batch with its sequence and timestamp resolved.</summary>
public sealed record DecodedRecord(long Sequence, long TimestampMs, string DeviceId, ReadingValue? Value);

/// <summary>A decoded uplink batch.</summary>
public sealed record DecodedBatch(string VehicleId, string Tenant, uint SchemaVersion, IReadOnlyList<DecodedRecord> Records);

/// <summary>
/// Builds uplink payloads from log entries and reads them back. The encoder is what the agent
/// runs; the decoder is what <c>fleet-agent verify</c> and any fleet-side consumer runs.
/// </summary>
public sealed class BatchCodec : IDisposable
{
    /// <summary>The MQTT 5 content type of a telemetry batch.</summary>
    public const string ContentType = "application/vnd.fleet.telemetry-batch.v1+protobuf";

    /// <summary>Largest decompressed payload the decoder accepts, so a hostile frame cannot exhaust memory.</summary>
    public const int MaxDecodedBytes = 64 * 1024 * 1024;

    private readonly PayloadCompression _compression;
    private readonly Compressor? _compressor;

    /// <summary>Creates an encoder; zstd levels 1..19 trade CPU for size (3 is zstd's default).</summary>
    public BatchCodec(PayloadCompression compression = PayloadCompression.Zstd, int level = 3)
    {
        _compression = compression;
        if (compression == PayloadCompression.Zstd) _compressor = new Compressor(level);
    }

    /// <summary>The <c>content-encoding</c> user property value for this codec.</summary>
    public string ContentEncoding => EncodingName(_compression);

    /// <summary>Name of a compression as written in the <c>content-encoding</c> user property.</summary>
    public static string EncodingName(PayloadCompression compression) => compression == PayloadCompression.Zstd ? "zstd" : "identity";

    /// <summary>
    /// Concatenates a batch header and entry bytes (see <see cref="EntryWriter"/>) and compresses
    /// the result. Returns the payload and the uncompressed size.
    /// </summary>
    public (byte[] Payload, int RawBytes) Encode(string vehicleId, string tenant, IReadOnlyList<ReadOnlyMemory<byte>> entries)
    {
        var header = new TelemetryBatch { VehicleId = vehicleId, Tenant = tenant, SchemaVersion = 1 }.ToByteArray();
        var rawLength = header.Length;
        foreach (var entry in entries) rawLength += entry.Length;

        var raw = new byte[rawLength];
        header.CopyTo(raw, 0);
        var offset = header.Length;
        foreach (var entry in entries)
        {
            entry.Span.CopyTo(raw.AsSpan(offset));
            offset += entry.Length;
        }

        return _compressor is null ? (raw, rawLength) : (_compressor.Wrap(raw).ToArray(), rawLength);
    }

    /// <summary>A batch of one record with its sequence and timestamp, not compressed (the high-priority lane's payload).</summary>
    public static byte[] EncodeOne(string vehicleId, string tenant, LoggedReading logged)
    {
        var record = RecordCodec.ToRecord(logged.Reading);
        record.Sequence = (ulong)logged.Sequence;
        record.Timestamp = logged.Reading.TimestampMs;
        var batch = new TelemetryBatch { VehicleId = vehicleId, Tenant = tenant, SchemaVersion = 1 };
        batch.Records.Add(record);
        return batch.ToByteArray();
    }

    /// <summary>
    /// Decodes a payload into records with absolute sequences and timestamps.
    /// Throws <see cref="InvalidDataException"/> for anything that is not a valid batch.
    /// </summary>
    public static DecodedBatch Decode(ReadOnlySpan<byte> payload, string? contentEncoding)
    {
        byte[] raw;
        try
        {
            raw = contentEncoding switch
            {
                null or "zstd" => Decompress(payload),
                "identity" => payload.ToArray(),
                _ => throw new InvalidDataException($"Unknown content-encoding '{contentEncoding}'"),
            };
        }
        catch (ZstdException ex)
        {
            throw new InvalidDataException($"Payload is not a valid zstd frame: {ex.Message}", ex);
        }

        TelemetryBatch batch;
        try
        {
            batch = TelemetryBatch.Parser.ParseFrom(raw);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException($"Payload is not a TelemetryBatch: {ex.Message}", ex);
        }

        var records = new List<DecodedRecord>(batch.Records.Count);
        long sequence = 0, timestamp = 0;
        foreach (var record in batch.Records)
        {
            if (record.HasSequence) sequence = (long)record.Sequence;
            else if (records.Count == 0) throw new InvalidDataException("First record of a batch has no sequence");
            else sequence++;

            if (record.HasTimestamp) timestamp = record.Timestamp;
            else if (records.Count == 0) throw new InvalidDataException("First record of a batch has no timestamp");
            else timestamp += record.TimestampDelta;

            records.Add(new DecodedRecord(sequence, timestamp, record.DeviceId, RecordCodec.FromRecord(record)));
        }
        return new DecodedBatch(batch.VehicleId, batch.Tenant, batch.SchemaVersion, records);
    }

    private static byte[] Decompress(ReadOnlySpan<byte> payload)
    {
        using var decompressor = new Decompressor();
        var size = Decompressor.GetDecompressedSize(payload);
        if (size > MaxDecodedBytes) throw new InvalidDataException($"Decompressed size {size} exceeds {MaxDecodedBytes} bytes");
        return decompressor.Unwrap(payload, MaxDecodedBytes).ToArray();
    }

    /// <inheritdoc />
    public void Dispose() => _compressor?.Dispose();
}
