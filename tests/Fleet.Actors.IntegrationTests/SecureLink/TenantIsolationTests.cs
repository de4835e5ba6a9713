using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Host.Broker;
using MQTTnet;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests.SecureLink;

/// <summary>
/// mosquitto with a TLS listener that requires client certificates (the common name is the user),
/// and an ACL that confines each vehicle to <c>fleet/{tenant}/{vehicle}/#</c>.
/// </summary>
public sealed class TenantIsolationTests : SecureLinkTestKit
{
    private static readonly MosquittoUser VehicleA = MosquittoUser.Vehicle("tenant-x", "truck-a");
    private static readonly MosquittoUser VehicleB = MosquittoUser.Vehicle("tenant-x", "truck-b");
    private static readonly MosquittoUser OtherTenant = MosquittoUser.Vehicle("tenant-y", "truck-a");
    private static readonly MosquittoUser Observer = MosquittoUser.Reader("fleet-observer");

    public TenantIsolationTests(ITestOutputHelper output) : base(output)
    {
    }

    private static MosquittoSecurity Isolated => new() { Tls = true, RequireCertificate = true, Devices = [VehicleA, VehicleB, OtherTenant, Observer] };

    /// <summary>
    /// Vehicle A of tenant X, with its own certificate, is refused (PUBACK NotAuthorized) on vehicle B's
    /// topics and on tenant Y's, and receives nothing of theirs; its own topics work. An
    /// observer that reads everything sees exactly the publishes the broker accepted.
    /// </summary>
    [Fact]
    public async Task Vehicle_should_neither_read_nor_write_the_topics_of_another_vehicle_or_tenant()
    {
        var broker = await StartBrokerAsync(Isolated);
        await using var a = await ClientAsync(broker, VehicleA);
        await using var b = await ClientAsync(broker, VehicleB);
        await using var y = await ClientAsync(broker, OtherTenant);
        await using var observer = await ClientAsync(broker, Observer);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await observer.SubscribeAsync("#"));

        // Reading: A subscribes to its own topics, to B's, to tenant Y's and to everything. mosquitto 2.0
        // grants these subscriptions (SUBACK 1) and applies the ACL to each message it would deliver,
        // so what proves isolation is what A receives below.
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await a.SubscribeAsync("fleet/tenant-x/truck-a/#"));
        foreach (var foreign in new[] { "fleet/tenant-x/truck-b/#", "fleet/tenant-y/truck-a/#", "fleet/#", "#" })
            Assert.Contains(await a.SubscribeAsync(foreign), new[] { MqttClientSubscribeResultCode.GrantedQoS1, MqttClientSubscribeResultCode.NotAuthorized });

        // Writing: A may publish under its own prefix only. mosquitto 2.0.11 answers a refused publish with
        // PUBACK NotAuthorized and then closes the connection, so each attempt has a connection of its own.
        foreach (var foreign in new[] { "fleet/tenant-x/truck-b/telemetry", "fleet/tenant-y/truck-a/telemetry", "fleet/tenant-y/commands", "fleet/tenant-x/truck-b/status" })
        {
            await using var attempt = await ClientAsync(broker, VehicleA, "attempt");
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, await attempt.PublishAsync(foreign, "a-as-someone-else"));
        }
        // The others write their own topics; A must not see any of it.
        Assert.Equal(MqttClientPublishReasonCode.Success, await b.PublishAsync("fleet/tenant-x/truck-b/telemetry", "b-own"));
        Assert.Equal(MqttClientPublishReasonCode.Success, await y.PublishAsync("fleet/tenant-y/truck-a/telemetry", "y-own"));
        // Last, A's own publish: the broker delivers to A in order, so once A has it, anything of B or Y
        // that reached A would already be there.
        Assert.Equal(MqttClientPublishReasonCode.Success, await a.PublishAsync("fleet/tenant-x/truck-a/telemetry", "a-own"));

        await a.WaitForAsync("a-own");
        // One copy per matching subscription (own, fleet/#, #), all of its own message; nothing else.
        Assert.Equal(["fleet/tenant-x/truck-a/telemetry a-own"], a.Received.Distinct());
        await observer.WaitForAsync("a-own");
        Assert.Equal(["fleet/tenant-x/truck-b/telemetry b-own", "fleet/tenant-y/truck-a/telemetry y-own", "fleet/tenant-x/truck-a/telemetry a-own"],
            observer.Received);
    }

    /// <summary>
    /// The agent's telemetry topic points outside its ACL: every refused publish is counted, reported at
    /// Error once with the topic and the reason, and retried at the maximum backoff, not as if the link were
    /// down; the readings stay in the log.
    /// </summary>
    [Fact]
    public async Task Publish_the_broker_refuses_should_be_counted_reported_once_and_retried_at_the_maximum_backoff()
    {
        var broker = await StartBrokerAsync(Isolated);
        var certificate = broker.IssueClientCertificate(VehicleA.UserName, Work);
        var settings = Settings(broker, s => WithClientCertificate(s, certificate)) with
        {
            TelemetryTopic = "fleet/{tenant}/truck-b/telemetry",
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(700),
        };
        var (log, _) = Start(settings);
        log.Tell(Readings(1, 50));

        await Testing.Poll.UntilAsync(() => UplinkMetrics.PublishRefused.Value >= 3, "three refused publishes", TimeSpan.FromSeconds(20));
        var error = Assert.Single(Lines(LogLevel.ErrorLevel));
        Output.WriteLine(error);
        Assert.Contains("Broker refused batch 1-50 on fleet/tenant-x/truck-b/telemetry: NotAuthorized", error, StringComparison.Ordinal);
        Assert.Contains("the data stays in the log", error, StringComparison.Ordinal);
        Assert.Empty(Lines(LogLevel.WarningLevel));
        // Every retry waited the maximum backoff (0.7 s, no jitter), the first one included.
        var waits = Lines(LogLevel.InfoLevel, "Reconnecting to the broker in");
        Assert.True(waits.Count >= 2, string.Join("\n", waits));
        Assert.All(waits, w => Assert.StartsWith("Reconnecting to the broker in 0.7s (the maximum backoff", w, StringComparison.Ordinal));
        var status = Status(log);
        Assert.Equal(0, status.DeliveredSequence);
        Assert.Equal(50, status.UnsentCount);
        AssertNoStackTraces();
    }
}
