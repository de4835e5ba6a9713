using System.Net;
using System.Net.Sockets;
using MQTTnet.Server;
using Serilog;

namespace Fleet.Actors.Host.Broker;

/// <summary>The embedded broker could not start; the message is the one line an operator needs.</summary>
public sealed class EmbeddedBrokerException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// The in-process MQTT broker (MQTTnet.Server) of the out-of-the-box run, so that
/// <c>fleet-agent run</c> needs nothing but the .NET SDK. Retained messages are kept in memory.
/// It is started before the agent and disposed after it, so that the agent's drain can still reach it.
/// </summary>
public sealed class EmbeddedBroker : IAsyncDisposable
{
    private MqttServer? _server;

    private EmbeddedBroker(string host, int port, MqttServer server)
    {
        Endpoint = $"mqtt://{host}:{port}";
        _server = server;
    }

    /// <summary>Where it listens.</summary>
    public string Endpoint { get; }

    /// <summary>
    /// Starts listening on <paramref name="host"/>:<paramref name="port"/>; throws
    /// <see cref="EmbeddedBrokerException"/> naming the port, the cause and how to run without it.
    /// </summary>
    public static async Task<EmbeddedBroker> StartAsync(string host, int port)
    {
        var options = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Parse(host))
            .WithDefaultEndpointPort(port)
            // A verifier that falls behind must not lose QoS 1 messages.
            .WithMaxPendingMessagesPerClient(1_000_000)
            .Build();
        var server = new MqttServerFactory().CreateMqttServer(options);
        try
        {
            await server.StartAsync();
        }
        catch (Exception ex) when (SocketErrorOf(ex) is { } error)
        {
            server.Dispose();
            var cause = error switch
            {
                SocketError.AddressAlreadyInUse => "the port is in use (another agent or MQTT broker?)",
                SocketError.AccessDenied => "access denied (ports below 1024 need root)",
                SocketError.AddressNotAvailable => "no network interface of this machine has that address",
                _ => ex.GetBaseException().Message,
            };
            throw new EmbeddedBrokerException(
                $"The embedded MQTT broker cannot listen on {host}:{port}: {cause}. Give fleet.embedded-broker.port a free port, " +
                "or run without the embedded broker: FLEET_EMBEDDED_BROKER=off, and MQTT_BROKER=mqtt://host:port for the broker to use.", ex);
        }
        var broker = new EmbeddedBroker(host, port, server);
        Log.Information("Embedded MQTT broker listening on {Endpoint}", broker.Endpoint);
        return broker;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_server is { } server)
        {
            _server = null;
            await server.StopAsync();
            server.Dispose();
        }
    }

    private static SocketError? SocketErrorOf(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket) return socket.SocketErrorCode;
        }
        return ex is AggregateException aggregate && aggregate.InnerExceptions.Select(SocketErrorOf).FirstOrDefault(e => e is not null) is { } inner ? inner : null;
    }
}
