using System.Net;
using Microsoft.Extensions.Hosting;
using MQTTnet.Server;
using Serilog;

namespace Fleet.Actors.Host.Broker;

/// <summary>
/// The in-process MQTT broker (MQTTnet.Server) of the out-of-the-box run, so that
/// <c>fleet-agent run</c> needs nothing but the .NET SDK. Retained messages are kept in memory.
/// </summary>
public sealed class EmbeddedBroker(string host, int port) : IHostedService, IAsyncDisposable
{
    private MqttServer? _server;

    /// <summary>Where it listens.</summary>
    public string Endpoint => $"mqtt://{host}:{port}";

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Parse(host))
            .WithDefaultEndpointPort(port)
            // A verifier that falls behind must not lose QoS 1 messages.
            .WithMaxPendingMessagesPerClient(1_000_000)
            .Build();
        _server = new MqttServerFactory().CreateMqttServer(options);
        await _server.StartAsync();
        Log.Information("Embedded MQTT broker listening on {Endpoint}", Endpoint);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is { } server) await server.StopAsync();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_server is { } server)
        {
            await server.StopAsync();
            server.Dispose();
            _server = null;
        }
    }
}
