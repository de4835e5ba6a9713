using System.Collections.Immutable;
using System.Security.Cryptography;
using Akka.Actor;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.Host.Commands;
using Xunit.Abstractions;
using DtcClearPayload = Fleet.Actors.Core.Commands.Wire.DtcClear;
using ModbusWritePayload = Fleet.Actors.Core.Commands.Wire.ModbusWrite;

namespace Fleet.Actors.PeerTests.Support;

/// <summary>
/// The fleet's side of signed commands for a vehicle agent under test: an issuer key the agent
/// trusts for every type, and the fleet-agent command client (the one <c>fleet-agent command send</c>
/// uses) on the test's broker, so a command travels the whole way: broker, the agent's uplink, its
/// command actor (verify, journal, execute) and its response back on the responses topic.
/// </summary>
public sealed class FleetCommands : IAsyncDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly ECDsa _key = CommandKeys.Generate();
    private readonly VehicleIdentity _vehicle;
    private readonly ITestOutputHelper _output;
    private CommandClient? _client;

    /// <summary>Commands for <paramref name="vehicle"/>; every response read is written to <paramref name="output"/>.</summary>
    public FleetCommands(VehicleIdentity vehicle, ITestOutputHelper output)
    {
        _vehicle = vehicle;
        _output = output;
    }

    /// <summary>The agent's command settings: this issuer trusted for every type, and <paramref name="executionTimeout"/>.</summary>
    public CommandSettings Settings(TimeSpan? executionTimeout = null) => new()
    {
        Issuers = [new TrustedIssuer("ops", _key, CommandPayloads.AllTypes.ToImmutableHashSet())],
        ExecutionTimeout = executionTimeout ?? TimeSpan.FromSeconds(30),
    };

    /// <summary>
    /// Connects to the broker once <paramref name="agent"/>'s uplink is online: its subscription to the
    /// commands topic is in place then, so nothing published afterwards is missed.
    /// </summary>
    public async Task ConnectAsync(IActorRef agent, int brokerPort)
    {
        var components = await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, Wait);
        var deadline = DateTime.UtcNow + Wait;
        while ((await components.Uplink.Ask<UplinkProtocol.UplinkStatus>(UplinkProtocol.GetStatus.Instance, Wait)).State != "online")
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the uplink of {_vehicle.VehicleId} did not come online within {Wait}");
            await Task.Delay(50);
        }
        _client = await CommandClient.ConnectAsync(new BrokerSettings { Host = "127.0.0.1", Port = brokerPort });
        await _client.ListenAsync(_vehicle);
    }

    /// <summary>A command of <paramref name="type"/> for the vehicle, valid for five minutes, with a fresh id.</summary>
    public Command Make(CommandType type, Priority priority = Priority.Normal)
    {
        var now = DateTimeOffset.UtcNow;
        return new Command
        {
            CommandId = Guid.NewGuid().ToString("N"), VehicleId = _vehicle.VehicleId, Tenant = _vehicle.Tenant, IssuedAt = now.ToUnixTimeMilliseconds(),
            ExpiresAt = now.AddMinutes(5).ToUnixTimeMilliseconds(), Type = type, Priority = priority, Issuer = "ops",
        };
    }

    /// <summary>A <c>MODBUS_WRITE</c> of one holding register or coil.</summary>
    public Command ModbusWrite(string plc, ModbusWritePayload.Types.Table table, uint address, uint value, Priority priority = Priority.Normal)
    {
        var command = Make(CommandType.ModbusWrite, priority);
        command.ModbusWrite = new ModbusWritePayload { Plc = plc, Table = table, Address = address, Value = value };
        return command;
    }

    /// <summary>A <c>DTC_CLEAR</c> for an ELM327 sensor.</summary>
    public Command DtcClear(string sensor)
    {
        var command = Make(CommandType.DtcClear);
        command.DtcClear = new DtcClearPayload { Sensor = sensor };
        return command;
    }

    /// <summary>The command signed by the trusted issuer: the bytes the fleet publishes.</summary>
    public byte[] Sign(Command command) => CommandClient.Sign(command, _key);

    /// <summary>Signs and publishes <paramref name="command"/>; every response up to the final one.</summary>
    public Task<IReadOnlyList<CommandResponse>> SendAsync(Command command) => SendAsync(command.CommandId, Sign(command));

    /// <summary>Publishes signed bytes (again, for a duplicate delivery); every response to <paramref name="commandId"/> up to the final one.</summary>
    public async Task<IReadOnlyList<CommandResponse>> SendAsync(string commandId, byte[] signed)
    {
        var client = _client ?? throw new InvalidOperationException("ConnectAsync first");
        await client.PublishAsync(_vehicle, signed);
        using var timeout = new CancellationTokenSource(Wait);
        var responses = await client.AwaitFinalAsync(commandId, timeout.Token,
            r => _output.WriteLine($"response {r.Status} {r.Reason} '{r.Message}' duplicate={r.Duplicate}"));
        return responses;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_client is not null) await _client.DisposeAsync();
        _key.Dispose();
    }
}
