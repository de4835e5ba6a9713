using Fleet.Actors.Devices.Plc;
using Xunit.Abstractions;

namespace Fleet.Actors.Devices.Tests.Plc;

/// <summary>The planner on a realistic PLC map: the request count before and after coalescing, and every value read back.</summary>
public sealed class AquacultureMapTests(ITestOutputHelper output)
{
    [Fact]
    public void Planner_should_read_the_aquaculture_map_in_a_handful_of_requests()
    {
        var points = AquacultureRegisterMap.Points;
        var registers = points.Where(p => !p.IsBit).Sum(p => p.Width);
        var bits = points.Count(p => p.IsBit);
        var reads = new ModbusRequestPlanner(ModbusQuirks.Default).Plan(points);
        var readRegisters = reads.Where(r => r.RegisterType is ModbusRegisterType.Input or ModbusRegisterType.Holding).Sum(r => r.Quantity);
        output.WriteLine($"{points.Count} points ({registers} registers, {bits} bits): {points.Count} requests one per point, {reads.Count} coalesced");
        foreach (var read in reads) output.WriteLine($"  {read}");
        output.WriteLine($"registers read: {readRegisters} (of which {readRegisters - registers} read through gaps)");
        Assert.DoesNotContain(points, p => points.Any(q => !ReferenceEquals(p, q) && RegisterMap.Overlap(p, q)));
        Assert.Equal(164, points.Count);
        Assert.Equal(200, registers);
        Assert.Equal(8, reads.Count);
        var small = new ModbusRequestPlanner(new ModbusQuirks { MaxRegistersPerRequest = 32, MaxGap = 0 }).Plan(points);
        output.WriteLine($"a device with at most 32 registers per read and no gaps: {small.Count} requests");
        Assert.InRange(small.Count, reads.Count + 1, points.Count - 1);
    }

    [Fact]
    public void Every_value_of_the_map_should_read_back_as_written()
    {
        var memory = new PlcMemory();
        var expected = new Dictionary<string, double>();
        foreach (var (point, i) in AquacultureRegisterMap.Points.Select((p, i) => (p, i)))
        {
            var value = point.DataType switch
            {
                ModbusDataType.Bool => i % 2,
                ModbusDataType.I16 => -(i * point.Scale),
                ModbusDataType.String => 0,
                ModbusDataType.F32 or ModbusDataType.F64 => i * 2.5,
                _ => i * 3 * point.Scale,
            };
            memory.Set(point, value, "HALL-B");
            expected[point.Name] = value;
        }
        var (values, bad) = memory.Poll(new ModbusRequestPlanner(ModbusQuirks.Default), AquacultureRegisterMap.Points);
        Assert.Empty(bad);
        Assert.Equal(8, memory.Requests);
        Assert.Equal(AquacultureRegisterMap.Points.Count, values.Count);
        foreach (var value in values)
        {
            if (value.Point.DataType == ModbusDataType.String) Assert.Equal("HALL-B", value.Text);
            else Assert.Equal(expected[value.Point.Name], value.Value, 6);
        }
    }
}
