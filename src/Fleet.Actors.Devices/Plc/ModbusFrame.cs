using System.Buffers.Binary;

namespace Fleet.Actors.Devices.Plc;

/// <summary>How requests and responses are framed on the link.</summary>
public enum ModbusFraming
{
    /// <summary>Modbus TCP: an MBAP header (transaction id, protocol 0, length, unit id) before the PDU.</summary>
    Tcp,

    /// <summary>Modbus RTU: slave id, PDU, CRC-16 low byte first (on a serial line, or over TCP).</summary>
    Rtu,
}

/// <summary>What the bytes at the front of a receive buffer hold.</summary>
public enum ModbusFrameStatus
{
    /// <summary>Not enough bytes yet to tell.</summary>
    NeedMore,

    /// <summary>A whole frame of the returned length, well-formed at the framing level.</summary>
    Frame,

    /// <summary>Bytes that cannot be a frame (broken header, unknown function, bad CRC).</summary>
    Garbled,
}

/// <summary>Framing of Modbus ADUs for TCP (MBAP) and RTU. Pure and allocation-free; never throws on received bytes.</summary>
public static class ModbusFrame
{
    /// <summary>Length of the MBAP header, unit id included.</summary>
    public const int MbapLength = 7;

    /// <summary>Longest ADU either framing carries.</summary>
    public const int MaxLength = 260;

    /// <summary>Longest frame a request can need: the longest PDU plus the larger of the two framings.</summary>
    public const int MaxRequestLength = ModbusRequest.MaxPduLength + MbapLength;

    /// <summary>Writes the framed request and returns its length (transaction id is ignored for RTU).</summary>
    public static int WriteRequest(ModbusFraming framing, ushort transactionId, byte unitId, in ModbusRequest request, Span<byte> destination)
    {
        if (framing == ModbusFraming.Tcp)
        {
            var pduLength = request.WritePdu(destination[MbapLength..]);
            BinaryPrimitives.WriteUInt16BigEndian(destination, transactionId);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], 0);
            BinaryPrimitives.WriteUInt16BigEndian(destination[4..], (ushort)(pduLength + 1));
            destination[6] = unitId;
            return MbapLength + pduLength;
        }
        destination[0] = unitId;
        var length = 1 + request.WritePdu(destination[1..]);
        return ModbusCrc.Append(destination, length);
    }

    /// <summary>
    /// Looks at the front of <paramref name="buffered"/>: a whole frame (its length in
    /// <paramref name="length"/>), not enough bytes yet, or garbage (<paramref name="problem"/> says why).
    /// An RTU response's length is known from its function code and byte count.
    /// </summary>
    public static ModbusFrameStatus TryTake(ModbusFraming framing, ReadOnlySpan<byte> buffered, out int length, out string? problem)
    {
        problem = null;
        length = 0;
        if (framing == ModbusFraming.Tcp)
        {
            if (buffered.Length < MbapLength) return ModbusFrameStatus.NeedMore;
            var protocol = BinaryPrimitives.ReadUInt16BigEndian(buffered[2..]);
            var following = BinaryPrimitives.ReadUInt16BigEndian(buffered[4..]);
            if (protocol != 0) problem = $"MBAP protocol id {protocol}, expected 0";
            else if (following is < 2 or > 254) problem = $"MBAP length {following} outside 2..254";
            if (problem is not null) return ModbusFrameStatus.Garbled;
            length = 6 + following;
            return buffered.Length >= length ? ModbusFrameStatus.Frame : ModbusFrameStatus.NeedMore;
        }

        if (buffered.Length < 2) return ModbusFrameStatus.NeedMore;
        var function = buffered[1];
        if ((function & 0x80) != 0) length = 5;
        else if (function is >= 1 and <= 4)
        {
            if (buffered.Length < 3) return ModbusFrameStatus.NeedMore;
            length = 3 + buffered[2] + 2;
        }
        else if (function is 5 or 6 or 15 or 16) length = 8;
        else
        {
            problem = $"unknown function code {function} in an RTU response";
            return ModbusFrameStatus.Garbled;
        }
        if (length > 256)
        {
            problem = $"RTU byte count {buffered[2]} is longer than any response";
            return ModbusFrameStatus.Garbled;
        }
        if (buffered.Length < length) return ModbusFrameStatus.NeedMore;
        if (ModbusCrc.IsValid(buffered[..length])) return ModbusFrameStatus.Frame;
        problem = "RTU CRC mismatch";
        return ModbusFrameStatus.Garbled;
    }

    /// <summary>The unit (slave) id of a whole frame.</summary>
    public static byte UnitId(ModbusFraming framing, ReadOnlySpan<byte> frame) => framing == ModbusFraming.Tcp ? frame[6] : frame[0];

    /// <summary>The transaction id of a whole TCP frame (0 for RTU, which has none).</summary>
    public static ushort TransactionId(ModbusFraming framing, ReadOnlySpan<byte> frame) =>
        framing == ModbusFraming.Tcp ? BinaryPrimitives.ReadUInt16BigEndian(frame) : (ushort)0;

    /// <summary>The PDU of a whole frame.</summary>
    public static ReadOnlySpan<byte> Pdu(ModbusFraming framing, ReadOnlySpan<byte> frame) =>
        framing == ModbusFraming.Tcp ? frame[MbapLength..] : frame[1..^2];
}
