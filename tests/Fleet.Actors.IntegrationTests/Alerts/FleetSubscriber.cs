using System.Buffers;
using System.Text;
using Fleet.Actors.Core.Telemetry;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Fleet.Actors.IntegrationTests.Alerts;

/// <summary>
/// A fleet-side subscriber of one vehicle's telemetry and alerts topics on one connection, with a
/// persistent session (the broker keeps its messages while it or the broker is away, in order), so
/// that the order in which alerts and telemetry arrive is the order the agent published them.
/// </summary>
internal sealed class FleetSubscriber : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _options;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _gate = new();
    private readonly List<Arrival> _alerts = new();
    private readonly List<DecodedRecord> _telemetryAlerts = new();
    private long _highestTelemetry;
    private long _telemetryRecords;

    private FleetSubscriber(IMqttClient client, MqttClientOptions options)
    {
        _client = client;
        _options = options;
    }

    /// <summary>An alert that arrived on the alerts topic, and the highest telemetry sequence received before it.</summary>
    public sealed record Arrival(DecodedRecord Record, long HighestTelemetryBefore, DateTime At);

    /// <summary>Alerts received on the alerts topic, in order.</summary>
    public IReadOnlyList<Arrival> Alerts
    {
        get
        {
            lock (_gate) return _alerts.ToList();
        }
    }

    /// <summary>Alert records received in telemetry batches, in order.</summary>
    public IReadOnlyList<DecodedRecord> TelemetryAlerts
    {
        get
        {
            lock (_gate) return _telemetryAlerts.ToList();
        }
    }

    /// <summary>The highest sequence received in a telemetry batch.</summary>
    public long HighestTelemetry => Interlocked.Read(ref _highestTelemetry);

    /// <summary>Telemetry records received (duplicates included).</summary>
    public long TelemetryRecords => Interlocked.Read(ref _telemetryRecords);

    /// <summary>When the telemetry sequence <paramref name="sequence"/> (or a higher one) arrived; null while it has not.</summary>
    public DateTime? TelemetryReached(long sequence)
    {
        lock (_gate) return _reached.TryGetValue(sequence, out var at) ? at : null;
    }

    private readonly Dictionary<long, DateTime> _reached = new();
    private readonly HashSet<long> _watched = new();

    /// <summary>Notes the time at which the telemetry first reaches <paramref name="sequence"/>.</summary>
    public void Watch(long sequence)
    {
        lock (_gate) _watched.Add(sequence);
    }

    /// <summary>Connects with a persistent session as <paramref name="clientId"/> and subscribes (QoS 1) to the vehicle's telemetry and alerts topics.</summary>
    public static async Task<FleetSubscriber> StartAsync(int port, string tenant, string vehicleId, string clientId)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(clientId)
            .WithCleanStart(false)
            .WithSessionExpiryInterval(3600)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build();
        var subscriber = new FleetSubscriber(client, options);
        client.ApplicationMessageReceivedAsync += args =>
        {
            subscriber.Handle(args.ApplicationMessage);
            return Task.CompletedTask;
        };
        client.DisconnectedAsync += async _ =>
        {
            // The broker went away: the session keeps the subscription and the messages; connect again.
            while (!subscriber._stopping.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(100, subscriber._stopping.Token);
                    await client.ConnectAsync(subscriber._options, subscriber._stopping.Token);
                    return;
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception)
                {
                    // Still away.
                }
            }
        };
        await client.ConnectAsync(options);
        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter($"fleet/{tenant}/{vehicleId}/telemetry", MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter($"fleet/{tenant}/{vehicleId}/alerts", MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
        return subscriber;
    }

    private void Handle(MqttApplicationMessage message)
    {
        var encoding = message.UserProperties?.FirstOrDefault(p => p.Name == "content-encoding") is { } property
            ? Encoding.UTF8.GetString(property.ValueBuffer.Span)
            : null;
        var batch = BatchCodec.Decode(message.Payload.ToArray(), encoding);
        var now = DateTime.UtcNow;
        lock (_gate)
        {
            if (message.Topic.EndsWith("/alerts", StringComparison.Ordinal))
            {
                foreach (var record in batch.Records) _alerts.Add(new Arrival(record, _highestTelemetry, now));
                return;
            }
            foreach (var record in batch.Records)
            {
                if (record.Value is AlertValue) _telemetryAlerts.Add(record);
                if (record.Sequence > _highestTelemetry) Interlocked.Exchange(ref _highestTelemetry, record.Sequence);
                Interlocked.Increment(ref _telemetryRecords);
            }
            foreach (var watched in _watched.Where(w => w <= _highestTelemetry && !_reached.ContainsKey(w)).ToList()) _reached[watched] = now;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            if (_client.IsConnected)
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithSessionExpiryInterval(0).Build());
        }
        catch (Exception)
        {
            // Best effort on the way out.
        }
        _client.Dispose();
        _stopping.Dispose();
    }
}
