using System.Buffers;
using Google.Protobuf;

namespace Fleet.Actors.Core.Telemetry;

/// <summary>
/// Encodes consecutive logged readings into the bytes of a log entry: a run of
/// <c>TelemetryBatch.records</c> fields (tag 15, length, record). The first record carries its
/// absolute sequence and timestamp, later ones only a timestamp delta, so an entry's bytes can be
/// appended to any batch header as they are. Not thread-safe; one per log.
/// </summary>
public sealed class EntryWriter
{
    /// <summary>Field 15, wire type 2 (length-delimited): the tag of TelemetryBatch.records.</summary>
    internal const byte RecordsTag = (15 << 3) | 2;

    private readonly ArrayBufferWriter<byte> _buffer;
    private long _lastTimestampMs;

    /// <summary>Creates a writer whose buffer starts at <paramref name="initialCapacity"/> bytes.</summary>
    public EntryWriter(int initialCapacity = 16 * 1024) => _buffer = new ArrayBufferWriter<byte>(initialCapacity);

    /// <summary>Records written since the last <see cref="Seal"/>.</summary>
    public int Count { get; private set; }

    /// <summary>Encoded bytes written since the last <see cref="Seal"/>.</summary>
    public int Bytes => _buffer.WrittenCount;

    /// <summary>Sequence of the first record, valid when <see cref="Count"/> &gt; 0.</summary>
    public long FirstSequence { get; private set; }

    /// <summary>Timestamp of the first record, valid when <see cref="Count"/> &gt; 0.</summary>
    public long FirstTimestampMs { get; private set; }

    /// <summary>Timestamp of the last record, valid when <see cref="Count"/> &gt; 0.</summary>
    public long LastTimestampMs => _lastTimestampMs;

    /// <summary>Sequence the next appended record must have.</summary>
    public long NextSequence => FirstSequence + Count;

    /// <summary>Encodes one reading with its sequence number, which must follow the previous one.</summary>
    public void Append(long sequence, Reading reading)
    {
        if (Count > 0 && sequence != NextSequence)
            throw new ArgumentOutOfRangeException(nameof(sequence), $"Sequence {sequence} does not follow {NextSequence - 1}");

        var record = RecordCodec.ToRecord(reading);
        if (Count == 0)
        {
            record.Sequence = (ulong)sequence;
            record.Timestamp = reading.TimestampMs;
            FirstSequence = sequence;
            FirstTimestampMs = reading.TimestampMs;
        }
        else
        {
            record.TimestampDelta = reading.TimestampMs - _lastTimestampMs;
        }

        var size = record.CalculateSize();
        var header = _buffer.GetSpan(6);
        header[0] = RecordsTag;
        var headerLength = 1 + WriteVarint(header[1..], (uint)size);
        _buffer.Advance(headerLength);
        record.WriteTo(_buffer);

        _lastTimestampMs = reading.TimestampMs;
        Count++;
    }

    /// <summary>Returns the bytes written so far and starts a new entry.</summary>
    public byte[] Seal()
    {
        var bytes = _buffer.WrittenSpan.ToArray();
        _buffer.ResetWrittenCount();
        Count = 0;
        return bytes;
    }

    private static int WriteVarint(Span<byte> target, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            target[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        target[i++] = (byte)value;
        return i;
    }
}
