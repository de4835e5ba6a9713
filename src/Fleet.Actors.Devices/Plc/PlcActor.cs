using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Devices.Plc;

/// <summary>
/// One PLC. On a timer it plans the reads of the points that are due, runs them as one poll cycle
/// through the <see cref="ModbusClient"/> off the actor thread (<c>PipeTo</c>; one cycle in flight,
/// a tick meanwhile is skipped and counted), decodes the answers, applies the deadband and tells the
/// log <see cref="WalProtocol.LogReadings"/>. A read refused with exception 2 is split; points that
/// are refused on their own are remembered as bad and no longer polled, and the splits are
/// remembered so later cycles do not ask again. Every call goes through Akka's
/// <see cref="CircuitBreaker"/>: timeouts and link failures count (device exception responses do
/// not: the device is alive); while it is open, polls are skipped and writes fail with
/// <c>circuit open</c>. A broken connection is closed by the transport and reopened by the next call.
/// </summary>
internal sealed class PlcActor : ReceiveActor, IWithTimers
{
    private const string PollTimer = "poll";

    private readonly PlcSettings _settings;
    private readonly Func<PlcSettings, ModbusClient> _clientFactory;
    private readonly IActorRef _log;
    private readonly IActorRef _supervisor;
    private readonly PlcMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly ModbusRequestPlanner _planner;
    private readonly DeadbandFilter _deadband = new();
    private readonly CircuitBreaker _breaker;
    private readonly CancellationTokenSource _cancellation = new();
    private readonly Dictionary<string, long> _nextDue = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BadPoint> _bad = new(StringComparer.Ordinal);

    // Refused reads (by plan key) and what they were split into; bounded by the distinct plans of the map.
    private readonly Dictionary<string, IReadOnlyList<PlannedRead>> _splits = new(StringComparer.Ordinal);
    private ModbusClient? _client;
    private bool _polling;
    private bool _wasOpen;

    public PlcActor(PlcSettings settings, Func<PlcSettings, ModbusClient> clientFactory, IActorRef log, IActorRef supervisor,
        PlcMetrics metrics, TimeProvider time)
    {
        _settings = settings;
        _clientFactory = clientFactory;
        _log = log;
        _supervisor = supervisor;
        _metrics = metrics;
        _time = time;
        _planner = new ModbusRequestPlanner(settings.Map.Quirks);
        _breaker = new CircuitBreaker(Context.System.Scheduler, settings.MaxFailures, settings.BreakerCallTimeout, settings.ResetTimeout);
        // The callbacks run on other threads: only the gauge and a message to the actor.
        var self = Self;
        _breaker.OnOpen(() => Changed(self, 2));
        _breaker.OnHalfOpen(() => Changed(self, 1));
        _breaker.OnClose(() => Changed(self, 0));

        Receive<Tick>(_ => OnTick());
        Receive<CycleDone>(OnCycleDone);
        Receive<BreakerChanged>(OnBreakerChanged);
        Receive<WriteDone>(OnWriteDone);
        Receive<PlcProtocol.WriteRegister>(w => Write(w, () => ModbusRequest.WriteSingleRegister(w.Address, w.Value)));
        Receive<PlcProtocol.WriteRegisters>(w => Write(w, () => ModbusRequest.WriteMultipleRegisters(w.Address, w.Values)));
        Receive<PlcProtocol.WriteCoil>(w => Write(w, () => ModbusRequest.WriteSingleCoil(w.Address, w.Value)));
        Receive<PlcProtocol.WriteCoils>(w => Write(w, () => ModbusRequest.WriteMultipleCoils(w.Address, w.Values)));
        Receive<PlcProtocol.WritePoint>(OnWritePoint);
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for one PLC; <paramref name="clientFactory"/> defaults to <see cref="PlcSettings.CreateClient"/>.</summary>
    public static Props Props(PlcSettings settings, IActorRef log, IActorRef supervisor, PlcMetrics metrics,
        Func<PlcSettings, ModbusClient>? clientFactory = null, TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new PlcActor(settings, clientFactory ?? (s => s.CreateClient()), log, supervisor, metrics, time ?? TimeProvider.System));

    protected override void PreStart()
    {
        _client = _clientFactory(_settings);
        _metrics.BreakerState.Set(0);
        Timers.StartPeriodicTimer(PollTimer, Tick.Instance, TimeSpan.Zero, _settings.PollInterval);
        _supervisor.Tell(new PlcSupervisor.PlcUp(_settings.Id));
        _logger.Info("PLC {0} ({1}): polling {2} points", _settings.Id, _settings.Describe(), _settings.Map.Points.Count);
    }

    protected override void PostStop()
    {
        _cancellation.Cancel();
        if (_client is { } client)
        {
            // Closing a connection can take a moment; it must not hold up the actor's stop.
            _ = client.DisposeAsync().AsTask().ContinueWith(t => t.Exception?.Handle(_ => true), TaskScheduler.Default);
        }
        _cancellation.Dispose();
        _supervisor.Tell(new PlcSupervisor.PlcDown(_settings.Id));
    }

    private static void Changed(IActorRef self, int state) => self.Tell(new BreakerChanged(state));

    private void OnTick()
    {
        if (_polling || _breaker.IsOpen)
        {
            _metrics.Skipped.Inc();
            return;
        }
        var now = _time.GetTimestamp();
        var due = new List<ModbusPoint>();
        foreach (var point in _settings.Map.Points)
        {
            if (_bad.ContainsKey(point.Name)) continue;
            if (_nextDue.TryGetValue(point.Name, out var at) && at > now) continue;
            due.Add(point);
            _nextDue[point.Name] = now + (long)(point.Interval.TotalSeconds * _time.TimestampFrequency);
        }
        if (due.Count == 0) return;
        var reads = new List<PlannedRead>();
        foreach (var read in _planner.Plan(due)) Expand(read, reads);
        _polling = true;
        RunCycleAsync(_breaker, _client!, _planner, reads, _cancellation.Token).PipeTo(Self,
            failure: ex => new CycleDone([], [], [], ex));
    }

    // A read refused before is replaced by what it was split into (which may itself have been split).
    private void Expand(PlannedRead read, List<PlannedRead> reads)
    {
        if (_splits.TryGetValue(KeyOf(read), out var parts))
            foreach (var part in parts) Expand(part, reads);
        else
            reads.Add(read);
    }

    private static string KeyOf(PlannedRead read) => $"{read}:{string.Join(',', read.Points.Select(p => p.Name))}";

    // Off the actor thread: touches only the client, the breaker (both thread-safe) and the pure planner.
    private static async Task<CycleDone> RunCycleAsync(CircuitBreaker breaker, ModbusClient client, ModbusRequestPlanner planner,
        IReadOnlyList<PlannedRead> reads, CancellationToken cancellationToken)
    {
        var answers = new List<(PlannedRead Read, byte[] Data)>();
        var splits = new List<(PlannedRead Refused, ModbusSplit Split)>();
        var refusals = new List<ModbusException>();
        var queue = new Queue<PlannedRead>(reads);
        while (queue.TryDequeue(out var read))
        {
            try
            {
                var (data, refusal) = await CallAsync(breaker, client, read.Request, cancellationToken).ConfigureAwait(false);
                if (refusal is null)
                {
                    answers.Add((read, data!));
                }
                else if (refusal.Code == ModbusRequestPlanner.IllegalDataAddress)
                {
                    var split = planner.Split(read);
                    splits.Add((read, split));
                    foreach (var part in split.Reads) queue.Enqueue(part);
                }
                else
                {
                    refusals.Add(refusal);
                }
            }
            catch (Exception ex)
            {
                // Timeout, link failure or open breaker: the rest of the cycle would only pile up more.
                return new CycleDone(answers, splits, refusals, ex);
            }
        }
        return new CycleDone(answers, splits, refusals, null);
    }

    // A device exception is an answer, not a link failure: it is returned, so the breaker counts it as a success.
    // Async on purpose: a half-open breaker throws OpenCircuitException synchronously for every call but
    // its trial, and that must arrive as a failed task (answered "circuit open"), never crash the actor.
    private static async Task<(byte[]? Data, ModbusException? Refusal)> CallAsync(CircuitBreaker breaker, ModbusClient client,
        ModbusRequest request, CancellationToken cancellationToken) =>
        await breaker.WithCircuitBreaker((client, request, cancellationToken), static async (state, breakerToken) =>
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(state.cancellationToken, breakerToken);
            try
            {
                return ((byte[]?)await state.client.SendAsync(state.request, linked.Token).ConfigureAwait(false), (ModbusException?)null);
            }
            catch (ModbusException refusal)
            {
                return (null, refusal);
            }
        }).ConfigureAwait(false);

    private void OnCycleDone(CycleDone done)
    {
        _polling = false;
        foreach (var (refused, split) in done.Splits)
        {
            _splits[KeyOf(refused)] = split.Reads;
            foreach (var bad in split.Bad)
            {
                if (_bad.TryAdd(bad.Point.Name, bad))
                    _logger.Warning("PLC {0}: point {1} ({2}) is no longer polled: {3}", _settings.Id, bad.Point.Name, bad.Point.Describe(), bad.Reason);
            }
        }
        var values = new List<ModbusPointValue>();
        foreach (var (read, data) in done.Answers) read.Decode(data, values);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var readings = new List<Reading>(values.Count);
        foreach (var value in values)
        {
            // Readings carry numbers; text points are decoded but not logged yet.
            if (value.Text is not null || !_deadband.ShouldPublish(value)) continue;
            readings.Add(new Reading(_settings.Id, now, new MeasurementValue(value.Point.Name, value.Value, value.Point.Unit ?? "")));
        }
        if (readings.Count > 0) _log.Tell(new WalProtocol.LogReadings(readings));

        switch (done.Failure)
        {
            case null when done.Refusals.Count == 0:
                _metrics.Polls.Inc();
                break;
            case OpenCircuitException:
                // The breaker opened (or is half-open with its one trial call out) while the cycle ran.
                _metrics.Skipped.Inc();
                break;
            case null:
                _metrics.PollFailures.Inc();
                _logger.Warning("PLC {0}: poll refused: {1}", _settings.Id, done.Refusals[0].Message);
                break;
            default:
                _metrics.PollFailures.Inc();
                _logger.Warning("PLC {0}: poll failed: {1}", _settings.Id, done.Failure.GetBaseException().Message);
                break;
        }
    }

    private void OnBreakerChanged(BreakerChanged changed)
    {
        _metrics.BreakerState.Set(changed.State);
        switch (changed.State)
        {
            case 2:
                _wasOpen = true;
                _logger.Warning("PLC {0}: circuit breaker open after {1} failures; polls paused for {2}", _settings.Id, _settings.MaxFailures, _settings.ResetTimeout);
                _supervisor.Tell(new PlcSupervisor.PlcReachable(_settings.Id, false, $"circuit breaker open after {_settings.MaxFailures} failures"));
                break;
            case 1:
                _logger.Info("PLC {0}: circuit breaker half-open, trying one call", _settings.Id);
                break;
            default:
                if (!_wasOpen) break;
                _wasOpen = false;
                _supervisor.Tell(new PlcSupervisor.PlcReachable(_settings.Id, true, ""));
                // After an outage the current value of every point is worth publishing again.
                _deadband.Reset();
                _logger.Info("PLC {0}: circuit breaker closed, polling again", _settings.Id);
                break;
        }
    }

    private void OnWritePoint(PlcProtocol.WritePoint write)
    {
        if (_settings.Map.Find(write.Point) is not { } point)
            Refuse(write.PlcId, $"PLC {_settings.Id} has no point \"{write.Point}\"");
        else if (!point.Writable)
            Refuse(write.PlcId, $"point \"{point.Name}\" ({point.Describe()}) is not writable");
        else if (PointWrites.Encode(point, write.Value, out var request) is { } problem)
            Refuse(write.PlcId, problem);
        else
            Write(write, () => request);
    }

    private void Write(PlcProtocol.IWithPlcId write, Func<ModbusRequest> makeRequest)
    {
        ModbusRequest request;
        try
        {
            request = makeRequest();
        }
        catch (ArgumentException ex)
        {
            Refuse(write.PlcId, ex.Message);
            return;
        }
        if (_breaker.IsOpen)
        {
            _metrics.WriteFailures.Inc();
            Sender.Tell(new PlcProtocol.Failed(write.PlcId, "circuit open"));
            return;
        }
        var requester = Sender;
        var plcId = write.PlcId;
        CallAsync(_breaker, _client!, request, _cancellation.Token).PipeTo(Self,
            success: answer => new WriteDone(requester, request, answer.Refusal is { } refusal
                ? new PlcProtocol.Failed(plcId, $"exception {refusal.Code} ({refusal.Name})", refusal.Code)
                : new PlcProtocol.Written(plcId)),
            failure: ex => new WriteDone(requester, request, new PlcProtocol.Failed(plcId,
                ex is OpenCircuitException ? "circuit open" : ex.GetBaseException().Message)));
    }

    private void Refuse(string plcId, string reason)
    {
        _metrics.WriteFailures.Inc();
        Sender.Tell(new PlcProtocol.Refused(plcId, reason));
    }

    private void OnWriteDone(WriteDone done)
    {
        if (done.Result is PlcProtocol.Written)
        {
            _metrics.Writes.Inc();
            _logger.Debug("PLC {0}: {1} written", _settings.Id, done.Request);
        }
        else
        {
            _metrics.WriteFailures.Inc();
            _logger.Warning("PLC {0}: {1} failed: {2}", _settings.Id, done.Request, ((PlcProtocol.Failed)done.Result).Reason);
        }
        done.Requester.Tell(done.Result);
    }

    // Results that arrive after the actor stopped are expected: keep them out of the dead-letter log.
    private sealed class Tick : IDeadLetterSuppression
    {
        public static readonly Tick Instance = new();
    }

    private sealed record CycleDone(
        IReadOnlyList<(PlannedRead Read, byte[] Data)> Answers,
        IReadOnlyList<(PlannedRead Refused, ModbusSplit Split)> Splits,
        IReadOnlyList<ModbusException> Refusals,
        Exception? Failure) : IDeadLetterSuppression;

    private sealed record BreakerChanged(int State) : IDeadLetterSuppression;

    private sealed record WriteDone(IActorRef Requester, ModbusRequest Request, PlcProtocol.WriteResult Result) : IDeadLetterSuppression;
}
