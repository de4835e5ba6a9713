using System.Buffers.Binary;
using System.Device.I2c;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Imu;

/// <summary>
/// The register map of an InvenSense MPU-6050 (and the register-compatible MPU-6500/9250 family)
/// on an I2C bus: identity check, wake-up, sample rate, low-pass filter and full-scale ranges, and
/// the 14-byte burst read of accelerometer, temperature and gyroscope. Every call is a synchronous
/// bus transfer: call it from a thread that may block (never from an actor).
/// </summary>
public sealed class Mpu6050
{
    /// <summary>Sample rate divider register.</summary>
    public const byte SmplrtDiv = 0x19;

    /// <summary>Configuration register (digital low-pass filter in bits 2:0).</summary>
    public const byte Config = 0x1A;

    /// <summary>Gyroscope configuration register (full scale in bits 4:3).</summary>
    public const byte GyroConfig = 0x1B;

    /// <summary>Accelerometer configuration register (full scale in bits 4:3).</summary>
    public const byte AccelConfig = 0x1C;

    /// <summary>First of the 14 data registers (ACCEL_XOUT_H).</summary>
    public const byte AccelXoutH = 0x3B;

    /// <summary>Power management register 1 (bit 6 SLEEP, bits 2:0 clock source).</summary>
    public const byte PwrMgmt1 = 0x6B;

    /// <summary>Identity register.</summary>
    public const byte WhoAmI = 0x75;

    /// <summary>Bytes of one burst: accel x, y, z, temperature, gyro x, y, z, each a big-endian int16.</summary>
    public const int BurstLength = 14;

    /// <summary>The address with AD0 low; <c>0x69</c> with AD0 high.</summary>
    public const int DefaultAddress = 0x68;

    /// <summary>Standard gravity, m/s² per g.</summary>
    public const double Gravity = 9.80665;

    /// <summary>Sleep bit of <see cref="PwrMgmt1"/> (set after power-on).</summary>
    public const byte SleepBit = 0x40;

    // PWR_MGMT_1: awake, clock from the X gyro's PLL (the datasheet recommends it over the internal oscillator).
    private const byte WakeWithGyroClock = 0x01;

    // Low-pass bandwidths of CONFIG's DLPF_CFG 1..6 (Hz); 0 (260 Hz) switches the gyro to 8 kHz and is not used.
    private static readonly int[] FilterBandwidths = [184, 94, 44, 21, 10, 5];

    private readonly I2cDevice _device;
    private readonly int _accelRangeG;
    private readonly int _gyroRangeDps;
    private readonly AxisMapping _axes;

    /// <summary>A device at <paramref name="device"/> read with the given ranges and mounting.</summary>
    public Mpu6050(I2cDevice device, int accelRangeG, int gyroRangeDps, AxisMapping axes)
    {
        if (!AccelRangesG.Contains(accelRangeG)) throw new ArgumentOutOfRangeException(nameof(accelRangeG), accelRangeG, "must be 2, 4, 8 or 16");
        if (!GyroRangesDps.Contains(gyroRangeDps)) throw new ArgumentOutOfRangeException(nameof(gyroRangeDps), gyroRangeDps, "must be 250, 500, 1000 or 2000");
        _device = device;
        _accelRangeG = accelRangeG;
        _gyroRangeDps = gyroRangeDps;
        _axes = axes;
    }

    /// <summary>Accelerometer full-scale ranges (±g), in the order of ACCEL_CONFIG's AFS_SEL.</summary>
    public static IReadOnlyList<int> AccelRangesG { get; } = [2, 4, 8, 16];

    /// <summary>Gyroscope full-scale ranges (±°/s), in the order of GYRO_CONFIG's FS_SEL.</summary>
    public static IReadOnlyList<int> GyroRangesDps { get; } = [250, 500, 1000, 2000];

    /// <summary>WHO_AM_I values accepted: MPU-6050 (0x68), MPU-6500 (0x70), MPU-9250 (0x71), MPU-9255 (0x73).</summary>
    public static IReadOnlyList<byte> KnownIdentities { get; } = [0x68, 0x70, 0x71, 0x73];

    /// <summary>The WHO_AM_I value read by <see cref="Initialize"/>.</summary>
    public byte Identity { get; private set; }

    /// <summary>
    /// Checks the identity, wakes the chip and sets sample rate, low-pass filter and ranges for
    /// polling at <paramref name="rateHz"/>, then reads the configuration back.
    /// Throws <see cref="IOException"/> when the device is not an MPU-6050 or does not keep its settings.
    /// </summary>
    public void Initialize(double rateHz)
    {
        var identity = ReadRegister(WhoAmI);
        if (!KnownIdentities.Contains(identity))
            throw new IOException($"{Describe()}: WHO_AM_I answered 0x{identity:X2}, which is not an MPU-6050 (0x68) or MPU-6500/9250 (0x70, 0x71, 0x73)");
        Identity = identity;

        WriteRegister(PwrMgmt1, WakeWithGyroClock);
        WriteRegister(SmplrtDiv, SampleRateDivider(rateHz));
        WriteRegister(Config, FilterSetting(rateHz));
        var gyro = FullScaleBits(GyroRangesDps, _gyroRangeDps);
        var accel = FullScaleBits(AccelRangesG, _accelRangeG);
        WriteRegister(GyroConfig, gyro);
        WriteRegister(AccelConfig, accel);

        // A chip that does not hold its configuration would be read with the wrong scale: refuse it.
        Verify(PwrMgmt1, SleepBit, 0);
        Verify(GyroConfig, 0x18, gyro);
        Verify(AccelConfig, 0x18, accel);
    }

    /// <summary>One burst read, decoded in vehicle axes; null (and <paramref name="malformed"/>) when the data cannot be trusted.</summary>
    public MotionValue? ReadSample(out MalformedFrame? malformed)
    {
        Span<byte> burst = stackalloc byte[BurstLength];
        _device.WriteRead([AccelXoutH], burst);
        return Decode(burst, _accelRangeG, _gyroRangeDps, _axes, out malformed);
    }

    /// <summary>
    /// Decodes a 14-byte burst from ACCEL_XOUT_H: accelerations in m/s² and angular rates in °/s,
    /// in vehicle axes. A burst of all 0x00 or all 0xFF (a bus glitch, or a chip still asleep) and a
    /// reading at full scale on any axis (saturated: the true value is unknown) give null and a
    /// <paramref name="malformed"/> frame instead of a value.
    /// </summary>
    public static MotionValue? Decode(ReadOnlySpan<byte> burst, int accelRangeG, int gyroRangeDps, AxisMapping axes, out MalformedFrame? malformed)
    {
        if (burst.Length != BurstLength) throw new ArgumentException($"a burst is {BurstLength} bytes, not {burst.Length}", nameof(burst));
        malformed = null;
        if (!burst.ContainsAnyExcept((byte)0x00))
        {
            malformed = new MalformedFrame("all-zero burst (bus glitch or sensor asleep)", Convert.ToHexString(burst));
            return null;
        }
        if (!burst.ContainsAnyExcept((byte)0xFF))
        {
            malformed = new MalformedFrame("all-0xFF burst (bus glitch: no device drove the data line)", Convert.ToHexString(burst));
            return null;
        }

        Span<short> raw = stackalloc short[7];
        for (var i = 0; i < raw.Length; i++) raw[i] = BinaryPrimitives.ReadInt16BigEndian(burst[(2 * i)..]);
        // raw[3] is the die temperature, which has no full scale.
        ReadOnlySpan<(int Index, string Name)> axes6 = [(0, "accel x"), (1, "accel y"), (2, "accel z"), (4, "gyro x"), (5, "gyro y"), (6, "gyro z")];
        foreach (var (index, name) in axes6)
        {
            if (raw[index] is short.MinValue or short.MaxValue)
            {
                var range = index < 3 ? $"±{accelRangeG} g" : $"±{gyroRangeDps} °/s";
                malformed = new MalformedFrame($"saturated: {name} at full scale {range}", Convert.ToHexString(burst));
                return null;
            }
        }

        var lsbPerG = 32768.0 / accelRangeG;
        var lsbPerDps = GyroSensitivity(gyroRangeDps);
        var (ax, ay, az) = axes.ToVehicle(raw[0] / lsbPerG * Gravity, raw[1] / lsbPerG * Gravity, raw[2] / lsbPerG * Gravity);
        var (gx, gy, gz) = axes.ToVehicle(raw[4] / lsbPerDps, raw[5] / lsbPerDps, raw[6] / lsbPerDps);
        return new MotionValue(ax, ay, az, gx, gy, gz);
    }

    /// <summary>Gyroscope sensitivity in LSB per °/s at a full scale (datasheet: 131, 65.5, 32.8, 16.4).</summary>
    public static double GyroSensitivity(int gyroRangeDps) => gyroRangeDps switch
    {
        250 => 131,
        500 => 65.5,
        1000 => 32.8,
        2000 => 16.4,
        _ => throw new ArgumentOutOfRangeException(nameof(gyroRangeDps), gyroRangeDps, "must be 250, 500, 1000 or 2000"),
    };

    /// <summary>SMPLRT_DIV for polling at <paramref name="rateHz"/> (the gyro runs at 1 kHz with the filter on).</summary>
    public static byte SampleRateDivider(double rateHz) => (byte)Math.Clamp(Math.Round(1000 / rateHz) - 1, 0, 255);

    /// <summary>CONFIG's DLPF_CFG: the widest filter at or below half the polling rate (no aliasing), 5 Hz at the least.</summary>
    public static byte FilterSetting(double rateHz)
    {
        var index = Array.FindIndex(FilterBandwidths, bandwidth => bandwidth <= rateHz / 2);
        return (byte)(1 + (index < 0 ? FilterBandwidths.Length - 1 : index));
    }

    /// <summary>The FS_SEL/AFS_SEL bits (4:3) for a full scale.</summary>
    public static byte FullScaleBits(IReadOnlyList<int> ranges, int range) => (byte)(ranges.ToList().IndexOf(range) << 3);

    private byte ReadRegister(byte register)
    {
        Span<byte> value = stackalloc byte[1];
        _device.WriteRead([register], value);
        return value[0];
    }

    private void WriteRegister(byte register, byte value) => _device.Write([register, value]);

    private void Verify(byte register, byte mask, byte expected)
    {
        var actual = ReadRegister(register);
        if ((actual & mask) != expected)
            throw new IOException($"{Describe()}: register 0x{register:X2} reads back 0x{actual:X2} after configuration (expected 0x{expected:X2} under mask 0x{mask:X2})");
    }

    private string Describe()
    {
        var settings = _device.ConnectionSettings;
        return $"I2C device 0x{settings.DeviceAddress:X2} on /dev/i2c-{settings.BusId}";
    }
}
