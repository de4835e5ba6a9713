using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Verification;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests.SecureLink;

/// <summary>What a broker refuses at connect (credentials, QoS) and the limits it announces in CONNACK.</summary>
public sealed class BrokerLimitsTests : SecureLinkTestKit
{
    private static readonly MosquittoUser Agent = MosquittoUser.Vehicle(Vehicle.Tenant, Vehicle.VehicleId, "right-password");
    private static readonly MosquittoUser Observer = MosquittoUser.Reader("fleet-observer", "observer-password");

    public BrokerLimitsTests(ITestOutputHelper output) : base(output)
    {
    }

    /// <summary>
    /// A wrong password is not an outage: every attempt is an Error naming the broker's reason (before:
    /// one warning, then information), and the backoff grows to its maximum.
    /// </summary>
    [Fact]
    public async Task Refused_credentials_should_be_an_error_every_attempt_with_a_backoff_growing_to_its_maximum()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Devices = [Agent] });
        var passwordFile = Path.Combine(Work, "password");
        await File.WriteAllTextAsync(passwordFile, "wrong-password\n");
        Start(Settings(broker, b => b with { Username = Agent.UserName, PasswordFile = passwordFile }));

        await Testing.Poll.UntilAsync(() => Lines(LogLevel.ErrorLevel).Count >= 5, "five refused attempts", TimeSpan.FromSeconds(20));
        var errors = Lines(LogLevel.ErrorLevel);
        foreach (var line in errors) Output.WriteLine(line);
        Assert.All(errors.Take(5), e => Assert.Matches(
            $@"^Broker 127\.0\.0\.1:{broker.Port} refused the connection of user 'tenant-x\.truck-a': (NotAuthorized|BadUserNameOrPassword) \(attempt \d+\)$", e));
        Assert.DoesNotContain(errors, e => e.Contains("wrong-password", StringComparison.Ordinal));
        var waits = Lines(LogLevel.InfoLevel, "Reconnecting to the broker in").Take(5).ToList();
        Assert.Equal(["0.1s", "0.2s", "0.4s", "0.8s", "0.8s"], waits.Select(w => w.Split(' ')[5]).ToList());
        Assert.Empty(Lines(LogLevel.WarningLevel));
        AssertNoStackTraces();
    }

    /// <summary>The password is read from its file at every attempt: a corrected file is used without a restart.</summary>
    [Fact]
    public async Task Corrected_password_file_should_be_used_by_the_next_attempt()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { Devices = [Agent] });
        var passwordFile = Path.Combine(Work, "password");
        await File.WriteAllTextAsync(passwordFile, "wrong-password\n");
        var (log, _) = Start(Settings(broker, b => b with { Username = Agent.UserName, PasswordFile = passwordFile }));
        log.Tell(Readings(1, 20));
        await Testing.Poll.UntilAsync(() => Lines(LogLevel.ErrorLevel).Count >= 1, "a refused attempt", TimeSpan.FromSeconds(10));

        await File.WriteAllTextAsync(passwordFile, "right-password\n");

        AwaitDelivered(log, 20, TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// mosquitto with max_packet_size 4096 (before: the first batch, far larger, made the broker drop
    /// the link, and the uplink sent it again and again): batches fit, every reading arrives once,
    /// and the link never breaks.
    /// </summary>
    [Fact]
    public async Task Batches_should_fit_the_broker_maximum_packet_size_and_every_reading_arrive()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { MaxPacketSize = 4096 });
        await using var verifier = await MqttVerifier.StartAsync(Settings(broker).Broker, "fleet/+/+/telemetry", "fleet/+/+/status", "limits-observer", persistentSession: false);
        var settings = Settings(broker) with { Compression = Core.Telemetry.PayloadCompression.None };
        var (log, _) = Start(settings);
        const int count = 6_000;
        log.Tell(Readings(1, count));

        AwaitDelivered(log, count, TimeSpan.FromSeconds(30));
        Assert.True(await verifier.WaitUntilAsync(v => v.Report().Vehicles.Any(r => r.HighestReceived == count), TimeSpan.FromSeconds(10)));
        var report = verifier.Verifier.Report().Vehicles.Single();
        Assert.Equal((count, 0L, 0L), (report.Received, report.Missing, report.Duplicates));
        Assert.Equal(0, UplinkMetrics.SendErrors.Value);
        Assert.Equal(1, UplinkMetrics.Reconnects.Value);
        Assert.Single(Lines(LogLevel.InfoLevel, "takes packets of at most 4096 bytes"));
        Assert.True(UplinkMetrics.BatchesSent.Value > count * 20 / 4096, $"{UplinkMetrics.BatchesSent.Value} batches");
    }

    /// <summary>A broker that allows only QoS 0 cannot take telemetry at QoS 1: an error saying so, retried at the maximum backoff.</summary>
    [Fact]
    public async Task Broker_allowing_only_QoS_0_should_be_a_clear_error_retried_at_the_maximum_backoff()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { MaxQos = 0 });
        var (log, _) = Start(Settings(broker));
        log.Tell(Readings(1, 10));

        await Testing.Poll.UntilAsync(() => Lines(LogLevel.ErrorLevel).Count >= 2, "two refused attempts", TimeSpan.FromSeconds(20));
        Assert.All(Lines(LogLevel.ErrorLevel), e => Assert.Contains("the broker accepts only QoS 0, so telemetry cannot be delivered at QoS 1; nothing is sent and the log keeps it", e, StringComparison.Ordinal));
        Assert.All(Lines(LogLevel.InfoLevel, "Reconnecting to the broker in"), w => Assert.StartsWith("Reconnecting to the broker in 0.8s (the maximum backoff", w, StringComparison.Ordinal));
        Assert.Equal(0, Status(log).DeliveredSequence);
    }

    /// <summary>A broker without retained messages: the status goes out unretained, with one warning, and telemetry flows.</summary>
    [Fact]
    public async Task Broker_without_retained_messages_should_get_the_status_unretained_with_one_warning()
    {
        var broker = await StartBrokerAsync(new MosquittoSecurity { RetainAvailable = false });
        var (log, _) = Start(Settings(broker));
        log.Tell(Readings(1, 10));

        AwaitDelivered(log, 10, TimeSpan.FromSeconds(10));
        var warning = Assert.Single(Lines(LogLevel.WarningLevel));
        Assert.Contains("the status topic and the last will are published without retain", warning, StringComparison.Ordinal);
        Assert.Empty(Lines(LogLevel.ErrorLevel));
    }
}
