using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Devices.Plc;
using Fleet.Actors.Devices.Scripting;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.PeerTests.Modbus;
using Fleet.Actors.PeerTests.Support;
using Fleet.Actors.Testing;
using Xunit.Abstractions;
using Table = Fleet.Actors.Core.Commands.Wire.ModbusWrite.Types.Table;

namespace Fleet.Actors.PeerTests.Commands;

/// <summary>
/// A vehicle agent and its PLC, driven by the fleet: a whole agent (log on SQLite, uplink to an
/// in-process broker) polls a PLC; signed MODBUS_WRITE commands travel broker → uplink → command
/// actor (verify, journal) → script engine (arbitration) → PLC actor, and their responses come back
/// on the responses topic. What they did is checked on the PLC, from outside the agent: the server's
/// own write log (<c>log-writes</c>) and, over TCP, mbpoll reading while the agent keeps its connection
/// (<c>multi</c>), or another client.
/// </summary>
public abstract class ModbusCommandAgentKit : TestKit, IAsyncLifetime
{
    /// <summary>The PLC's id in the agent's configuration.</summary>
    protected const string PlcId = "plc1";

    /// <summary>Positive waits: long enough for a cold start on a loaded two-core machine.</summary>
    protected static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    private const string VehicleId = "truck-plc-commands";
    private readonly WalFiles _files;
    private readonly AgentMetrics _metrics = new();

    /// <summary>Starts the actor system with the log's SQLite files.</summary>
    protected ModbusCommandAgentKit(ITestOutputHelper output) : this(new WalFiles(), output)
    {
    }

    private ModbusCommandAgentKit(WalFiles files, ITestOutputHelper output) : base(files.Setup(), "plc-command-tests", output)
    {
        _files = files;
        Fleet = new FleetCommands(new VehicleIdentity(VehicleId, "acme"), output);
    }

    /// <summary>The libmodbus server, logging every write it takes.</summary>
    protected ModbusServerPeer Server { get; set; } = null!;

    /// <summary>The broker between the fleet and the agent, keeping every record it accepted.</summary>
    protected RecordingBroker Broker { get; } = new() { KeepRecords = true };

    /// <summary>The fleet's side: signs, sends and collects responses.</summary>
    protected FleetCommands Fleet { get; }

    /// <summary>The agent, once started.</summary>
    protected IActorRef Agent { get; private set; } = ActorRefs.Nobody;

    /// <summary>The agent's settings, once started.</summary>
    protected VehicleSettings Settings { get; private set; } = null!;

    /// <summary>Starts <see cref="Server"/>.</summary>
    protected abstract Task StartServerAsync();

    /// <summary>Where the agent finds the PLC: host and port, or a serial line.</summary>
    protected abstract PlcSettings Plc(PlcSettings settings);

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        await StartServerAsync();
        await Broker.StartAsync();
    }

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        await Fleet.DisposeAsync();
        await Broker.DisposeAsync();
        await Server.DisposeAsync();
    }

    /// <inheritdoc />
    protected override void AfterAll()
    {
        base.AfterAll();
        _files.Dispose();
    }

    /// <summary>Starts the agent with the PLC (polling the register the tests write) and <paramref name="scripting"/>; returns once commands can reach it.</summary>
    protected async Task StartAgentAsync(ScriptingSettings? scripting = null)
    {
        var fast = TimeSpan.FromMilliseconds(200);
        Settings = PeerAgentSettings.For(VehicleId, _files.JournalPath, Broker.Port) with
        {
            Plcs =
            [
                Plc(new PlcSettings
                {
                    Id = PlcId,
                    PollInterval = fast,
                    Map = new RegisterMap([new ModbusPoint { Name = "setpoint", Address = 5, Writable = true, Interval = fast }]),
                    CallTimeout = TimeSpan.FromSeconds(2),
                    ConnectTimeout = TimeSpan.FromSeconds(2),
                    MinBackoff = TimeSpan.FromMilliseconds(500),
                    MaxBackoff = TimeSpan.FromSeconds(1),
                }),
            ],
            Scripting = scripting ?? new ScriptingSettings(),
            Commands = Fleet.Settings(),
        };
        Agent = Sys.ActorOf(VehicleAgent.Props(Settings, _metrics), VehicleAgent.ActorName(VehicleId));
        await Fleet.ConnectAsync(Agent, Broker.Port);
    }

    /// <summary>The statuses of <paramref name="responses"/>, in order.</summary>
    protected static ResponseStatus[] Statuses(IEnumerable<CommandResponse> responses) => responses.Select(r => r.Status).ToArray();

    /// <summary>The script write records the broker received.</summary>
    protected IEnumerable<ScriptWriteValue> ScriptWrites() => Broker.Records.Select(r => r.Value).OfType<ScriptWriteValue>();
}

/// <summary>MODBUS_WRITE against the libmodbus server over TCP.</summary>
public sealed class ModbusWriteCommandTests(ITestOutputHelper output) : ModbusCommandAgentKit(output)
{
    /// <inheritdoc />
    protected override async Task StartServerAsync() => Server = await ModbusServerPeer.StartTcpAsync("multi", "log-writes");

    /// <inheritdoc />
    protected override PlcSettings Plc(PlcSettings settings) => settings with { Host = "127.0.0.1", Port = Server.Port };

    [Fact]
    public async Task Modbus_write_commands_should_set_a_register_and_a_coil_that_another_client_reads_back()
    {
        await StartAgentAsync();
        Assert.Equal(new[] { 0 }, await HoldingAsync(5, 1));
        Assert.Equal(new[] { 0 }, await CoilsAsync(3, 1));

        var register = await Fleet.SendAsync(Fleet.ModbusWrite(PlcId, Table.HoldingRegister, 5, 4242));
        var coil = await Fleet.SendAsync(Fleet.ModbusWrite(PlcId, Table.Coil, 3, 1));

        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Succeeded], Statuses(register));
        Assert.Equal("modbus plc1 register 5 := 4242 (write)", register[^1].Message);
        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Succeeded], Statuses(coil));
        Assert.Equal("modbus plc1 coil 3 := 1 (write)", coil[^1].Message);
        // mbpoll reads them while the agent keeps its own connection; the server took exactly these writes.
        Assert.Equal(new[] { 4242 }, await HoldingAsync(5, 1));
        Assert.Equal(new[] { 1 }, await CoilsAsync(3, 1));
        Assert.Equal(["write fc=6 address=5 values=4242", "write fc=5 address=3 values=1"], Server.Writes);
    }

    [Fact]
    public async Task Modbus_write_commands_the_PLC_cannot_take_should_fail_with_its_exception_or_be_refused_and_change_nothing()
    {
        await StartAgentAsync();
        var registers = await HoldingAsync(0, 100);
        var coils = await CoilsAsync(0, 100);

        // The map ends at 99: the server answers exception 2.
        var illegal = await Fleet.SendAsync(Fleet.ModbusWrite(PlcId, Table.HoldingRegister, 100, 1));
        var unknown = await Fleet.SendAsync(Fleet.ModbusWrite("plc9", Table.HoldingRegister, 5, 1));

        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Failed], Statuses(illegal));
        Assert.Equal(CommandRefusals.ExecutionFailed, illegal[^1].Reason);
        Assert.StartsWith("modbus plc1 register 100 := 1: failed: ", illegal[^1].Message);
        Assert.Contains("illegal data address", illegal[^1].Message);
        Assert.DoesNotContain('\n', illegal[^1].Message);
        var refused = Assert.Single(unknown);
        Assert.Equal((ResponseStatus.Nack, CommandRefusals.Rejected, "no PLC 'plc9' (configured: plc1)"), (refused.Status, refused.Reason, refused.Message));
        // A barrier: a good write takes the same path after them; once it is done, it is the only write the server took.
        var barrier = await Fleet.SendAsync(Fleet.ModbusWrite(PlcId, Table.HoldingRegister, 9, 1));
        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Succeeded], Statuses(barrier));
        Assert.Equal(["write fc=6 address=9 values=1"], Server.Writes);
        registers[9] = 1;
        Assert.Equal(registers, await HoldingAsync(0, 100));
        Assert.Equal(coils, await CoilsAsync(0, 100));
    }

    [Fact]
    public async Task Modbus_write_command_should_lose_against_a_script_of_higher_priority_and_win_with_a_higher_priority()
    {
        // A high-priority script writes 99 to register 5 every 2 s. The arbitration cycle is longer than
        // the test, so the script's write stands against every command below, whenever it arrives.
        var scripts = ScriptParser.ParseHocon("""
            scripts = [
              { id = hold-level, name = "Hold level", priority = high
                triggers = [ { type = interval, every = 2s } ]
                actions = [ { type = modbus-write-register, device = plc1, address = 5, value = 99 } ] }
            ]
            """);
        Assert.True(scripts.IsValid, string.Join("; ", scripts.Problems));
        await StartAgentAsync(new ScriptingSettings { Document = scripts.Document!, Cycle = TimeSpan.FromMinutes(10) });
        await AwaitConditionAsync(() => Task.FromResult(Server.Writes.Contains("write fc=6 address=5 values=99")), Generous, TimeSpan.FromMilliseconds(50));

        var normal = Fleet.ModbusWrite(PlcId, Table.HoldingRegister, 5, 7);
        var lost = await Fleet.SendAsync(normal);

        var nack = Assert.Single(lost);
        Assert.Equal((ResponseStatus.Nack, CommandRefusals.Rejected), (nack.Status, nack.Reason));
        Assert.Equal("modbus plc1 register 5 := 7: lost against a write of higher priority: Hold level holds modbus plc1 register 5 at 99, priority 100 (High), this cycle", nack.Message);
        Assert.Equal(new[] { 99 }, await HoldingAsync(5, 1));

        var critical = Fleet.ModbusWrite(PlcId, Table.HoldingRegister, 5, 1234, Priority.Critical);
        var won = await Fleet.SendAsync(critical);

        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Succeeded], Statuses(won));
        Assert.Equal("modbus plc1 register 5 := 1234 (won)", won[^1].Message);
        Assert.Equal(new[] { 1234 }, await HoldingAsync(5, 1));
        // This write took the lost one's path after it: the lost value never reached the server.
        Assert.DoesNotContain(Server.Writes, w => w.EndsWith("values=7", StringComparison.Ordinal));
        // The script runs again and now loses against the command; the PLC keeps the command's value.
        await AwaitConditionAsync(() => Task.FromResult(ScriptWrites().Any(w => w is { ScriptId: "hold-level", Outcome: "lost", OtherPriority: 200, OtherValue: 1234 }
            && w.OtherScriptId == "command:" + critical.CommandId)), Generous, TimeSpan.FromMilliseconds(50));
        Assert.Equal(new[] { 1234 }, await HoldingAsync(5, 1));
        Assert.Equal("write fc=6 address=5 values=1234", Server.Writes[^1]);
        // Both decisions are journaled and reached the fleet with the other side named.
        Assert.Contains(ScriptWrites(), w => w is { Outcome: "lost", Value: 7, OtherScriptId: "hold-level", OtherPriority: 100, OtherValue: 99 }
            && w.ScriptId == "command:" + normal.CommandId);
        Assert.Contains(ScriptWrites(), w => w is { Outcome: "won", Value: 1234, Priority: 200, OtherScriptId: "hold-level" });
    }

    [Fact]
    public async Task Modbus_write_command_delivered_twice_should_write_once()
    {
        await StartAgentAsync();
        var command = Fleet.ModbusWrite(PlcId, Table.HoldingRegister, 7, 500);
        var signed = Fleet.Sign(command);

        var first = await Fleet.SendAsync(command.CommandId, signed);
        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Succeeded], Statuses(first));
        Assert.Equal(new[] { 500 }, await HoldingAsync(7, 1));
        // Another client changes the register in between: a second execution would put 500 back.
        await using (var other = new ModbusClient(new ModbusTcpTransport("127.0.0.1", Server.Port, ModbusFraming.Tcp, new ModbusTimeouts()), unitId: 1))
            await other.WriteSingleRegisterAsync(7, 321);

        var again = await Fleet.SendAsync(command.CommandId, signed);
        // A barrier: a new command takes the same path (command actor, device commands, script engine,
        // PLC actor, one connection), in order, so once it succeeded a second run of the first would have reached the server.
        var barrier = await Fleet.SendAsync(Fleet.ModbusWrite(PlcId, Table.HoldingRegister, 8, 1));

        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Succeeded], Statuses(again));
        Assert.All(again, r => Assert.True(r.Duplicate));
        Assert.Equal(first[^1].Message, again[^1].Message);
        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Succeeded], Statuses(barrier));
        Assert.Equal(new[] { 321, 1 }, await HoldingAsync(7, 2));
        Assert.Equal(["write fc=6 address=7 values=500", "write fc=6 address=7 values=321", "write fc=6 address=8 values=1"], Server.Writes);
    }

    /// <summary>Holding registers as mbpoll reads them (0-based addresses here; mbpoll counts from 1).</summary>
    private Task<int[]> HoldingAsync(int address, int count) => MbpollAsync("4", address, count);

    /// <summary>Coils as mbpoll reads them, 0 or 1.</summary>
    private Task<int[]> CoilsAsync(int address, int count) => MbpollAsync("0", address, count);

    private async Task<int[]> MbpollAsync(string table, int address, int count)
    {
        var inv = CultureInfo.InvariantCulture;
        var output = await Server.MbpollAsync("-t", table, "-r", (address + 1).ToString(inv), "-c", count.ToString(inv));
        var values = Regex.Matches(output, @"^\[(\d+)\]:\s+(\d+)", RegexOptions.Multiline)
            .ToDictionary(m => int.Parse(m.Groups[1].Value, inv) - 1, m => int.Parse(m.Groups[2].Value, inv));
        return Enumerable.Range(address, count).Select(a => values.TryGetValue(a, out var v) ? v : throw new InvalidOperationException($"mbpoll printed no value for {a}: {output}")).ToArray();
    }
}

/// <summary>MODBUS_WRITE to the libmodbus server over RTU on a socat pseudo-terminal.</summary>
public sealed class ModbusRtuWriteCommandTests(ITestOutputHelper output) : ModbusCommandAgentKit(output)
{
    private SocatPty _pty = null!;

    /// <inheritdoc />
    protected override async Task StartServerAsync()
    {
        _pty = await SocatPty.StartAsync();
        Server = await ModbusServerPeer.StartRtuAsync(_pty.PeerPath, "log-writes");
    }

    /// <inheritdoc />
    protected override PlcSettings Plc(PlcSettings settings) => settings with { Serial = new SerialOptions { Port = _pty.DevicePath, BaudRate = 115200 } };

    /// <inheritdoc />
    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _pty.DisposeAsync();
    }

    [Fact]
    public async Task Modbus_write_commands_over_RTU_should_reach_the_PLC_and_read_back_once_the_agent_let_go_of_the_line()
    {
        await StartAgentAsync();

        var register = await Fleet.SendAsync(Fleet.ModbusWrite(PlcId, Table.HoldingRegister, 5, 777));
        var coil = await Fleet.SendAsync(Fleet.ModbusWrite(PlcId, Table.Coil, 4, 1));

        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Succeeded], Statuses(register));
        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Succeeded], Statuses(coil));
        Assert.Equal(["write fc=6 address=5 values=777", "write fc=5 address=4 values=1"], Server.Writes);

        // The line has one master: another client reads once the agent has stopped and closed it.
        var outcome = await VehicleShutdown.RunAsync(Agent, Settings.DrainTimeout);
        Assert.True(outcome.Drained, $"shutdown: {outcome}");
        Watch(Agent);
        Sys.Stop(Agent);
        ExpectTerminated(Agent, Generous);
        await AwaitAssertAsync(async () =>
        {
            await using var other = new ModbusClient(new ModbusRtuTransport(new SerialPortChannel(new SerialOptions { Port = _pty.DevicePath, BaudRate = 115200 }), 115200,
                new ModbusTimeouts { Operation = TimeSpan.FromSeconds(1) }), unitId: 1);
            Assert.Equal(new ushort[] { 777 }, await other.ReadHoldingRegistersAsync(5, 1));
            Assert.Equal(new[] { true }, await other.ReadCoilsAsync(4, 1));
        }, Generous, TimeSpan.FromMilliseconds(500));
    }
}
