using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Telemetry.Verification;
using MQTTnet;
using MQTTnet.Server;

namespace Fleet.Actors.Testing;

/// <summary>
/// A real MQTT broker (MQTTnet.Server, the agent's embedded broker) on a free loopback port that
/// records every message it accepts, so tests see exactly what the broker acknowledged. It can be
/// stopped and started again on the same port, can delay its PUBACKs, and counts the records of each device.
/// Commands and command responses pass through it unrecorded.
/// </summary>
public sealed class RecordingBroker : IAsyncDisposable
{
    private MqttServer? _server;
    private int _inFlight;

    public RecordingBroker()
    {
        Port = FreePort();
    }

    public int Port { get; }

    public FleetVerifier Verifier { get; } = new();

    public ConcurrentQueue<MqttApplicationMessage> Statuses { get; } = new();

    /// <summary>Records accepted per device id.</summary>
    public ConcurrentDictionary<string, long> RecordsByDevice { get; } = new(StringComparer.Ordinal);

    /// <summary>Every record accepted, in arrival order (kept only when <see cref="KeepRecords"/> is set).</summary>
    public ConcurrentQueue<DecodedRecord> Records { get; } = new();

    /// <summary>Alerts published on the high-priority lane (topics ending in <c>/alerts</c>), in arrival order; not in <see cref="Records"/> or the verifier.</summary>
    public ConcurrentQueue<DecodedRecord> Alerts { get; } = new();

    /// <summary>Keep each decoded record in <see cref="Records"/> (off by default: load tests send millions).</summary>
    public bool KeepRecords { get; set; }

    public long Publishes;

    /// <summary>Most publishes that were being processed at once.</summary>
    public int MaxInFlight;

    /// <summary>Delay before the broker accepts (and acknowledges) each telemetry publish.</summary>
    public TimeSpan AckDelay { get; set; }

    /// <summary>When set, a connection is answered (CONNACK) only once this completes: a client held while connecting.</summary>
    public TaskCompletionSource? ConnectGate { get; set; }

    /// <summary>Connections that reached the broker and are (or were) held at <see cref="ConnectGate"/>.</summary>
    public int ConnectionsHeld;

    public async Task StartAsync()
    {
        var options = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointPort(Port)
            .WithDefaultEndpointReuseAddress()
            .Build();
        _server = new MqttServerFactory().CreateMqttServer(options);
        _server.InterceptingPublishAsync += OnPublishAsync;
        _server.ValidatingConnectionAsync += async _ =>
        {
            if (ConnectGate is not { } gate) return;
            Interlocked.Increment(ref ConnectionsHeld);
            await gate.Task;
        };
        await _server.StartAsync();
    }

    public async Task StopAsync()
    {
        if (_server is null) return;
        await _server.StopAsync();
        _server.Dispose();
        _server = null;
    }

    public async Task<MqttApplicationMessage?> RetainedAsync(string topic)
    {
        var retained = await _server!.GetRetainedMessagesAsync();
        return retained.FirstOrDefault(m => m.Topic == topic);
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task OnPublishAsync(InterceptingPublishEventArgs args)
    {
        var message = args.ApplicationMessage;
        if (message.Topic.EndsWith("/status", StringComparison.Ordinal))
        {
            Statuses.Enqueue(message);
            Verifier.ObserveStatus(System.Buffers.BuffersExtensions.ToArray(message.Payload));
            return;
        }
        // Signed commands and their responses pass through like any broker's traffic; they are not telemetry batches.
        if (message.Topic.EndsWith("/commands", StringComparison.Ordinal) || message.Topic.EndsWith("/responses", StringComparison.Ordinal)) return;
        if (message.Topic.EndsWith("/alerts", StringComparison.Ordinal))
        {
            // The lane's copies of alerts that also travel in the telemetry stream.
            foreach (var record in BatchCodec.Decode(System.Buffers.BuffersExtensions.ToArray(message.Payload), "identity").Records) Alerts.Enqueue(record);
            return;
        }
        var inFlight = Interlocked.Increment(ref _inFlight);
        InterlockedMax(ref MaxInFlight, inFlight);
        try
        {
            if (AckDelay > TimeSpan.Zero) await Task.Delay(AckDelay);
            Interlocked.Increment(ref Publishes);
            var encoding = message.UserProperties?.FirstOrDefault(p => p.Name == "content-encoding");
            var batch = BatchCodec.Decode(System.Buffers.BuffersExtensions.ToArray(message.Payload),
                encoding is null ? null : Encoding.UTF8.GetString(encoding.ValueBuffer.Span));
            Verifier.Observe(batch);
            foreach (var record in batch.Records)
            {
                RecordsByDevice.AddOrUpdate(record.DeviceId, 1, (_, n) => n + 1);
                if (KeepRecords) Records.Enqueue(record);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
