using System.Device.I2c;
using System.Threading.Channels;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Imu;

/// <summary>
/// An MPU-6050 polled at <c>rate-hz</c>. The I2C transfers are synchronous, so they run on a
/// dedicated reader thread that owns the device, never on the sensor actor: the thread opens and
/// configures the chip, reads a burst on every tick of a periodic timer (of the injected
/// <see cref="TimeProvider"/>), runs the <see cref="HarshDrivingDetector"/> on every sample, and
/// hands samples and events over through two bounded channels that drop their oldest entry when
/// full. <see cref="ReadAsync"/> returns everything accumulated since the previous call; samples
/// dropped from the hand-off, ticks the reader could not keep up with and dropped events are
/// reported as <see cref="SensorRead.Missed"/>. A bus failure ends the reader: what it read before
/// is still delivered, then <see cref="ReadAsync"/> throws <see cref="IOException"/> and the sensor
/// actor restarts the driver with backoff. A bus that stops answering (a transfer that never
/// returns) is reported the same way after one period plus <c>bus-timeout</c>.
/// </summary>
public sealed class ImuDriver : ISensorDriver
{
    /// <summary>Configuration type name.</summary>
    public const string TypeName = ImuDriverFactory.TypeName;

    // Events are rare and precious: they get their own small buffer so that a burst of samples never pushes one out.
    private const int EventCapacity = 64;

    private readonly SensorSettings _settings;
    private readonly ImuOptions _options;
    private readonly Func<I2cDevice> _openDevice;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly Channel<Sample> _samples;
    private readonly Channel<TimedValue> _events;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Thread? _reader;
    private volatile IOException? _failure;
    private long _missed;
    private long _samplesTaken;

    /// <summary>
    /// A driver for the sensor <paramref name="settings"/> on the device that <paramref name="openDevice"/>
    /// creates (on the reader thread). <paramref name="capacity"/> bounds the samples held between two
    /// reads (default: five seconds' worth).
    /// </summary>
    public ImuDriver(SensorSettings settings, ImuOptions options, Func<I2cDevice> openDevice, TimeProvider time, int? capacity = null)
    {
        _settings = settings;
        _options = options;
        _openDevice = openDevice;
        _time = time;
        _interval = TimeSpan.FromTicks(Math.Max(1, (long)(TimeSpan.TicksPerSecond / settings.RateHz)));
        Capacity = capacity ?? (int)Math.Clamp(settings.RateHz * 5, 16, 100_000);
        _samples = Channel.CreateBounded<Sample>(
            new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
            _ => Interlocked.Increment(ref _missed));
        _events = Channel.CreateBounded<TimedValue>(
            new BoundedChannelOptions(EventCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
            _ => Interlocked.Increment(ref _missed));
    }

    /// <summary>Samples held between two reads at most; older ones are dropped and counted.</summary>
    public int Capacity { get; }

    /// <summary>Bursts read from the chip so far (for tests and diagnostics).</summary>
    public long SamplesTaken => Interlocked.Read(ref _samplesTaken);

    /// <summary>The WHO_AM_I the chip answered (0 before it was opened).</summary>
    public byte Identity { get; private set; }

    /// <inheritdoc />
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        if (_reader is not null) throw new InvalidOperationException($"IMU {_settings.Id} was already opened; a driver is opened once");
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "imu-" + _settings.Id };
        _reader.Start();
        try
        {
            await _opened.Task.WaitAsync(_options.BusTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new IOException($"{Describe()}: no answer within {_options.BusTimeout.TotalSeconds:0.###} s while opening (bus stuck?)");
        }
    }

    /// <inheritdoc />
    public async Task<SensorRead> ReadAsync(CancellationToken cancellationToken)
    {
        if (_reader is null) throw new InvalidOperationException($"IMU {_settings.Id} is not open");
        while (true)
        {
            if (Drain() is { } read) return read;
            if (_failure is { } failure) throw new IOException(failure.Message, failure);

            using var watchdog = new CancellationTokenSource(_interval + _options.BusTimeout, _time);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, watchdog.Token);
            bool more;
            try
            {
                more = await _samples.Reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (watchdog.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new IOException($"{Describe()}: no sample for {(_interval + _options.BusTimeout).TotalSeconds:0.###} s (bus stuck?)");
            }
            // Completed: the reader failed (thrown above on the next turn once drained) or the driver was disposed.
            if (!more && _samples.Reader.Count == 0 && _failure is null)
                throw new ObjectDisposedException(nameof(ImuDriver), $"IMU {_settings.Id} was closed");
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_reader is null) return;
        try
        {
            // A transfer stuck in the kernel cannot be interrupted; the reader thread closes the device when it returns.
            await _finished.Task.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    private SensorRead? Drain()
    {
        List<TimedValue>? values = null;
        List<MalformedFrame>? malformed = null;
        while (_samples.Reader.TryRead(out var sample))
        {
            if (sample.Motion is { } motion) (values ??= []).Add(new TimedValue(sample.TimestampMs, motion));
            else (malformed ??= []).Add(sample.Malformed!);
        }
        var hasEvents = false;
        while (_events.Reader.TryRead(out var detected))
        {
            (values ??= []).Add(detected);
            hasEvents = true;
        }
        if (values is null && malformed is null) return null;
        // Events are stamped with the sample that ended them: put them in time order among the samples (stable).
        if (hasEvents) values = values!.OrderBy(v => v.TimestampMs).ToList();
        return new SensorRead(values ?? [], malformed ?? [], Interlocked.Exchange(ref _missed, 0));
    }

    private void ReadLoop()
    {
        I2cDevice? device = null;
        try
        {
            try
            {
                device = _openDevice();
            }
            catch (Exception ex) when (ex is not IOException)
            {
                throw new IOException($"{Describe()}: cannot open the bus ({ex.GetType().Name}: {ex.Message})", ex);
            }
            var chip = new Mpu6050(device, _options.AccelRangeG, _options.GyroRangeDps, _options.Axes);
            chip.Initialize(_settings.RateHz);
            Identity = chip.Identity;
            var detector = new HarshDrivingDetector(_options.Harsh);
            var events = new List<TimedValue>();
            var token = _stop.Token;
            using var ticker = new Ticker(_interval, _time);
            // The ticker exists before OpenAsync returns, so its first tick is one period after the open.
            _opened.TrySetResult();

            long last = 0;
            while (ticker.Wait(token) is var tick and >= 0)
            {
                // Ticks the thread was too busy for (a slow transfer, a descheduled thread) are counted
                // as missed; a tick already served by a late sample is skipped.
                if (tick <= last) continue;
                if (tick > last + 1) Interlocked.Add(ref _missed, tick - last - 1);
                last = tick;

                var timestampMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
                var motion = chip.ReadSample(out var malformed);
                Interlocked.Increment(ref _samplesTaken);
                if (motion is null)
                {
                    _samples.Writer.TryWrite(new Sample(timestampMs, null, malformed));
                    continue;
                }
                detector.Add(timestampMs, motion.AccelX, motion.AccelY, events);
                // Events first: a reader woken by the sample finds them too.
                foreach (var detected in events) _events.Writer.TryWrite(detected);
                events.Clear();
                _samples.Writer.TryWrite(new Sample(timestampMs, motion, null));
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            var failure = ex as IOException ?? new IOException($"{Describe()}: {ex.Message}", ex);
            _failure = failure;
            _opened.TrySetException(failure);
        }
        finally
        {
            _opened.TrySetCanceled();
            _samples.Writer.TryComplete();
            _events.Writer.TryComplete();
            try
            {
                device?.Dispose();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
            }
            _finished.TrySetResult();
        }
    }

    /// <summary>
    /// The sampling ticks, waited for on the reader thread and numbered from the start (tick n is due
    /// n periods after it), so that every period is either sampled or known to be missed. On the
    /// system clock the thread sleeps itself against this absolute schedule (no drift), so a busy
    /// thread pool cannot hold samples back; any other <see cref="TimeProvider"/> (simulated time in
    /// tests) drives a <see cref="PeriodicTimer"/>. Ticks that passed while the thread was busy are not
    /// replayed: the next wait returns the current tick at once.
    /// </summary>
    private sealed class Ticker : IDisposable
    {
        private readonly TimeProvider _time;
        private readonly TimeSpan _interval;
        private readonly PeriodicTimer? _timer;
        private readonly long _start;
        private readonly double _periodTicks;
        private long _tick;

        public Ticker(TimeSpan interval, TimeProvider time)
        {
            _time = time;
            _interval = interval;
            _start = time.GetTimestamp();
            _periodTicks = interval.TotalSeconds * time.TimestampFrequency;
            if (time != TimeProvider.System) _timer = new PeriodicTimer(interval, time);
        }

        /// <summary>Blocks until the next tick and returns its number; -1 (or <see cref="OperationCanceledException"/>) once cancelled.</summary>
        public long Wait(CancellationToken token)
        {
            if (_timer is not null)
                return _timer.WaitForNextTickAsync(token).AsTask().GetAwaiter().GetResult() ? _time.GetElapsedTime(_start).Ticks / _interval.Ticks : -1;

            _tick++;
            var elapsed = _time.GetTimestamp() - _start;
            var current = (long)(elapsed / _periodTicks);
            if (current >= _tick)
            {
                _tick = current;
                return token.IsCancellationRequested ? -1 : _tick;
            }
            var waitMs = Math.Ceiling((_tick * _periodTicks - elapsed) * 1000 / _time.TimestampFrequency);
            return token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(waitMs)) ? -1 : _tick;
        }

        public void Dispose() => _timer?.Dispose();
    }

    private string Describe() => $"MPU-6050 '{_settings.Id}' at 0x{_options.Address:X2} on {_options.DevicePath}";

    private readonly record struct Sample(long TimestampMs, ReadingValue? Motion, MalformedFrame? Malformed);
}
