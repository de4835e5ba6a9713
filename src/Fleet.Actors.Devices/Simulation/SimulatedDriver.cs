using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Timing;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Simulation;

/// <summary>
/// Base of the simulated sensors: samples the vehicle model at the configured rate and honours the
/// fault knobs (disconnect, stall, garbage, slow). A read waits for the next sample time and
/// returns every sample due since the last read (at most five seconds' worth; older ones are
/// reported as missed).
/// </summary>
public abstract class SimulatedDriver : ISensorDriver
{
    private readonly TimeProvider _time;
    // The waits for the next sample: on the agent's timer thread, which also runs what follows a wait
    // (sampling the model, telling the sensor actor) without waking a thread-pool worker first.
    private readonly TimeProvider _waits;
    private readonly Random _random;
    private readonly double _intervalMs;
    private readonly int _maxPerRead;
    private double _nextDueMs;

    protected SimulatedDriver(SensorSettings settings, DriverContext context)
    {
        Settings = settings;
        Model = context.Simulation.Model;
        Knobs = context.Simulation.Knobs(settings.Id, settings.Faults);
        _time = context.Time;
        _waits = TimerThread.InlineFor(context.Time);
        _random = new Random(context.Simulation.Seed ^ SimulationContext.StableHash(settings.Id));
        _intervalMs = 1000.0 / settings.RateHz;
        _maxPerRead = (int)Math.Max(1, settings.RateHz * 5);
    }

    /// <summary>The sensor's settings.</summary>
    protected SensorSettings Settings { get; }

    /// <summary>The vehicle being observed.</summary>
    protected VehicleModel Model { get; }

    /// <summary>This sensor's fault knobs.</summary>
    public FaultKnobs Knobs { get; }

    /// <summary>Random source for noise (seeded per vehicle and sensor).</summary>
    protected Random Random => _random;

    /// <inheritdoc />
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        await SlowAsync(cancellationToken).ConfigureAwait(false);
        if (Knobs.Disconnected || Knobs.TryConsumeOpenFailure())
            throw new IOException($"simulated {Settings.Type} '{Settings.Id}': device not present");
        _nextDueMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
    }

    /// <inheritdoc />
    public async Task<SensorRead> ReadAsync(CancellationToken cancellationToken)
    {
        await SlowAsync(cancellationToken).ConfigureAwait(false);
        if (Knobs.Disconnected || Chance(Knobs.DisconnectProbability))
            throw new IOException($"simulated {Settings.Type} '{Settings.Id}': device disconnected");
        if (Knobs.Stalled || Chance(Knobs.StallProbability))
            await Task.Delay(Timeout.InfiniteTimeSpan, _time, cancellationToken).ConfigureAwait(false);

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_nextDueMs > now)
        {
            // The clock is read in whole milliseconds: wait until it shows the (fractional) due time.
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(_nextDueMs - now)), _waits, cancellationToken).ConfigureAwait(false);
            now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        }

        var due = (long)Math.Floor((now - _nextDueMs) / _intervalMs) + 1;
        var missed = Math.Max(0, due - _maxPerRead);
        _nextDueMs += missed * _intervalMs;

        var values = new List<TimedValue>();
        var malformed = new List<MalformedFrame>();
        var garbage = Knobs.GarbageRate;
        for (var i = missed; i < due; i++)
        {
            var timestamp = (long)_nextDueMs;
            _nextDueMs += _intervalMs;
            var state = Model.At(DateTimeOffset.FromUnixTimeMilliseconds(timestamp));
            foreach (var value in Sample(timestamp, state))
            {
                if (garbage > 0 && Chance(garbage))
                {
                    if (_random.NextDouble() < 0.5) malformed.Add(new MalformedFrame("checksum mismatch", GarbageFrame()));
                    else values.Add(new TimedValue(timestamp, ImpossibleValue()));
                }
                else
                {
                    values.Add(new TimedValue(timestamp, value));
                }
            }
        }
        return new SensorRead(values, malformed, missed);
    }

    /// <summary>
    /// What the sensor observes at <paramref name="timestampMs"/>, without waiting or faults: for
    /// benchmarks and replays that run on virtual time.
    /// </summary>
    public IEnumerable<TimedValue> SampleAt(long timestampMs) =>
        Sample(timestampMs, Model.At(DateTimeOffset.FromUnixTimeMilliseconds(timestampMs))).Select(v => new TimedValue(timestampMs, v));

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>The values this sensor observes of <paramref name="state"/>.</summary>
    protected abstract IEnumerable<ReadingValue> Sample(long timestampMs, VehicleState state);

    /// <summary>A frame as this kind of device garbles it.</summary>
    protected abstract string GarbageFrame();

    /// <summary>A well-formed but physically impossible value (the validator must refuse it).</summary>
    protected abstract ReadingValue ImpossibleValue();

    /// <summary>Gaussian noise with standard deviation <paramref name="sigma"/>.</summary>
    protected double Noise(double sigma) => SimulationNoise.Gaussian(_random, sigma);

    private bool Chance(double probability) => probability > 0 && _random.NextDouble() < probability;

    private Task SlowAsync(CancellationToken cancellationToken)
    {
        var slow = Knobs.SlowResponse;
        return slow > TimeSpan.Zero ? Task.Delay(slow, _time, cancellationToken) : Task.CompletedTask;
    }
}

/// <summary>Noise shared by the simulated devices.</summary>
internal static class SimulationNoise
{
    /// <summary>Gaussian noise with standard deviation <paramref name="sigma"/> (Box–Muller).</summary>
    public static double Gaussian(Random random, double sigma)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return sigma * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}

/// <summary>Factory of a simulated driver type.</summary>
internal sealed class SimulatedDriverFactory(string type, Func<SensorSettings, DriverContext, ISensorDriver> create) : ISensorDriverFactory
{
    public string Type => type;

    public IEnumerable<(string Key, string Problem)> Validate(SensorSettings settings)
    {
        if (settings.RateHz is <= 0 or > 100_000) yield return ("rate-hz", "must be above 0 and at most 100000");
        if (settings.Faults.DisconnectProbability is < 0 or > 1) yield return ("faults.disconnect-probability", "must be between 0 and 1");
        if (settings.Faults.StallProbability is < 0 or > 1) yield return ("faults.stall-probability", "must be between 0 and 1");
        if (settings.Faults.GarbageRate is < 0 or > 1) yield return ("faults.garbage-rate", "must be between 0 and 1");
        if (settings.Faults.SlowResponse < TimeSpan.Zero) yield return ("faults.slow-response", "must not be negative");
        if (settings.Faults.OpenFailures < 0) yield return ("faults.open-failures", "must not be negative");
    }

    public ISensorDriver Create(SensorSettings settings, DriverContext context) => create(settings, context);
}
