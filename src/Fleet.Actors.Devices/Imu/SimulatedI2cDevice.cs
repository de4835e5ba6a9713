using System.Buffers.Binary;
using System.Device.I2c;
using Fleet.Actors.Devices.Simulation;

namespace Fleet.Actors.Devices.Imu;

/// <summary>What a garbled burst looks like.</summary>
public enum I2cGarbage
{
    /// <summary>Half all 0xFF, half random bytes.</summary>
    Mixed,

    /// <summary>Every byte 0xFF (SDA floating high: nobody answered the read).</summary>
    AllOnes,

    /// <summary>Random bytes (a corrupted transfer; often indistinguishable from data).</summary>
    Random,
}

/// <summary>
/// An MPU-6050 on a simulated I2C bus: the register file (register pointer with auto-increment,
/// WHO_AM_I, PWR_MGMT_1 with the sleep bit set at power-on, SMPLRT_DIV, CONFIG, GYRO_CONFIG,
/// ACCEL_CONFIG and the 14 data registers from 0x3B), whose data registers are sampled from the
/// shared <see cref="VehicleModel"/> at the time of the read, with vibration noise, encoded at the
/// configured full scales and turned into the sensor's own axes by its mounting.
/// <para>
/// Faults come from the sensor's <see cref="FaultKnobs"/>, so chaos scenarios turn them like those
/// of the other simulated sensors: <c>Disconnected</c> NACKs every transfer and
/// <c>DisconnectProbability</c> a burst read (<see cref="IOException"/>); <c>Stalled</c> holds the bus
/// until cleared and <c>StallProbability</c> for <see cref="StuckFor"/>, after which the transfer fails
/// with a bus timeout; <c>GarbageRate</c> garbles bursts (<see cref="Garbage"/>); <c>SlowResponse</c>
/// delays every transfer; configured open failures make the device absent. <see cref="Identity"/>
/// answers a wrong WHO_AM_I.
/// </para>
/// Not thread-safe, like a real bus handle: one thread transfers at a time.
/// </summary>
public sealed class SimulatedI2cDevice : I2cDevice
{
    private const byte DataEnd = Mpu6050.AccelXoutH + Mpu6050.BurstLength;
    private const byte DeviceReset = 0x80;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    private readonly I2cConnectionSettings _settings;
    private readonly VehicleModel _model;
    private readonly FaultKnobs _knobs;
    private readonly TimeProvider _time;
    private readonly AxisMapping _mounting;
    private readonly Random _random;
    private readonly byte[] _registers = new byte[128];
    private readonly bool _absent;
    private byte _pointer;
    private long _bursts;
    private volatile bool _disposed;

    /// <summary>
    /// A chip at <paramref name="settings"/> observing <paramref name="model"/>, mounted as
    /// <paramref name="mounting"/> (vehicle values are turned into the sensor's axes, which the
    /// driver's axis mapping turns back).
    /// </summary>
    public SimulatedI2cDevice(I2cConnectionSettings settings, VehicleModel model, FaultKnobs knobs, TimeProvider time,
        AxisMapping? mounting = null, int seed = 0)
    {
        _settings = new I2cConnectionSettings(settings.BusId, settings.DeviceAddress);
        _model = model;
        _knobs = knobs;
        _time = time;
        _mounting = mounting ?? AxisMapping.Identity;
        _random = new Random(seed);
        // A configured open failure: the chip is not on the bus at all (every transfer is NACKed).
        _absent = knobs.TryConsumeOpenFailure();
        _registers[Mpu6050.PwrMgmt1] = Mpu6050.SleepBit;
    }

    /// <summary>The WHO_AM_I value (0x68; set another to simulate a wrong chip at the address).</summary>
    public byte Identity { get; set; } = 0x68;

    /// <summary>What a garbled burst contains.</summary>
    public I2cGarbage Garbage { get; set; } = I2cGarbage.Mixed;

    /// <summary>How long a stuck bus (stall probability) holds before the transfer times out.</summary>
    public TimeSpan StuckFor { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Die temperature reported, °C.</summary>
    public double Temperature { get; set; } = 31;

    /// <summary>Burst reads of the data registers so far.</summary>
    public long BurstReads => Interlocked.Read(ref _bursts);

    /// <summary>A register's current value (for tests).</summary>
    public byte Register(byte address) => _registers[address & 0x7F];

    /// <inheritdoc />
    public override I2cConnectionSettings ConnectionSettings => new(_settings.BusId, _settings.DeviceAddress);

    /// <inheritdoc />
    public override byte ReadByte()
    {
        Span<byte> value = stackalloc byte[1];
        Read(value);
        return value[0];
    }

    /// <inheritdoc />
    public override void Read(Span<byte> buffer)
    {
        Transfer(burst: _pointer == Mpu6050.AccelXoutH);
        ReadRegisters(buffer);
    }

    /// <inheritdoc />
    public override void WriteByte(byte value) => Write([value]);

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Transfer(burst: false);
        WriteRegisters(buffer);
    }

    /// <inheritdoc />
    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        Transfer(burst: writeBuffer.Length > 0 && writeBuffer[0] == Mpu6050.AccelXoutH);
        WriteRegisters(writeBuffer);
        ReadRegisters(readBuffer);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        base.Dispose(disposing);
    }

    // Faults apply to a whole transfer, before any byte moves, as on a real bus.
    private void Transfer(bool burst)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var slow = _knobs.SlowResponse;
        if (slow > TimeSpan.Zero) Hold(slow, () => true);
        if (_absent || _knobs.Disconnected || (burst && Chance(_knobs.DisconnectProbability)))
            throw new IOException($"Error 121 performing I2C transfer: no acknowledge from 0x{_settings.DeviceAddress:X2} on /dev/i2c-{_settings.BusId} (simulated NACK)");
        if (_knobs.Stalled)
        {
            Hold(Timeout.InfiniteTimeSpan, () => _knobs.Stalled);
            throw BusTimeout();
        }
        if (burst && Chance(_knobs.StallProbability))
        {
            Hold(StuckFor, () => true);
            throw BusTimeout();
        }
    }

    private IOException BusTimeout() =>
        new($"Error 110 performing I2C transfer on /dev/i2c-{_settings.BusId}: bus timeout, SCL held low (simulated stuck bus)");

    // Blocks the calling (reader) thread, as a stuck transfer would, for a span of the injected clock.
    private void Hold(TimeSpan span, Func<bool> holding)
    {
        var start = _time.GetTimestamp();
        while (!_disposed && holding() && (span == Timeout.InfiniteTimeSpan || _time.GetElapsedTime(start) < span))
            Thread.Sleep(PollInterval);
    }

    private void ReadRegisters(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return;
        _registers[Mpu6050.WhoAmI] = Identity;
        if (_pointer < DataEnd && _pointer + buffer.Length > Mpu6050.AccelXoutH) Sample(burst: _pointer == Mpu6050.AccelXoutH);
        for (var i = 0; i < buffer.Length; i++)
        {
            buffer[i] = _registers[_pointer & 0x7F];
            _pointer = (byte)((_pointer + 1) & 0x7F);
        }
    }

    private void WriteRegisters(ReadOnlySpan<byte> buffer)
    {
        if (buffer.IsEmpty) return;
        _pointer = (byte)(buffer[0] & 0x7F);
        foreach (var value in buffer[1..])
        {
            if (_pointer == Mpu6050.PwrMgmt1 && (value & DeviceReset) != 0)
            {
                // DEVICE_RESET: every register back to its power-on value (asleep).
                Array.Clear(_registers);
                _registers[Mpu6050.PwrMgmt1] = Mpu6050.SleepBit;
            }
            // WHO_AM_I and the data registers are read-only.
            else if (_pointer != Mpu6050.WhoAmI && (_pointer < Mpu6050.AccelXoutH || _pointer >= DataEnd)) _registers[_pointer] = value;
            _pointer = (byte)((_pointer + 1) & 0x7F);
        }
    }

    // Latches a new sample into the data registers, as the chip does at its sample rate.
    private void Sample(bool burst)
    {
        var data = _registers.AsSpan(Mpu6050.AccelXoutH, Mpu6050.BurstLength);
        if (burst) Interlocked.Increment(ref _bursts);
        if ((_registers[Mpu6050.PwrMgmt1] & Mpu6050.SleepBit) != 0)
        {
            // Asleep, the chip does not convert: the data registers stay at their reset value.
            data.Clear();
            return;
        }
        if (burst && Chance(_knobs.GarbageRate))
        {
            var kind = Garbage == I2cGarbage.Mixed ? (_random.NextDouble() < 0.5 ? I2cGarbage.AllOnes : I2cGarbage.Random) : Garbage;
            if (kind == I2cGarbage.AllOnes) data.Fill(0xFF);
            else _random.NextBytes(data);
            return;
        }

        var state = _model.At(_time.GetUtcNow());
        var vibration = state.Speed > 0.3 ? 0.15 : 0.03;
        // Vehicle frame as on the wire: x forward, y left, z up. The model's lateral acceleration and
        // yaw rate are positive to the right (clockwise seen from above), hence the signs.
        var (ax, ay, az) = _mounting.ToSensor(
            state.LongitudinalAcceleration + Noise(vibration),
            -state.LateralAcceleration + Noise(vibration),
            Mpu6050.Gravity + Noise(vibration * 1.5));
        var (gx, gy, gz) = _mounting.ToSensor(Noise(0.2), Noise(0.2), -state.YawRate + Noise(0.2));

        var accelRange = Mpu6050.AccelRangesG[(_registers[Mpu6050.AccelConfig] >> 3) & 0x03];
        var gyroRange = Mpu6050.GyroRangesDps[(_registers[Mpu6050.GyroConfig] >> 3) & 0x03];
        var lsbPerMs2 = 32768.0 / accelRange / Mpu6050.Gravity;
        var lsbPerDps = Mpu6050.GyroSensitivity(gyroRange);
        ReadOnlySpan<double> counts =
        [
            ax * lsbPerMs2, ay * lsbPerMs2, az * lsbPerMs2,
            (Temperature + Noise(0.05) - 36.53) * 340,
            gx * lsbPerDps, gy * lsbPerDps, gz * lsbPerDps,
        ];
        for (var i = 0; i < counts.Length; i++)
            BinaryPrimitives.WriteInt16BigEndian(data[(2 * i)..], (short)Math.Clamp(Math.Round(counts[i]), short.MinValue, short.MaxValue));
    }

    private bool Chance(double probability) => probability > 0 && _random.NextDouble() < probability;

    private double Noise(double sigma) => SimulationNoise.Gaussian(_random, sigma);
}
