using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using static Fleet.Actors.Core.Uplink.UplinkProtocol;

namespace Fleet.Actors.Core.Uplink;

/// <summary>
/// Owns the broker link of one vehicle and the stream that feeds it:
/// <c>log → batch → encode and compress → publish (QoS 1, bounded in flight) → acknowledge to the log</c>.
/// A state machine: connecting, online (one stream per connection), backing off (exponential with
/// jitter, reset by a successful connection; a TCP probe cuts the wait short when a broker that
/// was unreachable comes back). Whatever breaks (connect, publish, PUBACK timeout,
/// lost link) ends that stream and its connection; the next stream starts again from the oldest
/// unacknowledged entry, so nothing is skipped and only unacknowledged batches are sent twice.
/// With commands, it hands each message of the commands topic to the command actor and publishes
/// the command responses itself, on the same connection but outside the telemetry stream, so an
/// answer never waits behind a backlog (at most behind the batches in flight); responses made while
/// offline wait in a bounded queue (the oldest dropped and counted) and go out first on reconnect.
/// Accepted alerts take the same fast path (the high-priority lane, ADR 0015): each is published at
/// once on the alerts topic while it also stays in the telemetry stream.
/// </summary>
internal sealed partial class UplinkActor : ReceiveActor, IWithTimers
{
    private const string ReconnectTimer = "reconnect";
    private const string ProbeTimer = "probe";

    private readonly VehicleIdentity _vehicle;
    private UplinkSettings _settings;
    private readonly IActorRef _log;
    private readonly UplinkMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _logger = Context.GetLogger();

    private int _generation;
    private int _failures;
    private bool _brokerSeenDown;
    private bool _probeInFlight;
    private bool _lossReported;
    private MqttLink? _link;
    private IKillSwitch? _killSwitch;
    private BatchFlush? _flush;
    private bool _draining;
    private long _acknowledgedSequence;
    private long _batches;
    private string _state = "starting";
    private GoOffline? _goingOffline;
    private IActorRef? _offlineRequester;
    private readonly CommandSettings? _commandSettings;
    private readonly IActorRef? _commands;
    private readonly CommandMetrics? _commandMetrics;
    private readonly LinkedList<CommandResponse> _responses = new();
    private bool _responseInFlight;
    private StatusDetails _details = StatusDetails.None;
    private readonly LinkedList<LoggedReading> _alerts = new();
    private bool _alertInFlight;
    private bool _restartStream;

    public UplinkActor(VehicleIdentity vehicle, UplinkSettings settings, IActorRef log, UplinkMetrics metrics, TimeProvider time,
        CommandSettings? commandSettings, IActorRef? commands, CommandMetrics? commandMetrics)
    {
        _commandSettings = commandSettings;
        _commands = commands;
        _commandMetrics = commandMetrics;
        _vehicle = vehicle;
        _settings = settings;
        _log = log;
        _metrics = metrics;
        _time = time;
        _offlineSince = time.GetUtcNow();
    }

    // Since when the uplink has not been online (null while it is): readiness allows a configured tolerance.
    private DateTimeOffset? _offlineSince;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for the uplink of one vehicle, reading from <paramref name="log"/>.</summary>
    public static Props Props(VehicleIdentity vehicle, UplinkSettings settings, IActorRef log, UplinkMetrics metrics, TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new UplinkActor(vehicle, settings, log, metrics, time ?? TimeProvider.System, null, null, null));

    /// <summary>Props for an uplink that also carries the commands of <paramref name="commands"/> (its messages in, its responses out).</summary>
    public static Props Props(VehicleIdentity vehicle, UplinkSettings settings, IActorRef log, UplinkMetrics metrics, CommandSettings commandSettings,
        IActorRef commands, CommandMetrics commandMetrics, TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new UplinkActor(vehicle, settings, log, metrics, time ?? TimeProvider.System, commandSettings, commands, commandMetrics));

    protected override void PreStart()
    {
        StartTlsChecks();
        Connect();
    }

    protected override void PostStop()
    {
        _killSwitch?.Abort(new MqttLinkException("uplink stopped"));
        // Dropping the connection without a goodbye lets the broker publish the last will.
        _ = _link?.DisposeAsync();
        _metrics.Connected.Set(0);
    }

    // ---------------------------------------------------------------- connecting

    private void Connect()
    {
        Timers.Cancel(ProbeTimer);
        var generation = ++_generation;
        _state = "connecting";
        Become(Connecting);
        var self = Self;
        var commands = _commands;
        var channel = commands is null || _commandSettings is not { Enabled: true } ? null
            : new CommandChannel(_commandSettings, (payload, acknowledge) => commands.Tell(new CommandProtocol.Inbound(payload, acknowledge)));
        var (settings, vehicle, details) = (_settings, _vehicle, _details);
        // Off the actor's thread: the attempt reads the password and TLS files. What the TLS files held
        // comes back with the outcome, as the baseline of the checks for renewed files.
        Task.Run(async () =>
            {
                var tls = settings.Broker.Tls is { } files ? TlsFiles.Read(files) : null;
                try
                {
                    var link = await MqttLink.ConnectAsync(settings, vehicle, reason => self.Tell(new LinkLost(generation, reason)), CancellationToken.None,
                        channel, details, tls).ConfigureAwait(false);
                    return (object)new LinkUp(generation, link, tls?.Fingerprint);
                }
                catch (Exception ex)
                {
                    return new LinkFailed(generation, ex, tls?.Fingerprint);
                }
            })
            .PipeTo(Self);
    }

    private void Connecting()
    {
        Receive<LinkUp>(up => up.Generation == _generation, OnLinkUp);
        Receive<LinkFailed>(failed => failed.Generation == _generation, failed =>
        {
            _tlsBaseline = failed.Tls;
            _metrics.ConnectFailures.Inc();
            if (_goingOffline is not null)
            {
                // Shutdown began while reconnecting for new TLS files: there is no link to say goodbye on.
                _offlineRequester?.Tell(new WentOffline(false));
                BecomeOffline(clean: false);
                return;
            }
            if (failed.Cause is MqttLinkException { Kind: LinkFailure.RetainUnavailable } && _settings.RetainStatus)
            {
                // The broker refused the retained last will: the status cannot be retained with it, so connect again at once without.
                _settings = _settings with { RetainStatus = false };
                WarnRetainUnavailable("refused the retained last will (CONNACK RetainNotSupported)");
                Connect();
                return;
            }
            if (failed.Cause is MqttLinkException { Kind: not LinkFailure.Transient } refused) ReportRefusal(refused);
            else LogLinkProblem($"Cannot reach broker {_settings.Broker.Host}:{_settings.Broker.Port}", failed.Cause);
            BackOff(brokerUnreachable: BrokerProbe.IsUnreachable(failed.Cause),
                atMaximum: failed.Cause is MqttLinkException { Kind: LinkFailure.Unsupported });
        });
        Receive<GoOffline>(request => AnswerOffline(request, clean: false));
        CommonHandlers();
    }

    private void OnLinkUp(LinkUp up)
    {
        _link = up.Link;
        _tlsBaseline = up.Tls;
        if (_goingOffline is not null)
        {
            // Shutdown began while connecting: say goodbye on this link right away.
            BeginClose();
            return;
        }
        _failures = 0;
        _lossReported = false;
        _metrics.Connected.Set(1);
        _metrics.Reconnects.Inc();
        _logger.Info("Uplink online: {0}:{1} as {2}", _settings.Broker.Host, _settings.Broker.Port, MqttLink.ClientId(_vehicle));
        ReportLimits(up.Link.Limits);
        if (up.Link.CommandsProblem is { } problem) _logger.Error("Commands cannot reach this vehicle: {0}", problem);
        StartStream(up.Link, up.Generation);
        _state = "online";
        _offlineSince = null;
        Become(Online);
        // The state, configuration or health may have come while connecting (at start they usually do):
        // the retained status must carry them, not what the connection began with.
        if (up.Link.Details != _details) PublishStatus();
        SendResponses();
        SendAlerts();
    }

    // ---------------------------------------------------------------- online

    private void StartStream(MqttLink link, int generation)
    {
        var maxInFlight = Math.Min(_settings.MaxInFlight, link.ReceiveMaximum);
        var codec = new BatchCodec(_settings.Compression, _settings.CompressionLevel);
        var self = Self;
        var ((killSwitch, flush), _) = Source.FromGraph(new LogSource(_log, _settings.ReadChunkBytes, _settings.ReadRetryInterval))
            .ViaMaterialized(KillSwitches.Single<StoredEntry>(), Keep.Right)
            // Batches no larger than the broker takes on this connection (CONNACK Maximum Packet Size); what still does not fit after compression is split.
            .ViaMaterialized(new BatchStage(_settings.MaxBatchRecords, Math.Min(_settings.MaxBatchBytes, link.Limits.MaxPayloadBytes), _settings.Linger, _settings.MinBatchRecords), Keep.Both)
            .SelectMany(entries => BatchSplitter.Encode(codec, _vehicle, entries, link.Limits.MaxPayloadBytes))
            .SelectAsync(maxInFlight, async batch =>
            {
                var started = _time.GetTimestamp();
                try
                {
                    await link.PublishAsync(batch, CancellationToken.None).ConfigureAwait(false);
                    return new BatchPublished(generation, batch, _time.GetElapsedTime(started), null);
                }
                catch (Exception ex)
                {
                    // Failed here rather than inside SelectAsync, which would log the stack trace at Error.
                    return new BatchPublished(generation, batch, TimeSpan.Zero, ex);
                }
            })
            .Select(published => published.Failure is { } failure ? throw failure : published)
            .WatchTermination((mat, done) =>
            {
                done.ContinueWith(_ => codec.Dispose(), TaskScheduler.Default);
                return mat;
            })
            .ToMaterialized(Sink.ActorRefWithAck<BatchPublished>(self,
                onInitMessage: new StreamStarted(generation),
                ackMessage: StreamAck.Instance,
                onCompleteMessage: new StreamEnded(generation, null),
                onFailureMessage: ex => new StreamEnded(generation, ex)), Keep.Both)
            .Run(Context.Materializer());
        _killSwitch = killSwitch;
        _flush = flush;
        if (_draining) flush.FlushNow();
    }

    private void Online()
    {
        Receive<StreamStarted>(_ => Sender.Tell(StreamAck.Instance));
        Receive<BatchPublished>(OnBatchPublished);
        Receive<LinkLost>(lost => lost.Generation == _generation, lost =>
        {
            ReportLinkLost(lost.Reason);
            _killSwitch?.Abort(new MqttLinkException($"link lost: {lost.Reason}"));
        });
        Receive<StreamEnded>(ended => ended.Generation == _generation, OnStreamEnded);
        Receive<Restart>(restart =>
        {
            _logger.Warning("Uplink to {0}:{1} restarted: {2}", _settings.Broker.Host, _settings.Broker.Port, restart.Reason);
            _killSwitch?.Abort(new MqttLinkException($"restarted: {restart.Reason}"));
        });
        Receive<TlsChecked>(OnTlsCheckedOnline);
        Receive<GoOffline>(request =>
        {
            _goingOffline = request;
            _offlineRequester = Sender;
            _state = "draining";
            // Completes the stream once the batches in flight are acknowledged (StreamEnded follows);
            // abandoned, it fails the stream at once.
            if (request.Abandon) _killSwitch?.Abort(new MqttLinkException("abandoned at shutdown"));
            else _killSwitch?.Shutdown();
        });
        CommonHandlers();
    }

    private void OnBatchPublished(BatchPublished published)
    {
        Sender.Tell(StreamAck.Instance);
        if (published.Generation != _generation) return;
        var batch = published.Batch;
        if (_publishRefused is not null) _logger.Info("The broker accepts publishes to {0} again", _publishRefused);
        _publishRefused = null;
        if (batch.Acknowledges)
        {
            _log.Tell(new WalProtocol.Delivered(batch.LastJournalSeq, batch.LastSequence));
            _acknowledgedSequence = batch.LastSequence;
        }
        if (_batches++ == 0)
            _logger.Info("First batch acknowledged {0:F0} ms after process start",
                (DateTime.Now - System.Diagnostics.Process.GetCurrentProcess().StartTime).TotalMilliseconds);
        var now = _time.GetUtcNow();
        _metrics.RecordBatch(batch.Records, batch.RawBytes, batch.Payload.Length, published.AckLatency, now);
        if (_settings.PublishAcknowledgements)
            Context.System.EventStream.Publish(new BatchAcknowledged(_vehicle.VehicleId, batch.Entries, batch.Payload.Length, now.ToUnixTimeMilliseconds()));
    }

    private void OnStreamEnded(StreamEnded ended)
    {
        _killSwitch = null;
        if (_renewingTls && _goingOffline is null && _link is { } renewing && ended.Cause is null)
        {
            ReconnectForTls(renewing);
            return;
        }
        _renewingTls = false;
        if (_restartStream && _goingOffline is null && _link is { } current && ended.Cause is null)
        {
            // New batching settings: a new stream on the same connection, from the oldest unacknowledged entry.
            _restartStream = false;
            StartStream(current, _generation);
            return;
        }
        _restartStream = false;
        if (_goingOffline is not null)
        {
            BeginClose();
            return;
        }
        var refused = ended.Cause?.GetBaseException() as MqttLinkException;
        if (refused is { Kind: LinkFailure.PublishRefused or LinkFailure.Unsupported }) ReportPublishRefused(refused);
        else ReportLinkLost(ended.Cause?.GetBaseException().Message ?? "the stream completed");
        _metrics.SendErrors.Inc();
        var link = _link;
        _link = null;
        link?.DisposeAsync();
        BackOff(brokerUnreachable: false, atMaximum: refused is { Kind: LinkFailure.PublishRefused or LinkFailure.Unsupported });
    }

    // ---------------------------------------------------------------- backing off and going offline

    private void BackOff(bool brokerUnreachable, bool atMaximum = false)
    {
        _offlineSince ??= _time.GetUtcNow();
        _metrics.Connected.Set(0);
        // A broker that refuses what we send is not helped by trying again soon: wait the longest backoff.
        atMaximum |= _publishRefused is not null;
        var attempt = atMaximum ? int.MaxValue : _failures;
        _failures++;
        var delay = ReconnectBackoff.Delay(attempt, _settings.ReconnectMinBackoff, _settings.ReconnectMaxBackoff, _settings.ReconnectRandomFactor);
        _state = $"backing off ({delay.TotalSeconds:F1}s)";
        if (atMaximum) _logger.Info("Reconnecting to the broker in {0:F1}s (the maximum backoff, since the broker refuses what the uplink needs; the data stays in the log)", delay.TotalSeconds);
        else _logger.Info("Reconnecting to the broker in {0:F1}s (attempt {1})", delay.TotalSeconds, _failures);
        Timers.StartSingleTimer(ReconnectTimer, Reconnect.Instance, delay);
        _brokerSeenDown = brokerUnreachable;
        var probe = _settings.ReconnectProbeInterval;
        if (probe > TimeSpan.Zero && delay > probe) Timers.StartPeriodicTimer(ProbeTimer, ProbeBroker.Instance, probe);
        Become(BackingOff);
    }

    private void BackingOff()
    {
        Receive<Reconnect>(_ => Connect());
        Receive<ProbeBroker>(_ => StartProbe());
        Receive<ProbeResult>(result => result.Generation == _generation, OnProbeResult);
        Receive<TlsChecked>(OnTlsCheckedBackingOff);
        Receive<GoOffline>(request => AnswerOffline(request, clean: false));
        CommonHandlers();
    }

    private void StartProbe()
    {
        if (_probeInFlight) return;
        _probeInFlight = true;
        var generation = _generation;
        var timeout = _settings.ReconnectProbeInterval < _settings.Broker.ConnectTimeout ? _settings.ReconnectProbeInterval : _settings.Broker.ConnectTimeout;
        BrokerProbe.IsReachableAsync(_settings.Broker.Host, _settings.Broker.Port, timeout)
            .PipeTo(Self, success: reachable => new ProbeResult(generation, reachable));
    }

    /// <summary>Reconnects at once when the broker accepts connections again after it was seen unreachable.</summary>
    private void OnProbeResult(ProbeResult result)
    {
        _probeInFlight = false;
        if (!result.Reachable)
        {
            _brokerSeenDown = true;
            return;
        }
        if (!_brokerSeenDown) return;
        _logger.Info("Broker {0}:{1} accepts connections again; reconnecting now instead of after the backoff", _settings.Broker.Host, _settings.Broker.Port);
        Timers.Cancel(ReconnectTimer);
        Connect();
    }

    private void BeginClose()
    {
        var link = _link;
        _link = null;
        if (_goingOffline!.Abandon)
        {
            // No goodbye: the broker publishes the last will once it notices the dropped link.
            _ = link?.DisposeAsync();
            _offlineRequester?.Tell(new WentOffline(false));
            BecomeOffline(clean: false);
            return;
        }
        _state = "closing";
        CloseAsync(link, _goingOffline!, _settings.Broker.PublishTimeout)
            .PipeTo(Self, success: clean => new LinkClosed(clean, null), failure: ex => new LinkClosed(false, ex));
        Become(() =>
        {
            Receive<LinkClosed>(closed =>
            {
                if (closed.Cause is not null) _logger.Warning("Could not say goodbye to the broker: {0}", closed.Cause.GetBaseException().Message);
                _offlineRequester?.Tell(new WentOffline(closed.Clean));
                BecomeOffline(closed.Clean);
            });
            Receive<GoOffline>(_ => _offlineRequester = Sender);
            CommonHandlers();
        });
    }

    private static async Task<bool> CloseAsync(MqttLink? link, GoOffline request, TimeSpan timeout)
    {
        if (link is null) return false;
        try
        {
            using var cancellation = new CancellationTokenSource(timeout);
            await link.CloseAsync(request.LastSequence, request.DeliveredSequence, cancellation.Token).ConfigureAwait(false);
            return true;
        }
        finally
        {
            await link.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void AnswerOffline(GoOffline request, bool clean)
    {
        _goingOffline = request;
        Timers.Cancel(ReconnectTimer);
        Timers.Cancel(ProbeTimer);
        Sender.Tell(new WentOffline(clean));
        BecomeOffline(clean);
    }

    private void BecomeOffline(bool clean)
    {
        _state = clean ? "offline" : "offline (no goodbye)";
        _metrics.Connected.Set(0);
        Timers.Cancel(TlsCheckTimer);
        Become(() =>
        {
            Receive<GoOffline>(_ => Sender.Tell(new WentOffline(clean)));
            Receive<BatchPublished>(_ => Sender.Tell(StreamAck.Instance));
            CommonHandlers();
        });
    }

    // ---------------------------------------------------------------- command responses

    private void OnRespond(CommandProtocol.Respond respond)
    {
        _responses.AddLast(respond.Response);
        if (_responses.Count > (_commandSettings?.MaxPendingResponses ?? 1000))
        {
            _responses.RemoveFirst();
            _commandMetrics?.ResponsesDropped.Inc();
        }
        SendResponses();
    }

    /// <summary>Publishes the oldest waiting response when online and none is in flight (one at a time keeps their order).</summary>
    private void SendResponses()
    {
        if (_responseInFlight || _responses.First is not { } first || _link is not { } link || _killSwitch is null || _goingOffline is not null) return;
        _responses.RemoveFirst();
        _responseInFlight = true;
        var response = first.Value;
        var generation = _generation;
        link.PublishResponseAsync(response, CancellationToken.None)
            .PipeTo(Self, success: () => new ResponsePublished(generation, response, null), failure: ex => new ResponsePublished(generation, response, ex));
    }

    private void OnResponsePublished(ResponsePublished published)
    {
        _responseInFlight = false;
        if (published.Failure is ResponseRefusedException refused)
        {
            _commandMetrics?.ResponsesDropped.Inc();
            _logger.Error("Command response dropped: {0}", refused.Message);
        }
        else if (published.Failure is { } failure)
        {
            // Sent again first once a link is up; a broken link is noticed by the stream too.
            _responses.AddFirst(published.Response);
            _logger.Debug("Command response to {0} not acknowledged: {1}", published.Response.CommandId, failure.GetBaseException().Message);
            return;
        }
        SendResponses();
    }

    // ---------------------------------------------------------------- the high-priority lane (alerts)

    private void OnPublishAlerts(PublishAlerts publish)
    {
        if (!_settings.PriorityLane) return;
        foreach (var alert in publish.Alerts)
        {
            _alerts.AddLast(alert);
            if (_alerts.Count <= _settings.PriorityLaneMaxPending) continue;
            // The oldest goes: it is also the one most likely to reach the fleet soon through the telemetry stream.
            _alerts.RemoveFirst();
            _metrics.AlertsDropped.Inc();
        }
        SendAlerts();
    }

    /// <summary>
    /// Publishes the oldest waiting alert when online and none is in flight (one at a time keeps their
    /// order). An alert the telemetry stream has already delivered is not sent again.
    /// </summary>
    private void SendAlerts()
    {
        if (_alertInFlight || _link is not { } link || _killSwitch is null || _goingOffline is not null) return;
        while (_alerts.First is { } first && first.Value.Sequence <= _acknowledgedSequence) _alerts.RemoveFirst();
        if (_alerts.First is not { } next) return;
        _alerts.RemoveFirst();
        _alertInFlight = true;
        var alert = next.Value;
        var generation = _generation;
        link.PublishAlertAsync(TopicTemplate.Expand(_settings.AlertsTopic, _vehicle), alert, CancellationToken.None)
            .PipeTo(Self, success: () => new AlertPublished(generation, alert, null), failure: ex => new AlertPublished(generation, alert, ex));
    }

    private void OnAlertPublished(AlertPublished published)
    {
        _alertInFlight = false;
        if (published.Failure is AlertRefusedException refused)
        {
            _metrics.AlertsDropped.Inc();
            _logger.Error("Alert dropped from the high-priority lane (it still travels in the telemetry stream): {0}", refused.Message);
        }
        else if (published.Failure is { } failure)
        {
            // Sent again first once a link is up; a broken link is noticed by the stream too.
            _alerts.AddFirst(published.Alert);
            _logger.Debug("Alert {0} not acknowledged on the high-priority lane: {1}", published.Alert.Sequence, failure.GetBaseException().Message);
            return;
        }
        else _metrics.AlertsPublished.Inc();
        SendAlerts();
    }

    private void PublishStatus()
    {
        if (_link is { } link && _killSwitch is not null && _goingOffline is null)
            link.UpdateStatusAsync(_details, CancellationToken.None).ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    private void CommonHandlers()
    {
        Receive<CommandProtocol.Respond>(OnRespond);
        Receive<Restart>(_ => { });
        Receive<PublishAlerts>(OnPublishAlerts);
        Receive<AlertPublished>(OnAlertPublished);
        Receive<ApplySettings>(apply =>
        {
            // The broker's address and credentials are read at start only; the rest applies to the next stream.
            _settings = apply.Settings with { Broker = _settings.Broker, RetainStatus = _settings.RetainStatus };
            _logger.Info("Uplink settings changed: batches of up to {0} records / {1} bytes, linger {2}, {3} in flight",
                _settings.MaxBatchRecords, _settings.MaxBatchBytes, _settings.Linger, _settings.MaxInFlight);
            if (_killSwitch is null) return;
            _restartStream = true;
            _killSwitch.Shutdown();
        });
        Receive<SetOperationalState>(set =>
        {
            _details = _details with { OperationalState = set.State };
            PublishStatus();
        });
        Receive<SetConfigVersion>(set =>
        {
            _details = _details with { Configuration = set };
            PublishStatus();
        });
        Receive<SetHealth>(set =>
        {
            _details = _details with { Health = set.Sample };
            PublishStatus();
        });
        Receive<ResponsePublished>(OnResponsePublished);
        Receive<Drain>(_ =>
        {
            // Shutdown: stop lingering so that everything in the log goes out now (also on later connections).
            _draining = true;
            _flush?.FlushNow();
            Sender.Tell(Draining.Instance);
        });
        Receive<GetStatus>(_ =>
        {
            var connected = _link is not null && _killSwitch is not null;
            if (!connected) _offlineSince ??= _time.GetUtcNow();
            Sender.Tell(new UplinkStatus(connected, _acknowledgedSequence, _batches, _state, connected ? null : _offlineSince));
        });
        Receive<LinkUp>(stale => stale.Link.DisposeAsync());
        Receive<StreamStarted>(_ => Sender.Tell(StreamAck.Instance));
        Receive<BatchPublished>(_ => Sender.Tell(StreamAck.Instance));
        // What an earlier connection, stream or probe reports after the uplink moved on.
        Receive<LinkFailed>(_ => { });
        Receive<LinkLost>(_ => { });
        Receive<StreamEnded>(_ => { });
        Receive<ProbeResult>(_ => _probeInFlight = false);
        Receive<ProbeBroker>(_ => { });
        Receive<CheckTlsFiles>(_ => StartTlsCheck());
        // Connecting or closing: the next check compares with what the next attempt reads.
        Receive<TlsChecked>(_ => TlsCheckDone());
    }

    /// <summary>One warning per lost connection, whichever notices first: the link or the stream.</summary>
    private void ReportLinkLost(string reason)
    {
        if (_lossReported) _logger.Debug("Broker link lost: {0}", reason);
        else _logger.Warning("Broker link lost: {0}", reason);
        _lossReported = true;
    }

    private void LogLinkProblem(string what, Exception? cause)
    {
        // One warning per outage (this one, or the lost link before it); the attempts that follow are information.
        var reason = cause?.GetBaseException().Message ?? "completed";
        if (_lossReported) _logger.Info("{0} (attempt {1}): {2}", what, _failures + 1, reason);
        else _logger.Warning("{0}: {1}", what, reason);
        _lossReported = true;
    }

    private sealed record LinkUp(int Generation, MqttLink Link, TlsFingerprint? Tls);

    private sealed record LinkFailed(int Generation, Exception Cause, TlsFingerprint? Tls);

    private sealed record LinkLost(int Generation, string Reason);

    private sealed record StreamStarted(int Generation);

    private sealed record StreamEnded(int Generation, Exception? Cause);

    private sealed record BatchPublished(int Generation, EncodedBatch Batch, TimeSpan AckLatency, Exception? Failure);

    private sealed record LinkClosed(bool Clean, Exception? Cause);

    private sealed record ResponsePublished(int Generation, CommandResponse Response, Exception? Failure);

    private sealed record AlertPublished(int Generation, LoggedReading Alert, Exception? Failure);

    private sealed class StreamAck
    {
        public static readonly StreamAck Instance = new();
    }

    private sealed record ProbeResult(int Generation, bool Reachable);

    private sealed class Reconnect
    {
        public static readonly Reconnect Instance = new();
    }

    private sealed class ProbeBroker
    {
        public static readonly ProbeBroker Instance = new();
    }
}
