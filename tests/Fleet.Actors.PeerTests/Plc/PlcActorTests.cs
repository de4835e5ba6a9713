using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Plc;
using Fleet.Actors.PeerTests.Modbus;
using Xunit.Abstractions;

namespace Fleet.Actors.PeerTests.Plc;

/// <summary>
/// The PLC supervisor and actor against the libmodbus server over TCP: readings reach the log (a
/// probe), the deadband holds back unchanged values, writes read back, device exceptions come back
/// typed, a server that stops answering opens the circuit breaker and one that comes back closes it,
/// and a server restart is survived. Breaker timings are short; waits are generous.
/// </summary>
public sealed class PlcActorTests : TestKit, IAsyncLifetime
{
    private const string VehicleId = "truck-plc";
    private const string PlcId = "plc1";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    private readonly AgentMetrics _metrics = new();
    private readonly TestProbe _log;
    private ModbusServerPeer _server = null!;

    public PlcActorTests(ITestOutputHelper output) : base("akka.loglevel = INFO", output)
    {
        _log = CreateTestProbe("log");
    }

    public async Task InitializeAsync() => _server = await ModbusServerPeer.StartTcpAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private PlcMetrics Metrics => new(_metrics, VehicleId, PlcId);

    private Prometheus.Counter.Child Restarts => _metrics.Counter("restarts_total", "Actor restarts by a supervisor.", VehicleId, "supervisor", "plcs");

    [Fact]
    public async Task PlcActor_should_log_readings_of_the_points_with_their_values()
    {
        StartPlcs(Points());

        var values = await NextValuesAsync(v => v.Count == 6);

        Assert.Equal(0xBEEF, values["beef"]);
        Assert.Equal(-1234, values["neg"]);
        Assert.Equal(123.456, values["temp"], 3);
        Assert.Equal(1000, values["in0"]);
        Assert.Equal(1, values["coil10"]);
        Assert.Equal(0, values["setpoint"]);
    }

    [Fact]
    public async Task PlcActor_should_hold_back_unchanged_values_with_on_change_and_publish_a_change()
    {
        StartPlcs(Points().Select(p => p with { OnChange = true }).ToArray());
        await NextValuesAsync(v => v.Count == 6);
        var polls = Metrics.Polls.Value;

        // Several polls of unchanged registers: nothing new for the log.
        await _log.ExpectNoMsgAsync(TimeSpan.FromSeconds(1.5));
        await AwaitConditionAsync(() => Task.FromResult(Metrics.Polls.Value >= polls + 3), Generous);

        Assert.IsType<PlcProtocol.Written>(await WriteAsync(new PlcProtocol.WriteRegister(PlcId, 10, 7)));
        var changed = await NextValuesAsync(v => v.Count > 0);
        Assert.Equal(new Dictionary<string, double> { ["beef"] = 7 }, changed);
    }

    [Fact]
    public async Task PlcActor_should_write_by_address_and_by_point_name_and_read_the_values_back()
    {
        StartPlcs(Points());
        await NextValuesAsync(v => v.Count == 6);

        Assert.IsType<PlcProtocol.Written>(await WriteAsync(new PlcProtocol.WriteRegister(PlcId, 5, 77)));
        await NextValuesAsync(v => v.GetValueOrDefault("setpoint") is var s && Math.Abs(s - 7.7) < 1e-9);

        Assert.IsType<PlcProtocol.Written>(await WriteAsync(new PlcProtocol.WritePoint(PlcId, "setpoint", new PlcProtocol.Number(-12.5))));
        await NextValuesAsync(v => v.GetValueOrDefault("setpoint") is var s && Math.Abs(s + 12.5) < 1e-9);

        Assert.IsType<PlcProtocol.Written>(await WriteAsync(new PlcProtocol.WriteCoils(PlcId, 9, [false, false])));
        await NextValuesAsync(v => v.TryGetValue("coil10", out var c) && c == 0);
        Assert.IsType<PlcProtocol.Written>(await WriteAsync(new PlcProtocol.WritePoint(PlcId, "coil10", new PlcProtocol.Flag(true))));
        await NextValuesAsync(v => v.TryGetValue("coil10", out var c) && c == 1);
        Assert.IsType<PlcProtocol.Written>(await WriteAsync(new PlcProtocol.WriteRegisters(PlcId, 10, [1, 2])));
        await NextValuesAsync(v => v.GetValueOrDefault("beef") == 1 && v.GetValueOrDefault("neg") == 2);
        Assert.True(Metrics.Writes.Value >= 5);
    }

    [Fact]
    public async Task PlcActor_should_answer_typed_failures_for_illegal_addresses_and_refusals_for_bad_requests()
    {
        StartPlcs(Points());
        await NextValuesAsync(v => v.Count == 6);

        var failed = Assert.IsType<PlcProtocol.Failed>(await WriteAsync(new PlcProtocol.WriteRegister(PlcId, 500, 1)));
        Assert.Equal((byte)2, failed.ExceptionCode);
        Assert.Contains("illegal data address", failed.Reason);

        Assert.Contains("unknown PLC", Assert.IsType<PlcProtocol.Refused>(await WriteAsync(new PlcProtocol.WriteRegister("nope", 0, 1))).Reason);
        Assert.Contains("no point", Assert.IsType<PlcProtocol.Refused>(await WriteAsync(new PlcProtocol.WritePoint(PlcId, "nope", new PlcProtocol.Number(1)))).Reason);
        Assert.Contains("not writable", Assert.IsType<PlcProtocol.Refused>(await WriteAsync(new PlcProtocol.WritePoint(PlcId, "in0", new PlcProtocol.Number(1)))).Reason);
        Assert.Contains("does not fit", Assert.IsType<PlcProtocol.Refused>(await WriteAsync(new PlcProtocol.WritePoint(PlcId, "setpoint", new PlcProtocol.Number(1e9)))).Reason);
        // A device exception is an answer: the breaker stays closed and readings keep coming.
        Assert.Equal(0, Metrics.BreakerState.Value);
        await NextValuesAsync(v => v.Count > 0);
    }

    [Fact]
    public async Task PlcActor_should_split_a_refused_read_and_stop_polling_the_bad_point()
    {
        // Holding 99 exists, 104 does not: planned as one read 99..104, which the server refuses.
        StartPlcs([new ModbusPoint { Name = "last", Address = 99, Interval = Fast }, new ModbusPoint { Name = "missing", Address = 104, Interval = Fast }]);

        var values = await NextValuesAsync(v => v.Count > 0);
        Assert.Equal(new Dictionary<string, double> { ["last"] = 0 }, values);
        var polls = Metrics.Polls.Value;
        await AwaitConditionAsync(() => Task.FromResult(Metrics.Polls.Value >= polls + 3), Generous);
        await NextValuesAsync(v => v.ContainsKey("last") && !v.ContainsKey("missing"));
    }

    [Fact]
    public async Task PlcActor_should_open_the_breaker_after_three_timeouts_and_close_it_when_the_server_answers_again()
    {
        // Open long enough that the write below surely meets the open breaker, not its half-open trial.
        StartPlcs(Points(), resetTimeout: TimeSpan.FromSeconds(6));
        await NextValuesAsync(v => v.Count == 6);

        await _server.HoldAnswersAsync();
        await AwaitConditionAsync(() => Task.FromResult(Metrics.BreakerState.Value == 2), Generous, TimeSpan.FromMilliseconds(20));
        var failed = Assert.IsType<PlcProtocol.Failed>(await WriteAsync(new PlcProtocol.WriteRegister(PlcId, 5, 1)));
        Assert.Equal("circuit open", failed.Reason);
        Assert.True(Metrics.PollFailures.Value >= 1);
        var skipped = Metrics.Skipped.Value;
        await AwaitConditionAsync(() => Task.FromResult(Metrics.Skipped.Value >= skipped + 3), Generous);

        await _server.ReleaseAnswersAsync();
        await AwaitConditionAsync(() => Task.FromResult(Metrics.BreakerState.Value == 0), Generous);
        await _log.FishForMessageAsync<WalProtocol.LogReadings>(_ => true, Generous);
        var values = await NextValuesAsync(v => v.Count == 6);
        Assert.Equal(1000, values["in0"]);
    }

    [Fact]
    public async Task PlcActor_should_answer_writes_that_meet_the_half_open_breaker_without_failing()
    {
        StartPlcs(Points());
        await NextValuesAsync(v => v.Count == 6);

        // Held answers open the breaker; once half-open, its one trial call is held too.
        await _server.HoldAnswersAsync();
        await AwaitConditionAsync(() => Task.FromResult(Metrics.BreakerState.Value == 2), Generous, TimeSpan.FromMilliseconds(20));
        await AwaitConditionAsync(() => Task.FromResult(Metrics.BreakerState.Value == 1), Generous, TimeSpan.FromMilliseconds(5));

        // At most one of these can be the trial: the others meet the half-open breaker and fail fast.
        var writes = Enumerable.Range(0, 3).Select(i => WriteAsync(new PlcProtocol.WriteRegister(PlcId, 5, (ushort)i))).ToArray();
        var results = await Task.WhenAll(writes);

        Assert.All(results, r => Assert.IsType<PlcProtocol.Failed>(r));
        Assert.Contains(results, r => ((PlcProtocol.Failed)r).Reason == "circuit open");
        Assert.Equal(0, Restarts.Value);
        await _server.ReleaseAnswersAsync();
        await NextValuesAsync(v => v.Count > 0);
    }

    [Fact]
    public async Task PlcActor_should_survive_a_server_restart()
    {
        StartPlcs(Points());
        await NextValuesAsync(v => v.Count == 6);

        await _server.StopAsync();
        var failures = Metrics.PollFailures.Value;
        await AwaitConditionAsync(() => Task.FromResult(Metrics.PollFailures.Value > failures), Generous);
        await _server.StartAsync();

        // The breaker may be open for a moment: write until the new connection takes it.
        await AwaitAssertAsync(async () => Assert.IsType<PlcProtocol.Written>(await WriteAsync(new PlcProtocol.WriteRegister(PlcId, 10, 4242))),
            Generous, TimeSpan.FromMilliseconds(500));
        await NextValuesAsync(v => v.GetValueOrDefault("beef") == 4242);
    }

    [Fact]
    public async Task A_configuration_change_should_restart_only_the_changed_PLC_with_its_new_map_add_a_new_one_and_stop_a_removed_one()
    {
        // The libmodbus server serves one client at a time: one server per PLC.
        await using var serverB = await ModbusServerPeer.StartTcpAsync();
        await using var serverC = await ModbusServerPeer.StartTcpAsync();
        var points = Points();
        ModbusPoint[] first = [points[0]], second = [points[1]], changed = [points[2], points[3]];
        PlcSettings A(ModbusPoint[] map) => Plc("a", map);
        var b = Plc("b", second) with { Port = serverB.Port };
        var c = Plc("c", first) with { Port = serverC.Port };
        _plcs = Sys.ActorOf(PlcSupervisor.Props(VehicleId, [A(first), b], _log.Ref, _metrics), "plcs");
        await PointsOfAsync("a", names => names.SetEquals(["beef"]));
        await PointsOfAsync("b", names => names.SetEquals(["neg"]));
        var unchanged = await Sys.ActorSelection(_plcs.Path / "plc-b" / "plc").ResolveOne(Generous);
        var restartsBefore = Restarts.Value;

        // a: a new register map; b: as it was; c: new.
        _plcs.Tell(new PlcProtocol.Apply([A(changed), b, c], ["a", "c"]));

        await PointsOfAsync("a", names => names.SetEquals(["temp", "in0"]));
        await PointsOfAsync("c", names => names.SetEquals(["beef"]));
        Assert.Equal(unchanged, await Sys.ActorSelection(_plcs.Path / "plc-b" / "plc").ResolveOne(Generous));
        await PointsOfAsync("b", names => names.SetEquals(["neg"]));
        Assert.Equal(restartsBefore, Restarts.Value);

        // b removed: its supervisor stops, and a write to it is refused as for any PLC that is not configured.
        _plcs.Tell(new PlcProtocol.Apply([A(changed), c], ["b"]));
        await AwaitAssertAsync(async () =>
        {
            var refused = Assert.IsType<PlcProtocol.Refused>(await _plcs.Ask<PlcProtocol.WriteResult>(new PlcProtocol.WriteRegister("b", 5, 1), Generous));
            Assert.Contains("unknown PLC \"b\"", refused.Reason);
        }, Generous, TimeSpan.FromMilliseconds(100));
        await PointsOfAsync("a", names => names.SetEquals(["temp", "in0"]));
    }

    // Waits for a batch of readings of one PLC whose point names satisfy the condition (other batches are skipped).
    private async Task PointsOfAsync(string plc, Func<HashSet<string>, bool> wanted) =>
        await _log.FishForMessageAsync<WalProtocol.LogReadings>(batch =>
            batch.Readings.All(r => r.DeviceId == plc) && wanted(batch.Readings.Select(r => ((MeasurementValue)r.Value).Name).ToHashSet()), Generous);

    private static readonly TimeSpan Fast = TimeSpan.FromMilliseconds(200);

    private static ModbusPoint[] Points() =>
    [
        new() { Name = "beef", Address = 10, Interval = Fast },
        new() { Name = "neg", Address = 11, DataType = ModbusDataType.I16, Interval = Fast },
        new() { Name = "temp", Address = 32, DataType = ModbusDataType.F32, ByteOrder = ModbusByteOrder.CDAB, Unit = "°C", Interval = Fast },
        new() { Name = "in0", Address = 0, RegisterType = ModbusRegisterType.Input, Interval = Fast },
        new() { Name = "coil10", Address = 10, RegisterType = ModbusRegisterType.Coil, DataType = ModbusDataType.Bool, Writable = true, Interval = Fast },
        new() { Name = "setpoint", Address = 5, DataType = ModbusDataType.I16, Scale = 0.1, Writable = true, Interval = Fast },
    ];

    private IActorRef _plcs = ActorRefs.Nobody;

    private void StartPlcs(ModbusPoint[] points, TimeSpan? resetTimeout = null) =>
        _plcs = Sys.ActorOf(PlcSupervisor.Props(VehicleId, [Plc(PlcId, points, resetTimeout)], _log.Ref, _metrics), "plcs");

    private PlcSettings Plc(string id, ModbusPoint[] points, TimeSpan? resetTimeout = null) =>
        new()
        {
            Id = id,
            Host = "127.0.0.1",
            Port = _server.Port,
            Map = new RegisterMap(points),
            PollInterval = Fast,
            CallTimeout = TimeSpan.FromSeconds(1),
            ConnectTimeout = TimeSpan.FromSeconds(2),
            ResetTimeout = resetTimeout ?? TimeSpan.FromSeconds(2),
            MinBackoff = TimeSpan.FromMilliseconds(500),
            MaxBackoff = TimeSpan.FromSeconds(1),
        };

    private async Task<PlcProtocol.WriteResult> WriteAsync(PlcProtocol.IWithPlcId write)
    {
        // The supervisor answers "is down" until the PLC actor has reported up (just after start).
        for (var attempt = 0; ; attempt++)
        {
            var result = await _plcs.Ask<PlcProtocol.WriteResult>(write, Generous);
            if (result is not PlcProtocol.Failed { Reason: var reason } || !reason.EndsWith("is down (restarting)", StringComparison.Ordinal) || attempt == 50)
                return result;
            await Task.Delay(100);
        }
    }

    // The values of the next batch of readings that satisfies the condition (earlier batches are skipped).
    private async Task<Dictionary<string, double>> NextValuesAsync(Func<Dictionary<string, double>, bool> wanted)
    {
        Dictionary<string, double> values = [];
        await _log.FishForMessageAsync<WalProtocol.LogReadings>(batch =>
        {
            values = batch.Readings.ToDictionary(r => ((MeasurementValue)r.Value).Name, r => ((MeasurementValue)r.Value).Value);
            Assert.All(batch.Readings, r => Assert.Equal(PlcId, r.DeviceId));
            return wanted(values);
        }, Generous);
        return values;
    }
}
