using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Threading.Channels;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Uplink;
using Google.Protobuf;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Fleet.Actors.Host.Commands;

/// <summary>
/// The fleet side of commands: signs commands with an issuer key, publishes them at QoS 1 on a
/// vehicle's commands topic and collects the vehicle's responses (subscribed before anything is
/// sent). Used by <c>fleet-agent command send</c>, the tests and the benchmark.
/// </summary>
public sealed class CommandClient : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly CommandSettings _topics;
    private readonly ConcurrentDictionary<string, Channel<CommandResponse>> _waiting = new(StringComparer.Ordinal);
    private readonly HashSet<string> _subscribed = new(StringComparer.Ordinal);
    private long _dropped;

    /// <summary>Most command ids whose answers are kept until read; answers to further ids are dropped (<see cref="DroppedResponses"/>).</summary>
    public const int MaxWaitingCommands = 10_000;

    /// <summary>Answers dropped because <see cref="MaxWaitingCommands"/> command ids already had unread answers.</summary>
    public long DroppedResponses => Interlocked.Read(ref _dropped);

    private CommandClient(IMqttClient client, CommandSettings topics)
    {
        _client = client;
        _topics = topics;
        _client.ApplicationMessageReceivedAsync += args =>
        {
            CommandResponse response;
            try
            {
                response = CommandResponse.Parser.ParseFrom(args.ApplicationMessage.Payload);
            }
            catch (InvalidProtocolBufferException)
            {
                return Task.CompletedTask;
            }
            ResponseReceived?.Invoke(response);
            // Bounded: answers to more commands than anyone could be waiting for are dropped and counted.
            if (!_waiting.ContainsKey(response.CommandId) && _waiting.Count >= MaxWaitingCommands)
            {
                Interlocked.Increment(ref _dropped);
                return Task.CompletedTask;
            }
            _waiting.GetOrAdd(response.CommandId, _ => Channel.CreateUnbounded<CommandResponse>()).Writer.TryWrite(response);
            return Task.CompletedTask;
        };
    }

    /// <summary>
    /// Called on the MQTT client's thread the moment a response arrives, before it is queued for
    /// <see cref="NextResponseAsync"/> (the benchmark takes its arrival time here).
    /// </summary>
    public event Action<CommandResponse>? ResponseReceived;

    /// <summary>Connects to <paramref name="broker"/>; <paramref name="topics"/> gives the command and response topic templates.</summary>
    public static async Task<CommandClient> ConnectAsync(BrokerSettings broker, CommandSettings? topics = null, string? clientId = null,
        CancellationToken cancellationToken = default)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        // Server, TLS (mqtts://) and credentials as the agent's own uplink sets them.
        var connection = new BrokerConnection(broker);
        var options = connection.Configure(new MqttClientOptionsBuilder())
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(clientId ?? "fleet-command-" + Guid.NewGuid().ToString("N")[..12])
            .WithCleanStart()
            .WithTimeout(broker.ConnectTimeout);
        try
        {
            await connection.ConnectAsync(client, options.Build(), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            client.Dispose();
            throw;
        }
        return new CommandClient(client, topics ?? new CommandSettings());
    }

    /// <summary>Signs <paramref name="command"/> with <paramref name="key"/>: the bytes to publish.</summary>
    public static byte[] Sign(Command command, ECDsa key)
    {
        var bytes = command.ToByteArray();
        return new SignedCommand { Command = ByteString.CopyFrom(bytes), Signature = ByteString.CopyFrom(CommandKeys.Sign(key, bytes)) }.ToByteArray();
    }

    /// <summary>Subscribes to the responses of <paramref name="vehicle"/> (once per vehicle).</summary>
    public async Task ListenAsync(VehicleIdentity vehicle, CancellationToken cancellationToken = default)
    {
        var topic = TopicTemplate.Expand(_topics.ResponsesTopic, vehicle);
        if (!_subscribed.Add(topic)) return;
        var result = await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic(topic).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build(), cancellationToken).ConfigureAwait(false);
        if (result.Items.FirstOrDefault()?.ResultCode is not MqttClientSubscribeResultCode.GrantedQoS1)
            throw new MqttLinkException($"the broker refused the subscription to {topic}");
    }

    /// <summary>Publishes signed bytes for <paramref name="vehicle"/> at QoS 1 (after <see cref="ListenAsync"/>).</summary>
    public async Task PublishAsync(VehicleIdentity vehicle, byte[] signed, CancellationToken cancellationToken = default)
    {
        await ListenAsync(vehicle, cancellationToken).ConfigureAwait(false);
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(TopicTemplate.Expand(_topics.CommandsTopic, vehicle))
            .WithPayload(signed)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/x-protobuf")
            .Build();
        var result = await _client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess) throw new MqttLinkException($"the broker refused the command: {result.ReasonCode} {result.ReasonString}");
    }

    /// <summary>The next response to <paramref name="commandId"/> ("" for responses to undecodable messages).</summary>
    public async Task<CommandResponse> NextResponseAsync(string commandId, CancellationToken cancellationToken) =>
        await _waiting.GetOrAdd(commandId, _ => Channel.CreateUnbounded<CommandResponse>()).Reader.ReadAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Reads the responses to <paramref name="commandId"/> until a final one (NACK, SUCCEEDED, FAILED),
    /// calling <paramref name="onResponse"/> for each; returns them all.
    /// </summary>
    public async Task<IReadOnlyList<CommandResponse>> AwaitFinalAsync(string commandId, CancellationToken cancellationToken, Action<CommandResponse>? onResponse = null)
    {
        var responses = new List<CommandResponse>();
        while (true)
        {
            var response = await NextResponseAsync(commandId, cancellationToken).ConfigureAwait(false);
            responses.Add(response);
            onResponse?.Invoke(response);
            if (response.Status is ResponseStatus.Nack or ResponseStatus.Succeeded or ResponseStatus.Failed)
            {
                // Answered: its queue goes (a later duplicate answer makes a new one).
                _waiting.TryRemove(commandId, out _);
                return responses;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            try
            {
                await _client.DisconnectAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
            {
                // Going away anyway.
            }
        }
        _client.Dispose();
    }
}
