namespace Fleet.Actors.Devices.Sensors;

/// <summary>One configured sensor (an element of HOCON <c>fleet.sensors</c>).</summary>
public sealed record SensorSettings
{
    /// <summary>Unique id on this vehicle; appears as <c>device_id</c> on the wire.</summary>
    public required string Id { get; init; }

    /// <summary>Driver type, e.g. <c>sim-gps</c>; the driver registry knows which exist.</summary>
    public required string Type { get; init; }

    /// <summary>Samples per second (for drivers that poll or simulate).</summary>
    public double RateHz { get; init; } = 1;

    /// <summary>First reconnect delay after a failure (SPEC: 5 s).</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest reconnect delay.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Random extra delay as a fraction of the backoff.</summary>
    public double RandomFactor { get; init; } = 0.2;

    /// <summary>A device that delivers nothing for this long is considered stalled and reopened.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>At most one log line per this interval about invalid data from this device.</summary>
    public TimeSpan InvalidLogInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Fault injection (simulated drivers).</summary>
    public FaultSettings Faults { get; init; } = new();

    /// <summary>Driver-specific options, as the driver's factory read them (<see cref="ISensorDriverFactory.ReadOptions"/>).</summary>
    public object? DriverOptions { get; init; }

    /// <summary>The driver options of type <typeparamref name="T"/>; throws when the sensor was configured without them.</summary>
    public T OptionsOf<T>() where T : class =>
        DriverOptions as T ?? throw new InvalidOperationException($"Sensor {Id} ({Type}) has no {typeof(T).Name}");
}

/// <summary>Faults a simulated driver injects (HOCON: <c>faults { ... }</c> of a sensor).</summary>
public sealed record FaultSettings
{
    /// <summary>Chance per read that the device disconnects.</summary>
    public double DisconnectProbability { get; init; }

    /// <summary>Chance per read that the device stops answering.</summary>
    public double StallProbability { get; init; }

    /// <summary>Fraction of samples replaced by garbage (malformed frames or impossible values).</summary>
    public double GarbageRate { get; init; }

    /// <summary>Extra latency added to every read.</summary>
    public TimeSpan SlowResponse { get; init; }

    /// <summary>Number of initial open attempts that fail.</summary>
    public int OpenFailures { get; init; }
}
