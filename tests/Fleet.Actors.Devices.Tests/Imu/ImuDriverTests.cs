using System.Device.I2c;
using System.Diagnostics;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Imu;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;
using Fleet.Actors.Testing;

namespace Fleet.Actors.Devices.Tests.Imu;

/// <summary>
/// <see cref="ImuDriver"/> against a <see cref="SimulatedI2cDevice"/> on simulated time: the test
/// advances the clock one sample period at a time, so every tick of the reader thread is one
/// burst read, and waits for the driver's answer with a generous timeout. Whether a timeout went
/// off is read from the <see cref="VirtualClock"/>, which records it as it fires.
/// </summary>
public sealed class ImuDriverTests : IAsyncDisposable
{
    private const string VehicleId = "truck-imu";
    private const string SensorId = "imu-1";
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 6, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly VirtualClock _time = new(Start);
    private readonly SimulationContext _simulation;
    private readonly List<ImuDriver> _drivers = new();

    public ImuDriverTests()
    {
        _simulation = SimulationContext.For(VehicleId, new SimulationSettings { Seed = 7 }, _time);
    }

    private FaultKnobs Knobs => _simulation.Knobs(SensorId);

    public async ValueTask DisposeAsync()
    {
        // Release anything a test left stuck, so that reader threads end.
        Knobs.Stalled = false;
        foreach (var driver in _drivers) await driver.DisposeAsync();
    }

    private (ImuDriver Driver, SimulatedI2cDevice Device) Create(double rateHz = 10, ImuOptions? options = null, int? capacity = null)
    {
        options ??= new ImuOptions { Simulated = true };
        var settings = new SensorSettings { Id = SensorId, Type = ImuDriver.TypeName, RateHz = rateHz, DriverOptions = options };
        var device = new SimulatedI2cDevice(new I2cConnectionSettings(options.Bus, options.Address), _simulation.Model,
            _simulation.Knobs(SensorId, settings.Faults), _time, options.Axes, seed: 3);
        var driver = new ImuDriver(settings, options, () => device, _time, capacity);
        _drivers.Add(driver);
        return (driver, device);
    }

    private static TimeSpan Period(double rateHz) => TimeSpan.FromSeconds(1 / rateHz);

    /// <summary>Starts a read, lets one sample period pass, and returns what the read delivered.</summary>
    private async Task<SensorRead> NextRead(ImuDriver driver, TimeSpan period)
    {
        var read = driver.ReadAsync(CancellationToken.None);
        _time.Advance(period);
        return await read.WaitAsync(Patience);
    }

    [Theory]
    [InlineData("x,y,z")]
    [InlineData("-y,x,z")]
    [InlineData("z,-x,-y")]
    public async Task Driver_should_deliver_one_sample_per_period_consistent_with_the_vehicle_model(string axes)
    {
        var (driver, device) = Create(rateHz: 10, new ImuOptions { Simulated = true, Axes = AxisMapping.Parse(axes), AccelRangeG = 2 });
        await driver.OpenAsync(CancellationToken.None);
        Assert.Equal(0x68, driver.Identity);
        double strongestLongitudinal = 0, strongestLateral = 0;

        for (var k = 1; k <= 900; k++)
        {
            var read = await NextRead(driver, Period(10));

            var sample = Assert.Single(read.Values);
            Assert.Empty(read.Malformed);
            Assert.Equal(0, read.Missed);
            Assert.Equal((Start + TimeSpan.FromMilliseconds(100 * k)).ToUnixTimeMilliseconds(), sample.TimestampMs);
            var motion = Assert.IsType<MotionValue>(sample.Value);
            var truth = _simulation.Model.At(DateTimeOffset.FromUnixTimeMilliseconds(sample.TimestampMs));
            // Vibration noise is 0.15 m/s² (σ) while moving; in the wire's frame y is left and yaw is anticlockwise.
            Assert.InRange(motion.AccelX - truth.LongitudinalAcceleration, -1, 1);
            Assert.InRange(motion.AccelY + truth.LateralAcceleration, -1, 1);
            Assert.InRange(motion.AccelZ - Mpu6050.Gravity, -1.5, 1.5);
            Assert.InRange(motion.GyroZ!.Value + truth.YawRate, -1.5, 1.5);
            strongestLongitudinal = Math.Max(strongestLongitudinal, Math.Abs(truth.LongitudinalAcceleration));
            strongestLateral = Math.Max(strongestLateral, Math.Abs(truth.LateralAcceleration));
        }
        // The 90 s drive had real motion to compare against, not just a truck standing still.
        Assert.True(strongestLongitudinal > 0.5, $"strongest longitudinal acceleration {strongestLongitudinal}");
        Assert.True(strongestLateral > 0.5, $"strongest lateral acceleration {strongestLateral}");
        Assert.Equal(900, device.BurstReads);
    }

    [Fact]
    public async Task Driver_should_configure_the_chip_with_the_configured_ranges_and_rate()
    {
        var (driver, device) = Create(rateHz: 50, new ImuOptions { Simulated = true, AccelRangeG = 16, GyroRangeDps = 2000 });

        await driver.OpenAsync(CancellationToken.None);

        Assert.Equal(3 << 3, device.Register(Mpu6050.AccelConfig));
        Assert.Equal(3 << 3, device.Register(Mpu6050.GyroConfig));
        Assert.Equal(19, device.Register(Mpu6050.SmplrtDiv));
        Assert.Equal(4, device.Register(Mpu6050.Config));
        Assert.Equal(0, device.Register(Mpu6050.PwrMgmt1) & Mpu6050.SleepBit);
    }

    [Fact]
    public async Task Driver_should_hand_over_samples_in_a_bounded_buffer_that_drops_the_oldest_and_counts_them()
    {
        var (driver, _) = Create(rateHz: 10, capacity: 4);
        await driver.OpenAsync(CancellationToken.None);

        // The reader takes ten samples while nobody reads.
        for (var k = 1; k <= 10; k++)
        {
            _time.Advance(Period(10));
            await Poll.UntilAsync(() => driver.SamplesTaken == k, $"sample {k} was taken");
        }

        var read = await driver.ReadAsync(CancellationToken.None).WaitAsync(Patience);

        // The newest four are delivered, the six older ones are counted as missed.
        Assert.Equal(Enumerable.Range(7, 4).Select(k => (Start + TimeSpan.FromMilliseconds(100 * k)).ToUnixTimeMilliseconds()),
            read.Values.Select(v => v.TimestampMs));
        Assert.Equal(6, read.Missed);

        // The count was reported once; the next read is back to normal.
        var next = await NextRead(driver, Period(10));
        Assert.Single(next.Values);
        Assert.Equal(0, next.Missed);
    }

    [Fact]
    public async Task Ticks_the_reader_could_not_keep_up_with_should_be_counted_as_missed()
    {
        var (driver, _) = Create(rateHz: 10);
        await driver.OpenAsync(CancellationToken.None);

        // A whole second passes at once (the thread was descheduled, or a transfer was slow).
        _time.Advance(TimeSpan.FromSeconds(1));

        long delivered = 0, missed = 0;
        while (delivered + missed < 10)
        {
            var read = await driver.ReadAsync(CancellationToken.None).WaitAsync(Patience);
            // Samples only: a harsh-driving event the detector found rides along in the same read.
            delivered += read.Values.Count(v => v.Value is MotionValue);
            missed += read.Missed;
        }
        // Every one of the ten periods is either a sample or a counted miss, and at least one was missed.
        Assert.Equal(10, delivered + missed);
        Assert.True(missed > 0, "ten periods passed in one step but no sample was reported missed");
    }

    [Fact]
    public async Task Driver_on_the_system_clock_should_account_for_no_more_samples_than_periods_passed()
    {
        var options = new ImuOptions { Simulated = true };
        var settings = new SensorSettings { Id = SensorId, Type = ImuDriver.TypeName, RateHz = 100, DriverOptions = options };
        var device = new SimulatedI2cDevice(new I2cConnectionSettings(1, 0x68), _simulation.Model, Knobs, TimeProvider.System);
        await using var driver = new ImuDriver(settings, options, () => device, TimeProvider.System);
        var window = Stopwatch.StartNew();
        await driver.OpenAsync(CancellationToken.None);

        long delivered = 0, missed = 0;
        while (window.Elapsed < TimeSpan.FromSeconds(1))
        {
            var read = await driver.ReadAsync(CancellationToken.None).WaitAsync(Patience);
            // Samples only: a harsh-driving event the detector found rides along in the same read.
            delivered += read.Values.Count(v => v.Value is MotionValue);
            missed += read.Missed;
            Assert.Empty(read.Malformed);
        }
        var periods = window.Elapsed.TotalMilliseconds / 10;

        // Every period is a sample or a counted miss; how many were missed depends on the machine's load.
        Assert.True(delivered > 0, "no sample in a second");
        Assert.True(delivered + missed <= periods, $"{delivered} samples and {missed} missed in {periods:F1} periods");
    }

    [Fact]
    public async Task Nack_from_the_chip_should_make_the_read_throw_IOException_after_delivering_what_was_read()
    {
        var (driver, _) = Create(rateHz: 10);
        await driver.OpenAsync(CancellationToken.None);
        Assert.Single((await NextRead(driver, Period(10))).Values);

        Knobs.Disconnected = true;
        var failed = await Assert.ThrowsAsync<IOException>(() => NextRead(driver, Period(10)));

        Assert.Contains("no acknowledge from 0x68", failed.Message, StringComparison.Ordinal);
        // It stays failed: the sensor actor restarts the driver.
        await Assert.ThrowsAsync<IOException>(() => driver.ReadAsync(CancellationToken.None).WaitAsync(Patience));
    }

    [Fact]
    public async Task Samples_read_before_a_bus_failure_should_still_be_delivered()
    {
        var (driver, device) = Create(rateHz: 10);
        await driver.OpenAsync(CancellationToken.None);
        for (var k = 1; k <= 2; k++)
        {
            _time.Advance(Period(10));
            await Poll.UntilAsync(() => device.BurstReads == k, $"sample {k} was read");
        }

        Knobs.Disconnected = true;
        _time.Advance(Period(10));
        var read = await driver.ReadAsync(CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(2, read.Values.Count);
        await Assert.ThrowsAsync<IOException>(() => driver.ReadAsync(CancellationToken.None).WaitAsync(Patience));
    }

    [Fact]
    public async Task Stuck_bus_should_make_the_read_throw_IOException_after_a_period_and_the_bus_timeout()
    {
        var options = new ImuOptions { Simulated = true, BusTimeout = TimeSpan.FromSeconds(2) };
        var (driver, _) = Create(rateHz: 10, options);
        await driver.OpenAsync(CancellationToken.None);
        Knobs.Stalled = true;

        var read = driver.ReadAsync(CancellationToken.None);
        _time.Advance(Period(10));
        _time.Advance(TimeSpan.FromSeconds(1.9));
        // The simulated chip's own stalled transfer may time out meanwhile (its reader thread arms
        // that timer whenever it gets to run): only the read's watchdog is pinned down here.
        Assert.DoesNotContain(Start + TimeSpan.FromSeconds(2.1), _time.TimeoutsFired);
        Assert.False(read.IsCompleted, "the read gave up before the bus timeout");

        _time.Advance(TimeSpan.FromSeconds(0.1));
        var failed = await Assert.ThrowsAsync<IOException>(() => read.WaitAsync(Patience));
        Assert.Contains("no sample for 2.1 s (bus stuck?)", failed.Message, StringComparison.Ordinal);
        // The read's timeout went off one period plus the bus timeout after the read began.
        Assert.Contains(Start + TimeSpan.FromSeconds(2.1), _time.TimeoutsFired);
    }

    [Fact]
    public async Task Stuck_bus_while_opening_should_fail_the_open_after_the_bus_timeout()
    {
        var (driver, _) = Create();
        Knobs.Stalled = true;

        var open = driver.OpenAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.Empty(_time.TimeoutsFired);
        Assert.False(open.IsCompleted, "the open gave up before the bus timeout");
        _time.Advance(TimeSpan.FromSeconds(0.1));

        var failed = await Assert.ThrowsAsync<IOException>(() => open.WaitAsync(Patience));
        Assert.Contains("no answer within 2 s while opening", failed.Message, StringComparison.Ordinal);
        Assert.Equal([Start + TimeSpan.FromSeconds(2)], _time.TimeoutsFired);
    }

    [Fact]
    public async Task Absent_chip_should_fail_the_open_with_IOException()
    {
        Knobs.FailNextOpens(1);
        var (driver, _) = Create();

        var failed = await Assert.ThrowsAsync<IOException>(() => driver.OpenAsync(CancellationToken.None).WaitAsync(Patience));

        Assert.Contains("no acknowledge", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_chip_should_fail_the_open_naming_its_WHO_AM_I()
    {
        var (driver, device) = Create();
        device.Identity = 0x98;

        var failed = await Assert.ThrowsAsync<IOException>(() => driver.OpenAsync(CancellationToken.None).WaitAsync(Patience));

        Assert.Contains("WHO_AM_I answered 0x98", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Device_that_cannot_be_created_should_fail_the_open_with_IOException()
    {
        var options = new ImuOptions();
        var settings = new SensorSettings { Id = SensorId, Type = ImuDriver.TypeName, RateHz = 10, DriverOptions = options };
        await using var driver = new ImuDriver(settings, options, () => throw new UnauthorizedAccessException("Access to /dev/i2c-1 is denied"), _time);

        var failed = await Assert.ThrowsAsync<IOException>(() => driver.OpenAsync(CancellationToken.None).WaitAsync(Patience));

        Assert.Contains("cannot open the bus (UnauthorizedAccessException: Access to /dev/i2c-1 is denied)", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Garbled_bursts_should_be_delivered_as_malformed_frames_not_values()
    {
        var (driver, device) = Create(rateHz: 10);
        await driver.OpenAsync(CancellationToken.None);
        device.Garbage = I2cGarbage.AllOnes;
        Knobs.GarbageRate = 1;

        for (var k = 0; k < 5; k++)
        {
            var read = await NextRead(driver, Period(10));
            Assert.Empty(read.Values);
            var frame = Assert.Single(read.Malformed);
            Assert.Contains("all-0xFF", frame.Reason, StringComparison.Ordinal);
        }

        Knobs.GarbageRate = 0;
        Assert.IsType<MotionValue>(Assert.Single((await NextRead(driver, Period(10))).Values).Value);
    }

    [Fact]
    public async Task Read_should_honour_cancellation()
    {
        var (driver, _) = Create(rateHz: 10);
        await driver.OpenAsync(CancellationToken.None);
        using var cancellation = new CancellationTokenSource();

        var read = driver.ReadAsync(cancellation.Token);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(Patience));
    }

    [Fact]
    public async Task Dispose_should_stop_the_reader_and_close_the_device()
    {
        var (driver, device) = Create(rateHz: 10);
        await driver.OpenAsync(CancellationToken.None);

        await driver.DisposeAsync();

        Assert.Throws<ObjectDisposedException>(() => device.ReadByte());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => driver.ReadAsync(CancellationToken.None).WaitAsync(Patience));
    }

    [Fact]
    public async Task Harsh_brake_of_the_simulated_truck_should_come_out_of_the_driver_as_an_event()
    {
        // Seed 2 brakes harshly about 220 s into its drive (see VehicleModelTests).
        var model = new VehicleModel(Route.HamburgPort, 2, Start);
        var simulation = new SimulationContext(model, 2);
        var options = new ImuOptions { Simulated = true };
        var settings = new SensorSettings { Id = SensorId, Type = ImuDriver.TypeName, RateHz = 10, DriverOptions = options };
        Assert.True(SensorDriverRegistry.Default.TryGet(ImuDriver.TypeName, out var factory));
        Assert.Empty(factory.Validate(settings));
        var driver = (ImuDriver)factory.Create(settings, new DriverContext(VehicleId, _time, simulation));
        _drivers.Add(driver);
        await driver.OpenAsync(CancellationToken.None);

        var events = new List<TimedValue>();
        for (var k = 0; k < 10 * 300 && events.Count == 0; k++)
        {
            var read = await NextRead(driver, Period(10));
            events.AddRange(read.Values.Where(v => v.Value is DrivingEventValue { Type: DrivingEventTypes.HarshBrake }));
        }

        var brake = Assert.Single(events);
        var value = (DrivingEventValue)brake.Value;
        // The model brakes at 5 to 7 m/s² until the truck stands still.
        Assert.InRange(value.Magnitude, 4.5, 8);
        Assert.True(value.Duration >= TimeSpan.FromMilliseconds(300), $"lasted {value.Duration}");
        var during = model.At(DateTimeOffset.FromUnixTimeMilliseconds(brake.TimestampMs) - value.Duration / 2);
        Assert.True(during.LongitudinalAcceleration <= -5, $"the model was at {during.LongitudinalAcceleration} m/s² in the middle of the event");
    }
}
