using Akka.Configuration;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Devices.Imu;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Tests.Imu;

/// <summary>The <c>imu-mpu6050</c> keys, read from HOCON as the agent's configuration loader reads a sensor.</summary>
public sealed class ImuOptionsTests
{
    private const string Prefix = "fleet.sensors[0]";

    private static (ImuOptions Options, IReadOnlyList<SettingsProblem> Problems) Read(string hocon)
    {
        var reader = new ConfigReader(ConfigurationFactory.ParseString("id = imu, type = imu-mpu6050\n" + hocon), Prefix);
        reader.String("id");
        reader.String("type");
        Assert.True(SensorDriverRegistry.Default.TryGet(ImuDriverFactory.TypeName, out var factory), "imu-mpu6050 is not registered");
        var options = Assert.IsType<ImuOptions>(factory.ReadOptions(reader));
        reader.ReportUnknownKeys();
        return (options, reader.Problems);
    }

    [Fact]
    public void Defaults_should_be_bus_1_address_0x68_4g_500dps_square_mounting_and_real_hardware()
    {
        var (options, problems) = Read("");

        Assert.Empty(problems);
        Assert.Equal(new ImuOptions(), options);
        Assert.Equal("/dev/i2c-1", options.DevicePath);
        Assert.Equal(0x68, options.Address);
        Assert.False(options.Simulated);
        Assert.Equal(3.9, options.Harsh.Brake);
        Assert.Equal(TimeSpan.FromMilliseconds(300), options.Harsh.MinDuration);
    }

    [Fact]
    public void Every_key_should_be_read_and_none_reported_as_unknown()
    {
        var (options, problems) = Read("""
            bus = 3
            address = 0x69
            accel-range-g = 8
            gyro-range-dps = 1000
            axes = "-y,x,z"
            simulated = on
            bus-timeout = 250ms
            harsh {
              brake = 4.5
              acceleration = 3
              cornering = 4
              exit-ratio = 0.6
              min-duration = 500ms
              max-duration = 20s
              smoothing = 50ms
            }
            """);

        Assert.Empty(problems);
        Assert.Equal(new ImuOptions
        {
            Bus = 3,
            Address = 0x69,
            AccelRangeG = 8,
            GyroRangeDps = 1000,
            Axes = AxisMapping.Parse("-y,x,z"),
            Simulated = true,
            BusTimeout = TimeSpan.FromMilliseconds(250),
            Harsh = new HarshDrivingSettings
            {
                Brake = 4.5,
                Acceleration = 3,
                Cornering = 4,
                ExitRatio = 0.6,
                MinDuration = TimeSpan.FromMilliseconds(500),
                MaxDuration = TimeSpan.FromSeconds(20),
                Smoothing = TimeSpan.FromMilliseconds(50),
            },
        }, options);
    }

    [Theory]
    [InlineData("address = 105", 0x69)]
    [InlineData("address = 104", 0x68)]
    [InlineData("address = \"0X69\"", 0x69)]
    public void Address_should_be_accepted_in_decimal_or_hexadecimal(string hocon, int address)
    {
        var (options, problems) = Read(hocon);

        Assert.Empty(problems);
        Assert.Equal(address, options.Address);
    }

    [Theory]
    [InlineData("accel-range-g = 3", "accel-range-g", "must be one of 2, 4, 8, 16 (got 3)")]
    [InlineData("accel-range-g = lots", "accel-range-g", "must be a whole number (got \"lots\")")]
    [InlineData("gyro-range-dps = 300", "gyro-range-dps", "must be one of 250, 500, 1000, 2000 (got 300)")]
    [InlineData("address = 0x70", "address", "must be 0x68 (104) or 0x69 (105)")]
    [InlineData("address = 0xZZ", "address", "(got \"0xZZ\")")]
    [InlineData("bus = -1", "bus", "must be between 0 and 255")]
    [InlineData("axes = \"x,y,-z\"", "axes", "mirror image")]
    [InlineData("axes = \"forward\"", "axes", "three axes")]
    [InlineData("simulated = sometimes", "simulated", "must be on or off")]
    [InlineData("bus-timeout = 0s", "bus-timeout", "must be between")]
    [InlineData("harsh.brake = 0", "harsh.brake", "must be between 0.1 and 100")]
    [InlineData("harsh.exit-ratio = 1.5", "harsh.exit-ratio", "must be between 0.05 and 1")]
    [InlineData("harsh.min-duration = forever", "harsh.min-duration", "must be a duration")]
    [InlineData("harsh { min-duration = 2s, max-duration = 1s }", "harsh.max-duration", "must not be less than min-duration")]
    [InlineData("harsh.brak = 4", "harsh.brak", "is not a known setting")]
    [InlineData("acel-range-g = 4", "acel-range-g", "is not a known setting")]
    public void Invalid_value_should_be_a_problem_naming_its_full_key(string hocon, string key, string problem)
    {
        var (_, problems) = Read(hocon);

        var found = Assert.Single(problems);
        Assert.Equal($"{Prefix}.{key}", found.Key);
        Assert.Contains(problem, found.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Factory_should_refuse_rates_an_MPU6050_cannot_be_polled_at()
    {
        Assert.True(SensorDriverRegistry.Default.TryGet(ImuDriverFactory.TypeName, out var factory));
        var settings = new SensorSettings { Id = "imu", Type = ImuDriverFactory.TypeName, RateHz = 2000, DriverOptions = new ImuOptions() };

        Assert.Equal(["rate-hz"], factory.Validate(settings).Select(p => p.Key));
        Assert.Empty(factory.Validate(settings with { RateHz = 100 }));
        Assert.Equal(["type"], factory.Validate(settings with { RateHz = 100, DriverOptions = null }).Select(p => p.Key));
    }
}
