namespace Fleet.Actors.Devices.Plc;

/// <summary>
/// Messages of the PLC domain, sent to the vehicle's <c>plcs</c> supervisor, which routes them to
/// the PLC by id. Every write is answered with a <see cref="WriteResult"/>; ask with a timeout (a
/// request that reaches a PLC actor just as it fails gets no answer).
/// </summary>
public static class PlcProtocol
{
    /// <summary>A message about one PLC.</summary>
    public interface IWithPlcId
    {
        /// <summary>The configured PLC id.</summary>
        string PlcId { get; }
    }

    /// <summary>
    /// A configuration change: the PLCs named in <paramref name="Changed"/> restart with their settings
    /// in <paramref name="Plcs"/> (the whole new list), start when new or stop when no longer in it.
    /// </summary>
    public sealed record Apply(IReadOnlyList<PlcSettings> Plcs, IReadOnlyList<string> Changed);

    /// <summary>Writes one holding register (function 6).</summary>
    public sealed record WriteRegister(string PlcId, ushort Address, ushort Value) : IWithPlcId;

    /// <summary>Writes consecutive holding registers (function 16).</summary>
    public sealed record WriteRegisters(string PlcId, ushort Address, ushort[] Values) : IWithPlcId;

    /// <summary>Writes one coil (function 5).</summary>
    public sealed record WriteCoil(string PlcId, ushort Address, bool Value) : IWithPlcId;

    /// <summary>Writes consecutive coils (function 15).</summary>
    public sealed record WriteCoils(string PlcId, ushort Address, bool[] Values) : IWithPlcId;

    /// <summary>
    /// Writes a writable point of the register map by name; the value is encoded as the point says
    /// (data type, byte order, scale and offset, through <see cref="ModbusValues"/>).
    /// </summary>
    public sealed record WritePoint(string PlcId, string Point, PointValue Value) : IWithPlcId;

    /// <summary>A typed value for <see cref="WritePoint"/>.</summary>
    public abstract record PointValue;

    /// <summary>An engineering value for a number point (or 1/0 for a bool).</summary>
    public sealed record Number(double Value) : PointValue;

    /// <summary>A value for a coil or a bool register point.</summary>
    public sealed record Flag(bool Value) : PointValue;

    /// <summary>ASCII text for a string point (NUL-padded to its length).</summary>
    public sealed record Text(string Value) : PointValue;

    /// <summary>The answer to a write.</summary>
    public abstract record WriteResult(string PlcId);

    /// <summary>The device confirmed the write.</summary>
    public sealed record Written(string PlcId) : WriteResult(PlcId);

    /// <summary>Not attempted: unknown PLC or point, a point that is not writable, a value that does not fit.</summary>
    public sealed record Refused(string PlcId, string Reason) : WriteResult(PlcId);

    /// <summary>
    /// Attempted and failed, or not attempted because the circuit breaker is open (<c>circuit open</c>).
    /// <see cref="ExceptionCode"/> is the Modbus exception code when the device refused the write.
    /// </summary>
    public sealed record Failed(string PlcId, string Reason, byte? ExceptionCode = null) : WriteResult(PlcId);
}
