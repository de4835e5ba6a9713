using System.Buffers.Binary;
using System.Globalization;

namespace Fleet.Actors.Devices.Can;

/// <summary>
/// One classic CAN 2.0 frame: an 11-bit (standard) or 29-bit (extended) identifier, the remote
/// transmission request flag, and 0..8 data bytes. A value type without a heap buffer (the data
/// lives in one <see cref="ulong"/>), so a busy bus does not allocate per frame.
/// </summary>
public readonly struct CanFrame : IEquatable<CanFrame>
{
    /// <summary>Largest 11-bit identifier.</summary>
    public const uint MaxStandardId = 0x7FF;

    /// <summary>Largest 29-bit identifier.</summary>
    public const uint MaxExtendedId = 0x1FFF_FFFF;

    /// <summary>Most data bytes a classic CAN frame carries.</summary>
    public const int MaxLength = 8;

    // Byte i of the payload is bits 8i..8i+7; bytes past Length are zero, so equality is plain.
    private readonly ulong _data;

    /// <summary>A data frame. Throws when the identifier does not fit or there are more than 8 bytes.</summary>
    public CanFrame(uint id, bool isExtended, ReadOnlySpan<byte> data)
    {
        CheckId(id, isExtended);
        if (data.Length > MaxLength) throw new ArgumentOutOfRangeException(nameof(data), data.Length, "a CAN frame carries at most 8 bytes");
        Span<byte> padded = stackalloc byte[MaxLength];
        padded.Clear();
        data.CopyTo(padded);
        _data = BinaryPrimitives.ReadUInt64LittleEndian(padded);
        Id = id;
        IsExtended = isExtended;
        Length = data.Length;
    }

    private CanFrame(uint id, bool isExtended, int length)
    {
        CheckId(id, isExtended);
        if (length is < 0 or > MaxLength) throw new ArgumentOutOfRangeException(nameof(length), length, "DLC must be 0..8");
        Id = id;
        IsExtended = isExtended;
        IsRemote = true;
        Length = length;
    }

    /// <summary>A remote (RTR) frame asking for <paramref name="length"/> bytes; it carries no data.</summary>
    public static CanFrame Remote(uint id, bool isExtended, int length) => new(id, isExtended, length);

    /// <summary>The identifier (11 or 29 bits, without flags).</summary>
    public uint Id { get; }

    /// <summary>True for a 29-bit identifier (CAN 2.0B), as J1939 uses.</summary>
    public bool IsExtended { get; }

    /// <summary>True for a remote transmission request.</summary>
    public bool IsRemote { get; }

    /// <summary>The data length code, 0..8. A remote frame has a DLC but no data.</summary>
    public int Length { get; }

    /// <summary>The data bytes actually carried (none for a remote frame).</summary>
    public int DataLength => IsRemote ? 0 : Length;

    /// <summary>Data byte <paramref name="index"/> (0-based).</summary>
    public byte this[int index] =>
        (uint)index < (uint)DataLength ? (byte)(_data >> (8 * index)) : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>Copies the data bytes into <paramref name="destination"/> and returns how many there are.</summary>
    public int CopyTo(Span<byte> destination)
    {
        Span<byte> all = stackalloc byte[MaxLength];
        BinaryPrimitives.WriteUInt64LittleEndian(all, _data);
        all[..DataLength].CopyTo(destination);
        return DataLength;
    }

    /// <summary>The data bytes as a new array (for tests and logs).</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[DataLength];
        CopyTo(bytes);
        return bytes;
    }

    /// <inheritdoc />
    public bool Equals(CanFrame other) =>
        Id == other.Id && IsExtended == other.IsExtended && IsRemote == other.IsRemote && Length == other.Length && _data == other._data;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is CanFrame other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Id, IsExtended, IsRemote, Length, _data);

    /// <summary>Equality.</summary>
    public static bool operator ==(CanFrame left, CanFrame right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(CanFrame left, CanFrame right) => !left.Equals(right);

    /// <summary>candump style: <c>18FEF100#0102030405060708</c>, <c>123#R2</c> for a remote frame.</summary>
    public override string ToString()
    {
        var id = IsExtended ? Id.ToString("X8", CultureInfo.InvariantCulture) : Id.ToString("X3", CultureInfo.InvariantCulture);
        return IsRemote ? $"{id}#R{Length}" : $"{id}#{Convert.ToHexString(ToArray())}";
    }

    private static void CheckId(uint id, bool isExtended)
    {
        if (id > (isExtended ? MaxExtendedId : MaxStandardId))
            throw new ArgumentOutOfRangeException(nameof(id), id, isExtended ? "a 29-bit id is at most 0x1FFFFFFF" : "an 11-bit id is at most 0x7FF");
    }
}
