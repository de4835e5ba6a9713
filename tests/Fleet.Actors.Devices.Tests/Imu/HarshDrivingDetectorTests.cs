using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Imu;
using Fleet.Actors.Devices.Sensors;
using FsCheck;
using FsCheck.Fluent;

namespace Fleet.Actors.Devices.Tests.Imu;

/// <summary>
/// The harsh-driving detector on hand-made signals sampled every 10 ms (t = 0, 10, 20, ... ms):
/// thresholds, hysteresis, minimum and maximum duration, smoothing, and a property over random signals.
/// </summary>
public sealed class HarshDrivingDetectorTests
{
    private const int Step = 10;

    /// <summary>Feeds piecewise-constant segments (length ms, longitudinal, lateral) and returns the events.</summary>
    private static List<TimedValue> Run(HarshDrivingSettings settings, params (int Ms, double Ax, double Ay)[] segments)
    {
        var detector = new HarshDrivingDetector(settings);
        var events = new List<TimedValue>();
        long t = 0;
        foreach (var (ms, ax, ay) in segments)
            for (var end = t + ms; t < end; t += Step)
                detector.Add(t, ax, ay, events);
        return events;
    }

    private static List<TimedValue> Run(params (int Ms, double Ax, double Ay)[] segments) => Run(new HarshDrivingSettings(), segments);

    private static TimedValue Event(long timestampMs, string type, double magnitude, int durationMs) =>
        new(timestampMs, new DrivingEventValue(type, magnitude, TimeSpan.FromMilliseconds(durationMs)));

    [Fact]
    public void Harsh_brake_should_give_one_event_when_it_ends_with_peak_and_exact_duration()
    {
        var events = Run((1000, 0, 0), (200, -5, 0), (100, -6.2, 0), (200, -4.5, 0), (1000, -0.5, 0));

        // Above the exit threshold from t = 1000 to 1490; the sample at 1500 ends it.
        Assert.Equal([Event(1500, DrivingEventTypes.HarshBrake, 6.2, 500)], events);
    }

    [Fact]
    public void Harsh_acceleration_should_be_found_on_positive_longitudinal_acceleration()
    {
        var events = Run((500, 0, 0), (400, 4, 0), (500, 0.2, 0));

        Assert.Equal([Event(900, DrivingEventTypes.HarshAcceleration, 4, 400)], events);
    }

    [Fact]
    public void Harsh_cornering_should_be_found_on_either_side()
    {
        var events = Run((500, 0, 0), (500, 0, 5), (500, 0, 0), (600, 0, -4.5), (500, 0, 0));

        Assert.Equal(
        [
            Event(1000, DrivingEventTypes.HarshCornering, 5, 500),
            Event(2100, DrivingEventTypes.HarshCornering, 4.5, 600),
        ], events);
    }

    [Fact]
    public void Braking_in_a_corner_should_give_both_events()
    {
        var events = Run((500, 0, 0), (400, -5, 4.5), (500, 0, 0));

        Assert.Equal(
        [
            Event(900, DrivingEventTypes.HarshBrake, 5, 400),
            Event(900, DrivingEventTypes.HarshCornering, 4.5, 400),
        ], events);
    }

    [Fact]
    public void Accelerations_below_the_entry_threshold_should_give_no_event()
    {
        var events = Run((500, 0, 0), (5000, -3.89, 3.89), (5000, 3.39, -3.89), (500, 0, 0));

        Assert.Empty(events);
    }

    [Fact]
    public void Signal_oscillating_around_the_entry_threshold_should_give_one_event()
    {
        // One second alternating between just above the entry (3.9) and just below it, but above the exit (2.73).
        var oscillating = Enumerable.Range(0, 100).Select(i => (Step, i % 2 == 0 ? -4.2 : -3.0, 0.0));
        (int, double, double)[] signal = [(500, 0, 0), .. oscillating, (500, 0, 0)];

        Assert.Equal([Event(1500, DrivingEventTypes.HarshBrake, 4.2, 1000)], Run(signal));

        // Without hysteresis every dip below the entry would end the episode after 10 ms: nothing is long enough.
        Assert.Empty(Run(new HarshDrivingSettings { ExitRatio = 1 }, signal));
    }

    [Fact]
    public void Signal_falling_below_the_exit_threshold_should_end_the_episode()
    {
        var events = Run((500, 0, 0), (400, -4.5, 0), (10, -2.7, 0), (400, -4.5, 0), (500, 0, 0));

        Assert.Equal(
        [
            Event(900, DrivingEventTypes.HarshBrake, 4.5, 400),
            Event(1310, DrivingEventTypes.HarshBrake, 4.5, 400),
        ], events);
    }

    [Theory]
    [InlineData(100, false)]
    [InlineData(290, false)]
    [InlineData(300, true)]
    public void Episode_shorter_than_the_minimum_duration_should_not_be_an_event(int lengthMs, bool isEvent)
    {
        var events = Run((500, 0, 0), (lengthMs, -8, 0), (500, 0, 0));

        var expected = isEvent ? [Event(500 + lengthMs, DrivingEventTypes.HarshBrake, 8, lengthMs)] : new List<TimedValue>();
        Assert.Equal(expected, events);
    }

    [Fact]
    public void Episode_reaching_the_maximum_duration_should_be_reported_then_and_only_once()
    {
        var settings = new HarshDrivingSettings { MaxDuration = TimeSpan.FromSeconds(2) };

        var events = Run(settings, (100, 0, 0), (1000, -5, 0), (4000, -6, 0), (500, 0, 0), (400, -5, 0), (500, 0, 0));

        Assert.Equal(
        [
            Event(2100, DrivingEventTypes.HarshBrake, 6, 2000),
            // A new episode after the first one ended is reported as usual.
            Event(6000, DrivingEventTypes.HarshBrake, 5, 400),
        ], events);
    }

    [Fact]
    public void Smoothing_should_filter_out_a_plateau_too_short_to_reach_the_threshold_through_the_filter()
    {
        (int, double, double)[] shortPlateau = [(100, 0, 0), (350, -4, 0), (500, 0, 0)];
        var smoothed = new HarshDrivingSettings { Smoothing = TimeSpan.FromMilliseconds(100) };

        Assert.Equal([Event(450, DrivingEventTypes.HarshBrake, 4, 350)], Run(shortPlateau));
        Assert.Empty(Run(smoothed, shortPlateau));

        // A long brake still comes through, with the filtered peak.
        var brake = Assert.Single(Run(smoothed, (100, 0, 0), (1000, -5, 0), (500, 0, 0)));
        var value = Assert.IsType<DrivingEventValue>(brake.Value);
        Assert.Equal(DrivingEventTypes.HarshBrake, value.Type);
        Assert.InRange(value.Magnitude, 4.99, 5);
    }

    [Fact]
    public void Non_finite_and_out_of_order_samples_should_be_ignored()
    {
        var detector = new HarshDrivingDetector(new HarshDrivingSettings());
        var events = new List<TimedValue>();
        detector.Add(0, 0, 0, events);
        for (var t = 100; t < 600; t += Step)
        {
            detector.Add(t, -5, 0, events);
            detector.Add(t, double.NaN, double.PositiveInfinity, events);
            detector.Add(t - 50, 0, 0, events);
        }
        detector.Add(600, 0, 0, events);

        Assert.Equal([Event(600, DrivingEventTypes.HarshBrake, 5, 500)], events);
    }

    [Fact]
    public void Random_signals_should_never_throw_nor_give_overlapping_or_weak_or_short_events()
    {
        var total = 0;
        var segment =
            from ms in Gen.Choose(10, 900)
            from ax in Gen.Choose(-90, 90)
            from ay in Gen.Choose(-90, 90)
            select (Ms: ms, Ax: ax / 10.0, Ay: ay / 10.0);
        var scenario =
            from segments in segment.ListOf()
            from step in Gen.Choose(1, 40)
            from exit in Gen.Choose(20, 100)
            from min in Gen.Choose(0, 600)
            from extra in Gen.Choose(0, 3000)
            from smoothing in Gen.Elements(0, 0, 20, 150)
            from seed in Gen.Choose(0, int.MaxValue)
            select (Segments: segments, Step: step, Seed: seed, Settings: new HarshDrivingSettings
            {
                ExitRatio = exit / 100.0,
                MinDuration = TimeSpan.FromMilliseconds(min),
                MaxDuration = TimeSpan.FromMilliseconds(min + extra + 1),
                Smoothing = TimeSpan.FromMilliseconds(smoothing),
            });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(scenario.ToArbitrary(), s =>
        {
            var detector = new HarshDrivingDetector(s.Settings);
            var events = new List<TimedValue>();
            var noise = new Random(s.Seed);
            long t = 0;
            foreach (var (ms, ax, ay) in s.Segments)
                for (var end = t + ms; t < end; t += s.Step)
                    detector.Add(t, ax + noise.NextDouble() - 0.5, ay + noise.NextDouble() - 0.5, events);

            var found = events.Select(e => (End: e.TimestampMs, Value: Assert.IsType<DrivingEventValue>(e.Value))).ToList();
            foreach (var (_, value) in found)
            {
                var entry = value.Type switch
                {
                    DrivingEventTypes.HarshBrake => s.Settings.Brake,
                    DrivingEventTypes.HarshAcceleration => s.Settings.Acceleration,
                    DrivingEventTypes.HarshCornering => s.Settings.Cornering,
                    _ => throw new InvalidOperationException($"unknown event type {value.Type}"),
                };
                Assert.True(value.Magnitude >= entry, $"{value.Type} of {value.Magnitude} m/s² is below its entry threshold {entry}");
                Assert.True(value.Duration >= s.Settings.MinDuration, $"{value.Type} lasted {value.Duration}, less than {s.Settings.MinDuration}");
            }
            // Episodes of one kind never overlap, and braking and accelerating (one axis) never overlap each other.
            AssertNoOverlap(found.Where(e => e.Value.Type == DrivingEventTypes.HarshCornering));
            AssertNoOverlap(found.Where(e => e.Value.Type != DrivingEventTypes.HarshCornering));
            total += found.Count;
        }));

        // The property must have been exercised, not passed vacuously.
        Assert.True(total > 100, $"only {total} events in all the random signals");
    }

    private static void AssertNoOverlap(IEnumerable<(long End, DrivingEventValue Value)> events)
    {
        var ordered = events.OrderBy(e => e.End).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            var start = ordered[i].End - (long)ordered[i].Value.Duration.TotalMilliseconds;
            Assert.True(start >= ordered[i - 1].End,
                $"{ordered[i].Value.Type} from {start} to {ordered[i].End} overlaps {ordered[i - 1].Value.Type} ending at {ordered[i - 1].End}");
        }
    }
}
