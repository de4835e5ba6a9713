namespace Fleet.Actors.Devices.Can;

/// <summary>
/// The parts of a J1939 29-bit identifier (J1939-21): priority (3 bits), extended data page, data
/// page, PDU format (PF), PDU specific (PS) and source address. With PF below 240 (PDU1) the message
/// is addressed: PS is the destination and not part of the PGN; from 240 up (PDU2) it is broadcast
/// and PS is the group extension, part of the PGN.
/// </summary>
/// <param name="Priority">0 (highest) .. 7.</param>
/// <param name="ExtendedDataPage">The EDP bit (bit 25).</param>
/// <param name="DataPage">The DP bit (bit 24).</param>
/// <param name="PduFormat">PF, bits 16..23.</param>
/// <param name="PduSpecific">PS, bits 8..15: destination (PDU1) or group extension (PDU2).</param>
/// <param name="SourceAddress">The sender, bits 0..7.</param>
public readonly record struct J1939Id(int Priority, bool ExtendedDataPage, bool DataPage, byte PduFormat, byte PduSpecific, byte SourceAddress)
{
    /// <summary>The global (broadcast) destination address.</summary>
    public const byte GlobalAddress = 0xFF;

    /// <summary>PF values from this one up are PDU2 (broadcast).</summary>
    public const byte Pdu2Threshold = 240;

    /// <summary>True for PDU1 (destination-specific) messages.</summary>
    public bool IsPdu1 => PduFormat < Pdu2Threshold;

    /// <summary>The parameter group number, 18 bits: EDP, DP, PF and (PDU2 only) PS.</summary>
    public int Pgn => (ExtendedDataPage ? 1 << 17 : 0) | (DataPage ? 1 << 16 : 0) | (PduFormat << 8) | (IsPdu1 ? 0 : PduSpecific);

    /// <summary>Who the message is for: PS for PDU1, the global address for PDU2.</summary>
    public byte DestinationAddress => IsPdu1 ? PduSpecific : GlobalAddress;

    /// <summary>Splits a 29-bit CAN identifier.</summary>
    public static J1939Id FromCanId(uint canId) => new(
        (int)((canId >> 26) & 0x7),
        ((canId >> 25) & 1) != 0,
        ((canId >> 24) & 1) != 0,
        (byte)(canId >> 16),
        (byte)(canId >> 8),
        (byte)canId);

    /// <summary>The 29-bit CAN identifier.</summary>
    public uint ToCanId() =>
        ((uint)(Priority & 0x7) << 26) | (ExtendedDataPage ? 1u << 25 : 0) | (DataPage ? 1u << 24 : 0)
        | ((uint)PduFormat << 16) | ((uint)PduSpecific << 8) | SourceAddress;

    /// <summary>
    /// The identifier of a message: <paramref name="pgn"/> from <paramref name="source"/>, to
    /// <paramref name="destination"/> when the PGN is PDU1 (ignored for PDU2).
    /// </summary>
    public static J1939Id For(int pgn, byte source, int priority = 6, byte destination = GlobalAddress)
    {
        if (pgn is < 0 or > 0x3FFFF) throw new ArgumentOutOfRangeException(nameof(pgn), pgn, "a PGN has 18 bits");
        if (priority is < 0 or > 7) throw new ArgumentOutOfRangeException(nameof(priority), priority, "priority is 0..7");
        var pf = (byte)(pgn >> 8);
        return new J1939Id(priority, (pgn & 0x20000) != 0, (pgn & 0x10000) != 0, pf, pf < Pdu2Threshold ? destination : (byte)pgn, source);
    }
}
