namespace Fleet.Actors.Devices.Plc;

/// <summary>
/// The device answered with a Modbus exception response (function code with bit 0x80 set):
/// it understood the request and refused it. <see cref="Code"/> says why.
/// </summary>
public sealed class ModbusException : Exception
{
    /// <summary>Creates the exception for a device's exception response.</summary>
    public ModbusException(ModbusFunction function, byte code)
        : base($"Modbus exception {code} ({NameOf(code)}) to function {(byte)function} ({function})")
    {
        Function = function;
        Code = code;
    }

    /// <summary>The function the device refused.</summary>
    public ModbusFunction Function { get; }

    /// <summary>The exception code (1 illegal function, 2 illegal data address, 3 illegal data value, 4 server failure, ...).</summary>
    public byte Code { get; }

    /// <summary>The name of <see cref="Code"/> as the Modbus specification gives it.</summary>
    public string Name => NameOf(Code);

    /// <summary>The specification's name of an exception code.</summary>
    public static string NameOf(byte code) => code switch
    {
        1 => "illegal function",
        2 => "illegal data address",
        3 => "illegal data value",
        4 => "server device failure",
        5 => "acknowledge",
        6 => "server device busy",
        8 => "memory parity error",
        10 => "gateway path unavailable",
        11 => "gateway target device failed to respond",
        _ => "unknown exception code",
    };
}

/// <summary>
/// A response that could not be trusted (bad CRC, wrong length, wrong function, bad echo, a broken
/// MBAP header): it was discarded and counted, and the request failed. An <see cref="IOException"/>,
/// so callers treat it like any other failed exchange.
/// </summary>
public sealed class ModbusFrameException : IOException
{
    /// <summary>Creates the exception with what was wrong.</summary>
    public ModbusFrameException(string message)
        : base(message)
    {
    }
}
