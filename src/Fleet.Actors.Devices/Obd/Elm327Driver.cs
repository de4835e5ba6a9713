using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;

namespace Fleet.Actors.Devices.Obd;

/// <summary>The outcome of a command sent to the vehicle (such as clearing the trouble codes).</summary>
/// <param name="Success">True when the vehicle confirmed it.</param>
/// <param name="Detail">What happened, for the command's acknowledgement.</param>
public sealed record ObdCommandResult(bool Success, string Detail);

/// <summary>Commands an <c>obd-elm327</c> sensor takes through <see cref="SensorProtocol.Execute"/>.</summary>
public static class ObdCommands
{
    /// <summary>Clear the stored trouble codes and turn the MIL off (mode 04). Only ever sent on request.</summary>
    public sealed record ClearTroubleCodes
    {
        /// <summary>The command.</summary>
        public static readonly ClearTroubleCodes Instance = new();
    }
}

/// <summary>
/// OBD-II through an ELM327 adapter on a serial port. Opening resets and sets up the adapter, lets
/// it find the vehicle's protocol, and reads which PIDs the vehicle supports, its VIN and its stored
/// trouble codes. Each read polls the configured PIDs that are due and the trouble codes when their
/// interval has passed (emitted only when they change). Error answers are malformed frames and the
/// port is kept; an adapter that stops answering or resets itself is set up again; three rounds in
/// which every PID failed, or a failed set-up, throw <see cref="IOException"/> so that the sensor
/// actor reconnects with backoff (ignition off looks like this).
/// </summary>
public sealed class Elm327Driver : ISensorDriver, ISensorCommandTarget
{
    /// <summary>Configuration type name.</summary>
    public const string TypeName = "obd-elm327";

    /// <summary>Consecutive rounds in which every polled PID failed before the device counts as down.</summary>
    public const int MaxFailedRounds = 3;

    private readonly ElmLink _link;
    private readonly Elm327Options _options;
    private readonly TimeProvider _time;
    private readonly TimeSpan _readBudget;
    private readonly TimeSpan _defaultInterval;
    private readonly HashSet<byte> _supported = new();
    private readonly List<TimedValue> _pendingValues = new();
    private readonly List<MalformedFrame> _pendingMalformed = new();
    private readonly List<string> _notices = new();
    private readonly HashSet<byte> _reportedUnsupported = new();
    private readonly List<Scheduled> _schedule = new();
    private Scheduled? _dtcSchedule;
    private ElmFraming _framing = ElmFraming.Auto;
    private FaultCodesValue? _lastFaults;
    private long _openedAt;
    private int _failedRounds;
    private int _dtcRefreshRequested;
    private int _resyncNeeded;
    private bool _recoveredThisRead;
    private long _reportedDrops;
    private long _reportedStale;
    private volatile bool _open;

    /// <summary>Creates the driver over a channel (not yet opened).</summary>
    /// <param name="channel">The adapter's serial line.</param>
    /// <param name="options">Protocol, poll list, timeouts.</param>
    /// <param name="time">The clock for timeouts, poll intervals and timestamps.</param>
    /// <param name="rateHz">Polls per second of the PIDs that have no interval of their own.</param>
    /// <param name="readBudget">How long one read may wait and poll (keep it well under the sensor's stall timeout).</param>
    public Elm327Driver(ISerialChannel channel, Elm327Options options, TimeProvider time, double rateHz = 1, TimeSpan? readBudget = null)
    {
        _link = new ElmLink(channel, time, options.MaxAnswerBytes);
        _options = options;
        _time = time;
        _defaultInterval = TimeSpan.FromSeconds(1 / rateHz);
        _readBudget = readBudget ?? TimeSpan.FromSeconds(5);
    }

    /// <summary>The adapter's banner, e.g. <c>ELM327 v1.5</c>.</summary>
    public string? AdapterVersion { get; private set; }

    /// <summary>The protocol number the adapter uses (<c>ATDPN</c>), once open.</summary>
    public char? Protocol { get; private set; }

    /// <summary>The protocol's name, once open.</summary>
    public string ProtocolName { get; private set; } = "";

    /// <summary>The vehicle's VIN, when it gave one.</summary>
    public string? Vin { get; private set; }

    /// <summary>The mode 01 PIDs the vehicle says it supports.</summary>
    public IReadOnlySet<byte> SupportedPids => _supported;

    /// <summary>The configured PIDs actually polled (the supported ones).</summary>
    public IReadOnlyList<ObdPid> PolledPids => _schedule.Select(s => s.Pid!).ToList();

    /// <inheritdoc />
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        _reportedUnsupported.Clear();
        await _link.OpenAsync(cancellationToken).ConfigureAwait(false);
        var bitmap = await InitialiseAsync(cancellationToken).ConfigureAwait(false);
        _openedAt = _time.GetTimestamp();
        var coveredUpTo = await ReadSupportedPidsAsync(bitmap, cancellationToken).ConfigureAwait(false);
        foreach (var poll in _options.Polls)
        {
            // A PID outside the bitmaps the vehicle answered is asked for anyway: NO DATA will tell.
            if (poll.Pid.Number <= coveredUpTo && !_supported.Contains(poll.Pid.Number))
            {
                _notices.Add($"{poll.Pid} is not supported by the vehicle; not polled");
                continue;
            }
            _schedule.Add(new Scheduled(poll.Pid, poll.Interval ?? _defaultInterval, TimeSpan.Zero));
        }
        await ReadVinAsync(cancellationToken).ConfigureAwait(false);
        await ReadTroubleCodesAsync(_pendingValues, _pendingMalformed, cancellationToken).ConfigureAwait(false);
        _dtcSchedule = new Scheduled(null, _options.DtcInterval, _options.DtcInterval);
        _open = true;
    }

    /// <inheritdoc />
    public async Task<SensorRead> ReadAsync(CancellationToken cancellationToken)
    {
        if (!_open) throw new InvalidOperationException("The ELM327 driver is not open.");
        _recoveredThisRead = false;
        var values = new List<TimedValue>();
        var malformed = new List<MalformedFrame>();
        if (_pendingValues.Count > 0 || _pendingMalformed.Count > 0 || _notices.Count > 0)
        {
            // What the open learnt (VIN, trouble codes, unsupported PIDs) goes out with the first read.
            values.AddRange(_pendingValues);
            malformed.AddRange(_pendingMalformed);
            _pendingValues.Clear();
            _pendingMalformed.Clear();
            AddLinkProblems(malformed);
            return new SensorRead(values, malformed) { Notices = TakeNotices() };
        }

        var started = _time.GetTimestamp();
        if (Interlocked.Exchange(ref _resyncNeeded, 0) == 1) await RecoverAsync("an earlier command went unanswered", cancellationToken).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _dtcRefreshRequested, 0) == 1) _dtcSchedule!.Due = Elapsed();
        // Wait for the next due poll, but come back within the budget even when nothing is due, so
        // that a long poll interval never looks like a stalled device. Timers may fire a little early.
        while (true)
        {
            var wait = Due().Select(s => s.Due).DefaultIfEmpty(TimeSpan.MaxValue).Min() - Elapsed();
            var left = _readBudget - _time.GetElapsedTime(started);
            if (wait <= TimeSpan.Zero || left <= TimeSpan.Zero) break;
            await Task.Delay(wait < left ? wait : left, _time, cancellationToken).ConfigureAwait(false);
        }

        var handled = 0;
        var polled = 0;
        var answered = 0;
        long missed = 0;
        var now = Elapsed();
        foreach (var item in Due().Where(s => s.Due <= now).OrderBy(s => s.Due).ToList())
        {
            // At least one request per read; the rest waits for the next read rather than stall this one.
            if (handled++ > 0 && _time.GetElapsedTime(started) >= _readBudget) break;
            if (item.Pid is { } pid)
            {
                polled++;
                if (await PollAsync(pid, values, malformed, cancellationToken).ConfigureAwait(false)) answered++;
                missed += item.Reschedule(Elapsed());
            }
            else
            {
                await ReadTroubleCodesAsync(values, malformed, cancellationToken).ConfigureAwait(false);
                item.Reschedule(Elapsed());
            }
        }

        if (polled > 0)
        {
            _failedRounds = answered > 0 ? 0 : _failedRounds + 1;
            if (_failedRounds >= MaxFailedRounds)
                throw new IOException($"{_link.Description}: no PID answered in {MaxFailedRounds} rounds (last: {malformed.LastOrDefault()?.Reason ?? (_reportedUnsupported.Count > 0 ? "NO DATA" : "no answer")})");
        }
        AddLinkProblems(malformed);
        return new SensorRead(values, malformed, missed) { Notices = TakeNotices() };
    }

    private IReadOnlyList<string> TakeNotices()
    {
        if (_notices.Count == 0) return [];
        var notices = _notices.ToArray();
        _notices.Clear();
        return notices;
    }

    /// <inheritdoc />
    public async Task<SensorCommandResult> ExecuteAsync(object command, CancellationToken cancellationToken)
    {
        if (command is not ObdCommands.ClearTroubleCodes)
            return new SensorCommandResult(false, $"an OBD-II adapter does not take {command}");
        var result = await ClearTroubleCodesAsync(cancellationToken).ConfigureAwait(false);
        return new SensorCommandResult(result.Success, result.Detail);
    }

    /// <summary>
    /// Clears the stored trouble codes and the MIL (mode 04). Only ever sent on request, never
    /// polled; the codes are read again on the next read, so the cleared (empty) list is reported.
    /// Safe to call while reads run: requests take turns on the line.
    /// </summary>
    public async Task<ObdCommandResult> ClearTroubleCodesAsync(CancellationToken cancellationToken)
    {
        if (!_open) return new ObdCommandResult(false, "the adapter is not connected");
        ElmAnswer answer;
        try
        {
            answer = await _link.ExchangeAsync("04", _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            return new ObdCommandResult(false, ex.Message);
        }
        if (answer.Status != ElmAnswerStatus.Answered)
        {
            // A late answer would be taken for the next request's: the next read starts over.
            Interlocked.Exchange(ref _resyncNeeded, 1);
            return new ObdCommandResult(false, $"no answer to 04 within {_options.CommandTimeout.TotalSeconds:0.###}s");
        }
        if (!ObdDecoder.TryClearConfirmed(ElmResponse.Parse(answer.Text, "04", _framing), out var problem))
            return new ObdCommandResult(false, $"the vehicle refused: {problem}");
        Interlocked.Exchange(ref _dtcRefreshRequested, 1);
        return new ObdCommandResult(true, "trouble codes cleared");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _open = false;
        await _link.DisposeAsync().ConfigureAwait(false);
    }

    private TimeSpan Elapsed() => _time.GetElapsedTime(_openedAt);

    private IEnumerable<Scheduled> Due() => _dtcSchedule is null ? _schedule : _schedule.Append(_dtcSchedule);

    /// <summary>Resets and sets up the adapter and finds the vehicle; returns the 0100 answer. Throws IOException when either is not there.</summary>
    private async Task<ElmResponse> InitialiseAsync(CancellationToken cancellationToken)
    {
        await ResetAsync(cancellationToken).ConfigureAwait(false);
        await SetAsync("ATE0", required: true, cancellationToken).ConfigureAwait(false);
        await SetAsync("ATL0", required: true, cancellationToken).ConfigureAwait(false);
        // Spaces off halves the bytes on the line; adapters before v1.3 do not know it, which is fine.
        await SetAsync("ATS0", required: false, cancellationToken).ConfigureAwait(false);
        await SetAsync(_options.Headers ? "ATH1" : "ATH0", required: true, cancellationToken).ConfigureAwait(false);
        await SetAsync($"ATSP{_options.Protocol}", required: true, cancellationToken).ConfigureAwait(false);
        await SetAsync("ATAT1", required: false, cancellationToken).ConfigureAwait(false);

        var answer = await _link.ExchangeAsync("0100", _options.FirstCommandTimeout, cancellationToken).ConfigureAwait(false);
        if (answer.Status != ElmAnswerStatus.Answered)
            throw new IOException($"{_link.Description}: {Describe(answer, "0100", _options.FirstCommandTimeout)}");
        var bitmap = ElmResponse.Parse(answer.Text, "0100");
        if (bitmap.Error is { } error)
            throw new IOException($"{_link.Description}: the vehicle does not answer ({error.Text}); ignition off?");

        var number = await _link.ExchangeAsync("ATDPN", _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        Protocol = number.Status == ElmAnswerStatus.Answered ? ElmProtocols.ParseNumber(ElmResponse.Parse(number.Text, "ATDPN")) : null;
        ProtocolName = Protocol is { } protocol ? ElmProtocols.NameOf(protocol) : "";
        if (Protocol is null)
        {
            var described = await _link.ExchangeAsync("ATDP", _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            if (described.Status == ElmAnswerStatus.Answered) ProtocolName = string.Join(" ", ElmResponse.Parse(described.Text, "ATDP").Lines);
        }
        _framing = ElmProtocols.FramingOf(_options.Headers, Protocol);
        return bitmap;
    }

    private async Task ResetAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            // Anything before the banner is left over from before the reset (or the reset's echo).
            var answer = await _link.ExchangeAsync("ATZ", _options.ResetTimeout, cancellationToken,
                text => ElmResponse.Parse(text, "ATZ").Banner is not null).ConfigureAwait(false);
            if (answer.Status != ElmAnswerStatus.Answered) continue;
            AdapterVersion = ElmResponse.Parse(answer.Text, "ATZ").Banner;
            return;
        }
        throw new IOException($"{_link.Description}: no ELM327 answered ATZ within {_options.ResetTimeout.TotalSeconds:0.###}s");
    }

    private async Task SetAsync(string command, bool required, CancellationToken cancellationToken)
    {
        var answer = await _link.ExchangeAsync(command, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (answer.Status != ElmAnswerStatus.Answered)
            throw new IOException($"{_link.Description}: {Describe(answer, command, _options.CommandTimeout)}");
        var response = ElmResponse.Parse(answer.Text, command);
        if (response.IsOk || !required && response.Error?.Kind == ElmErrorKind.UnknownCommand) return;
        throw new IOException($"{_link.Description}: {command} answered \"{response.Excerpt}\" instead of OK; is this an ELM327?");
    }

    /// <summary>Reads the bitmaps after the first; returns the highest PID whose support is known.</summary>
    private async Task<int> ReadSupportedPidsAsync(ElmResponse first, CancellationToken cancellationToken)
    {
        _supported.Clear();
        var response = first;
        for (var range = 0x00; range <= 0xE0; range += 0x20)
        {
            if (!ObdDecoder.TrySupportedPids((byte)range, response, out var pids, out var problem))
            {
                _pendingMalformed.Add(new MalformedFrame($"supported PIDs {range:X2}: {problem}", response.Excerpt));
                return range;
            }
            _supported.UnionWith(pids);
            if (!pids.Contains((byte)(range + 0x20))) return byte.MaxValue;
            var command = $"01{range + 0x20:X2}";
            if (await AskAsync(command, _pendingMalformed, cancellationToken).ConfigureAwait(false) is not { } next) return range + 0x20;
            response = next;
        }
        return byte.MaxValue;
    }

    private async Task ReadVinAsync(CancellationToken cancellationToken)
    {
        if (await AskAsync("0902", _pendingMalformed, cancellationToken).ConfigureAwait(false) is not { } response) return;
        if (ObdDecoder.TryVin(response, out var vin, out var problem))
        {
            Vin = vin;
            _pendingValues.Add(new TimedValue(NowMs(), new VehicleInfoValue(vin, ProtocolName)));
        }
        // Best effort: many vehicles before 2005 have no mode 09 at all.
        else if (response.Error?.Kind is not (ElmErrorKind.NoData or ElmErrorKind.UnknownCommand) && !problem.StartsWith("negative", StringComparison.Ordinal))
        {
            _pendingMalformed.Add(new MalformedFrame($"0902 (VIN): {problem}", response.Excerpt));
        }
    }

    private async Task ReadTroubleCodesAsync(List<TimedValue> values, List<MalformedFrame> malformed, CancellationToken cancellationToken)
    {
        bool? mil = null;
        if (_supported.Contains(0x01) && await AskAsync("0101", malformed, cancellationToken).ConfigureAwait(false) is { } status
            && ObdDecoder.TryMonitorStatus(status, out var monitor, out _))
            mil = monitor.Mil;
        if (await AskAsync("03", malformed, cancellationToken).ConfigureAwait(false) is not { } response) return;
        if (!ObdDecoder.TryTroubleCodes(response, Protocol is { } p ? ElmProtocols.IsCan(p) : null, out var faults, out var problem))
        {
            malformed.Add(new MalformedFrame($"03 (trouble codes): {problem}", response.Excerpt));
            return;
        }
        var value = new FaultCodesValue(ObdDecoder.FaultSource, faults, mil);
        if (value.Equals(_lastFaults)) return;
        _lastFaults = value;
        values.Add(new TimedValue(NowMs(), value));
    }

    private async Task<bool> PollAsync(ObdPid pid, List<TimedValue> values, List<MalformedFrame> malformed, CancellationToken cancellationToken)
    {
        if (await AskAsync(pid.Command, malformed, cancellationToken).ConfigureAwait(false) is not { } response) return false;
        if (response.Error?.Kind == ElmErrorKind.NoData)
        {
            // The vehicle does not answer this PID: a fact about the vehicle, not bad data.
            if (_reportedUnsupported.Add(pid.Number))
                _notices.Add($"{pid.Command} ({pid.Name}): NO DATA, the vehicle does not answer this PID (reported once per connection)");
            return false;
        }
        if (!ObdDecoder.TryDecodePid(pid, response, out var measurements, out var problem))
        {
            malformed.Add(new MalformedFrame($"{pid.Command} ({pid.Name}): {problem}", response.Excerpt));
            return false;
        }
        var now = NowMs();
        foreach (var measurement in measurements) values.Add(new TimedValue(now, measurement));
        return true;
    }

    /// <summary>
    /// Sends an OBD request and parses the answer; null (with a malformed frame) when there was no
    /// usable answer. An adapter that went silent or reset itself is set up again first.
    /// </summary>
    private async Task<ElmResponse?> AskAsync(string command, List<MalformedFrame> malformed, CancellationToken cancellationToken)
    {
        // An answer that belongs to another request arrived late: skip it rather than take it for this one.
        var answer = await _link.ExchangeAsync(command, _options.CommandTimeout, cancellationToken, text => !IsStale(text, command)).ConfigureAwait(false);
        if (answer.Status != ElmAnswerStatus.Answered)
        {
            malformed.Add(new MalformedFrame($"{command}: {Describe(answer, command, _options.CommandTimeout)}", answer.Text));
            if (answer.Status == ElmAnswerStatus.TimedOut) await RecoverAsync($"no answer to {command}", cancellationToken).ConfigureAwait(false);
            return null;
        }
        var response = ElmResponse.Parse(answer.Text, command, _framing);
        if (response.Error is { IsReset: true } reset)
        {
            malformed.Add(new MalformedFrame($"{command}: the adapter reset itself ({reset.Text})", answer.Text));
            await RecoverAsync($"adapter reset ({reset.Text})", cancellationToken).ConfigureAwait(false);
            return null;
        }
        return response;
    }

    private bool IsStale(string text, string command)
    {
        var response = ElmResponse.Parse(text, command, _framing);
        return response.Error is null && response.Messages.Count > 0 && ObdRequest.TryParse(command, out var request)
               && !response.Messages.Any(m => m.Data.AsSpan().StartsWith(request.ExpectedPrefix) || m.Data is [0x7F, var service, ..] && service == request.Service);
    }

    private async Task RecoverAsync(string reason, CancellationToken cancellationToken)
    {
        if (_recoveredThisRead) throw new IOException($"{_link.Description}: the adapter is still failing after being set up again ({reason})");
        _recoveredThisRead = true;
        try
        {
            await InitialiseAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new IOException($"{_link.Description}: setting the adapter up again after {reason} failed: {ex.Message}", ex);
        }
    }

    private void AddLinkProblems(List<MalformedFrame> malformed)
    {
        var drops = _link.DroppedBytes;
        if (drops > _reportedDrops)
        {
            malformed.Add(new MalformedFrame("serial hand-off overflow", $"{drops - _reportedDrops} bytes dropped"));
            _reportedDrops = drops;
        }
        var stale = _link.StaleBytes;
        if (stale > _reportedStale)
        {
            malformed.Add(new MalformedFrame("unrequested answer from the adapter", $"{stale - _reportedStale} bytes discarded"));
            _reportedStale = stale;
        }
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static string Describe(ElmAnswer answer, string command, TimeSpan timeout) => answer.Status switch
    {
        ElmAnswerStatus.TimedOut => $"no answer to {command} within {timeout.TotalSeconds:0.###}s",
        ElmAnswerStatus.Overlong => $"answer to {command} too long, given up",
        _ => answer.Text,
    };

    /// <summary>A PID (or, without one, the trouble codes) and when it is next due, as time since the open.</summary>
    private sealed class Scheduled(ObdPid? pid, TimeSpan interval, TimeSpan due)
    {
        public ObdPid? Pid { get; } = pid;

        public TimeSpan Due { get; set; } = due;

        /// <summary>Moves to the next due time; returns how many due times were skipped because <paramref name="now"/> is past them.</summary>
        public long Reschedule(TimeSpan now)
        {
            var next = Due + interval;
            long skipped = 0;
            // Behind by more than an interval (slow answers, a long poll list): the polls in between
            // are missed, the one due now is still made.
            if (next < now)
            {
                skipped = (long)((now - next) / interval);
                next += interval * skipped;
            }
            Due = next;
            return skipped;
        }
    }
}
