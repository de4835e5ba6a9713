using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Text;
using Akka.Actor;
using Akka.Serialization;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// Binary serializer for everything the log persists. Stored rows carry only the short manifests
/// below (never CLR type names), so types can be renamed without breaking replay. A row that does
/// not decode becomes a <see cref="CorruptWalRecord"/> instead of an exception.
/// </summary>
/// <remarks>
/// Layouts are little-endian. Entry ("E1"): version, first sequence, count, first and last
/// timestamp, flags (bit 0: eviction follows), the eviction, then the encoded records to the end.
/// Delivered ("D1"): version, journal sequence, sequence. Snapshot ("S1"): version, the scalar
/// fields, the segment count and six longs per segment.
/// </remarks>
public sealed class WalSerializer : SerializerWithStringManifest
{
    /// <summary>Serializer id; stable, stored in every journal row.</summary>
    public const int SerializerId = 1701;

    internal const string EntryManifest = "E1";
    internal const string DeliveredManifest = "D1";
    internal const string SnapshotManifest = "S1";
    private const byte Version = 1;
    private const int EntryHeaderBytes = 1 + 8 + 4 + 8 + 8 + 1;
    private const int EvictionBytes = 8 * 5 + 2;
    private const int SegmentBytes = 8 * 6;

    /// <summary>Creates the serializer; Akka calls this with the system.</summary>
    public WalSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    /// <inheritdoc />
    public override int Identifier => SerializerId;

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        LogEntry => EntryManifest,
        DeliveredUpTo => DeliveredManifest,
        WalSnapshot => SnapshotManifest,
        _ => throw new ArgumentException($"{o.GetType()} is not persisted by the write-ahead log", nameof(o)),
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => obj switch
    {
        LogEntry e => WriteEntry(e),
        DeliveredUpTo d => WriteDelivered(d),
        WalSnapshot s => WriteSnapshot(s),
        _ => throw new ArgumentException($"{obj.GetType()} is not persisted by the write-ahead log", nameof(obj)),
    };

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        try
        {
            return manifest switch
            {
                EntryManifest => ReadEntry(bytes),
                DeliveredManifest => ReadDelivered(bytes),
                SnapshotManifest => ReadSnapshot(bytes),
                _ => new CorruptWalRecord(manifest, bytes.Length, $"unknown manifest '{manifest}'"),
            };
        }
        catch (Exception ex) when (ex is ArgumentException or IndexOutOfRangeException or InvalidDataException or DecoderFallbackException)
        {
            return new CorruptWalRecord(manifest, bytes.Length, ex.Message);
        }
    }

    private static byte[] WriteEntry(LogEntry e)
    {
        var reason = e.Eviction is null ? [] : Encoding.UTF8.GetBytes(e.Eviction.Reason);
        var evictionLength = e.Eviction is null ? 0 : EvictionBytes + reason.Length;
        var bytes = new byte[EntryHeaderBytes + evictionLength + e.Records.Length];
        var span = bytes.AsSpan();
        span[0] = Version;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], e.FirstSequence);
        BinaryPrimitives.WriteInt32LittleEndian(span[9..], e.Count);
        BinaryPrimitives.WriteInt64LittleEndian(span[13..], e.FirstTimestampMs);
        BinaryPrimitives.WriteInt64LittleEndian(span[21..], e.LastTimestampMs);
        span[29] = e.Eviction is null ? (byte)0 : (byte)1;
        var offset = EntryHeaderBytes;
        if (e.Eviction is { } ev)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span[offset..], ev.UpToJournalSeq);
            BinaryPrimitives.WriteInt64LittleEndian(span[(offset + 8)..], ev.FromSequence);
            BinaryPrimitives.WriteInt64LittleEndian(span[(offset + 16)..], ev.ToSequence);
            BinaryPrimitives.WriteInt64LittleEndian(span[(offset + 24)..], ev.Count);
            BinaryPrimitives.WriteInt64LittleEndian(span[(offset + 32)..], ev.Bytes);
            BinaryPrimitives.WriteUInt16LittleEndian(span[(offset + 40)..], checked((ushort)reason.Length));
            reason.CopyTo(span[(offset + EvictionBytes)..]);
            offset += evictionLength;
        }
        e.Records.Span.CopyTo(span[offset..]);
        return bytes;
    }

    private static LogEntry ReadEntry(byte[] bytes)
    {
        var span = bytes.AsSpan();
        if (span.Length < EntryHeaderBytes) throw new InvalidDataException($"entry of {span.Length} bytes is shorter than its header");
        CheckVersion(span[0]);
        var first = BinaryPrimitives.ReadInt64LittleEndian(span[1..]);
        var count = BinaryPrimitives.ReadInt32LittleEndian(span[9..]);
        var firstTs = BinaryPrimitives.ReadInt64LittleEndian(span[13..]);
        var lastTs = BinaryPrimitives.ReadInt64LittleEndian(span[21..]);
        var flags = span[29];
        if (first < 1 || count < 1) throw new InvalidDataException($"entry header is invalid (first {first}, count {count})");
        var offset = EntryHeaderBytes;
        Eviction? eviction = null;
        if ((flags & 1) != 0)
        {
            if (span.Length < offset + EvictionBytes) throw new InvalidDataException("eviction is truncated");
            var reasonLength = BinaryPrimitives.ReadUInt16LittleEndian(span[(offset + 40)..]);
            if (span.Length < offset + EvictionBytes + reasonLength) throw new InvalidDataException("eviction reason is truncated");
            eviction = new Eviction(
                BinaryPrimitives.ReadInt64LittleEndian(span[offset..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[(offset + 8)..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[(offset + 16)..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[(offset + 24)..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[(offset + 32)..]),
                Encoding.UTF8.GetString(span.Slice(offset + EvictionBytes, reasonLength)));
            offset += EvictionBytes + reasonLength;
        }
        if (offset == bytes.Length) throw new InvalidDataException("entry has no records");
        return new LogEntry(first, count, firstTs, lastTs, bytes.AsMemory(offset), eviction);
    }

    private static byte[] WriteDelivered(DeliveredUpTo d)
    {
        var bytes = new byte[17];
        bytes[0] = Version;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(1), d.JournalSeq);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(9), d.Sequence);
        return bytes;
    }

    private static DeliveredUpTo ReadDelivered(byte[] bytes)
    {
        if (bytes.Length != 17) throw new InvalidDataException($"delivered marker has {bytes.Length} bytes, expected 17");
        CheckVersion(bytes[0]);
        return new DeliveredUpTo(
            BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(1)),
            BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(9)));
    }

    private static byte[] WriteSnapshot(WalSnapshot s)
    {
        var bytes = new byte[1 + 8 * 5 + 4 + SegmentBytes * s.Segments.Count];
        var span = bytes.AsSpan();
        span[0] = Version;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], s.NextSequence);
        BinaryPrimitives.WriteInt64LittleEndian(span[9..], s.ConsumedJournalSeq);
        BinaryPrimitives.WriteInt64LittleEndian(span[17..], s.ConsumedSequence);
        BinaryPrimitives.WriteInt64LittleEndian(span[25..], s.EvictedTotal);
        BinaryPrimitives.WriteInt64LittleEndian(span[33..], s.GapRecords);
        BinaryPrimitives.WriteInt32LittleEndian(span[41..], s.Segments.Count);
        var offset = 45;
        foreach (var seg in s.Segments)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span[offset..], seg.FirstJournalSeq);
            BinaryPrimitives.WriteInt64LittleEndian(span[(offset + 8)..], seg.LastJournalSeq);
            BinaryPrimitives.WriteInt64LittleEndian(span[(offset + 16)..], seg.FirstSequence);
            BinaryPrimitives.WriteInt64LittleEndian(span[(offset + 24)..], seg.LastSequence);
            BinaryPrimitives.WriteInt64LittleEndian(span[(offset + 32)..], seg.Bytes);
            BinaryPrimitives.WriteInt64LittleEndian(span[(offset + 40)..], seg.FirstTimestampMs);
            offset += SegmentBytes;
        }
        return bytes;
    }

    private static WalSnapshot ReadSnapshot(byte[] bytes)
    {
        var span = bytes.AsSpan();
        if (span.Length < 45) throw new InvalidDataException("snapshot is truncated");
        CheckVersion(span[0]);
        var count = BinaryPrimitives.ReadInt32LittleEndian(span[41..]);
        if (count < 0 || span.Length != 45 + (long)count * SegmentBytes) throw new InvalidDataException($"snapshot length does not match {count} segments");
        var segments = ImmutableList.CreateBuilder<WalSegment>();
        for (var i = 0; i < count; i++)
        {
            var o = 45 + i * SegmentBytes;
            segments.Add(new WalSegment(
                BinaryPrimitives.ReadInt64LittleEndian(span[o..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[(o + 8)..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[(o + 16)..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[(o + 24)..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[(o + 32)..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[(o + 40)..])));
        }
        return new WalSnapshot(
            BinaryPrimitives.ReadInt64LittleEndian(span[1..]),
            BinaryPrimitives.ReadInt64LittleEndian(span[9..]),
            BinaryPrimitives.ReadInt64LittleEndian(span[17..]),
            BinaryPrimitives.ReadInt64LittleEndian(span[25..]),
            BinaryPrimitives.ReadInt64LittleEndian(span[33..]),
            segments.ToImmutable());
    }

    private static void CheckVersion(byte version)
    {
        if (version != Version) throw new InvalidDataException($"unsupported format version {version}");
    }
}
