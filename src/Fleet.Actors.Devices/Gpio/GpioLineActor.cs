using System.Device.Gpio;
using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Devices.Gpio;

/// <summary>
/// One GPIO line. An input registers a value-changed callback that only hands the edge to the actor
/// (<c>Tell</c>, bounded by a pending counter; overflow is dropped and counted), debounces it in
/// software (edges within <see cref="GpioLineSettings.Debounce"/> of the last accepted one are
/// ignored; when the window closes, the final level is published if it differs), applies
/// <c>invert</c> and tells level readings and/or edge events to the log. An output takes
/// <see cref="GpioProtocol.Write"/> and logs each written level. Opening, reading and writing a
/// line are single ioctl calls on a GPIO chip (microseconds, no waiting on a peer), so they run on
/// the actor thread; nothing ever waits for an edge here. A failed open or write throws so that the
/// line's <c>BackoffSupervisor</c> reopens it after the backoff.
/// </summary>
internal sealed class GpioLineActor : ReceiveActor, IWithTimers
{
    private const string SettleTimer = "settle";

    private readonly GpioLineSettings _line;
    private readonly GpioController _controller;
    private readonly IActorRef _log;
    private readonly IActorRef _supervisor;
    private readonly GpioLineMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly int _maxPending;
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private IActorRef _self = ActorRefs.Nobody;
    private bool _opened;
    private bool _callbackRegistered;

    // Shared with the driver's callback thread: only these two, and only through Interlocked/Volatile.
    private int _pending;
    private int _latestRaw;

    private bool _published;
    private long? _acceptedAt;

    public GpioLineActor(GpioLineSettings line, GpioController controller, IActorRef log, IActorRef supervisor,
        GpioLineMetrics metrics, TimeProvider time, int maxPending)
    {
        _line = line;
        _controller = controller;
        _log = log;
        _supervisor = supervisor;
        _metrics = metrics;
        _time = time;
        _maxPending = maxPending;

        Receive<EdgeSeen>(OnEdge);
        Receive<Settle>(_ => OnSettle());
        Receive<GpioProtocol.Read>(OnRead);
        Receive<GpioProtocol.Write>(OnWrite);
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for one line on an open controller.</summary>
    public static Props Props(GpioLineSettings line, GpioController controller, IActorRef log, IActorRef supervisor,
        GpioLineMetrics metrics, TimeProvider? time = null, int maxPending = 1024) =>
        Akka.Actor.Props.Create(() => new GpioLineActor(line, controller, log, supervisor, metrics, time ?? TimeProvider.System, maxPending));

    private bool IsInput => _line.Direction == GpioDirection.Input;

    protected override void PreStart()
    {
        _self = Self;
        try
        {
            if (IsInput)
            {
                _controller.OpenPin(_line.Pin, _line.Pull switch
                {
                    GpioPull.Up => PinMode.InputPullUp,
                    GpioPull.Down => PinMode.InputPullDown,
                    _ => PinMode.Input,
                });
                _opened = true;
                _controller.RegisterCallbackForPinValueChangedEvent(_line.Pin, PinEventTypes.Rising | PinEventTypes.Falling, OnChanged);
                _callbackRegistered = true;
                var raw = _controller.Read(_line.Pin) == PinValue.High;
                Volatile.Write(ref _latestRaw, raw ? 1 : 0);
                _published = raw ^ _line.Invert;
            }
            else
            {
                _controller.OpenPin(_line.Pin, PinMode.Output, Physical(_line.Initial));
                _opened = true;
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException or ArgumentException)
        {
            _metrics.Errors.Inc();
            _logger.Warning("GPIO line {0} (pin {1}) failed to open: {2}", _line.Id, _line.Pin, ex.Message);
            Close();
            throw new GpioLineFaultException($"GPIO line {_line.Id}: open failed", ex);
        }
        _metrics.Down.Set(0);
        // The state at start, so that the log knows the level before the first change (after the
        // gauge says up: whoever sees the reading sees the line up).
        if (IsInput && _line.Publish != GpioPublish.Edges)
            Tell([Level(_published, _time.GetUtcNow().ToUnixTimeMilliseconds())]);
        _supervisor.Tell(new GpioSupervisor.LineUp(_line.Id));
        _logger.Info("GPIO line {0} (pin {1}, {2}) open", _line.Id, _line.Pin, _line.Direction.ToString().ToLowerInvariant());
    }

    protected override void PostStop()
    {
        Close();
        _metrics.Down.Set(1);
        _supervisor.Tell(new GpioSupervisor.LineDown(_line.Id));
    }

    // Runs on the driver's event thread: hand over and return, nothing else.
    private void OnChanged(object sender, PinValueChangedEventArgs change)
    {
        var raw = change.ChangeType == PinEventTypes.Rising;
        Volatile.Write(ref _latestRaw, raw ? 1 : 0);
        if (Interlocked.Increment(ref _pending) > _maxPending)
        {
            Interlocked.Decrement(ref _pending);
            // The settle check reads _latestRaw, so the final level survives the drop.
            _metrics.Dropped.Inc();
            return;
        }
        _self.Tell(new EdgeSeen(raw, _time.GetTimestamp(), _time.GetUtcNow().ToUnixTimeMilliseconds()));
    }

    private void OnEdge(EdgeSeen edge)
    {
        Interlocked.Decrement(ref _pending);
        if (_acceptedAt is { } accepted && _time.GetElapsedTime(accepted, edge.Timestamp) < _line.Debounce)
        {
            _metrics.Bounces.Inc();
            return;
        }
        Accept(edge.Raw ^ _line.Invert, edge.Timestamp, edge.UnixMs);
    }

    private void OnSettle()
    {
        var latest = (Volatile.Read(ref _latestRaw) == 1) ^ _line.Invert;
        if (latest != _published) Accept(latest, _time.GetTimestamp(), _time.GetUtcNow().ToUnixTimeMilliseconds());
    }

    private void Accept(bool level, long timestamp, long unixMs)
    {
        _acceptedAt = timestamp;
        if (_line.Debounce > TimeSpan.Zero) Timers.StartSingleTimer(SettleTimer, Settle.Instance, _line.Debounce);
        // An edge towards the level already published (its opposite was lost): nothing changed.
        if (level == _published) return;
        _published = level;
        _metrics.Edges.Inc();
        var readings = new List<Reading>(2);
        if (_line.Publish != GpioPublish.Edges) readings.Add(Level(level, unixMs));
        if (_line.Publish != GpioPublish.Level && (_line.Edges == GpioEdges.Both || (_line.Edges == GpioEdges.Rising) == level))
            readings.Add(new Reading(_line.Id, unixMs, new MeasurementValue(_line.MeasurementName + (level ? "_rising" : "_falling"), 1, "edge")));
        if (readings.Count > 0) Tell(readings);
    }

    private void OnRead(GpioProtocol.Read read)
    {
        if (IsInput)
        {
            Sender.Tell(new GpioProtocol.LevelRead(_line.Id, _published));
            return;
        }
        try
        {
            Sender.Tell(new GpioProtocol.LevelRead(_line.Id, (_controller.Read(_line.Pin) == PinValue.High) ^ _line.Invert));
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            _metrics.Errors.Inc();
            Sender.Tell(new GpioProtocol.Failed(_line.Id, ex.Message));
            throw new GpioLineFaultException($"GPIO line {_line.Id}: read failed", ex);
        }
    }

    private void OnWrite(GpioProtocol.Write write)
    {
        if (IsInput)
        {
            Sender.Tell(new GpioProtocol.Refused(_line.Id, $"line {_line.Id} is an input"));
            return;
        }
        try
        {
            _controller.Write(_line.Pin, Physical(write.Level));
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            _metrics.Errors.Inc();
            _logger.Warning("GPIO line {0}: write of {1} for {2} failed: {3}", _line.Id, write.Level ? 1 : 0, write.RequestedBy, ex.Message);
            Sender.Tell(new GpioProtocol.Failed(_line.Id, ex.Message));
            throw new GpioLineFaultException($"GPIO line {_line.Id}: write failed", ex);
        }
        _metrics.Writes.Inc();
        _logger.Debug("GPIO line {0} set to {1} for {2}", _line.Id, write.Level ? 1 : 0, write.RequestedBy);
        Tell([Level(write.Level, _time.GetUtcNow().ToUnixTimeMilliseconds())]);
        Sender.Tell(new GpioProtocol.Written(_line.Id, write.Level));
    }

    private Reading Level(bool level, long unixMs) =>
        new(_line.Id, unixMs, new MeasurementValue(_line.MeasurementName, level ? 1 : 0, "bool"));

    private void Tell(IReadOnlyList<Reading> readings) => _log.Tell(new WalProtocol.LogReadings(readings));

    private PinValue Physical(bool level) => level ^ _line.Invert ? PinValue.High : PinValue.Low;

    private void Close()
    {
        try
        {
            if (_callbackRegistered) _controller.UnregisterCallbackForPinValueChangedEvent(_line.Pin, OnChanged);
            if (_opened) _controller.ClosePin(_line.Pin);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ArgumentException)
        {
            _logger.Warning("GPIO line {0}: close failed: {1}", _line.Id, ex.Message);
        }
        _callbackRegistered = false;
        _opened = false;
    }

    // Edges delivered after the line stopped are expected: keep them out of the dead-letter log.
    private sealed record EdgeSeen(bool Raw, long Timestamp, long UnixMs) : IDeadLetterSuppression;

    private sealed class Settle : IDeadLetterSuppression
    {
        public static readonly Settle Instance = new();
    }
}

/// <summary>A GPIO line failed (open, read or write); its supervisor reopens it with backoff.</summary>
public sealed class GpioLineFaultException(string message, Exception inner) : Exception(message, inner);
