using Fleet.Actors.Core.Scripting;

namespace Fleet.Actors.Core.Tests.Scripting;

public class ThresholdTriggerTests
{
    private static List<bool> Fires(ThresholdTrigger trigger, params double[] samples)
    {
        var armed = true;
        var fires = new List<bool>();
        foreach (var sample in samples)
        {
            (var fire, armed) = trigger.Observe(sample, armed);
            fires.Add(fire);
        }
        return fires;
    }

    [Fact]
    public void A_reading_hovering_at_the_threshold_should_fire_once_until_it_falls_back_past_the_hysteresis()
    {
        var hot = new ThresholdTrigger("water_temp", ComparisonOperator.GreaterThan, 28, 0.5);
        Assert.Equal([false, true, false, false, false, false, true],
            Fires(hot, 27.9, 28.1, 27.9, 28.2, 27.6, 27.5, 28.3));
    }

    [Fact]
    public void A_falling_threshold_should_rearm_above_the_value_plus_hysteresis()
    {
        var lowOxygen = new ThresholdTrigger("oxygen", ComparisonOperator.LessThan, 5, 1);
        Assert.Equal([true, false, false, false, true], Fires(lowOxygen, 4.9, 5.5, 4.0, 6.0, 4.5));
    }

    [Fact]
    public void Without_hysteresis_the_trigger_should_rearm_as_soon_as_the_comparison_fails()
    {
        var hot = new ThresholdTrigger("t", ComparisonOperator.GreaterOrEqual, 10, 0);
        Assert.Equal([true, false, false, true], Fires(hot, 10, 11, 9.99, 10));
    }
}
