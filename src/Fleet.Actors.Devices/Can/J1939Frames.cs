using System.Buffers.Binary;

namespace Fleet.Actors.Devices.Can;

/// <summary>
/// Builds the CAN frames an ECU sends: a single-frame message, or a BAM transfer for up to 1785
/// bytes. The counterpart of <see cref="J1939Decoder"/>, for simulated buses, captures and tests.
/// </summary>
public static class J1939Frames
{
    /// <summary>Priority J1939-71 gives most broadcast parameter groups.</summary>
    public const int DefaultPriority = 6;

    /// <summary>One message of at most 8 bytes (shorter payloads are padded with 0xFF, as J1939-21 asks).</summary>
    public static CanFrame Single(int pgn, byte source, ReadOnlySpan<byte> data, int priority = DefaultPriority, byte destination = J1939Id.GlobalAddress)
    {
        if (data.Length > CanFrame.MaxLength) throw new ArgumentOutOfRangeException(nameof(data), data.Length, "use Bam for more than 8 bytes");
        Span<byte> padded = stackalloc byte[CanFrame.MaxLength];
        padded.Fill(0xFF);
        data.CopyTo(padded);
        return new CanFrame(J1939Id.For(pgn, source, priority, destination).ToCanId(), true, padded);
    }

    /// <summary>
    /// A broadcast transfer of <paramref name="payload"/> (9..1785 bytes): the TP.CM BAM
    /// announcement, then the TP.DT packets numbered from 1, the last padded with 0xFF.
    /// </summary>
    public static IReadOnlyList<CanFrame> Bam(int pgn, byte source, ReadOnlySpan<byte> payload, int priority = 7)
    {
        if (payload.Length is <= CanFrame.MaxLength or > J1939Transport.MaxMessageSize)
            throw new ArgumentOutOfRangeException(nameof(payload), payload.Length, "BAM carries 9..1785 bytes");
        var packets = (payload.Length + 6) / 7;
        var frames = new List<CanFrame>(packets + 1);
        Span<byte> cm = stackalloc byte[CanFrame.MaxLength];
        cm[0] = 32;
        BinaryPrimitives.WriteUInt16LittleEndian(cm[1..], (ushort)payload.Length);
        cm[3] = (byte)packets;
        cm[4] = 0xFF;
        cm[5] = (byte)pgn;
        cm[6] = (byte)(pgn >> 8);
        cm[7] = (byte)(pgn >> 16);
        frames.Add(Single(J1939Pgns.TpCm, source, cm, priority));
        Span<byte> dt = stackalloc byte[CanFrame.MaxLength];
        for (var i = 0; i < packets; i++)
        {
            dt.Fill(0xFF);
            dt[0] = (byte)(i + 1);
            var chunk = payload[(i * 7)..Math.Min(payload.Length, (i + 1) * 7)];
            chunk.CopyTo(dt[1..]);
            frames.Add(Single(J1939Pgns.TpDt, source, dt, priority));
        }
        return frames;
    }
}
