using System.Buffers.Binary;

namespace Fleet.Actors.Devices.Plc;

/// <summary>A value decoded from a read: a number (bools as 1 or 0), or the text of a string point.</summary>
/// <param name="Point">The point.</param>
/// <param name="Value">The engineering value (<c>raw * scale + offset</c>), 1/0 for a bool, NaN for a string.</param>
/// <param name="Text">The text of a string point; null otherwise.</param>
public readonly record struct ModbusPointValue(ModbusPoint Point, double Value, string? Text = null)
{
    /// <summary>The value as a bool (not 0).</summary>
    public bool AsBool => Value != 0;
}

/// <summary>A point that cannot be read from the device, and why; the caller stops polling it.</summary>
public sealed record BadPoint(ModbusPoint Point, string Reason);

/// <summary>What a failed read becomes: smaller reads to try, and points that cannot be read at all.</summary>
public sealed record ModbusSplit(IReadOnlyList<PlannedRead> Reads, IReadOnlyList<BadPoint> Bad);

/// <summary>
/// One read of a plan: a span of one table that covers some points (and the gaps between them
/// that were cheaper to read through than to ask for separately).
/// </summary>
public sealed class PlannedRead
{
    internal PlannedRead(ModbusRegisterType type, ushort address, int quantity, ModbusPoint[] points)
    {
        RegisterType = type;
        Address = address;
        Quantity = quantity;
        Points = points;
        Request = type switch
        {
            ModbusRegisterType.Coil => ModbusRequest.ReadCoils(address, quantity),
            ModbusRegisterType.DiscreteInput => ModbusRequest.ReadDiscreteInputs(address, quantity),
            ModbusRegisterType.Input => ModbusRequest.ReadInputRegisters(address, quantity),
            _ => ModbusRequest.ReadHoldingRegisters(address, quantity),
        };
    }

    /// <summary>The table read.</summary>
    public ModbusRegisterType RegisterType { get; }

    /// <summary>First register or bit read.</summary>
    public ushort Address { get; }

    /// <summary>Registers or bits read.</summary>
    public int Quantity { get; }

    /// <summary>First address after the read.</summary>
    public int End => Address + Quantity;

    /// <summary>The points the read covers, by address.</summary>
    public IReadOnlyList<ModbusPoint> Points { get; }

    /// <summary>The request to send.</summary>
    public ModbusRequest Request { get; }

    /// <summary>
    /// Decodes every point from the data of the answer (the bytes after the byte count, as
    /// <see cref="ModbusClient.SendAsync"/> returns them) and adds the values to <paramref name="values"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The data is not as long as the answer to this read must be.</exception>
    public void Decode(ReadOnlySpan<byte> data, ICollection<ModbusPointValue> values)
    {
        if (data.Length != Request.ResponseByteCount)
            throw new ArgumentException($"{Request} needs {Request.ResponseByteCount} bytes of data, {data.Length} given", nameof(data));
        Span<ushort> registers = stackalloc ushort[ModbusRequest.MaxReadRegisters];
        foreach (var point in Points)
        {
            var at = point.Address - Address;
            if (point.IsBit)
            {
                values.Add(new ModbusPointValue(point, (data[at / 8] >> (at % 8)) & 1));
                continue;
            }
            var span = registers[..point.Width];
            for (var i = 0; i < span.Length; i++) span[i] = BinaryPrimitives.ReadUInt16BigEndian(data[(2 * (at + i))..]);
            values.Add(point.DataType switch
            {
                ModbusDataType.Bool => new ModbusPointValue(point, (point.Bit is { } bit ? ModbusValues.ToBool(span[0], bit) : span[0] != 0) ? 1 : 0),
                ModbusDataType.String => new ModbusPointValue(point, double.NaN, ModbusValues.ToText(span, point.ByteOrder)),
                _ => new ModbusPointValue(point, ModbusValues.ToNumber(span, point.DataType, point.ByteOrder, point.Scale, point.Offset)),
            });
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{ModbusPoint.TypeName(RegisterType)} {Address}..{End - 1} ({Points.Count} points)";
}

/// <summary>
/// Plans the reads of the points due now with as few requests as a device allows: per table, by
/// address, points closer than <see cref="ModbusQuirks.MaxGap"/> share a read as long as it stays
/// within <see cref="ModbusQuirks.MaxRegistersPerRequest"/>; a multi-register point is never split.
/// Pure: no I/O, no state besides the quirks.
/// </summary>
public sealed class ModbusRequestPlanner
{
    /// <summary>Modbus exception code 2: the device has no such address.</summary>
    public const byte IllegalDataAddress = 2;

    private static readonly Comparison<ModbusPoint> ByTableAndAddress = (a, b) =>
    {
        // Enum.CompareTo takes an object: compare the numbers so sorting does not box.
        var c = ((int)a.RegisterType).CompareTo((int)b.RegisterType);
        if (c != 0) return c;
        c = a.Address.CompareTo(b.Address);
        return c != 0 ? c : a.End.CompareTo(b.End);
    };

    private readonly ModbusQuirks _quirks;

    /// <summary>A planner for a device with these quirks.</summary>
    public ModbusRequestPlanner(ModbusQuirks quirks)
    {
        _quirks = quirks;
    }

    /// <summary>
    /// The fewest reads that cover <paramref name="due"/>, each point in exactly one read.
    /// </summary>
    /// <exception cref="ArgumentException">A point is wider than the device's maximum per request (configuration refuses such points).</exception>
    public IReadOnlyList<PlannedRead> Plan(IReadOnlyList<ModbusPoint> due)
    {
        var sorted = new ModbusPoint[due.Count];
        for (var i = 0; i < sorted.Length; i++)
        {
            var point = due[i];
            if (point.Width < 1 || point.Width > _quirks.MaxPerRequest(point.RegisterType) || point.End > 65_536)
                throw new ArgumentException($"\"{point.Name}\" ({point.Describe()}) does not fit in one read of at most {_quirks.MaxPerRequest(point.RegisterType)}", nameof(due));
            sorted[i] = point;
        }
        Array.Sort(sorted, ByTableAndAddress);
        var reads = new List<PlannedRead>();
        Coalesce(sorted, type => _quirks.MaxGapOf(type), reads);
        return reads;
    }

    /// <summary>
    /// Smaller reads for a read the device refused with exception 2 (illegal data address): first
    /// the runs of adjacent points without the gaps between them; a run without gaps becomes one read
    /// per point; a single point (or bits of one register) that was refused is bad, with the reason.
    /// </summary>
    public ModbusSplit Split(PlannedRead refused)
    {
        var points = (ModbusPoint[])refused.Points;
        var reads = new List<PlannedRead>();
        // Without gaps: points that touch or overlap share a read.
        Coalesce(points, _ => 0, reads);
        if (reads.Count > 1) return new ModbusSplit(reads, []);
        reads.Clear();
        // Point by point: only points that share registers (bits of one register) stay together.
        Coalesce(points, _ => -1, reads);
        if (reads.Count > 1) return new ModbusSplit(reads, []);
        var reason = $"the device answered exception {IllegalDataAddress} ({ModbusException.NameOf(IllegalDataAddress)}) for {refused}";
        var bad = new BadPoint[points.Length];
        for (var i = 0; i < bad.Length; i++) bad[i] = new BadPoint(points[i], reason);
        return new ModbusSplit([], bad);
    }

    // Greedy over points sorted by table and address: a point joins the current read when the gap
    // before it is at most the table's gap and the read's span stays within the maximum. Greedy is
    // optimal here: taking a point into the earliest read never leaves a later read worse off.
    private void Coalesce(ModbusPoint[] sorted, Func<ModbusRegisterType, int> maxGap, List<PlannedRead> reads)
    {
        var start = 0;
        while (start < sorted.Length)
        {
            var first = sorted[start];
            var type = first.RegisterType;
            var gap = maxGap(type);
            var max = _quirks.MaxPerRequest(type);
            var end = first.End;
            var next = start + 1;
            for (; next < sorted.Length; next++)
            {
                var point = sorted[next];
                var newEnd = Math.Max(end, point.End);
                if (point.RegisterType != type || point.Address - end > gap || newEnd - first.Address > max) break;
                end = newEnd;
            }
            reads.Add(new PlannedRead(type, first.Address, end - first.Address, sorted[start..next]));
            start = next;
        }
    }
}
