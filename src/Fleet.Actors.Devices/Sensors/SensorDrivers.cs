using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Devices.Can;
using Fleet.Actors.Devices.Gps;
using Fleet.Actors.Devices.Imu;
using Fleet.Actors.Devices.Obd;
using Fleet.Actors.Devices.Simulation;

namespace Fleet.Actors.Devices.Sensors;

/// <summary>What a driver may need besides its own settings.</summary>
/// <param name="VehicleId">The vehicle the sensor belongs to.</param>
/// <param name="Time">The clock.</param>
/// <param name="Simulation">The simulated vehicle, for simulated drivers.</param>
/// <param name="Metrics">The agent's metrics, for drivers that count more than the sensor actor does (null in tests and benchmarks).</param>
public sealed record DriverContext(string VehicleId, TimeProvider Time, SimulationContext Simulation, AgentMetrics? Metrics = null);

/// <summary>Creates drivers of one type and checks their options at start.</summary>
public interface ISensorDriverFactory
{
    /// <summary>The <c>type</c> value in configuration.</summary>
    string Type { get; }

    /// <summary>Problems with this sensor's common settings, as (key, message); empty when valid.</summary>
    IEnumerable<(string Key, string Problem)> Validate(SensorSettings settings);

    /// <summary>
    /// Reads and checks the driver's own keys of the sensor's HOCON object (port, baud rate, poll
    /// list...). Problems go to <paramref name="sensor"/>, which also learns which keys are known.
    /// The result becomes <see cref="SensorSettings.DriverOptions"/>.
    /// </summary>
    object? ReadOptions(ConfigReader sensor) => null;

    /// <summary>Creates a driver (not yet opened).</summary>
    ISensorDriver Create(SensorSettings settings, DriverContext context);
}

/// <summary>The driver types this agent knows, by configuration <c>type</c>.</summary>
public sealed class SensorDriverRegistry
{
    private readonly Dictionary<string, ISensorDriverFactory> _factories = new(StringComparer.Ordinal);

    /// <summary>The built-in drivers.</summary>
    public static SensorDriverRegistry Default { get; } = new SensorDriverRegistry()
        .Register(new SimulatedDriverFactory(SimulatedGpsDriver.TypeName, (s, c) => new SimulatedGpsDriver(s, c)))
        .Register(new SimulatedDriverFactory(SimulatedObdDriver.TypeName, (s, c) => new SimulatedObdDriver(s, c)))
        .Register(new SimulatedDriverFactory(SimulatedImuDriver.TypeName, (s, c) => new SimulatedImuDriver(s, c)))
        .Register(new NmeaGpsDriverFactory())
        .Register(new SlcanDriverFactory())
        .Register(new SocketCanDriverFactory())
        .Register(new ImuDriverFactory())
        .Register(new Elm327DriverFactory());

    /// <summary>Known types, for error messages.</summary>
    public IEnumerable<string> Types => _factories.Keys.Order(StringComparer.Ordinal);

    /// <summary>Adds a driver type.</summary>
    public SensorDriverRegistry Register(ISensorDriverFactory factory)
    {
        _factories[factory.Type] = factory;
        return this;
    }

    /// <summary>Finds the factory of a type.</summary>
    public bool TryGet(string type, out ISensorDriverFactory factory) => _factories.TryGetValue(type, out factory!);
}
