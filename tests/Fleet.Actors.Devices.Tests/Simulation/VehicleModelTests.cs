using FsCheck;
using FsCheck.Xunit;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Simulation;

namespace Fleet.Actors.Devices.Tests.Simulation;

/// <summary>
/// The simulated truck: repeatable for a seed, physically sane, and with the events the rest of the
/// agent is meant to see (stops, harsh brakes, corners). Every test samples <c>At(start + t)</c>
/// directly, so an hour of driving takes milliseconds.
/// </summary>
public sealed class VehicleModelTests
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 6, 0, 0, TimeSpan.Zero);
    private static readonly int[] Seeds = [1, 2, 3, 5, 8, 13, 15, 21];

    // The waypoints of Route.HamburgPort span 53.5283..53.5461 N and 9.9495..9.9905 E.
    private const double MinLat = 53.5283 - 0.01, MaxLat = 53.5461 + 0.01, MinLon = 9.9495 - 0.01, MaxLon = 9.9905 + 0.01;

    /// <summary>Seed 2 brakes harshly about 220 s into its drive (found by sampling seeds 1..20; all but 15 do within the hour).</summary>
    private const int HarshSeed = 2;

    private static VehicleModel Model(int seed) => new(Route.HamburgPort, seed, Start);

    private static IEnumerable<(double T, VehicleState State)> Drive(VehicleModel model, double seconds = 3600, double step = 0.25)
    {
        for (var t = 0.0; t <= seconds; t += step) yield return (t, model.At(Start.AddSeconds(t)));
    }

    [Fact]
    public void A_scripted_brake_should_set_the_acceleration_for_its_window_only_and_leave_the_drive_alone()
    {
        var scripted = new VehicleModel(Route.HamburgPort, 3, Start) { HarshBrakeProbability = 0 };
        var plain = new VehicleModel(Route.HamburgPort, 3, Start) { HarshBrakeProbability = 0 };
        scripted.Script(Start.AddSeconds(100), TimeSpan.FromMilliseconds(800), -6);

        Assert.Equal(-6, scripted.At(Start.AddSeconds(100)).LongitudinalAcceleration);
        Assert.Equal(-6, scripted.At(Start.AddSeconds(100.79)).LongitudinalAcceleration);
        foreach (var t in new[] { 99.99, 100.81, 200 })
            Assert.Equal(plain.At(Start.AddSeconds(t)), scripted.At(Start.AddSeconds(t)));
        // Without harsh brakes of its own, the cycle never decelerates like that.
        Assert.DoesNotContain(Drive(plain), s => s.State.LongitudinalAcceleration <= -4);
        Assert.Equal(plain.At(Start.AddSeconds(100)).Speed, scripted.At(Start.AddSeconds(100)).Speed);
    }

    [Fact]
    public void VehicleModel_should_give_identical_states_for_the_same_seed_and_start()
    {
        var forward = Model(42);
        var shuffled = Model(42);
        var times = Enumerable.Range(0, 7200).Select(i => i * 0.5).ToArray();
        var expected = times.ToDictionary(t => t, t => forward.At(Start.AddSeconds(t)));

        // Sampled in another order (as several sensors on their own threads would), the drive is the same.
        new Random(7).Shuffle(times);
        foreach (var t in times) Assert.Equal(expected[t], shuffled.At(Start.AddSeconds(t)));

        var other = Model(43);
        Assert.Contains(times, t => other.At(Start.AddSeconds(t)) != expected[t]);
    }

    [Property(MaxTest = 200, EndSize = 10_000)]
    public void VehicleModel_should_not_depend_on_the_order_it_is_sampled_in(int seed, NonNegativeInt first, NonNegativeInt second)
    {
        var a = new VehicleModel(Route.HamburgPort, seed, Start);
        var b = new VehicleModel(Route.HamburgPort, seed, Start);
        var t1 = Start.AddSeconds(first.Get % 7200 + 0.37);
        var t2 = Start.AddSeconds(second.Get % 7200 + 0.81);

        var a1 = a.At(t1);
        var a2 = a.At(t2);
        var b2 = b.At(t2);
        var b1 = b.At(t1);

        Assert.Equal(a1, b1);
        Assert.Equal(a2, b2);
    }

    [Property(MaxTest = 300, EndSize = 10_000)]
    public void VehicleModel_should_stay_physically_sane_at_any_time(int seed, NonNegativeInt seconds)
    {
        var state = new VehicleModel(Route.HamburgPort, seed, Start).At(Start.AddSeconds(seconds.Get % 10_800 + 0.5));

        Assert.True(state.Speed >= 0, $"speed {state.Speed}");
        Assert.InRange(state.Heading, 0, 359.999999999);
        Assert.InRange(state.Latitude, MinLat, MaxLat);
        Assert.InRange(state.Longitude, MinLon, MaxLon);
        Assert.InRange(state.FuelLevel, 0, 100);
        Assert.InRange(state.EngineLoad, 0, 100);
        Assert.InRange(state.ThrottlePosition, 0, 100);
    }

    [Fact]
    public void VehicleModel_should_never_report_a_negative_speed()
    {
        foreach (var seed in Seeds)
        {
            var samples = Drive(Model(seed)).ToList();
            Assert.All(samples, s => Assert.True(s.State.Speed >= 0, $"seed {seed}: speed {s.State.Speed} at {s.T}s"));
            // It does drive (so the check above saw real motion), and at a truck's speeds.
            Assert.InRange(samples.Max(s => s.State.Speed), 8, 30);
        }
    }

    [Fact]
    public void VehicleModel_should_stay_on_the_hamburg_route()
    {
        foreach (var seed in Seeds)
        {
            Assert.All(Drive(Model(seed)), s =>
            {
                Assert.InRange(s.State.Latitude, MinLat, MaxLat);
                Assert.InRange(s.State.Longitude, MinLon, MaxLon);
            });
        }
    }

    [Fact]
    public void VehicleModel_should_report_a_heading_from_0_to_under_360()
    {
        foreach (var seed in Seeds)
        {
            var headings = Drive(Model(seed), step: 0.5).Select(s => s.State.Heading).ToList();
            Assert.All(headings, h => Assert.True(h is >= 0 and < 360, $"seed {seed}: heading {h}"));
            // A loop round the port heads every way: the samples cover all four quadrants.
            Assert.Equal(4, headings.Select(h => (int)(h / 90)).Distinct().Count());
        }
    }

    [Fact]
    public void VehicleModel_should_idle_the_engine_when_stopped()
    {
        foreach (var seed in Seeds)
        {
            var stopped = Drive(Model(seed)).Where(s => s.State.Speed == 0).ToList();
            Assert.NotEmpty(stopped);
            Assert.All(stopped, s =>
            {
                Assert.InRange(s.State.EngineRpm, 600, 700);
                Assert.Equal(0, s.State.Gear);
                Assert.Equal(OperationalState.Ready, s.State.State);
            });
        }
    }

    [Fact]
    public void VehicleModel_should_raise_engine_rpm_with_speed_within_a_gear()
    {
        var compared = 0;
        foreach (var seed in Seeds)
        {
            var samples = Drive(Model(seed), step: 0.1).Select(s => s.State).ToList();
            for (var i = 1; i < samples.Count; i++)
            {
                var (before, after) = (samples[i - 1], samples[i]);
                if (before.Gear == 0 || before.Gear != after.Gear || Math.Abs(after.Speed - before.Speed) < 1e-6) continue;
                compared++;
                Assert.True(Math.Sign(after.EngineRpm - before.EngineRpm) == Math.Sign(after.Speed - before.Speed),
                    $"seed {seed}, gear {after.Gear}: {before.Speed:F3} m/s at {before.EngineRpm:F1} rpm, then {after.Speed:F3} m/s at {after.EngineRpm:F1} rpm");
                Assert.InRange(after.EngineRpm, 1000, 1900);
            }
        }
        Assert.True(compared > 1000, $"only {compared} speed changes within a gear were seen");
    }

    [Fact]
    public void VehicleModel_should_warm_the_coolant_towards_88_degrees()
    {
        var samples = Drive(Model(3), seconds: 7200, step: 1).Select(s => s.State.CoolantTemperature).ToList();

        Assert.InRange(samples[0], 15, 25);
        for (var i = 1; i < samples.Count; i++) Assert.True(samples[i] >= samples[i - 1], $"coolant cooled at {i}s");
        Assert.All(samples, c => Assert.True(c <= 88, $"coolant {c} above 88 °C"));
        Assert.InRange(samples[1800], 85, 88);
        Assert.InRange(samples[^1], 87.5, 88);
    }

    [Fact]
    public void VehicleModel_should_use_fuel_over_time()
    {
        foreach (var seed in Seeds)
        {
            var fuel = Drive(Model(seed), step: 1).Select(s => s.State.FuelLevel).ToList();
            for (var i = 1; i < fuel.Count; i++) Assert.True(fuel[i] <= fuel[i - 1], $"seed {seed}: fuel rose at {i}s");
            // An hour round the port burns a few percent of a 400 l tank.
            Assert.InRange(fuel[0] - fuel[^1], 1, 15);
        }
    }

    [Fact]
    public void VehicleModel_should_move_odometer_and_speed_together()
    {
        var model = Model(5);
        var previous = model.At(Start);
        for (var t = 0.1; t <= 1800; t += 0.1)
        {
            var current = model.At(Start.AddSeconds(t));
            var travelled = (current.OdometerKm - previous.OdometerKm) * 1000;
            var expected = (previous.Speed + current.Speed) / 2 * 0.1;
            Assert.True(Math.Abs(travelled - expected) < 0.05, $"at {t:F1}s travelled {travelled:F3} m but speed says {expected:F3} m");
            previous = current;
        }
    }

    [Fact]
    public void VehicleModel_should_brake_harshly_within_an_hour_for_a_fixed_seed()
    {
        var harsh = Drive(Model(HarshSeed), step: 0.1).Where(s => s.State.LongitudinalAcceleration <= -5).ToList();

        Assert.NotEmpty(harsh);
        // A harsh brake is a real brake: the truck was moving and slows down.
        var (t, state) = harsh[0];
        Assert.True(state.Speed > 0);
        Assert.True(Model(HarshSeed).At(Start.AddSeconds(t + 0.5)).Speed < state.Speed);
        // And it stays within what a truck can do (the documented peak is 0.5 g plus the model's spread).
        Assert.All(harsh, s => Assert.True(s.State.LongitudinalAcceleration >= -7.5, $"{s.State.LongitudinalAcceleration} m/s² at {s.T}s"));
    }

    [Fact]
    public void VehicleModel_should_not_brake_harshly_when_harsh_braking_is_turned_off()
    {
        var model = new VehicleModel(Route.HamburgPort, HarshSeed, Start) { HarshBrakeProbability = 0 };

        var hardest = Drive(model, step: 0.1).Min(s => s.State.LongitudinalAcceleration);

        Assert.True(hardest > -5, $"braked at {hardest} m/s²");
        Assert.True(hardest < -0.5, "never braked at all");
    }

    [Fact]
    public void VehicleModel_should_feel_lateral_acceleration_in_corners_and_none_on_straights()
    {
        int cornering = 0, straight = 0;
        var model = Model(8);
        double HeadingAt(double t) => model.At(Start.AddSeconds(t)).Heading;
        foreach (var (t, state) in Drive(model, seconds: 1800, step: 0.5))
        {
            if (state.Speed < 2) continue;
            if (state.LateralAcceleration != 0)
            {
                // Turning right (heading increasing) pushes to the right: positive lateral acceleration and yaw rate.
                cornering++;
                var turn = SignedTurn(HeadingAt(t - 0.05), HeadingAt(t + 0.05));
                Assert.True(Math.Sign(turn) == Math.Sign(state.LateralAcceleration),
                    $"lateral {state.LateralAcceleration:F2} m/s² while the heading turned {turn:F3}° at {t}s");
                Assert.Equal(Math.Sign(state.LateralAcceleration), Math.Sign(state.YawRate));
            }
            else if (HeadingAt(t - 1) == state.Heading && HeadingAt(t + 1) == state.Heading)
            {
                straight++;
                Assert.Equal(0, state.YawRate);
            }
        }
        Assert.True(cornering > 20, $"only {cornering} samples in corners");
        Assert.True(straight > 100, $"only {straight} samples on straights");

        // Every corner is felt, not just a few: wherever the heading turns, there is lateral acceleration.
        foreach (var (t, state) in Drive(model, seconds: 1800, step: 0.5))
        {
            if (state.Speed < 2) continue;
            var before = SignedTurn(HeadingAt(t - 0.05), state.Heading);
            var after = SignedTurn(state.Heading, HeadingAt(t + 0.05));
            if (Math.Abs(before) > 1e-9 && Math.Abs(after) > 1e-9)
                Assert.True(Math.Abs(state.LateralAcceleration) > 0.05, $"no lateral acceleration while turning at {t}s");
        }
    }

    [Fact]
    public void VehicleModel_should_give_the_start_state_for_times_before_the_start()
    {
        var model = Model(1);

        Assert.Equal(model.At(Start), model.At(Start.AddMinutes(-5)));
        Assert.Equal(0, model.At(Start).Speed);
    }

    private static double SignedTurn(double from, double to)
    {
        var d = (to - from) % 360;
        if (d > 180) d -= 360;
        if (d < -180) d += 360;
        return d;
    }
}
