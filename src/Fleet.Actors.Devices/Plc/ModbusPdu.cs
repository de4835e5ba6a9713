using System.Buffers.Binary;

namespace Fleet.Actors.Devices.Plc;

/// <summary>What a response PDU turned out to be.</summary>
public enum ModbusPduStatus
{
    /// <summary>A valid answer to the request.</summary>
    Valid,

    /// <summary>A well-formed exception response; <see cref="ModbusPduCheck.ExceptionCode"/> says which.</summary>
    Exception,

    /// <summary>Not an answer to the request (wrong function, length, byte count or echo): never a value.</summary>
    Garbled,
}

/// <summary>The verdict on a response PDU.</summary>
/// <param name="Status">Valid, exception or garbled.</param>
/// <param name="ExceptionCode">The exception code of an exception response, else 0.</param>
/// <param name="Problem">What was wrong with a garbled PDU.</param>
public readonly record struct ModbusPduCheck(ModbusPduStatus Status, byte ExceptionCode = 0, string? Problem = null)
{
    /// <summary>The verdict on a valid response.</summary>
    public static readonly ModbusPduCheck Valid = new(ModbusPduStatus.Valid);

    internal static ModbusPduCheck Garbled(string problem) => new(ModbusPduStatus.Garbled, 0, problem);
}

/// <summary>Validation of response PDUs (function code onwards) against the request they answer. Pure, never throws.</summary>
public static class ModbusPdu
{
    /// <summary>
    /// Checks <paramref name="pdu"/> as the answer to <paramref name="request"/>: function code, the
    /// exception bit, byte count and length of reads, echo of address and value or quantity of writes.
    /// </summary>
    public static ModbusPduCheck Check(in ModbusRequest request, ReadOnlySpan<byte> pdu)
    {
        if (pdu.Length < 2) return ModbusPduCheck.Garbled($"response of {pdu.Length} bytes is too short");
        var function = (byte)request.Function;
        if (pdu[0] == (function | 0x80))
            return pdu.Length == 2
                ? new ModbusPduCheck(ModbusPduStatus.Exception, pdu[1])
                : ModbusPduCheck.Garbled($"exception response of {pdu.Length} bytes, expected 2");
        if (pdu[0] != function) return ModbusPduCheck.Garbled($"function code {pdu[0]} in the response, expected {function}");
        if (request.IsRead)
        {
            if (pdu[1] != request.ResponseByteCount)
                return ModbusPduCheck.Garbled($"byte count {pdu[1]}, expected {request.ResponseByteCount} for {request.Quantity} items");
            return pdu.Length == 2 + pdu[1]
                ? ModbusPduCheck.Valid
                : ModbusPduCheck.Garbled($"response of {pdu.Length} bytes does not match its byte count {pdu[1]}");
        }
        if (pdu.Length != 5) return ModbusPduCheck.Garbled($"write response of {pdu.Length} bytes, expected 5");
        var address = BinaryPrimitives.ReadUInt16BigEndian(pdu[1..]);
        if (address != request.Address) return ModbusPduCheck.Garbled($"write response echoes address {address}, expected {request.Address}");
        var echo = pdu.Slice(3, 2);
        var single = request.Function is ModbusFunction.WriteSingleCoil or ModbusFunction.WriteSingleRegister;
        if (single ? !echo.SequenceEqual(request.Data.Span) : BinaryPrimitives.ReadUInt16BigEndian(echo) != request.Quantity)
            return ModbusPduCheck.Garbled($"write response echoes {Convert.ToHexString(echo)}, which is not what was written");
        return ModbusPduCheck.Valid;
    }
}
