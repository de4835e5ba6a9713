using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Host.Cli;

namespace Fleet.Actors.Host.Tests.Cli;

public sealed class ReadingJsonCompareTests
{
    public static IEnumerable<object[]> Values()
    {
        foreach (var row in ReadingJsonTests.Kinds()) yield return [row[1]];
        yield return [new DiagnosticsValue(12.5, 40, 55, null, null, new AgentHealth(0.8, 95_000_000, 6_000_000, 8_000_000_000, 3600, 60, 0.25, 2, 1, ["sensors/obd"], 0, ["temperature"]))];
        yield return [new DiagnosticsValue(null, null, null, null, null, new AgentHealth(null, null, null, null, null, null, null, null, null, [], null, []))];
        yield return [new AlertValue("engine-overheat", AlertSeverity.Critical, "rule:coolant", "hot <&> \"q\" 'a' + é ü 😀 \u0001", AlertState.Raised, "obd", 2, [new AlertCause("obd", "coolant_temp", 106.5, 4711, 1_790_000_000_000, "d<x>"), new AlertCause("a", "b")])];
        yield return [new AlertValue("x", AlertSeverity.Info, "", "", AlertState.Unspecified)];
        yield return [new FaultCodesValue("obd", [new FaultCode("P0301"), new FaultCode("P0420", null, null, 3)], null, 17)];
        yield return [new FaultCodesValue("j1939", [], false, 0)];
        yield return [new MeasurementValue("x", double.MaxValue, "é")];
        yield return [new MeasurementValue("x", -0.0, "")];
        yield return [new MeasurementValue("x", 1e-300, "")];
        yield return [new MeasurementValue("x", 0.1 + 0.2, "")];
        yield return [new TyreValue(1, null, null)];
        yield return [new VehicleInfoValue("V", "")];
        yield return [new PositionValue(-33.123456789, 151.2, 359.99)];
        yield return [new MotionValue(0, 0, 9.80665)];
        yield return [new DrivingEventValue("e", 1, TimeSpan.FromTicks(12345))];
        yield return [new StatusValue(OperationalState.Ready, null)];
        yield return [new ScriptWriteValue("t", -5, "o", "s", 255, "other", 1, long.MinValue, "err")];
        yield return [new GapValue(long.MaxValue, 1, 0, "")];
    }

    [Theory]
    [MemberData(nameof(Values))]
    public void Same_bytes(ReadingValue value)
    {
        Assert.Equal(ReadingJsonOld.Format(value), ReadingJson.Format(value));
        Assert.Equal(ReadingJsonOld.Format(value, j => { j.WriteNumber("line", 3); j.WriteString("command", "01 0C"); }),
            ReadingJson.Format(value, j => { j.WriteNumber("line", 3); j.WriteString("command", "01 0C"); }));
    }
}
