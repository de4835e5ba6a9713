using System.Device.I2c;
using System.Globalization;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Imu;

/// <summary>Options of an <c>imu-mpu6050</c> sensor (its own keys of the sensor's HOCON object).</summary>
public sealed record ImuOptions
{
    /// <summary>I2C bus number: the device is <c>/dev/i2c-{Bus}</c> (1 on a Raspberry Pi's header).</summary>
    public int Bus { get; init; } = 1;

    /// <summary>7-bit address: 0x68 (AD0 low) or 0x69 (AD0 high).</summary>
    public int Address { get; init; } = Mpu6050.DefaultAddress;

    /// <summary>Accelerometer full scale, ±g: 2, 4, 8 or 16.</summary>
    public int AccelRangeG { get; init; } = 4;

    /// <summary>Gyroscope full scale, ±°/s: 250, 500, 1000 or 2000.</summary>
    public int GyroRangeDps { get; init; } = 500;

    /// <summary>How the sensor is mounted (sensor axes for vehicle forward, left, up).</summary>
    public AxisMapping Axes { get; init; } = AxisMapping.Identity;

    /// <summary>Use a <see cref="SimulatedI2cDevice"/> driven by the simulated vehicle instead of the real bus.</summary>
    public bool Simulated { get; init; }

    /// <summary>Longest wait for the chip to answer (opening) or for the next sample beyond its period (reading).</summary>
    public TimeSpan BusTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Harsh-driving thresholds.</summary>
    public HarshDrivingSettings Harsh { get; init; } = new();

    /// <summary>The Linux device file of the bus.</summary>
    public string DevicePath => $"/dev/i2c-{Bus}";
}

/// <summary>
/// Driver type <c>imu-mpu6050</c>: an MPU-6050 accelerometer and gyroscope on an I2C bus, with
/// harsh-driving detection. With <c>simulated = on</c> the chip is a <see cref="SimulatedI2cDevice"/>
/// fed by the simulated vehicle, with the sensor's fault knobs.
/// </summary>
public sealed class ImuDriverFactory : ISensorDriverFactory
{
    /// <summary>Configuration type name.</summary>
    public const string TypeName = "imu-mpu6050";

    /// <summary>Highest polling rate: a 14-byte burst at 400 kHz takes about 0.4 ms.</summary>
    public const double MaxRateHz = 1000;

    /// <inheritdoc />
    public string Type => TypeName;

    /// <inheritdoc />
    public object? ReadOptions(ConfigReader sensor)
    {
        var defaults = new ImuOptions();
        var options = new ImuOptions
        {
            Bus = sensor.Int("bus", defaults.Bus, 0, 255),
            Address = ReadAddress(sensor, defaults.Address),
            AccelRangeG = OneOf(sensor, "accel-range-g", defaults.AccelRangeG, Mpu6050.AccelRangesG),
            GyroRangeDps = OneOf(sensor, "gyro-range-dps", defaults.GyroRangeDps, Mpu6050.GyroRangesDps),
            Simulated = sensor.Bool("simulated", defaults.Simulated),
            BusTimeout = sensor.Duration("bus-timeout", defaults.BusTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1)),
            Harsh = HarshDrivingSettings.Read(sensor.Section("harsh")),
        };
        var axes = sensor.String("axes", AxisMapping.Identity.ToString())!;
        if (AxisMapping.TryParse(axes, out var mapping, out var problem)) options = options with { Axes = mapping };
        else sensor.Problem("axes", problem);
        return options;
    }

    /// <inheritdoc />
    public IEnumerable<(string Key, string Problem)> Validate(SensorSettings settings)
    {
        if (settings.RateHz is <= 0 or > MaxRateHz) yield return ("rate-hz", $"must be above 0 and at most {MaxRateHz} for an MPU-6050");
        if (settings.DriverOptions is not ImuOptions) yield return ("type", $"{TypeName} options were not read");
    }

    /// <inheritdoc />
    public ISensorDriver Create(SensorSettings settings, DriverContext context)
    {
        var options = settings.OptionsOf<ImuOptions>();
        var connection = new I2cConnectionSettings(options.Bus, options.Address);
        Func<I2cDevice> open = options.Simulated
            ? () => new SimulatedI2cDevice(connection, context.Simulation.Model, context.Simulation.Knobs(settings.Id, settings.Faults), context.Time,
                options.Axes, context.Simulation.Seed ^ Simulation.SimulationContext.StableHash(settings.Id))
            : () => I2cDevice.Create(connection);
        return new ImuDriver(settings, options, open, context.Time);
    }

    // HOCON has no hexadecimal numbers: 0x68 arrives as a string, 104 as a number.
    private static int ReadAddress(ConfigReader sensor, int fallback)
    {
        var text = sensor.String("address")?.Trim();
        if (text is null) return fallback;
        var parsed = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex) ? hex : -1
            : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var dec) ? dec : -1;
        if (parsed is Mpu6050.DefaultAddress or Mpu6050.DefaultAddress + 1) return parsed;
        sensor.Problem("address", $"must be 0x68 (104) or 0x69 (105), the two addresses of an MPU-6050 (got \"{text}\")");
        return fallback;
    }

    private static int OneOf(ConfigReader sensor, string key, int fallback, IReadOnlyList<int> allowed)
    {
        var value = sensor.Int(key, fallback);
        if (allowed.Contains(value)) return value;
        sensor.Problem(key, $"must be one of {string.Join(", ", allowed)} (got {value})");
        return fallback;
    }
}
