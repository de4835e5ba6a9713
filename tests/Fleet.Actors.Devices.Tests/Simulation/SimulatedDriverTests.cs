using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;
using Fleet.Actors.Testing;

namespace Fleet.Actors.Devices.Tests.Simulation;

/// <summary>
/// The simulated GPS, OBD and IMU drivers, created through <see cref="SensorDriverRegistry.Default"/>
/// as the agent creates them, on a <see cref="VirtualClock"/>: reads wait for simulated time only, and
/// the clock tells which timers the driver armed and which went off.
/// </summary>
public sealed class SimulatedDriverTests
{
    private const string VehicleId = "truck-sim";
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 6, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly VirtualClock _time = new(Start);
    private readonly SimulationContext _simulation;

    public SimulatedDriverTests()
    {
        _simulation = SimulationContext.For(VehicleId, new SimulationSettings { Seed = 7 }, _time);
    }

    public static TheoryData<string> Types => new() { SimulatedGpsDriver.TypeName, SimulatedObdDriver.TypeName, SimulatedImuDriver.TypeName };

    private ISensorDriver Create(string type, double rateHz = 10, FaultSettings? faults = null, string? id = null)
    {
        var settings = new SensorSettings { Id = id ?? type + "-1", Type = type, RateHz = rateHz, Faults = faults ?? new FaultSettings() };
        Assert.True(SensorDriverRegistry.Default.TryGet(type, out var factory), $"{type} is not registered");
        Assert.Empty(factory.Validate(settings));
        return factory.Create(settings, new DriverContext(VehicleId, _time, _simulation));
    }

    private FaultKnobs Knobs(string type) => _simulation.Knobs(type + "-1");

    /// <summary>Reads after <paramref name="advance"/> of simulated time, when the samples are already due.</summary>
    private async Task<SensorRead> ReadAfter(ISensorDriver driver, TimeSpan advance)
    {
        _time.Advance(advance);
        return await driver.ReadAsync(CancellationToken.None).WaitAsync(Patience);
    }

    private static long Ms(TimeSpan offset) => (Start + offset).ToUnixTimeMilliseconds();

    [Fact]
    public void Default_registry_should_know_the_simulated_and_the_real_drivers()
    {
        Assert.Equal(["gps-nmea", "imu-mpu6050", "j1939-slcan", "j1939-socketcan", "obd-elm327", "sim-gps", "sim-imu", "sim-obd"], SensorDriverRegistry.Default.Types);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Simulated_driver_factories_should_refuse_impossible_options(string type)
    {
        Assert.True(SensorDriverRegistry.Default.TryGet(type, out var factory));
        var settings = new SensorSettings
        {
            Id = "x",
            Type = type,
            RateHz = 0,
            Faults = new FaultSettings { GarbageRate = 1.5, OpenFailures = -1, SlowResponse = TimeSpan.FromSeconds(-1) },
        };

        var keys = factory.Validate(settings).Select(p => p.Key).ToList();

        Assert.Equal(["rate-hz", "faults.garbage-rate", "faults.slow-response", "faults.open-failures"], keys);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public async Task Simulated_driver_should_deliver_samples_at_the_configured_rate(string type)
    {
        await using var driver = Create(type, rateHz: 10);
        await driver.OpenAsync(CancellationToken.None);

        var first = await ReadAfter(driver, TimeSpan.Zero);
        Assert.Equal([Ms(TimeSpan.Zero)], first.Values.Select(v => v.TimestampMs).Distinct());

        // Each read waits for the next sample, due 100 ms of simulated time later, and not before.
        for (var k = 1; k <= 30; k++)
        {
            var read = driver.ReadAsync(CancellationToken.None);
            _time.Advance(TimeSpan.FromMilliseconds(99));
            Assert.False(read.IsCompleted, $"sample {k} came early");
            _time.Advance(TimeSpan.FromMilliseconds(1));
            var result = await read.WaitAsync(Patience);
            Assert.Equal([Ms(TimeSpan.FromMilliseconds(100 * k))], result.Values.Select(v => v.TimestampMs).Distinct());
            Assert.Equal(0, result.Missed);
        }

        // A read that comes a second late returns the ten samples due since, 100 ms apart.
        var late = await ReadAfter(driver, TimeSpan.FromSeconds(1));
        var stamps = late.Values.Select(v => v.TimestampMs).Distinct().ToList();
        Assert.Equal(Enumerable.Range(31, 10).Select(k => Ms(TimeSpan.FromMilliseconds(100 * k))), stamps);
        Assert.Equal(0, late.Missed);
    }

    /// <summary>
    /// Exposes a bug: at 30 Hz samples fall due at fractional milliseconds (33.33 ms apart), but the
    /// driver truncates the clock to whole milliseconds after waiting, so a read woken when its sample
    /// is due finds it "not yet due" and returns nothing (and the next read waits for a sub-millisecond
    /// delay, which a real timer rounds to zero: a short busy loop through the sensor actor).
    /// </summary>
    [Fact]
    public async Task Simulated_driver_should_return_the_due_sample_when_the_rate_is_not_a_whole_number_of_milliseconds()
    {
        await using var driver = Create(SimulatedImuDriver.TypeName, rateHz: 30);
        await driver.OpenAsync(CancellationToken.None);
        Assert.Single((await ReadAfter(driver, TimeSpan.Zero)).Values);

        var read = driver.ReadAsync(CancellationToken.None);
        var due = TimeSpan.FromMilliseconds(1000.0 / 30);
        _time.Advance(due);
        // The sample is due now. A driver may choose to wait until the next whole millisecond, never longer:
        // simulated time stands still until it has either answered or armed a timer to wait on.
        await Poll.UntilAsync(() => read.IsCompleted || _time.ArmedTimers > 0, "the read answered or waits on the clock");
        if (!read.IsCompleted) _time.Advance(TimeSpan.FromMilliseconds(1));
        var result = await read.WaitAsync(Patience);

        Assert.True(result.Values.Count == 1, $"the read returned {result.Values.Count} samples when one was due");
        Assert.InRange(result.Values[0].TimestampMs, Ms(due) - 1, Ms(due));
    }

    [Theory]
    [InlineData("sim-gps", 1)]
    [InlineData("sim-imu", 1)]
    [InlineData("sim-obd", 7)]
    public async Task Simulated_driver_should_observe_what_its_device_reports_per_sample(string type, int valuesPerSample)
    {
        await using var driver = Create(type, rateHz: 5);
        await driver.OpenAsync(CancellationToken.None);

        var read = await ReadAfter(driver, TimeSpan.FromSeconds(2) - TimeSpan.FromMilliseconds(200));

        var perSample = read.Values.GroupBy(v => v.TimestampMs).ToList();
        Assert.Equal(10, perSample.Count);
        Assert.All(perSample, sample => Assert.Equal(valuesPerSample, sample.Count(v => v.Value is not StatusValue)));
        switch (type)
        {
            case "sim-gps":
                Assert.All(read.Values, v => Assert.IsType<PositionValue>(v.Value));
                break;
            case "sim-imu":
                Assert.All(read.Values, v => Assert.IsType<MotionValue>(v.Value));
                break;
            default:
                var names = read.Values.Select(v => v.Value).OfType<MeasurementValue>().Select(m => m.Name).ToHashSet();
                Assert.Equal(["coolant_temp", "engine_load", "engine_rpm", "fuel_level", "fuel_rate", "throttle_position", "vehicle_speed"], names.Order());
                // A status every fifth sample.
                Assert.Equal(2, read.Values.Count(v => v.Value is StatusValue));
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public async Task Simulated_driver_values_should_pass_the_validator_for_an_hour_of_driving(string type)
    {
        await using var driver = Create(type, rateHz: 5);
        await driver.OpenAsync(CancellationToken.None);

        var values = 0;
        for (var elapsed = TimeSpan.Zero; elapsed < TimeSpan.FromHours(1); elapsed += TimeSpan.FromSeconds(4))
        {
            var read = await ReadAfter(driver, TimeSpan.FromSeconds(4));
            Assert.Empty(read.Malformed);
            Assert.Equal(0, read.Missed);
            foreach (var value in read.Values)
            {
                Assert.Null(ReadingValidator.Validate(value.Value));
                values++;
            }
        }
        Assert.True(values >= 3600 * 5, $"only {values} values in an hour at 5 Hz");
    }

    [Fact]
    public async Task Simulated_gps_should_report_fixes_near_the_vehicle_on_its_route()
    {
        await using var driver = Create(SimulatedGpsDriver.TypeName, rateHz: 2);
        await driver.OpenAsync(CancellationToken.None);

        for (var i = 0; i < 100; i++)
        {
            var read = await ReadAfter(driver, TimeSpan.FromSeconds(10));
            foreach (var value in read.Values)
            {
                var fix = Assert.IsType<PositionValue>(value.Value);
                var truth = _simulation.Model.At(DateTimeOffset.FromUnixTimeMilliseconds(value.TimestampMs));
                // Metre-level noise: within about 30 m of the truth.
                Assert.InRange(fix.Latitude - truth.Latitude, -0.0003, 0.0003);
                Assert.InRange(fix.Longitude - truth.Longitude, -0.0005, 0.0005);
                Assert.InRange(fix.Speed!.Value - truth.Speed, -1, 1);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public async Task Simulated_driver_garbage_should_give_malformed_frames_and_values_the_validator_refuses(string type)
    {
        await using var driver = Create(type, rateHz: 10, faults: new FaultSettings { GarbageRate = 0.3 });
        await driver.OpenAsync(CancellationToken.None);

        var read = await ReadAfter(driver, TimeSpan.FromSeconds(4.9));

        Assert.NotEmpty(read.Malformed);
        Assert.All(read.Malformed, frame =>
        {
            Assert.False(string.IsNullOrWhiteSpace(frame.Reason));
            Assert.False(string.IsNullOrEmpty(frame.Excerpt));
        });
        var refused = read.Values.Count(v => ReadingValidator.Validate(v.Value) is not null);
        var accepted = read.Values.Count - refused;
        Assert.True(refused > 0, "garbage produced no value the validator refuses");
        Assert.True(accepted > refused, $"{accepted} good values against {refused} bad at a 30% garbage rate");

        // The knob is live: turned off, the next read is clean.
        Knobs(type).GarbageRate = 0;
        var clean = await ReadAfter(driver, TimeSpan.FromSeconds(2));
        Assert.Empty(clean.Malformed);
        Assert.All(clean.Values, v => Assert.Null(ReadingValidator.Validate(v.Value)));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public async Task Disconnected_simulated_driver_should_throw_IOException_on_open_and_read(string type)
    {
        await using var driver = Create(type);
        var knobs = Knobs(type);

        knobs.Disconnected = true;
        await Assert.ThrowsAsync<IOException>(() => driver.OpenAsync(CancellationToken.None));

        knobs.Disconnected = false;
        await driver.OpenAsync(CancellationToken.None);
        Assert.NotEmpty((await ReadAfter(driver, TimeSpan.FromMilliseconds(100))).Values);

        knobs.Disconnected = true;
        await Assert.ThrowsAsync<IOException>(() => ReadAfter(driver, TimeSpan.FromMilliseconds(100)));

        knobs.Disconnected = false;
        Assert.NotEmpty((await ReadAfter(driver, TimeSpan.FromMilliseconds(100))).Values);
    }

    [Fact]
    public async Task Simulated_driver_with_certain_disconnect_probability_should_fail_every_read()
    {
        await using var driver = Create(SimulatedImuDriver.TypeName, faults: new FaultSettings { DisconnectProbability = 1 });
        await driver.OpenAsync(CancellationToken.None);

        for (var i = 0; i < 5; i++) await Assert.ThrowsAsync<IOException>(() => ReadAfter(driver, TimeSpan.FromMilliseconds(100)));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public async Task Stalled_simulated_driver_should_wait_until_cancelled(string type)
    {
        await using var driver = Create(type);
        await driver.OpenAsync(CancellationToken.None);
        Knobs(type).Stalled = true;
        using var cancellation = new CancellationTokenSource();

        var read = driver.ReadAsync(cancellation.Token);
        _time.Advance(TimeSpan.FromHours(1));
        // Nothing but the cancellation can end the read: it armed no timer, and in an hour none went off.
        Assert.Empty(_time.Fired);
        Assert.Equal(0, _time.ArmedTimers);
        Assert.False(read.IsCompleted, "a stalled device answered");

        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(Patience));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public async Task FailNextOpens_should_fail_exactly_that_many_opens(string type)
    {
        await using var driver = Create(type);
        Knobs(type).FailNextOpens(3);

        for (var i = 0; i < 3; i++) await Assert.ThrowsAsync<IOException>(() => driver.OpenAsync(CancellationToken.None));
        await driver.OpenAsync(CancellationToken.None);
        await driver.OpenAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Configured_open_failures_should_fail_the_first_opens_only()
    {
        await using var driver = Create(SimulatedObdDriver.TypeName, faults: new FaultSettings { OpenFailures = 2 });

        await Assert.ThrowsAsync<IOException>(() => driver.OpenAsync(CancellationToken.None));
        await Assert.ThrowsAsync<IOException>(() => driver.OpenAsync(CancellationToken.None));
        await driver.OpenAsync(CancellationToken.None);

        // The knobs outlive the driver (a restarted sensor gets a new one): the failures are used up.
        await using var next = Create(SimulatedObdDriver.TypeName, faults: new FaultSettings { OpenFailures = 2 });
        await next.OpenAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Slow_simulated_driver_should_answer_only_after_its_delay()
    {
        await using var driver = Create(SimulatedGpsDriver.TypeName, faults: new FaultSettings { SlowResponse = TimeSpan.FromSeconds(2) });

        var open = driver.OpenAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.False(open.IsCompleted, "opened before its delay");
        _time.Advance(TimeSpan.FromSeconds(0.1));
        await open.WaitAsync(Patience);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public async Task Late_read_should_report_samples_older_than_five_seconds_as_missed(string type)
    {
        await using var driver = Create(type, rateHz: 10);
        await driver.OpenAsync(CancellationToken.None);

        // Just under five seconds late: everything is still delivered.
        var onTime = await ReadAfter(driver, TimeSpan.FromSeconds(4.9));
        Assert.Equal(0, onTime.Missed);
        Assert.Equal(50, onTime.Values.Select(v => v.TimestampMs).Distinct().Count());

        // Ten seconds late: 100 samples were due; the newest 50 (five seconds' worth) come, 50 are missed.
        var late = await ReadAfter(driver, TimeSpan.FromSeconds(10));
        Assert.Equal(50, late.Missed);
        var stamps = late.Values.Select(v => v.TimestampMs).Distinct().ToList();
        Assert.Equal(Enumerable.Range(1, 50).Select(k => Ms(TimeSpan.FromSeconds(9.9) + TimeSpan.FromMilliseconds(100 * k))), stamps);

        // And the driver is back on schedule.
        var next = await ReadAfter(driver, TimeSpan.FromMilliseconds(100));
        Assert.Equal([Ms(TimeSpan.FromSeconds(15))], next.Values.Select(v => v.TimestampMs).Distinct());
        Assert.Equal(0, next.Missed);
    }
}
