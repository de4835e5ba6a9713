using BenchmarkDotNet.Attributes;
using Fleet.Actors.Devices.Plc;
using Fleet.Actors.Devices.Tests.Plc;

namespace Fleet.Actors.Benchmarks;

/// <summary>
/// One poll cycle of the aquaculture PLC map (164 points, 200 registers and 36 bits; 8 reads once
/// coalesced instead of 164), per cycle. Baseline: what any poller does at least, each numeric point
/// converted straight from a flat register array, with no planning and no wire bytes.
/// <c>Plan</c> is the planner alone; <c>PlanAndDecode</c> is the PLC actor's work around the I/O:
/// plan, then decode every answer's bytes into values, then the deadband filter.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class ModbusPlannerBenchmarks
{
    private readonly ModbusRequestPlanner _planner = new(ModbusQuirks.Default);
    private readonly List<ModbusPointValue> _values = new(256);
    private readonly DeadbandFilter _filter = new();
    private IReadOnlyList<ModbusPoint> _points = [];
    private byte[][] _answers = [];
    private ushort[] _holding = [];
    private ushort[] _input = [];

    [GlobalSetup]
    public void Setup()
    {
        _points = AquacultureRegisterMap.Points;
        var memory = new PlcMemory();
        for (var i = 0; i < _points.Count; i++)
            memory.Set(_points[i], _points[i].DataType is ModbusDataType.Bool ? i % 2 : i * _points[i].Scale, "HALL-B");
        _answers = _planner.Plan(_points).Select(memory.Answer).ToArray();
        _holding = memory.Holding;
        _input = memory.Input;
    }

    [Benchmark(Baseline = true)]
    public double RawPerPoint()
    {
        var sum = 0.0;
        foreach (var p in _points)
        {
            if (p.IsBit || p.DataType is ModbusDataType.Bool or ModbusDataType.String) continue;
            var table = p.RegisterType == ModbusRegisterType.Holding ? _holding : _input;
            sum += ModbusValues.ToNumber(table.AsSpan(p.Address, p.Width), p.DataType, p.ByteOrder, p.Scale, p.Offset);
        }
        return sum;
    }

    [Benchmark]
    public int Plan() => _planner.Plan(_points).Count;

    [Benchmark]
    public int PlanAndDecode()
    {
        var reads = _planner.Plan(_points);
        _values.Clear();
        for (var i = 0; i < reads.Count; i++) reads[i].Decode(_answers[i], _values);
        var published = 0;
        foreach (var value in _values)
            if (_filter.ShouldPublish(value)) published++;
        return published;
    }
}
