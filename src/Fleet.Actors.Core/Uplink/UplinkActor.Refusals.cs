using Akka.Event;

namespace Fleet.Actors.Core.Uplink;

/// <summary>
/// What the broker refuses or limits, as the uplink reports it: refused credentials, TLS failures,
/// refused publishes and the CONNACK limits (ADR 0012). Not outages: every attempt is reported.
/// </summary>
internal sealed partial class UplinkActor
{
    /// <summary>The telemetry topic while the broker refuses publishes to it; null once a publish is accepted.</summary>
    private string? _publishRefused;
    private bool _retainWarned;

    /// <summary>
    /// The broker refused the credentials, the TLS handshake failed, a file could not be read, or the
    /// broker cannot do QoS 1: not an outage but something an operator must fix, so every attempt is
    /// reported, as one line with the reason (the stack trace at Debug).
    /// </summary>
    private void ReportRefusal(MqttLinkException refused)
    {
        if (refused.Kind == LinkFailure.Tls) _logger.Warning("{0} (attempt {1})", refused.Message, _failures + 1);
        else _logger.Error("{0} (attempt {1})", refused.Message, _failures + 1);
        _logger.Debug("{0}", refused);
        _lossReported = true;
    }

    /// <summary>A refused publish: counted every time, reported at Error once until a publish is accepted again.</summary>
    private void ReportPublishRefused(MqttLinkException refused)
    {
        _metrics.PublishRefused.Inc();
        var topic = TopicTemplate.Expand(_settings.TelemetryTopic, _vehicle);
        if (_publishRefused is null)
            _logger.Error("{0}. Nothing is lost: the data stays in the log, and the uplink retries every {1:0.###}s (its maximum backoff) instead of as if the link were down",
                refused.Message, _settings.ReconnectMaxBackoff.TotalSeconds);
        else _logger.Info("{0} (still refused)", refused.Message);
        _publishRefused = topic;
        _lossReported = true;
    }

    private void ReportLimits(BrokerLimits limits)
    {
        if (!limits.RetainAvailable) WarnRetainUnavailable("does not keep retained messages (CONNACK Retain Available = 0)");
        if (limits.MaximumPacketSize is { } maximum && limits.MaxPayloadBytes < _settings.MaxBatchBytes)
            _logger.Info("Broker {0}:{1} takes packets of at most {2} bytes: batches on this connection are capped at {3} bytes of payload and split when they do not fit",
                _settings.Broker.Host, _settings.Broker.Port, maximum, limits.MaxPayloadBytes);
    }

    private void WarnRetainUnavailable(string what)
    {
        if (_retainWarned) return;
        _retainWarned = true;
        _logger.Warning("Broker {0}:{1} {2}: the status topic and the last will are published without retain, so a subscriber that comes later does not see the vehicle's state",
            _settings.Broker.Host, _settings.Broker.Port, what);
    }
}
