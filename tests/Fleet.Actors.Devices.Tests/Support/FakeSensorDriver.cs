using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Tests.Support;

/// <summary>
/// The "hardware" behind a fake sensor, shared by every driver the sensor actor creates (each
/// restart creates a new driver on the same device). Fault knobs are turned by the test while the
/// actors run; every open, read, failure and cancellation is recorded with a monotonic timestamp.
/// </summary>
public sealed class FakeDevice
{
    private readonly Channel<SensorRead> _scripted = Channel.CreateUnbounded<SensorRead>();
    private int _failOpens;
    private long _opens;
    private long _successfulOpens;
    private long _drivers;
    private long _disposed;
    private long _cancelledReads;
    private long _produced;

    /// <summary>While true, opens and reads throw <see cref="IOException"/>.</summary>
    public volatile bool Disconnected;

    /// <summary>While true, a read that starts never completes until it is cancelled.</summary>
    public volatile bool Stalled;

    /// <summary>
    /// When set, a read with nothing scripted returns one valid measurement after this long (a
    /// device streaming data); when null, reads wait for <see cref="Feed"/>.
    /// </summary>
    public TimeSpan? StreamEvery { get; set; }

    /// <summary>Makes the next <paramref name="count"/> opens fail.</summary>
    public void FailNextOpens(int count) => Interlocked.Exchange(ref _failOpens, count);

    /// <summary>Queues what the next read returns.</summary>
    public void Feed(SensorRead read) => _scripted.Writer.TryWrite(read);

    public long Opens => Interlocked.Read(ref _opens);
    public long SuccessfulOpens => Interlocked.Read(ref _successfulOpens);
    public long DriversCreated => Interlocked.Read(ref _drivers);
    public long DriversDisposed => Interlocked.Read(ref _disposed);
    public long CancelledReads => Interlocked.Read(ref _cancelledReads);

    /// <summary>Monotonic timestamps (<see cref="Stopwatch.GetTimestamp"/>) of every open attempt.</summary>
    public ConcurrentQueue<long> OpenTimes { get; } = new();

    /// <summary>Monotonic timestamps of every read or open that failed because of <see cref="Disconnected"/>.</summary>
    public ConcurrentQueue<long> FailureTimes { get; } = new();

    /// <summary>Monotonic timestamp when the last read went silent because of <see cref="Stalled"/>.</summary>
    public long StalledSince;

    /// <summary>Monotonic timestamp when a silent read was last cancelled.</summary>
    public long StallCancelledAt;

    /// <summary>A driver for this device.</summary>
    public ISensorDriver CreateDriver()
    {
        Interlocked.Increment(ref _drivers);
        return new FakeSensorDriver(this);
    }

    internal async Task OpenAsync(CancellationToken cancellationToken)
    {
        OpenTimes.Enqueue(Stopwatch.GetTimestamp());
        Interlocked.Increment(ref _opens);
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        if (Disconnected || TryConsumeOpenFailure())
        {
            FailureTimes.Enqueue(Stopwatch.GetTimestamp());
            throw new IOException("fake device not present");
        }
        Interlocked.Increment(ref _successfulOpens);
    }

    internal async Task<SensorRead> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            ThrowIfDisconnected();
            if (Stalled)
            {
                Volatile.Write(ref StalledSince, Stopwatch.GetTimestamp());
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Volatile.Write(ref StallCancelledAt, Stopwatch.GetTimestamp());
                    throw;
                }
            }
            if (_scripted.Reader.TryRead(out var scripted)) return scripted;
            if (StreamEvery is not { } every) return await _scripted.Reader.ReadAsync(cancellationToken);

            await Task.Delay(every, cancellationToken);
            ThrowIfDisconnected();
            var n = Interlocked.Increment(ref _produced);
            return new SensorRead([new TimedValue(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), new MeasurementValue("counter", n, "1"))], []);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _cancelledReads);
            throw;
        }
    }

    internal void Disposed() => Interlocked.Increment(ref _disposed);

    private void ThrowIfDisconnected()
    {
        if (!Disconnected) return;
        FailureTimes.Enqueue(Stopwatch.GetTimestamp());
        throw new IOException("fake device disconnected");
    }

    private bool TryConsumeOpenFailure()
    {
        while (true)
        {
            var left = Volatile.Read(ref _failOpens);
            if (left <= 0) return false;
            if (Interlocked.CompareExchange(ref _failOpens, left - 1, left) == left) return true;
        }
    }
}

/// <summary>A driver of a <see cref="FakeDevice"/>.</summary>
public sealed class FakeSensorDriver(FakeDevice device) : ISensorDriver
{
    public Task OpenAsync(CancellationToken cancellationToken) => device.OpenAsync(cancellationToken);

    public Task<SensorRead> ReadAsync(CancellationToken cancellationToken) => device.ReadAsync(cancellationToken);

    public ValueTask DisposeAsync()
    {
        device.Disposed();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Driver type <c>fake</c>: each sensor id maps to a <see cref="FakeDevice"/> (created on first use),
/// so a test registers this factory and then turns the knobs of the device behind a sensor.
/// </summary>
public sealed class FakeDriverFactory : ISensorDriverFactory
{
    public const string TypeName = "fake";

    private readonly ConcurrentDictionary<string, FakeDevice> _devices = new(StringComparer.Ordinal);

    public string Type => TypeName;

    /// <summary>The device behind sensor <paramref name="sensorId"/>.</summary>
    public FakeDevice Device(string sensorId) => _devices.GetOrAdd(sensorId, _ => new FakeDevice());

    public IEnumerable<(string Key, string Problem)> Validate(SensorSettings settings) => [];

    public ISensorDriver Create(SensorSettings settings, DriverContext context) => Device(settings.Id).CreateDriver();
}
