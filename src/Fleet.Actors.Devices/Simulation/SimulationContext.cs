using System.Collections.Concurrent;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Simulation;

/// <summary>Settings of the simulated vehicle (HOCON: <c>fleet.simulation</c>).</summary>
public sealed record SimulationSettings
{
    /// <summary>Base seed; each vehicle mixes in its id so a fleet drives differently but repeatably.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Name of a known route (<see cref="Route.Known"/>).</summary>
    public string Route { get; init; } = Simulation.Route.HamburgPort.Name;
}

/// <summary>
/// The simulated world of one vehicle: its drive model and the fault knobs of its simulated
/// sensors (which tests and chaos scenarios turn while the agent runs).
/// </summary>
public sealed class SimulationContext
{
    private readonly ConcurrentDictionary<string, FaultKnobs> _knobs = new(StringComparer.Ordinal);

    /// <summary>Creates the world around <paramref name="model"/>.</summary>
    public SimulationContext(VehicleModel model, int seed)
    {
        Model = model;
        Seed = seed;
    }

    /// <summary>The vehicle's motion.</summary>
    public VehicleModel Model { get; }

    /// <summary>The vehicle's seed (drivers derive theirs from it).</summary>
    public int Seed { get; }

    /// <summary>The simulated world of <paramref name="vehicleId"/>.</summary>
    public static SimulationContext For(string vehicleId, SimulationSettings settings, TimeProvider time)
    {
        var seed = settings.Seed ^ StableHash(vehicleId);
        var route = Simulation.Route.Known.TryGetValue(settings.Route, out var known) ? known : Simulation.Route.HamburgPort;
        return new SimulationContext(new VehicleModel(route, seed, time.GetUtcNow()), seed);
    }

    /// <summary>The fault knobs of a sensor, created from its configured faults on first use.</summary>
    public FaultKnobs Knobs(string sensorId, FaultSettings initial) => _knobs.GetOrAdd(sensorId, _ => new FaultKnobs(initial));

    /// <summary>The fault knobs of a sensor that has been created.</summary>
    public FaultKnobs Knobs(string sensorId) => _knobs.GetOrAdd(sensorId, _ => new FaultKnobs(new FaultSettings()));

    /// <summary>FNV-1a: a hash that is the same in every process (string.GetHashCode is not).</summary>
    public static int StableHash(string text)
    {
        unchecked
        {
            var hash = (int)2166136261;
            foreach (var c in text) hash = (hash ^ c) * 16777619;
            return hash;
        }
    }
}

/// <summary>
/// Live fault injection for one simulated sensor. Thread-safe: drivers read the knobs on their
/// own threads while a test or chaos scenario turns them.
/// </summary>
public sealed class FaultKnobs
{
    private double _disconnectProbability;
    private double _stallProbability;
    private double _garbageRate;
    private long _slowTicks;
    private int _openFailures;
    private volatile bool _disconnected;
    private volatile bool _stalled;

    /// <summary>Knobs starting from the configured faults.</summary>
    public FaultKnobs(FaultSettings initial)
    {
        DisconnectProbability = initial.DisconnectProbability;
        StallProbability = initial.StallProbability;
        GarbageRate = initial.GarbageRate;
        SlowResponse = initial.SlowResponse;
        _openFailures = initial.OpenFailures;
    }

    /// <summary>Chance per read that the device disconnects.</summary>
    public double DisconnectProbability
    {
        get => Volatile.Read(ref _disconnectProbability);
        set => Volatile.Write(ref _disconnectProbability, value);
    }

    /// <summary>Chance per read that the device goes silent (until it is reopened).</summary>
    public double StallProbability
    {
        get => Volatile.Read(ref _stallProbability);
        set => Volatile.Write(ref _stallProbability, value);
    }

    /// <summary>Fraction of samples replaced by garbage.</summary>
    public double GarbageRate
    {
        get => Volatile.Read(ref _garbageRate);
        set => Volatile.Write(ref _garbageRate, value);
    }

    /// <summary>Extra latency of every open and read.</summary>
    public TimeSpan SlowResponse
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _slowTicks));
        set => Interlocked.Exchange(ref _slowTicks, value.Ticks);
    }

    /// <summary>While true the device is unplugged: opens and reads fail.</summary>
    public bool Disconnected
    {
        get => _disconnected;
        set => _disconnected = value;
    }

    /// <summary>While true the device is silent: reads never complete (until cancelled).</summary>
    public bool Stalled
    {
        get => _stalled;
        set => _stalled = value;
    }

    /// <summary>Makes the next <paramref name="count"/> opens fail.</summary>
    public void FailNextOpens(int count) => Interlocked.Exchange(ref _openFailures, count);

    /// <summary>True (and one fewer left) while configured open failures remain.</summary>
    public bool TryConsumeOpenFailure()
    {
        while (true)
        {
            var left = Volatile.Read(ref _openFailures);
            if (left <= 0) return false;
            if (Interlocked.CompareExchange(ref _openFailures, left - 1, left) == left) return true;
        }
    }
}
