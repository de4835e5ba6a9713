using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// Binary serializer for everything the log persists. Stored rows carry only the short manifests
/// below (never CLR type names), so types can be renamed without breaking replay. A row that does
/// not decode becomes a <see cref="CorruptWalRecord"/> instead of an exception.
/// </summary>
/// <remarks>
/// Layouts are little-endian. Entry ("E1"): version, first sequence, count, first and last
/// timestamp, flags (bit 0: eviction follows; bit 1: gap announcements follow), the eviction, the
/// announcements (a count, then from, to, count and reason each), then the encoded records to the
/// end. An entry of bit 0 without bit 1 (written before announcements were kept) holds the one gap
/// record of its eviction. Delivered ("D1"): version, journal sequence, sequence. Snapshot ("S2"):
/// version, the scalar fields, the segment count and six longs per segment, then the pending gap
/// records (a count, then the record's sequence and its announcement each); "S1" is the same
/// without pending gap records.
/// </remarks>
public sealed class WalSerializer : SerializerWithStringManifest
{
    /// <summary>Serializer id; stable, stored in every journal row.</summary>
    public const int SerializerId = 1701;

    internal const string EntryManifest = "E1";
    internal const string DeliveredManifest = "D1";
    internal const string SnapshotManifest = "S2";
    internal const string SnapshotWithoutGapsManifest = "S1";
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
                SnapshotManifest => ReadSnapshot(bytes, withPendingGaps: true),
                SnapshotWithoutGapsManifest => ReadSnapshot(bytes, withPendingGaps: false),
                _ => new CorruptWalRecord(manifest, bytes.Length, $"unknown manifest '{manifest}'"),
            };
        }
        catch (Exception ex) when (ex is ArgumentException or IndexOutOfRangeException or ArgumentOutOfRangeException or InvalidDataException or DecoderFallbackException)
        {
            return new CorruptWalRecord(manifest, bytes.Length, ex.Message);
        }
    }

    private static byte[] WriteEntry(LogEntry e)
    {
        var writer = new ByteWriter(EntryHeaderBytes + e.Records.Length + (e.Eviction is null ? 0 : EvictionBytes + 16) + e.Gaps.Length * 40);
        writer.Byte(Version);
        writer.Long(e.FirstSequence);
        writer.Int(e.Count);
        writer.Long(e.FirstTimestampMs);
        writer.Long(e.LastTimestampMs);
        writer.Byte((byte)((e.Eviction is null ? 0 : 1) | (e.Gaps.IsEmpty ? 0 : 2)));
        if (e.Eviction is { } ev)
        {
            writer.Long(ev.UpToJournalSeq);
            writer.Long(ev.FromSequence);
            writer.Long(ev.ToSequence);
            writer.Long(ev.Count);
            writer.Long(ev.Bytes);
            writer.Text(ev.Reason);
        }
        if (!e.Gaps.IsEmpty)
        {
            writer.Short(checked((ushort)e.Gaps.Length));
            foreach (var gap in e.Gaps) WriteGap(ref writer, gap);
        }
        writer.Bytes(e.Records.Span);
        return writer.ToArray();
    }

    private static LogEntry ReadEntry(byte[] bytes)
    {
        if (bytes.Length < EntryHeaderBytes) throw new InvalidDataException($"entry of {bytes.Length} bytes is shorter than its header");
        var reader = new ByteReader(bytes);
        CheckVersion(reader.Byte());
        var first = reader.Long();
        var count = reader.Int();
        var firstTs = reader.Long();
        var lastTs = reader.Long();
        var flags = reader.Byte();
        if (first < 1 || count < 1) throw new InvalidDataException($"entry header is invalid (first {first}, count {count})");
        Eviction? eviction = null;
        if ((flags & 1) != 0)
            eviction = new Eviction(reader.Long(), reader.Long(), reader.Long(), reader.Long(), reader.Long(), reader.Text());
        var gaps = ImmutableArray<GapValue>.Empty;
        if ((flags & 2) != 0)
        {
            var gapCount = reader.Short();
            var builder = ImmutableArray.CreateBuilder<GapValue>(gapCount);
            for (var i = 0; i < gapCount; i++) builder.Add(ReadGap(ref reader));
            gaps = builder.MoveToImmutable();
            if (gaps.Length != count) throw new InvalidDataException($"entry of {count} records announces {gaps.Length} gaps");
        }
        else if (eviction is not null)
        {
            gaps = [new GapValue(eviction.FromSequence, eviction.ToSequence, eviction.Count, eviction.Reason)];
        }
        if (reader.Offset == bytes.Length) throw new InvalidDataException("entry has no records");
        return new LogEntry(first, count, firstTs, lastTs, bytes.AsMemory(reader.Offset), eviction) { Gaps = gaps };
    }

    private static void WriteGap(ref ByteWriter writer, GapValue gap)
    {
        writer.Long(gap.FromSequence);
        writer.Long(gap.ToSequence);
        writer.Long(gap.Count);
        writer.Text(gap.Reason);
    }

    private static GapValue ReadGap(ref ByteReader reader) => new(reader.Long(), reader.Long(), reader.Long(), reader.Text());

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
        var writer = new ByteWriter(1 + 8 * 5 + 4 + SegmentBytes * s.Segments.Count + 4 + 48 * s.PendingGaps.Count);
        writer.Byte(Version);
        writer.Long(s.NextSequence);
        writer.Long(s.ConsumedJournalSeq);
        writer.Long(s.ConsumedSequence);
        writer.Long(s.EvictedTotal);
        writer.Long(s.GapRecords);
        writer.Int(s.Segments.Count);
        foreach (var seg in s.Segments)
        {
            writer.Long(seg.FirstJournalSeq);
            writer.Long(seg.LastJournalSeq);
            writer.Long(seg.FirstSequence);
            writer.Long(seg.LastSequence);
            writer.Long(seg.Bytes);
            writer.Long(seg.FirstTimestampMs);
        }
        writer.Int(s.PendingGaps.Count);
        foreach (var pending in s.PendingGaps)
        {
            writer.Long(pending.Sequence);
            WriteGap(ref writer, pending.Gap);
        }
        return writer.ToArray();
    }

    private static WalSnapshot ReadSnapshot(byte[] bytes, bool withPendingGaps)
    {
        if (bytes.Length < 45) throw new InvalidDataException("snapshot is truncated");
        var reader = new ByteReader(bytes);
        CheckVersion(reader.Byte());
        var (next, consumedJournalSeq, consumedSequence, evicted, gapRecords) = (reader.Long(), reader.Long(), reader.Long(), reader.Long(), reader.Long());
        var count = reader.Int();
        if (count < 0 || reader.Remaining < (long)count * SegmentBytes) throw new InvalidDataException($"snapshot length does not match {count} segments");
        var segments = ImmutableList.CreateBuilder<WalSegment>();
        for (var i = 0; i < count; i++)
            segments.Add(new WalSegment(reader.Long(), reader.Long(), reader.Long(), reader.Long(), reader.Long(), reader.Long()));
        var pending = ImmutableList.CreateBuilder<PendingGap>();
        if (withPendingGaps)
        {
            var pendingCount = reader.Int();
            if (pendingCount < 0) throw new InvalidDataException($"snapshot has {pendingCount} pending gaps");
            for (var i = 0; i < pendingCount; i++) pending.Add(new PendingGap(reader.Long(), ReadGap(ref reader)));
        }
        if (reader.Remaining != 0) throw new InvalidDataException($"snapshot has {reader.Remaining} bytes after its end");
        return new WalSnapshot(next, consumedJournalSeq, consumedSequence, evicted, gapRecords, segments.ToImmutable(), pending.ToImmutable());
    }

    /// <summary>Little-endian writer into a growing buffer.</summary>
    private ref struct ByteWriter(int capacity)
    {
        private byte[] _buffer = new byte[Math.Max(capacity, 16)];
        private int _length;

        public void Byte(byte value) => Reserve(1)[0] = value;

        public void Short(ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Reserve(2), value);

        public void Int(int value) => BinaryPrimitives.WriteInt32LittleEndian(Reserve(4), value);

        public void Long(long value) => BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), value);

        public void Text(string value)
        {
            var length = Encoding.UTF8.GetByteCount(value);
            Short(checked((ushort)length));
            Encoding.UTF8.GetBytes(value, Reserve(length));
        }

        public void Bytes(ReadOnlySpan<byte> value) => value.CopyTo(Reserve(value.Length));

        public readonly byte[] ToArray() => _length == _buffer.Length ? _buffer : _buffer.AsSpan(0, _length).ToArray();

        private Span<byte> Reserve(int count)
        {
            if (_length + count > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
            var span = _buffer.AsSpan(_length, count);
            _length += count;
            return span;
        }
    }

    /// <summary>Little-endian reader; reading past the end throws <see cref="InvalidDataException"/>.</summary>
    private ref struct ByteReader(byte[] bytes)
    {
        public int Offset { get; private set; }

        public readonly long Remaining => bytes.Length - Offset;

        public byte Byte() => Take(1)[0];

        public ushort Short() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

        public int Int() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long Long() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public string Text() => Encoding.UTF8.GetString(Take(Short()));

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count > Remaining) throw new InvalidDataException($"record is truncated at byte {Offset}");
            var span = bytes.AsSpan(Offset, count);
            Offset += count;
            return span;
        }
    }

    private static void CheckVersion(byte version)
    {
        if (version != Version) throw new InvalidDataException($"unsupported format version {version}");
    }
}
