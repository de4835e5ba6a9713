using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Event;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.Devices.Tests.Vehicle;

/// <summary>
/// The console summary across a restart of the agent after evictions: the log's group (last seq,
/// acked or evicted up to, backlog, evicted in total) is the log's own, agrees with itself and with
/// the log's status, and survives the restart; the counts since start begin again at 0 and, once
/// the broker is back, "acked" is exactly the backlog the restarted agent delivered.
/// </summary>
public sealed partial class VehicleSummaryRestartTests : TestKit, IAsyncLifetime
{
    private const string VehicleId = "truck-restart";
    private readonly WalFiles _files;
    private readonly RecordingBroker _broker = new();

    public VehicleSummaryRestartTests(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private VehicleSummaryRestartTests(WalFiles files, ITestOutputHelper output) : base(files.Setup(), "summary-restart-tests", output)
    {
        _files = files;
    }

    public Task InitializeAsync() => _broker.StartAsync();

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        _files.Dispose();
    }

    private VehicleSettings Settings(bool withSensors) => new()
    {
        VehicleId = VehicleId,
        Tenant = "acme",
        Sensors = withSensors
            ?
            [
                new SensorSettings { Id = "gps", Type = SimulatedGpsDriver.TypeName, RateHz = 200 },
                new SensorSettings { Id = "imu", Type = SimulatedImuDriver.TypeName, RateHz = 200 },
            ]
            : [],
        // A budget a second offline exceeds many times over.
        Wal = _files.SmallBudget(),
        // The broker's defaults, with reconnects quick enough for a test.
        Uplink = new UplinkSettings
        {
            Broker = new BrokerSettings { Port = _broker.Port },
            ReconnectMinBackoff = TimeSpan.FromMilliseconds(100),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(500),
        },
        SummaryInterval = TimeSpan.FromMilliseconds(200),
        DrainTimeout = TimeSpan.FromSeconds(1),
    };

    private async Task<WalProtocol.WalStatus> StatusAsync(IActorRef agent)
    {
        var components = await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, TimeSpan.FromSeconds(5));
        return await components.Log.Ask<WalProtocol.WalStatus>(WalProtocol.GetStatus.Instance, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Summary_after_a_restart_following_evictions_should_agree_with_the_log_and_with_itself()
    {
        // First run: some records reach the broker, then the broker goes away and the log evicts.
        var firstMetrics = new AgentMetrics();
        var first = Sys.ActorOf(VehicleAgent.Props(Settings(withSensors: true), firstMetrics), "vehicle-first");
        var sent = new UplinkMetrics(firstMetrics, VehicleId).EventsSent;
        AwaitCondition(() => sent.Value >= 100, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(20));
        await _broker.StopAsync();
        await AwaitConditionAsync(async () => (await StatusAsync(first)).EvictedTotal > 500, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(50));
        await VehicleShutdown.RunAsync(first, TimeSpan.FromMilliseconds(200));
        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first, TimeSpan.FromSeconds(10));

        // Second run, a new process as far as counters go, no sensors and still no broker: the log stands still.
        var logs = CreateTestProbe();
        Sys.EventStream.Subscribe(logs.Ref, typeof(Info));
        var secondMetrics = new AgentMetrics();
        var second = Sys.ActorOf(VehicleAgent.Props(Settings(withSensors: false), secondMetrics), "vehicle-second");
        var line = Summary(logs, s => s.Log is not null);
        var status = await StatusAsync(second);

        Assert.True(status.EvictedTotal > 500, $"only {status.EvictedTotal} evicted");
        Assert.True(status.UnsentCount > 0, "nothing left to deliver");
        Assert.Equal((0, 0, 0, 0), (line.Read, line.Logged, line.Dropped, line.Acked));
        Assert.Equal((status.LastSequence, status.DeliveredSequence, status.UnsentCount, status.EvictedTotal), line.Log);
        Assert.Equal(line.Log!.Value.Last - line.Log.Value.UpTo, line.Log.Value.Backlog);

        // The broker is back: the backlog drains, the log's figures move together, and what this
        // run acknowledged is exactly the backlog it started with. Nothing new was evicted.
        await _broker.StartAsync();
        var drained = Summary(logs, s => s.Log is { Backlog: 0 });
        Assert.Equal((status.LastSequence, status.LastSequence, 0L, status.EvictedTotal), drained.Log);
        Assert.Equal(status.UnsentCount, drained.Acked);
        Assert.Equal(0, drained.Logged);
        await VehicleShutdown.RunAsync(second, TimeSpan.FromSeconds(5));
    }

    private sealed record SummaryLine(long Read, long Logged, long Dropped, long Acked, (long Last, long UpTo, long Backlog, long Evicted)? Log);

    private static SummaryLine Summary(Akka.TestKit.TestProbe logs, Func<SummaryLine, bool> wanted)
    {
        SummaryLine? found = null;
        logs.FishForMessage<Info>(info =>
        {
            var match = SummaryPattern().Match(info.Message.ToString()!);
            if (!match.Success) return false;
            static long N(Match m, string group) => long.Parse(m.Groups[group].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
            var line = new SummaryLine(N(match, "read"), N(match, "logged"), N(match, "dropped"), N(match, "acked"),
                match.Groups["last"].Success ? (N(match, "last"), N(match, "upto"), N(match, "backlog"), N(match, "evicted")) : null);
            if (!wanted(line)) return false;
            found = line;
            return true;
        }, TimeSpan.FromSeconds(30));
        return found!;
    }

    [GeneratedRegex(@"^truck-restart \| sensors \d+/\d+ \| since start: read (?<read>[\d,]+) \(\+[\d,]+/s, [\d,]+ bad\), " +
                    @"logged (?<logged>[\d,]+) \(\+[\d,]+/s, (?<dropped>[\d,]+) dropped\), acked (?<acked>[\d,]+) \(\+[\d,]+/s\) \| " +
                    @"log: (?:last seq (?<last>[\d,]+), acked or evicted up to (?<upto>[\d,]+), backlog (?<backlog>[\d,]+), evicted (?<evicted>[\d,]+) in total|no answer within [\d.]+ s) \| " +
                    @"broker (?:online|OFFLINE)")]
    private static partial Regex SummaryPattern();
}
