using System.Buffers.Binary;
using System.Device.I2c;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Imu;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;
using Microsoft.Extensions.Time.Testing;

namespace Fleet.Actors.Devices.Tests.Imu;

/// <summary>The MPU-6050 register map: burst decoding at every range, mounting, refused bursts, and the start-up sequence.</summary>
public sealed class Mpu6050Tests
{
    private const double G = 9.80665;

    /// <summary>A burst as the chip sends it: seven big-endian int16 from ACCEL_XOUT_H.</summary>
    private static byte[] Burst(short ax, short ay, short az, short temperature, short gx, short gy, short gz)
    {
        var burst = new byte[Mpu6050.BurstLength];
        short[] values = [ax, ay, az, temperature, gx, gy, gz];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt16BigEndian(burst.AsSpan(2 * i), values[i]);
        return burst;
    }

    private static MotionValue Decode(byte[] burst, int accelRangeG = 2, int gyroRangeDps = 250, string axes = "x,y,z")
    {
        var motion = Mpu6050.Decode(burst, accelRangeG, gyroRangeDps, AxisMapping.Parse(axes), out var malformed);
        Assert.Null(malformed);
        return Assert.IsType<MotionValue>(motion);
    }

    [Fact]
    public void Decode_should_read_a_known_burst_as_big_endian_counts_at_2g_and_250dps()
    {
        // accel x +1 g (0x4000), y -0.5 g (0xE000), z +0.25 g (0x1000); temperature; gyro +1, -1, +10 °/s.
        byte[] burst = [0x40, 0x00, 0xE0, 0x00, 0x10, 0x00, 0xF8, 0x30, 0x00, 0x83, 0xFF, 0x7D, 0x05, 0x1E];

        var motion = Decode(burst);

        Assert.Equal(G, motion.AccelX);
        Assert.Equal(-0.5 * G, motion.AccelY);
        Assert.Equal(0.25 * G, motion.AccelZ);
        Assert.Equal(1, motion.GyroX);
        Assert.Equal(-1, motion.GyroY);
        Assert.Equal(10, motion.GyroZ);
    }

    [Theory]
    [InlineData(2, 16384)]
    [InlineData(4, 8192)]
    [InlineData(8, 4096)]
    [InlineData(16, 2048)]
    public void Decode_should_scale_acceleration_by_the_full_scale(int rangeG, short countsPerG)
    {
        var motion = Decode(Burst(countsPerG, (short)(-countsPerG / 2), (short)(countsPerG * 3 / 4), 0, 1, 1, 1), accelRangeG: rangeG);

        Assert.Equal(G, motion.AccelX);
        Assert.Equal(-0.5 * G, motion.AccelY);
        Assert.Equal(0.75 * G, motion.AccelZ);
    }

    [Theory]
    [InlineData(250, 1310)]
    [InlineData(500, 655)]
    [InlineData(1000, 328)]
    [InlineData(2000, 164)]
    public void Decode_should_scale_angular_rate_by_the_datasheet_sensitivity(int rangeDps, short countsFor10Dps)
    {
        var motion = Decode(Burst(0, 0, 2048, 0, countsFor10Dps, (short)-countsFor10Dps, (short)(countsFor10Dps * 3)), gyroRangeDps: rangeDps);

        Assert.Equal(10, motion.GyroX!.Value, 9);
        Assert.Equal(-10, motion.GyroY!.Value, 9);
        Assert.Equal(30, motion.GyroZ!.Value, 9);
    }

    [Fact]
    public void Decode_should_turn_sensor_axes_into_vehicle_axes_by_the_mounting()
    {
        // Sensor: x +0.5 g, y -0.25 g, z +1 g; gyro x 1, y 2, z 3 °/s (at ±2 g and ±250 °/s).
        var burst = Burst(8192, -4096, 16384, 0, 131, 262, 393);

        // Turned a quarter anticlockwise: the sensor's -y points forward, its x left.
        var turned = Decode(burst, axes: "-y,x,z");
        Assert.Equal((0.25 * G, 0.5 * G, G), (turned.AccelX, turned.AccelY, turned.AccelZ));
        Assert.Equal((-2.0, 1.0, 3.0), (turned.GyroX!.Value, turned.GyroY!.Value, turned.GyroZ!.Value));

        // Upside down and facing backwards (half a turn about the left axis): the sensor's x points back, its z down.
        var flipped = Decode(burst, axes: "-x,y,-z");
        Assert.Equal((-0.5 * G, -0.25 * G, -G), (flipped.AccelX, flipped.AccelY, flipped.AccelZ));
    }

    [Theory]
    [InlineData("x,y,z", "x,y,z")]
    [InlineData(" -Y , x, z ", "-y,x,z")]
    [InlineData("+z,y,-x", "z,y,-x")]
    [InlineData("x,-y,-z", "x,-y,-z")]
    public void AxisMapping_should_parse_rotations(string text, string normalised)
    {
        Assert.True(AxisMapping.TryParse(text, out var mapping, out var problem), problem);
        Assert.Equal(normalised, mapping.ToString());
        // ToSensor undoes ToVehicle.
        var (x, y, z) = mapping.ToSensor(1, 2, 3);
        Assert.Equal((1.0, 2.0, 3.0), mapping.ToVehicle(x, y, z));
    }

    [Theory]
    [InlineData("x,y", "three axes")]
    [InlineData("x,y,w", "not an axis")]
    [InlineData("x,--y,z", "not an axis")]
    [InlineData("x,x,z", "each of x, y and z once")]
    [InlineData("x,y,-z", "mirror image")]
    [InlineData("y,x,z", "mirror image")]
    [InlineData("", "three axes")]
    public void AxisMapping_should_refuse_what_is_not_a_mounting(string text, string expected)
    {
        Assert.False(AxisMapping.TryParse(text, out _, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0x00, "all-zero")]
    [InlineData(0xFF, "all-0xFF")]
    public void Decode_should_refuse_a_burst_of_one_repeated_byte_as_a_bus_glitch(byte fill, string reason)
    {
        var burst = Enumerable.Repeat(fill, Mpu6050.BurstLength).ToArray();

        Assert.Null(Mpu6050.Decode(burst, 2, 250, AxisMapping.Identity, out var malformed));
        Assert.NotNull(malformed);
        Assert.Contains(reason, malformed.Reason, StringComparison.Ordinal);
        Assert.Equal(new string(fill == 0 ? '0' : 'F', 28), malformed.Excerpt);
    }

    [Theory]
    [InlineData(0, short.MaxValue, "accel x")]
    [InlineData(2, short.MinValue, "accel z")]
    [InlineData(4, short.MinValue, "gyro x")]
    [InlineData(6, short.MaxValue, "gyro z")]
    public void Decode_should_refuse_a_saturated_axis(int index, short counts, string axis)
    {
        var values = new short[] { 100, 200, 16000, 0, 10, 20, 30 };
        values[index] = counts;

        var motion = Mpu6050.Decode(Burst(values[0], values[1], values[2], values[3], values[4], values[5], values[6]), 8, 1000,
            AxisMapping.Identity, out var malformed);

        Assert.Null(motion);
        Assert.Equal($"saturated: {axis} at full scale {(index < 3 ? "±8 g" : "±1000 °/s")}", malformed!.Reason);
    }

    [Fact]
    public void Decode_should_accept_counts_just_inside_full_scale_and_a_saturated_temperature()
    {
        var motion = Decode(Burst(32766, -32767, 100, short.MaxValue, 32766, -32767, 0), accelRangeG: 16, gyroRangeDps: 2000);

        Assert.Equal(32766 / 2048.0 * G, motion.AccelX);
        Assert.Equal(-32767 / 16.4, motion.GyroY!.Value, 9);
    }

    [Theory]
    [InlineData(1000, 0, 1)]
    [InlineData(100, 9, 3)]
    [InlineData(50, 19, 4)]
    [InlineData(10, 99, 6)]
    [InlineData(1, 255, 6)]
    public void Rate_should_choose_sample_divider_and_a_low_pass_filter_below_half_the_rate(double rateHz, byte divider, byte filter)
    {
        Assert.Equal(divider, Mpu6050.SampleRateDivider(rateHz));
        Assert.Equal(filter, Mpu6050.FilterSetting(rateHz));
    }

    [Fact]
    public void Initialize_should_wake_the_chip_and_write_rate_filter_and_ranges()
    {
        using var device = SimulatedDevice();
        Assert.Equal(Mpu6050.SleepBit, device.Register(Mpu6050.PwrMgmt1));
        var chip = new Mpu6050(device, 8, 1000, AxisMapping.Identity);

        chip.Initialize(100);

        Assert.Equal(0x68, chip.Identity);
        Assert.Equal(0x01, device.Register(Mpu6050.PwrMgmt1));
        Assert.Equal(9, device.Register(Mpu6050.SmplrtDiv));
        Assert.Equal(3, device.Register(Mpu6050.Config));
        Assert.Equal(2 << 3, device.Register(Mpu6050.GyroConfig));
        Assert.Equal(2 << 3, device.Register(Mpu6050.AccelConfig));
        // Awake, the chip converts: gravity on z at ±8 g is about 4096 counts.
        var motion = chip.ReadSample(out var malformed);
        Assert.Null(malformed);
        Assert.InRange(motion!.AccelZ, G - 1, G + 1);
    }

    [Theory]
    [InlineData(0x70)]
    [InlineData(0x71)]
    [InlineData(0x73)]
    public void Initialize_should_accept_the_MPU6500_family(byte identity)
    {
        using var device = SimulatedDevice();
        device.Identity = identity;
        var chip = new Mpu6050(device, 2, 250, AxisMapping.Identity);

        chip.Initialize(10);

        Assert.Equal(identity, chip.Identity);
    }

    [Theory]
    [InlineData(0x12)]
    [InlineData(0x00)]
    [InlineData(0xFF)]
    public void Initialize_should_refuse_another_chip_naming_what_it_answered(byte identity)
    {
        using var device = SimulatedDevice();
        device.Identity = identity;
        var chip = new Mpu6050(device, 2, 250, AxisMapping.Identity);

        var ex = Assert.Throws<IOException>(() => chip.Initialize(10));

        Assert.Contains($"WHO_AM_I answered 0x{identity:X2}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("0x68 on /dev/i2c-1", ex.Message, StringComparison.Ordinal);
        // Nothing was written to a chip that is not ours.
        Assert.Equal(Mpu6050.SleepBit, device.Register(Mpu6050.PwrMgmt1));
    }

    [Fact]
    public void Sleeping_chip_should_read_as_an_all_zero_burst()
    {
        using var device = SimulatedDevice();
        var chip = new Mpu6050(device, 2, 250, AxisMapping.Identity);

        Assert.Null(chip.ReadSample(out var malformed));
        Assert.Contains("asleep", malformed!.Reason, StringComparison.Ordinal);
    }

    private static SimulatedI2cDevice SimulatedDevice()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 3, 1, 6, 0, 0, TimeSpan.Zero));
        var simulation = SimulationContext.For("truck-mpu", new SimulationSettings(), time);
        return new SimulatedI2cDevice(new I2cConnectionSettings(1, 0x68), simulation.Model, simulation.Knobs("imu", new FaultSettings()), time);
    }
}
