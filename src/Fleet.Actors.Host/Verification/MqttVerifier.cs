using System.Buffers;
using System.Text;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Telemetry.Verification;
using Fleet.Actors.Core.Uplink;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Fleet.Actors.Host.Verification;

/// <summary>
/// A fleet-side subscriber: receives every telemetry batch and status document from a broker,
/// decodes them and feeds a <see cref="FleetVerifier"/>. With a persistent session it survives
/// broker restarts without missing messages (the broker queues them while it reconnects).
/// </summary>
public sealed class MqttVerifier : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _options;
    private readonly string _statusFilter;
    private readonly CancellationTokenSource _stopping = new();
    private long _messages;
    private long _lastMessageTicks;

    private MqttVerifier(IMqttClient client, MqttClientOptions options, string statusFilter, CheckFrom from, bool checkConflicts)
    {
        _client = client;
        _options = options;
        _statusFilter = statusFilter;
        Verifier = new FleetVerifier(from) { CheckConflicts = checkConflicts };
    }

    /// <summary>What has been received so far.</summary>
    public FleetVerifier Verifier { get; }

    /// <summary>Every telemetry batch decoded, after the verifier observed it (on the MQTT client's thread; duplicates included).</summary>
    public event Action<DecodedBatch>? BatchDecoded;

    /// <summary>MQTT messages received (batches and statuses).</summary>
    public long Messages => Interlocked.Read(ref _messages);

    /// <summary>When the last message arrived (UTC), or null.</summary>
    public DateTimeOffset? LastMessageAt
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastMessageTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// Connects and subscribes (QoS 1) to <paramref name="telemetryFilter"/> and <paramref name="statusFilter"/>.
    /// A persistent session keeps the subscription and queues messages across disconnects and broker restarts.
    /// <paramref name="from"/> says where each vehicle's stream is judged from.
    /// </summary>
    public static async Task<MqttVerifier> StartAsync(BrokerSettings broker, string telemetryFilter, string statusFilter,
        string clientId, bool persistentSession, CancellationToken cancellationToken = default, bool checkConflicts = false,
        CheckFrom from = CheckFrom.SequenceOne)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        // Server, TLS (mqtts://) and credentials exactly as the agent's uplink sets them.
        var connection = new BrokerConnection(broker);
        var builder = connection.Configure(new MqttClientOptionsBuilder())
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(clientId)
            .WithCleanStart(!persistentSession)
            .WithSessionExpiryInterval(persistentSession ? 3600u : 0u)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10));
        var verifier = new MqttVerifier(client, builder.Build(), statusFilter, from, checkConflicts);
        client.ApplicationMessageReceivedAsync += args =>
        {
            verifier.Handle(args.ApplicationMessage);
            return Task.CompletedTask;
        };
        client.DisconnectedAsync += async _ =>
        {
            // Keep trying while the broker is away; the persistent session holds our messages.
            while (!verifier._stopping.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(250, verifier._stopping.Token);
                    await client.ConnectAsync(verifier._options, verifier._stopping.Token);
                    if (!persistentSession) await verifier.SubscribeAsync(telemetryFilter, statusFilter, verifier._stopping.Token);
                    return;
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception)
                {
                    // Broker still down: try again.
                }
            }
        };
        await connection.ConnectAsync(client, verifier._options, cancellationToken);
        await verifier.SubscribeAsync(telemetryFilter, statusFilter, cancellationToken);
        return verifier;
    }

    /// <summary>Waits until <paramref name="done"/> holds (checked every 100 ms) or the timeout passes; returns whether it held.</summary>
    public async Task<bool> WaitUntilAsync(Func<FleetVerifier, bool> done, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (done(Verifier)) return true;
            await Task.Delay(100, cancellationToken);
        }
        return done(Verifier);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _client.Dispose();
        _stopping.Dispose();
    }

    /// <summary>
    /// Stops listening (disconnects, no more reconnects). Report after this: a message that arrived
    /// is counted, one that did not stays at the broker for a persistent session's next run.
    /// </summary>
    public async Task StopAsync()
    {
        if (!_stopping.IsCancellationRequested) await _stopping.CancelAsync();
        try
        {
            if (_client.IsConnected) await _client.DisconnectAsync();
        }
        catch (Exception)
        {
            // Best effort on the way out.
        }
    }

    private Task SubscribeAsync(string telemetryFilter, string statusFilter, CancellationToken cancellationToken) =>
        _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(telemetryFilter, MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter(statusFilter, MqttQualityOfServiceLevel.AtLeastOnce)
            .Build(), cancellationToken);

    private void Handle(MqttApplicationMessage message)
    {
        Interlocked.Increment(ref _messages);
        Interlocked.Exchange(ref _lastMessageTicks, DateTimeOffset.UtcNow.UtcTicks);
        var payload = message.Payload.ToArray();
        if (MqttTopicFilterComparer.Compare(message.Topic, _statusFilter) == MqttTopicFilterCompareResult.IsMatch)
        {
            if (payload.Length > 0) Verifier.ObserveStatus(payload);
            return;
        }
        string? encoding = null;
        if (message.UserProperties is { } properties)
        {
            foreach (var property in properties)
                if (property.Name == "content-encoding") encoding = Encoding.UTF8.GetString(property.ValueBuffer.Span);
        }
        try
        {
            var batch = BatchCodec.Decode(payload, encoding);
            Verifier.Observe(batch);
            BatchDecoded?.Invoke(batch);
        }
        catch (InvalidDataException)
        {
            Verifier.ObserveDecodeError();
        }
    }
}
