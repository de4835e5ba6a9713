using Akka.Actor;
using Akka.Event;
using static Fleet.Actors.Core.Uplink.UplinkProtocol;

namespace Fleet.Actors.Core.Uplink;

/// <summary>
/// Renewal of the TLS files without a restart (ADR 0012): every <c>tls.check-interval</c> the files are
/// read off the actor's thread and compared with what the last connection attempt used. New files
/// that load as a connection attempt would load them make the uplink reconnect at once: online, after
/// the batches in flight are acknowledged and without the offline status (a normal MQTT 5 disconnect
/// discards the last will) and only after a trial TLS handshake with them succeeds (a wrong new CA
/// does not cost a working connection); backing off, without waiting out the backoff. New files that
/// do not load, or fail the trial, are one warning, and the uplink keeps what it has.
/// </summary>
internal sealed partial class UplinkActor
{
    private const string TlsCheckTimer = "tls-check";

    /// <summary>What the TLS files held when the last connection attempt read them.</summary>
    private TlsFingerprint? _tlsBaseline;

    /// <summary>Files that changed but could not be used, already reported.</summary>
    private TlsFingerprint? _tlsReported;

    private bool _tlsCheckInFlight;
    private bool _renewingTls;

    private void StartTlsChecks()
    {
        if (_settings.Broker.Tls is { } tls && tls.CheckInterval > TimeSpan.Zero && TlsFiles.AnyConfigured(tls))
            Timers.StartPeriodicTimer(TlsCheckTimer, CheckTlsFiles.Instance, tls.CheckInterval);
    }

    private void StartTlsCheck()
    {
        if (_tlsCheckInFlight || _settings.Broker.Tls is not { } tls || _tlsBaseline is not { } baseline) return;
        _tlsCheckInFlight = true;
        var reported = _tlsReported;
        var time = _time;
        // Online, a working connection is dropped for the new files only if they get through a trial handshake.
        var trial = _killSwitch is not null;
        var broker = _settings.Broker;
        Task.Run(async () =>
            {
                var files = TlsFiles.Read(tls);
                if (files.Fingerprint == baseline || files.Fingerprint == reported) return new TlsChecked(files.Fingerprint, null, null);
                var (changes, problem) = files.Check(baseline, time.GetUtcNow());
                if (problem is null && trial)
                {
                    using var timeout = new CancellationTokenSource(broker.ConnectTimeout);
                    if (await new BrokerConnection(broker, time, files).TrialHandshakeAsync(timeout.Token).ConfigureAwait(false) is { } failed)
                        problem = "a trial handshake with them failed: " + failed;
                }
                return new TlsChecked(files.Fingerprint, changes, problem);
            })
            .PipeTo(Self, failure: ex => new TlsChecked(null, null, ex.GetBaseException().Message));
    }

    /// <summary>
    /// What a check found, as far as the uplink acts on it: the changes in words when new files can be
    /// used, else null (unchanged, or not usable: then one warning per set of files, saying what the
    /// uplink does meanwhile, <paramref name="meanwhile"/>).
    /// </summary>
    private string? Judge(TlsChecked check, string meanwhile)
    {
        TlsCheckDone();
        if (check.Fingerprint is null)
        {
            _logger.Debug("Checking the TLS files failed: {0}", check.Problem);
            return null;
        }
        if (_tlsBaseline is null || check.Fingerprint == _tlsBaseline) return null;
        if (check.Problem is { } problem)
        {
            if (check.Fingerprint != _tlsReported) _logger.Warning("TLS files changed but cannot be used ({0}): {1}", meanwhile, problem);
            _tlsReported = check.Fingerprint;
            return null;
        }
        return check.Changes;
    }

    private void TlsCheckDone()
    {
        _tlsCheckInFlight = false;
        _metrics.TlsFileChecks.Inc();
    }

    private void OnTlsCheckedOnline(TlsChecked check)
    {
        if (Judge(check, "the current connection stays") is not { } changes || _killSwitch is null || _goingOffline is not null || _renewingTls) return;
        _logger.Info("TLS files changed ({0}): reconnecting to use them", changes);
        _renewingTls = true;
        _state = "reconnecting (TLS files changed)";
        // The stream completes once the batches in flight are acknowledged (StreamEnded), then the link closes.
        _killSwitch.Shutdown();
    }

    private void OnTlsCheckedBackingOff(TlsChecked check)
    {
        if (Judge(check, "the next connection attempt reads them again") is not { } changes) return;
        _logger.Info("TLS files changed ({0}): reconnecting now instead of after the backoff", changes);
        Timers.Cancel(ReconnectTimer);
        Connect();
    }

    /// <summary>The stream ended for new TLS files: close the link without the offline status, then connect at once.</summary>
    private void ReconnectForTls(MqttLink link)
    {
        _renewingTls = false;
        _restartStream = false;
        _link = null;
        _metrics.Connected.Set(0);
        DisconnectAsync(link, _settings.Broker.PublishTimeout)
            .PipeTo(Self, success: () => new DisconnectedForTls(null), failure: ex => new DisconnectedForTls(ex));
        Become(() =>
        {
            Receive<DisconnectedForTls>(done =>
            {
                if (done.Cause is not null)
                    _logger.Warning("Could not close the connection cleanly to reconnect with the new TLS files (the broker may publish the offline last will): {0}",
                        done.Cause.GetBaseException().Message);
                Connect();
            });
            // The goodbye is said on the next connection (OnLinkUp).
            Receive<GoOffline>(request =>
            {
                _goingOffline = request;
                _offlineRequester = Sender;
            });
            CommonHandlers();
        });
    }

    private static async Task DisconnectAsync(MqttLink link, TimeSpan timeout)
    {
        try
        {
            using var cancellation = new CancellationTokenSource(timeout);
            await link.DisconnectAsync(cancellation.Token).ConfigureAwait(false);
        }
        finally
        {
            await link.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A check of the TLS files: what they hold (null when the check itself failed), and the changes in words or why they cannot be used.</summary>
    private sealed record TlsChecked(TlsFingerprint? Fingerprint, string? Changes, string? Problem);

    private sealed record DisconnectedForTls(Exception? Cause);

    private sealed class CheckTlsFiles
    {
        public static readonly CheckTlsFiles Instance = new();
    }
}
