using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.Event;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Testing;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Xunit.Abstractions;
using static Fleet.Actors.Core.Wal.WalProtocol;

namespace Fleet.Actors.IntegrationTests.SecureLink;

/// <summary>
/// The uplink (log on SQLite, uplink actor) against a real mosquitto that the test secures as it
/// needs: TLS, client certificates, passwords, an ACL, small limits. Collects every log line.
/// </summary>
public abstract class SecureLinkTestKit : TestKit, IAsyncLifetime
{
    protected static readonly VehicleIdentity Vehicle = new("truck-a", "tenant-x");
    private readonly WalFiles _files;
    private readonly List<MosquittoProcess> _brokers = [];

    protected SecureLinkTestKit(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private SecureLinkTestKit(WalFiles files, ITestOutputHelper output) : base(files.Setup(), "secure-link", output)
    {
        _files = files;
        Sys.ActorOf(Props.Create(() => new LogCollector(Logs)), "log-collector");
    }

    protected AgentMetrics Metrics { get; } = new();

    protected UplinkMetrics UplinkMetrics => new(Metrics, Vehicle.VehicleId);

    /// <summary>Every Info, Warning and Error line logged so far.</summary>
    protected ConcurrentQueue<LogEvent> Logs { get; } = new();

    protected string Work => _files.Directory;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers) await broker.DisposeAsync();
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _files.Dispose();
    }

    protected async Task<MosquittoProcess> StartBrokerAsync(MosquittoSecurity security)
    {
        var broker = new MosquittoProcess(security);
        _brokers.Add(broker);
        await broker.StartAsync();
        return broker;
    }

    /// <summary>Settings for <paramref name="broker"/> with fast reconnects (100 ms doubling to 800 ms, no jitter).</summary>
    protected static UplinkSettings Settings(MosquittoProcess broker, Func<BrokerSettings, BrokerSettings>? adjust = null)
    {
        var settings = BrokerSettings.TryParseUrl(broker.Url, new BrokerSettings
        {
            KeepAlive = TimeSpan.FromSeconds(5),
            PublishTimeout = TimeSpan.FromSeconds(5),
            ConnectTimeout = TimeSpan.FromSeconds(3),
        }, out var problem) ?? throw new InvalidOperationException(problem);
        if (settings.Tls is not null) settings = settings with { Tls = settings.Tls with { CaFile = broker.CaFile } };
        return new UplinkSettings
        {
            Broker = adjust is null ? settings : adjust(settings),
            ReconnectMinBackoff = TimeSpan.FromMilliseconds(100),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(800),
            ReconnectRandomFactor = 0,
            ReconnectProbeInterval = TimeSpan.Zero,
        };
    }

    /// <summary><paramref name="broker"/> presenting the client certificate <paramref name="files"/> (mutual TLS).</summary>
    protected static BrokerSettings WithClientCertificate(BrokerSettings broker, PemFiles files) =>
        broker with { Tls = broker.Tls! with { ClientCertificateFile = files.CertificateFile, ClientKeyFile = files.KeyFile } };

    protected (IActorRef Log, IActorRef Uplink) Start(UplinkSettings settings, VehicleIdentity? vehicle = null)
    {
        var who = vehicle ?? Vehicle;
        var log = Sys.ActorOf(WalActor.Props(who.VehicleId, new WalSettings(), new WalMetrics(Metrics, who.VehicleId)), "log");
        var uplink = Sys.ActorOf(UplinkActor.Props(who, settings, log, new UplinkMetrics(Metrics, who.VehicleId)), "uplink");
        return (log, uplink);
    }

    protected static LogReadings Readings(int from, int count) => new(Enumerable.Range(from, count)
        .Select(i => new Reading("gps", 1_700_000_000_000 + i * 100L, new PositionValue(53.5 + i * 1e-5, 9.9 + (i % 97) * 1e-4, i % 360, 12 + i % 7, 10, 2)))
        .ToList());

    protected static WalStatus Status(IActorRef log) => log.Ask<WalStatus>(WalProtocol.GetStatus.Instance, TimeSpan.FromSeconds(5)).Result;

    protected static UplinkProtocol.UplinkStatus LinkStatus(IActorRef uplink) =>
        uplink.Ask<UplinkProtocol.UplinkStatus>(UplinkProtocol.GetStatus.Instance, TimeSpan.FromSeconds(5)).Result;

    protected void AwaitDelivered(IActorRef log, long sequence, TimeSpan timeout) =>
        AwaitCondition(() => Status(log).DeliveredSequence >= sequence, timeout, TimeSpan.FromMilliseconds(20));

    protected IReadOnlyList<string> Lines(LogLevel level, string containing) =>
        Logs.Where(e => e.LogLevel() == level).Select(e => e.Message.ToString() ?? "").Where(m => m.Contains(containing, StringComparison.Ordinal)).ToList();

    protected IReadOnlyList<string> Lines(LogLevel level) => Logs.Where(e => e.LogLevel() == level).Select(e => e.Message.ToString() ?? "").ToList();

    /// <summary>Every line logged at Warning or Error is one line without a stack trace.</summary>
    protected void AssertNoStackTraces()
    {
        foreach (var line in Lines(LogLevel.WarningLevel).Concat(Lines(LogLevel.ErrorLevel)))
        {
            Assert.DoesNotContain("\n", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", line, StringComparison.Ordinal);
        }
        Assert.DoesNotContain(Logs, e => e.LogLevel() >= LogLevel.WarningLevel && e.Cause is not null);
    }

    /// <summary>An MQTT client of <paramref name="user"/> (mutual TLS with a certificate of its own) that records what it receives.</summary>
    protected static async Task<TestClient> ClientAsync(MosquittoProcess broker, MosquittoUser user, string connection = "main")
    {
        var files = broker.IssueClientCertificate(user.UserName);
        var settings = Settings(broker, s => WithClientCertificate(s, files)).Broker;
        var client = new MqttClientFactory().CreateMqttClient();
        var received = new ConcurrentQueue<string>();
        client.ApplicationMessageReceivedAsync += args =>
        {
            received.Enqueue($"{args.ApplicationMessage.Topic} {Encoding.UTF8.GetString(args.ApplicationMessage.Payload)}");
            return Task.CompletedTask;
        };
        var options = new BrokerConnection(settings).Configure(new MqttClientOptionsBuilder())
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId($"isolation-{user.UserName}-{connection}")
            .Build();
        var result = await client.ConnectAsync(options);
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return new TestClient(client, received);
    }

    /// <summary>A test's own MQTT client: every message it receives as "topic payload".</summary>
    protected sealed class TestClient(IMqttClient client, ConcurrentQueue<string> received) : IAsyncDisposable
    {
        public IReadOnlyList<string> Received => received.ToList();

        public async Task<MqttClientSubscribeResultCode> SubscribeAsync(string filter)
        {
            var result = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build());
            return result.Items.Single().ResultCode;
        }

        public async Task<MqttClientPublishReasonCode> PublishAsync(string topic, string payload)
        {
            var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            return result.ReasonCode;
        }

        public Task WaitForAsync(string payload) =>
            Testing.Poll.UntilAsync(() => received.Any(m => m.EndsWith(" " + payload, StringComparison.Ordinal)), $"\"{payload}\" arrived");

        public ValueTask DisposeAsync()
        {
            client.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class LogCollector : ReceiveActor
    {
        public LogCollector(ConcurrentQueue<LogEvent> logs)
        {
            Receive<LogEvent>(e => e.LogLevel() >= LogLevel.InfoLevel, logs.Enqueue);
            Receive<LogEvent>(_ => { });
        }

        protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(LogEvent));
    }
}
