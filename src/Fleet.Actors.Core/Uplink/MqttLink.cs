using Fleet.Actors.Core.Health;
using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Telemetry;
using Google.Protobuf;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Fleet.Actors.Core.Uplink;

/// <summary>The broker refused something or the link broke; <see cref="Kind"/> says which.</summary>
public sealed class MqttLinkException(string message, Exception? inner = null, LinkFailure kind = LinkFailure.Transient) : Exception(message, inner)
{
    /// <summary>What kind of failure this is.</summary>
    public LinkFailure Kind { get; } = kind;
}

/// <summary>The broker refused a command response (a PUBACK with an error): sending it again would not help.</summary>
public sealed class ResponseRefusedException(string message) : Exception(message);

/// <summary>The broker refused an alert on the high-priority lane (a PUBACK with an error): sending it again would not help.</summary>
public sealed class AlertRefusedException(string message) : Exception(message);

/// <summary>Where the commands of a vehicle arrive and its answers go, for one connection.</summary>
/// <param name="Settings">Topics and the session expiry.</param>
/// <param name="OnCommand">Called (on an MQTTnet thread) with each message of the commands topic and the function that sends its PUBACK.</param>
internal sealed record CommandChannel(CommandSettings Settings, Action<ReadOnlyMemory<byte>, Func<Task>> OnCommand);

/// <summary>
/// One MQTT 5 connection of a vehicle: connects with a retained last-will "offline" status,
/// announces "online", publishes batches at QoS 1 and says goodbye. With a command channel it
/// keeps a persistent session (clean start off, the session outlives the connection for the
/// longest command validity) subscribed at QoS 1 to the commands topic, so that commands sent while
/// the vehicle is offline arrive when it reconnects; their PUBACK waits for the command actor.
/// MQTTnet 5 has no managed client, so a broken link is simply disposed and the uplink actor
/// connects a new one.
/// </summary>
internal sealed class MqttLink : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly UplinkSettings _settings;
    private readonly VehicleIdentity _vehicle;
    private readonly string _telemetryTopic;
    private readonly string _statusTopic;
    private readonly string? _responsesTopic;
    private readonly ReadOnlyMemory<byte> _contentEncodingUtf8;
    private volatile bool _closing;
    private volatile StatusDetails _details = StatusDetails.None;
    private int _publishing;

    private MqttLink(IMqttClient client, UplinkSettings settings, VehicleIdentity vehicle, int receiveMaximum, MqttClientConnectResult connected,
        CommandChannel? commands)
    {
        Limits = BrokerLimits.From(connected, settings, vehicle);
        _responsesTopic = commands is null ? null : TopicTemplate.Expand(commands.Settings.ResponsesTopic, vehicle);
        _client = client;
        _settings = settings;
        _vehicle = vehicle;
        _telemetryTopic = TopicTemplate.Expand(settings.TelemetryTopic, vehicle);
        _statusTopic = TopicTemplate.Expand(settings.StatusTopic, vehicle);
        _contentEncodingUtf8 = Encoding.UTF8.GetBytes(BatchCodec.EncodingName(settings.Compression));
        ReceiveMaximum = receiveMaximum;
    }

    /// <summary>How many QoS 1 publishes the broker accepts in flight (its receive maximum).</summary>
    public int ReceiveMaximum { get; }

    /// <summary>What the broker said it accepts (CONNACK).</summary>
    public BrokerLimits Limits { get; }

    /// <summary>The MQTT client id of a vehicle: one connection per vehicle, a second one takes over.</summary>
    public static string ClientId(VehicleIdentity vehicle) => $"fleet-{vehicle.Tenant}-{vehicle.VehicleId}";

    /// <summary>
    /// Connects, then publishes the retained online status. <paramref name="onLost"/> is called
    /// (from an MQTTnet thread) when the link breaks other than by <see cref="CloseAsync"/> or
    /// <see cref="DisconnectAsync"/>. <paramref name="tlsFiles"/>: the TLS files as the caller read them
    /// for this attempt (null: read them now).
    /// </summary>
    public static async Task<MqttLink> ConnectAsync(UplinkSettings settings, VehicleIdentity vehicle, Action<string> onLost, CancellationToken cancellationToken,
        CommandChannel? commands = null, StatusDetails? details = null, TlsFiles? tlsFiles = null)
    {
        var statusTopic = TopicTemplate.Expand(settings.StatusTopic, vehicle);
        // Server, TLS and credentials; the files are read now, for this attempt.
        var connection = new BrokerConnection(settings.Broker, tlsFiles: tlsFiles);
        var builder = connection.Configure(new MqttClientOptionsBuilder())
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(ClientId(vehicle))
            .WithCleanStart(commands is null)
            .WithSessionExpiryInterval(commands is null ? 0 : (uint)Math.Min(uint.MaxValue, commands.Settings.MaxValidity.TotalSeconds))
            .WithKeepAlivePeriod(settings.Broker.KeepAlive)
            .WithTimeout(settings.Broker.PublishTimeout)
            .WithWillTopic(statusTopic)
            .WithWillPayload(StatusPayload(vehicle, "offline", "connection-lost", null, null, details))
            .WithWillRetain(settings.RetainStatus)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithWillContentType("application/json");
        var client = new MqttClientFactory().CreateMqttClient();
        var commandsTopic = commands is null ? null : TopicTemplate.Expand(commands.Settings.CommandsTopic, vehicle);
        if (commands is not null)
        {
            // Attached before connecting: a persistent session delivers queued commands right after CONNACK.
            client.ApplicationMessageReceivedAsync += args =>
            {
                if (args.ApplicationMessage.Topic != commandsTopic) return Task.CompletedTask;
                args.AutoAcknowledge = false;
                commands.OnCommand(args.ApplicationMessage.Payload.ToArray(), () => args.AcknowledgeAsync(CancellationToken.None));
                return Task.CompletedTask;
            };
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.Broker.ConnectTimeout);
        MqttLink link;
        try
        {
            var result = await client.ConnectAsync(builder.Build(), timeout.Token).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success) throw connection.Refused(result);
            var receiveMaximum = result.ReceiveMaximum is null or 0 ? ushort.MaxValue : result.ReceiveMaximum.Value;
            link = new MqttLink(client, settings, vehicle, receiveMaximum, result, commands) { _details = details ?? StatusDetails.None };
            if (link.Limits.Problem is { } problem) throw new MqttLinkException(problem, null, LinkFailure.Unsupported);
            client.DisconnectedAsync += args =>
            {
                // With publishes in flight, their outcome (failed by the disconnect, or a refusal the broker
                // disconnects after) ends the stream and says why; reporting the loss here could come first.
                if (!link._closing && Volatile.Read(ref link._publishing) == 0) onLost(args.ReasonString ?? args.Reason.ToString());
                return Task.CompletedTask;
            };
            if (!client.IsConnected) throw new MqttLinkException("Link dropped right after connecting");
            if (commandsTopic is not null) link.CommandsProblem = await SubscribeAsync(client, commandsTopic, timeout.Token).ConfigureAwait(false);
            await link.PublishStatusAsync("online", null, null, null, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            client.Dispose();
            throw new MqttLinkException($"Connecting to {settings.Broker.Host}:{settings.Broker.Port} timed out after {settings.Broker.ConnectTimeout}", ex);
        }
        catch (Exception ex) when (connection.Explain(ex) is { } explained)
        {
            client.Dispose();
            throw explained;
        }
        catch
        {
            client.Dispose();
            throw;
        }
        return link;
    }

    /// <summary>Why the commands topic could not be subscribed (the broker refused it), or null.</summary>
    public string? CommandsProblem { get; private set; }

    private static async Task<string?> SubscribeAsync(IMqttClient client, string topic, CancellationToken cancellationToken)
    {
        var result = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic(topic).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build(), cancellationToken).ConfigureAwait(false);
        var code = result.Items.FirstOrDefault()?.ResultCode;
        return code is MqttClientSubscribeResultCode.GrantedQoS1 ? null : $"the broker refused the subscription to {topic}: {code} {result.ReasonString}";
    }

    /// <summary>Publishes one command response at QoS 1 on the responses topic and waits for the PUBACK.</summary>
    public async Task PublishResponseAsync(CommandResponse response, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(_responsesTopic ?? throw new InvalidOperationException("this link has no command channel"))
            .WithPayload(response.ToByteArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/x-protobuf")
            .Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.Broker.PublishTimeout);
        var result = await _client.PublishAsync(message, timeout.Token).ConfigureAwait(false);
        if (!result.IsSuccess) throw new ResponseRefusedException($"the broker refused response {response.Status} to command {response.CommandId} on {_responsesTopic}: {result.ReasonCode} {result.ReasonString}");
    }

    /// <summary>
    /// Publishes one alert on the high-priority lane: a telemetry batch of that one record (not
    /// compressed, <c>content-encoding: identity</c>) at QoS 1 on <paramref name="topic"/>, and waits for the PUBACK.
    /// </summary>
    public async Task PublishAlertAsync(string topic, LoggedReading alert, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(BatchCodec.EncodeOne(_vehicle.VehicleId, _vehicle.Tenant, alert))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType(BatchCodec.ContentType)
            .WithUserProperty("content-encoding", IdentityUtf8)
            .WithUserProperty("sequences", Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{alert.Sequence}-{alert.Sequence}")).AsMemory())
            .Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.Broker.PublishTimeout);
        var result = await _client.PublishAsync(message, timeout.Token).ConfigureAwait(false);
        if (!result.IsSuccess) throw new AlertRefusedException($"the broker refused alert {alert.Sequence} on {topic}: {result.ReasonCode} {result.ReasonString}");
    }

    private static readonly ReadOnlyMemory<byte> IdentityUtf8 = Encoding.UTF8.GetBytes(BatchCodec.EncodingName(PayloadCompression.None));

    /// <summary>Publishes one batch at QoS 1 and waits for the broker's PUBACK.</summary>
    public async Task PublishAsync(EncodedBatch batch, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(_telemetryTopic)
            .WithPayload(batch.Payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType(BatchCodec.ContentType)
            .WithUserProperty("content-encoding", _contentEncodingUtf8)
            .WithUserProperty("sequences", Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{batch.FirstSequence}-{batch.LastSequence}")).AsMemory())
            .Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.Broker.PublishTimeout);
        MQTTnet.MqttClientPublishResult result;
        Interlocked.Increment(ref _publishing);
        try
        {
            result = await _client.PublishAsync(message, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            Interlocked.Decrement(ref _publishing);
            throw new MqttLinkException($"No PUBACK within {_settings.Broker.PublishTimeout}", ex);
        }
        catch
        {
            Interlocked.Decrement(ref _publishing);
            throw;
        }
        if (!result.IsSuccess)
        {
            // The uplink drops this link for a refused publish (mosquitto 2.0 even disconnects at once): its end is not a lost link to report.
            _closing = true;
            Interlocked.Decrement(ref _publishing);
            throw new MqttLinkException($"Broker refused batch {batch.FirstSequence}-{batch.LastSequence} on {_telemetryTopic}: {result.ReasonCode}{(string.IsNullOrEmpty(result.ReasonString) ? "" : $" ({result.ReasonString})")}",
                null, LinkFailure.PublishRefused);
        }
        Interlocked.Decrement(ref _publishing);
    }

    /// <summary>Publishes the retained offline status with the log's position and disconnects cleanly.</summary>
    public async Task CloseAsync(long? lastSequence, long? deliveredSequence, CancellationToken cancellationToken)
    {
        _closing = true;
        if (!_client.IsConnected) return;
        await PublishStatusAsync("offline", "shutdown", lastSequence, deliveredSequence, cancellationToken).ConfigureAwait(false);
        await DisconnectAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Disconnects cleanly without a status: an MQTT 5 normal disconnection makes the broker discard
    /// the last will, so the retained status stays "online" while the uplink connects again at once.
    /// </summary>
    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        _closing = true;
        if (!_client.IsConnected) return;
        await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder()
            .WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Drops the connection without a goodbye; the broker then publishes the last will.</summary>
    public ValueTask DisposeAsync()
    {
        _closing = true;
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>What the online status carries now besides the link state.</summary>
    public StatusDetails Details => _details;

    /// <summary>Publishes the retained online status again with the vehicle's operational state, configuration (version, reloads, errors) and latest health.</summary>
    public Task UpdateStatusAsync(StatusDetails details, CancellationToken cancellationToken)
    {
        _details = details;
        return PublishStatusAsync("online", null, null, null, cancellationToken);
    }

    private Task PublishStatusAsync(string state, string? reason, long? lastSequence, long? deliveredSequence, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(_statusTopic)
            .WithPayload(StatusPayload(_vehicle, state, reason, lastSequence, deliveredSequence, _details))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(Limits.RetainAvailable && _settings.RetainStatus)
            .WithContentType("application/json")
            .Build();
        return _client.PublishAsync(message, cancellationToken);
    }

    /// <summary>The JSON document on the status topic (docs/wire-format.md).</summary>
    internal static byte[] StatusPayload(VehicleIdentity vehicle, string state, string? reason, long? lastSequence, long? deliveredSequence,
        StatusDetails? details = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        // Relaxed escaping: the timestamp's "+00:00" stays "+", as docs/wire-format.md shows it.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("vehicle_id", vehicle.VehicleId);
            json.WriteString("tenant", vehicle.Tenant);
            json.WriteString("state", state);
            json.WriteString("timestamp", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            if (reason is not null) json.WriteString("reason", reason);
            if (lastSequence is { } last) json.WriteNumber("last_sequence", last);
            if (deliveredSequence is { } delivered) json.WriteNumber("delivered_sequence", delivered);
            if (details?.OperationalState is { } operationalState) json.WriteString("operational_state", operationalState);
            if (details?.Configuration is { } configuration)
            {
                json.WriteString("config_version", configuration.Version);
                json.WriteNumber("config_reload_count", configuration.Reloads);
                json.WriteNumber("config_errors_total", configuration.Errors);
            }
            if (details?.Health is { } health)
            {
                json.WriteStartObject("health");
                json.WriteString("timestamp", DateTimeOffset.FromUnixTimeMilliseconds(health.TimestampMs).ToString("O", CultureInfo.InvariantCulture));
                foreach (var field in HealthFields.All)
                    if (health[field] is { } value) json.WriteNumber(field, value);
                if (health.Unavailable.Count > 0)
                {
                    json.WriteStartObject("unavailable");
                    foreach (var (field, why) in health.Unavailable) json.WriteString(field, why);
                    json.WriteEndObject();
                }
                var down = health.Devices.Where(d => !d.Value).Select(d => d.Key).Order(StringComparer.Ordinal).ToList();
                if (down.Count > 0)
                {
                    json.WriteStartArray("down_devices");
                    foreach (var id in down) json.WriteStringValue(id);
                    json.WriteEndArray();
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
