using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Supervision;

namespace Fleet.Actors.Devices.Sensors;

/// <summary>
/// One sensor: opens its driver, reads in a loop through <c>PipeTo</c> (never blocking), validates
/// every value and tells the valid ones to the write-ahead log; valid driving events are then also
/// published on the EventStream as <see cref="HarshDrivingDetected"/>. Anything wrong with the device
/// (open failure, I/O error, stall) is logged in one line that names the sensor and the real cause
/// and stops the actor, so that its <c>BackoffSupervisor</c> parent (on stop) starts a fresh one
/// after the backoff (first retry after 5 s by default). Stopping rather than throwing keeps Akka
/// from logging the failure again at Error with its stack trace on every retry.
/// </summary>
internal sealed class SensorActor : UntypedActor, IWithTimers
{
    private const string StallTimer = "stall-check";

    private readonly string _vehicleId;
    private readonly SensorSettings _settings;
    private readonly Func<ISensorDriver> _driverFactory;
    private readonly IActorRef _log;
    private readonly SensorMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly RateLimitedLog _invalidLog;
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly CancellationTokenSource _cancellation = new();
    private ISensorDriver? _driver;
    private long _waitingSince;
    private bool _up;
    private string _downReason = "stopped";
    private bool _failed;

    public SensorActor(string vehicleId, SensorSettings settings, Func<ISensorDriver> driverFactory, IActorRef log, SensorMetrics metrics, TimeProvider time)
    {
        _vehicleId = vehicleId;
        _settings = settings;
        _driverFactory = driverFactory;
        _log = log;
        _metrics = metrics;
        _time = time;
        _invalidLog = new RateLimitedLog(settings.InvalidLogInterval, time);
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for one sensor actor.</summary>
    public static Props Props(string vehicleId, SensorSettings settings, Func<ISensorDriver> driverFactory, IActorRef log, SensorMetrics metrics,
        TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new SensorActor(vehicleId, settings, driverFactory, log, metrics, time ?? TimeProvider.System));

    protected override void PreStart()
    {
        _driver = _driverFactory();
        _waitingSince = _time.GetTimestamp();
        _driver.OpenAsync(_cancellation.Token).PipeTo(Self,
            success: () => Opened.Instance,
            failure: ex => new DriverFailed("open", ex));
        Timers.StartPeriodicTimer(StallTimer, StallCheck.Instance, _settings.StallTimeout / 4);
    }

    protected override void PostStop()
    {
        var wasUp = _up;
        _cancellation.Cancel();
        if (_up)
        {
            _up = false;
            _metrics.Active.Dec();
        }
        // Also a device that never opened: its status says why it is down.
        if (wasUp || _failed) DeviceStatus.Publish(Context, _vehicleId, "sensors", _settings.Id, false, _downReason, _time);
        _metrics.Down.Set(1);
        if (_driver is { } driver)
        {
            // Closing a port can take a moment; it must not hold up the actor's stop.
            _ = driver.DisposeAsync().AsTask().ContinueWith(
                t => t.Exception?.Handle(_ => true), TaskScheduler.Default);
        }
        _cancellation.Dispose();
    }

    // Messages by a switch on their type, not ReceiveActor's Receive<T>: its expression trees run in
    // an interpreter with reflection calls in the native agent (docs/adr/0024-busy-actors-match-messages-with-a-switch.md).
    protected override void OnReceive(object message) => Opening(message);

    private void Opening(object message)
    {
        switch (message)
        {
            case Opened:
                _up = true;
                _metrics.Active.Inc();
                _metrics.Down.Set(0);
                _logger.Info("Sensor {0} ({1}) up", _settings.Id, _settings.Type);
                DeviceStatus.Publish(Context, _vehicleId, "sensors", _settings.Id, true, "", _time);
                Become(Reading);
                NextRead();
                break;
            case SensorProtocol.Execute:
                Sender.Tell(new SensorCommandResult(false, $"sensor {_settings.Id} is still opening its device"));
                break;
            default:
                Failures(message, "opening");
                break;
        }
    }

    private void Reading(object message)
    {
        switch (message)
        {
            case ReadCompleted completed:
                Deliver(completed.Read);
                NextRead();
                break;
            case SensorProtocol.Execute execute:
                Execute(execute);
                break;
            default:
                Failures(message, "reading");
                break;
        }
    }

    /// <summary>What both behaviours handle alike: a failed driver call, the stall check (<paramref name="phase"/> names the wait).</summary>
    private void Failures(object message, string phase)
    {
        switch (message)
        {
            case DriverFailed failed:
                Fail(failed);
                break;
            case StallCheck:
                CheckStall(phase);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Execute(SensorProtocol.Execute execute)
    {
        if (_driver is not ISensorCommandTarget target)
        {
            Sender.Tell(new SensorCommandResult(false, $"sensor {_settings.Id} ({_settings.Type}) takes no commands"));
            return;
        }
        _logger.Info("Sensor {0}: executing {1}", _settings.Id, execute.Command);
        target.ExecuteAsync(execute.Command, _cancellation.Token).PipeTo(Sender,
            failure: ex => new SensorCommandResult(false, $"{execute.Command} failed: {ex.GetBaseException().Message}"));
    }

    private void NextRead()
    {
        _waitingSince = _time.GetTimestamp();
        _driver!.ReadAsync(_cancellation.Token).PipeTo(Self,
            success: read => new ReadCompleted(read),
            failure: ex => new DriverFailed("read", ex));
    }

    private void Deliver(SensorRead read)
    {
        var readings = new List<Reading>(read.Values.Count);
        foreach (var value in read.Values)
        {
            if (ReadingValidator.Validate(value.Value) is { } problem)
            {
                Invalid(problem, value.Value.ToString());
                continue;
            }
            readings.Add(new Reading(_settings.Id, value.TimestampMs, value.Value));
        }
        foreach (var frame in read.Malformed) Invalid(frame.Reason, frame.Excerpt);
        foreach (var notice in read.Notices) _logger.Info("Sensor {0}: {1}", _settings.Id, notice);
        if (read.Missed > 0) _metrics.Missed.Inc(read.Missed);

        if (readings.Count == 0) return;
        _log.Tell(new WalProtocol.LogReadings(readings));
        _metrics.ReadSuccess.Inc(readings.Count);
        _metrics.LastSeen.Set(readings[^1].TimestampMs / 1000.0);
        // After the log has been told (it sees the event first), for alerts and cameras.
        foreach (var reading in readings)
            if (reading.Value is DrivingEventValue drivingEvent)
                Context.System.EventStream.Publish(new HarshDrivingDetected(_vehicleId, _settings.Id, reading.TimestampMs, drivingEvent));
    }

    private void Invalid(string reason, string? excerpt)
    {
        _metrics.ReadError.Inc();
        if (_invalidLog.ShouldLog(out var suppressed))
        {
            var shortExcerpt = excerpt is { Length: > 80 } ? excerpt[..80] + "…" : excerpt;
            _logger.Warning("Sensor {0}: dropped invalid data ({1}): {2}{3}", _settings.Id, reason, shortExcerpt,
                suppressed > 0 ? $" [{suppressed} more since last report]" : "");
        }
    }

    private void CheckStall(string phase)
    {
        var waited = _time.GetElapsedTime(_waitingSince);
        if (waited < _settings.StallTimeout) return;
        _metrics.ReadError.Inc();
        _logger.Warning("Sensor {0} down: no answer while {1} for {2:F1}s (stall-timeout)", _settings.Id, phase, waited.TotalSeconds);
        _downReason = $"stalled: no answer while {phase} for {waited.TotalSeconds:F1}s";
        StopForRetry();
    }

    /// <summary>
    /// One warning per failure that names the sensor and the real cause; the stack trace only at
    /// Debug. A device that cannot be opened (absent, unplugged) is down, not a source of bad readings.
    /// </summary>
    private void Fail(DriverFailed failed)
    {
        if (failed.Operation != "open") _metrics.ReadError.Inc();
        // Drivers' I/O errors name the device ("/dev/ttyUSB9 @ 9600 baud: cannot open: No such file or
        // directory"); what they wrap would lose that (System.IO.Ports says "access denied" for a missing port).
        var cause = failed.Cause is IOException or TimeoutException ? failed.Cause.Message : failed.Cause.GetBaseException().Message;
        _logger.Warning("Sensor {0} down ({1} failed): {2}", _settings.Id, failed.Operation, cause);
        _downReason = $"{failed.Operation} failed: {cause}";
        _logger.Debug("Sensor {0}: {1}", _settings.Id, failed.Cause);
        StopForRetry();
    }

    /// <summary>The backoff supervisor above starts a fresh actor (and driver) after its backoff.</summary>
    private void StopForRetry()
    {
        _failed = true;
        _metrics.Restarts.Inc();
        Context.Stop(Self);
    }

    // Results of reads that finish after the actor stopped are expected: keep them out of the dead-letter log.
    private sealed class Opened : IDeadLetterSuppression
    {
        public static readonly Opened Instance = new();
    }

    private sealed class StallCheck : IDeadLetterSuppression
    {
        public static readonly StallCheck Instance = new();
    }

    private sealed record ReadCompleted(SensorRead Read) : IDeadLetterSuppression;

    private sealed record DriverFailed(string Operation, Exception Cause) : IDeadLetterSuppression;
}
