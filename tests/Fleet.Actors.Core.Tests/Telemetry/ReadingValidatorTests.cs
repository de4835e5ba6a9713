using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Core.Tests.Telemetry;

public class ReadingValidatorTests
{
    public static TheoryData<ReadingValue, string> Invalid => new()
    {
        { new PositionValue(91, 0, 0), "latitude" },
        { new PositionValue(0, -181, 0), "longitude" },
        { new PositionValue(0, 0, 361), "heading" },
        { new PositionValue(double.NaN, 0, 0), "latitude" },
        { new PositionValue(0, 0, 0, Speed: -1), "speed" },
        { new PositionValue(0, 0, 0, Speed: 400), "speed" },
        { new MeasurementValue("rpm", double.PositiveInfinity, "rpm"), "finite" },
        { new MeasurementValue(" ", 1, "rpm"), "name" },
        { new MotionValue(500, 0, 9.8), "acceleration" },
        { new MotionValue(0, 0, 9.8, GyroZ: 5000), "angular" },
        { new StatusValue(OperationalState.Ready, 101), "energy" },
        { new DiagnosticsValue(120, null, null, null, null), "percentage" },
        { new GapValue(5, 4, 0, "x"), "gap" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validator_should_refuse_impossible_values_and_say_why(ReadingValue value, string reason)
    {
        var problem = ReadingValidator.Validate(value);
        Assert.NotNull(problem);
        Assert.Contains(reason, problem, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Validator_should_accept_plausible_values()
    {
        Assert.Null(ReadingValidator.Validate(new PositionValue(53.5, 9.9, 359.99, -3, 33, 1.2)));
        Assert.Null(ReadingValidator.Validate(new MeasurementValue("coolant_temp", -12, "°C")));
        Assert.Null(ReadingValidator.Validate(new MotionValue(-7, 3, 9.81, 1, 2, 3)));
        Assert.Null(ReadingValidator.Validate(new StatusValue(OperationalState.Ready, 0, 100)));
    }
}
