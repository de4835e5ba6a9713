using System.Buffers.Binary;
using Fleet.Actors.Devices.Plc;

namespace Fleet.Actors.Devices.Tests.Plc;

/// <summary>
/// A device's four tables in memory, answering planned reads with the data bytes a real device
/// sends; addresses listed as missing answer exception 2, as a device without them would.
/// </summary>
internal sealed class PlcMemory
{
    public ushort[] Holding { get; } = new ushort[65_536];

    public ushort[] Input { get; } = new ushort[65_536];

    public bool[] Coils { get; } = new bool[65_536];

    public bool[] DiscreteInputs { get; } = new bool[65_536];

    public HashSet<(ModbusRegisterType, int)> Missing { get; } = new();

    public int Requests { get; private set; }

    /// <summary>Writes a point's value the way the device would hold it.</summary>
    public void Set(ModbusPoint point, double value, string? text = null)
    {
        switch (point.RegisterType)
        {
            case ModbusRegisterType.Coil: Coils[point.Address] = value != 0; return;
            case ModbusRegisterType.DiscreteInput: DiscreteInputs[point.Address] = value != 0; return;
        }
        var table = point.RegisterType == ModbusRegisterType.Holding ? Holding : Input;
        var span = table.AsSpan(point.Address, point.Width);
        switch (point.DataType)
        {
            case ModbusDataType.Bool when point.Bit is { } bit: span[0] = ModbusValues.WithBit(span[0], bit, value != 0); break;
            case ModbusDataType.Bool: span[0] = value != 0 ? (ushort)1 : (ushort)0; break;
            case ModbusDataType.String: ModbusValues.FromText(text ?? "", point.ByteOrder, span); break;
            default: ModbusValues.FromNumber(value, point.DataType, point.ByteOrder, span, point.Scale, point.Offset); break;
        }
    }

    /// <summary>The data of the answer to a read, or a <see cref="ModbusException"/> when it touches a missing address.</summary>
    public byte[] Answer(PlannedRead read)
    {
        Requests++;
        for (var a = read.Address; a < read.End; a++)
            if (Missing.Contains((read.RegisterType, a))) throw new ModbusException(read.Request.Function, ModbusRequestPlanner.IllegalDataAddress);
        var data = new byte[read.Request.ResponseByteCount];
        if (read.RegisterType is ModbusRegisterType.Coil or ModbusRegisterType.DiscreteInput)
        {
            var bits = read.RegisterType == ModbusRegisterType.Coil ? Coils : DiscreteInputs;
            for (var i = 0; i < read.Quantity; i++)
                if (bits[read.Address + i]) data[i / 8] |= (byte)(1 << (i % 8));
            return data;
        }
        var table = read.RegisterType == ModbusRegisterType.Holding ? Holding : Input;
        for (var i = 0; i < read.Quantity; i++) BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(2 * i), table[read.Address + i]);
        return data;
    }

    /// <summary>Plans, reads and decodes every point, splitting refused reads as the PLC actor will; returns the values and the bad points.</summary>
    public (List<ModbusPointValue> Values, List<BadPoint> Bad) Poll(ModbusRequestPlanner planner, IReadOnlyList<ModbusPoint> points)
    {
        var values = new List<ModbusPointValue>();
        var bad = new List<BadPoint>();
        var pending = new Queue<PlannedRead>(planner.Plan(points));
        while (pending.TryDequeue(out var read))
        {
            try
            {
                read.Decode(Answer(read), values);
            }
            catch (ModbusException ex) when (ex.Code == ModbusRequestPlanner.IllegalDataAddress)
            {
                var split = planner.Split(read);
                foreach (var smaller in split.Reads) pending.Enqueue(smaller);
                bad.AddRange(split.Bad);
            }
        }
        return (values, bad);
    }
}
