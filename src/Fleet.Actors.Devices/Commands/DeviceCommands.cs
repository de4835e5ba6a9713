using System.Globalization;
using Akka.Actor;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Obd;
using Fleet.Actors.Devices.Scripting;
using Fleet.Actors.Devices.Sensors;
using static Fleet.Actors.Core.Commands.CommandProtocol;

namespace Fleet.Actors.Devices.Commands;

/// <summary>
/// Carries out the commands that address the vehicle's devices and scripts (actor
/// <c>device-commands</c>): GPIO and Modbus writes go to the script engine, which arbitrates them
/// against the scripts' writes at the command's priority and performs them through the owning
/// device actor; script install/remove/enable/disable go to the script store; DTC clear to the
/// ELM327 sensor; DIAGNOSTICS asks the log, the uplink and the script engine for their status.
/// Never blocks: every question is asked with a timeout and its answer piped back.
/// </summary>
internal sealed class DeviceCommands : ReceiveActor
{
    private readonly TimeSpan _timeout;
    private VehicleDevices _devices;

    public DeviceCommands(VehicleDevices initial, TimeSpan timeout)
    {
        // Asks end a little before the command actor's own execution timeout, so that the answer
        // names the part that did not answer rather than only the command.
        _timeout = timeout - TimeSpan.FromTicks(Math.Min(timeout.Ticks / 10, TimeSpan.FromSeconds(1).Ticks));
        _devices = initial;
        Receive<DeviceCommandsProtocol.Reconfigured>(r => _devices = _devices with { Plcs = r.Plcs, SensorIds = r.SensorIds, ConfigVersion = r.ConfigVersion });
        Receive<Execute>(execute =>
        {
            var devices = _devices;
            var replyTo = Sender;
            var id = execute.CommandId;
            var command = execute.Command;
            switch (command.Type)
            {
                case CommandType.GpioWrite:
                    var line = devices.Gpio.Lines.FirstOrDefault(l => l.Id == command.GpioWrite.Line);
                    if (line is null || line.Direction != GpioDirection.Output)
                    {
                        replyTo.Tell(new Refuse(id, CommandRefusals.Rejected, $"no GPIO output line '{command.GpioWrite.Line}' (configured: {Names(devices.Gpio.Lines.Where(l => l.Direction == GpioDirection.Output).Select(l => l.Id))})"));
                        return;
                    }
                    Write(devices.Scripts, new ScriptProtocol.Write("command:" + id, new GpioLineTarget(line.Pin), command.GpioWrite.Value ? 1 : 0, execute.ScriptPriority),
                        id, $"GPIO line {line.Id} := {(command.GpioWrite.Value ? 1 : 0)}", replyTo);
                    break;
                case CommandType.ModbusWrite:
                    var m = command.ModbusWrite;
                    if (devices.Plcs.All(p => p.Id != m.Plc))
                    {
                        replyTo.Tell(new Refuse(id, CommandRefusals.Rejected, $"no PLC '{m.Plc}' (configured: {Names(devices.Plcs.Select(p => p.Id))})"));
                        return;
                    }
                    WriteTarget target = m.Table == ModbusWrite.Types.Table.Coil ? new ModbusCoilTarget(m.Plc, (int)m.Address) : new ModbusRegisterTarget(m.Plc, (int)m.Address);
                    Write(devices.Scripts, new ScriptProtocol.Write("command:" + id, target, (int)m.Value, execute.ScriptPriority), id, $"{target} := {m.Value}", replyTo);
                    break;
                case CommandType.DtcClear:
                    devices.Sensors.Ask<SensorCommandResult>(new SensorProtocol.Execute(command.DtcClear.Sensor, ObdCommands.ClearTroubleCodes.Instance), _timeout)
                        .PipeTo(replyTo, success: r => r.Success ? new Succeed(id, $"sensor {command.DtcClear.Sensor}: {r.Detail}")
                                : new Fail(id, CommandRefusals.ExecutionFailed, r.Detail),
                            failure: _ => new Fail(id, CommandRefusals.Timeout, $"sensor {command.DtcClear.Sensor} did not answer within {_timeout.TotalSeconds:0.#} s (is it down?)"));
                    break;
                case CommandType.ScriptInstall:
                    var parsed = ScriptParser.ParseJson(command.ScriptInstall.ScriptJson);
                    if (parsed.Document is not { Scripts.Count: 1 } document)
                    {
                        replyTo.Tell(new Refuse(id, CommandRefusals.InvalidPayload,
                            parsed.IsValid ? "script_install.script_json must hold exactly one script" : "script_json: " + string.Join("; ", parsed.Errors)));
                        return;
                    }
                    Store(devices.Scripts, new InstallScript(document.Scripts[0]), id, $"script {document.Scripts[0].Id} installed", replyTo);
                    break;
                case CommandType.ScriptRemove:
                    Store(devices.Scripts, new RemoveScript(command.Script.ScriptId), id, $"script {command.Script.ScriptId} removed", replyTo);
                    break;
                case CommandType.ScriptEnable:
                    Store(devices.Scripts, new EnableScript(command.Script.ScriptId), id, $"script {command.Script.ScriptId} enabled", replyTo);
                    break;
                case CommandType.ScriptDisable:
                    Store(devices.Scripts, new DisableScript(command.Script.ScriptId), id, $"script {command.Script.ScriptId} disabled", replyTo);
                    break;
                case CommandType.Diagnostics:
                    Diagnostics(devices, Context.Parent, id).PipeTo(replyTo, success: s => s,
                        failure: ex => new Fail(id, CommandRefusals.Timeout, $"a component did not answer within {_timeout.TotalSeconds:0.#} s: {ex.GetBaseException().Message}"));
                    break;
                default:
                    replyTo.Tell(new Refuse(id, CommandRefusals.Unsupported, $"{command.Type.ToWireName()} is not carried out by the device commands"));
                    break;
            }
        });
    }

    /// <summary>Props for the device commands of one vehicle.</summary>
    public static Props Props(VehicleDevices devices, TimeSpan timeout) => Akka.Actor.Props.Create(() => new DeviceCommands(devices, timeout));

    /// <summary>The command types this actor carries out.</summary>
    public static readonly CommandType[] Types =
    [
        CommandType.GpioWrite, CommandType.ModbusWrite, CommandType.DtcClear, CommandType.ScriptInstall, CommandType.ScriptRemove,
        CommandType.ScriptEnable, CommandType.ScriptDisable, CommandType.Diagnostics,
    ];

    private void Write(IActorRef scripts, ScriptProtocol.Write write, string id, string what, IActorRef replyTo) =>
        scripts.Ask<ScriptProtocol.WriteDone>(write, _timeout).PipeTo(replyTo,
            success: done => done.Outcome switch
            {
                "lost" => new Refuse(id, CommandRefusals.Rejected, $"{what}: lost against a write of higher priority" + (done.Error is null ? "" : $": {done.Error}")),
                _ when done.Succeeded => new Succeed(id, $"{what} ({done.Outcome})", new Dictionary<string, string> { ["outcome"] = done.Outcome }),
                _ => new Fail(id, CommandRefusals.ExecutionFailed, $"{what}: {done.Outcome}: {done.Error}"),
            },
            failure: _ => new Fail(id, CommandRefusals.Timeout, $"{what}: no answer within {_timeout.TotalSeconds:0.#} s"));

    private void Store(IActorRef scripts, ScriptStoreCommand change, string id, string done, IActorRef replyTo) =>
        scripts.Ask(new ScriptStoreProtocol.Execute(change), _timeout).PipeTo(replyTo,
            success: answer => answer switch
            {
                ScriptStoreProtocol.CommandAccepted => new Succeed(id, done),
                ScriptStoreProtocol.CommandRefused r => new Refuse(id, CommandRefusals.Rejected, r.Reason),
                _ => new Fail(id, CommandRefusals.ExecutionFailed, $"unexpected answer {answer}"),
            },
            failure: _ => new Fail(id, CommandRefusals.Timeout, $"the script store did not answer within {_timeout.TotalSeconds:0.#} s"));

    // The uplink is created after this actor (it carries the commands): found through the vehicle agent.
    private async Task<object> Diagnostics(VehicleDevices devices, IActorRef vehicle, string id)
    {
        var components = await vehicle.Ask<Vehicle.VehicleProtocol.Components>(Vehicle.VehicleProtocol.GetComponents.Instance, _timeout).ConfigureAwait(false);
        var wal = devices.Log.Ask<WalProtocol.WalStatus>(WalProtocol.GetStatus.Instance, _timeout);
        var uplink = components.Uplink.Ask<UplinkProtocol.UplinkStatus>(UplinkProtocol.GetStatus.Instance, _timeout);
        var scripts = devices.Scripts.Ask<ScriptProtocol.Status>(ScriptProtocol.GetStatus.Instance, _timeout);
        var state = devices.Operations.Ask<OperationalStateProtocol.Current>(OperationalStateProtocol.GetState.Instance, _timeout);
        await Task.WhenAll(wal, uplink, scripts, state).ConfigureAwait(false);
        var inv = CultureInfo.InvariantCulture;
        var details = new Dictionary<string, string>
        {
            ["agent_version"] = typeof(DeviceCommands).Assembly.GetName().Version?.ToString() ?? "",
            ["config_version"] = devices.ConfigVersion,
            ["operational_state"] = state.Result.StateName,
            ["mission_id"] = state.Result.MissionId,
            ["log.last_sequence"] = wal.Result.LastSequence.ToString(inv),
            ["log.delivered_sequence"] = wal.Result.DeliveredSequence.ToString(inv),
            ["log.unsent_count"] = wal.Result.UnsentCount.ToString(inv),
            ["log.unsent_bytes"] = wal.Result.UnsentBytes.ToString(inv),
            ["log.evicted_total"] = wal.Result.EvictedTotal.ToString(inv),
            ["uplink.state"] = uplink.Result.State,
            ["uplink.acknowledged_sequence"] = uplink.Result.AcknowledgedSequence.ToString(inv),
            ["scripts.installed"] = scripts.Result.Installed.ToString(inv),
            ["scripts.enabled"] = scripts.Result.Enabled.ToString(inv),
            ["devices.sensors"] = Names(devices.SensorIds),
            ["devices.gpio_lines"] = Names(devices.Gpio.Lines.Select(l => l.Id)),
            ["devices.plcs"] = Names(devices.Plcs.Select(p => p.Id)),
        };
        return new Succeed(id, "diagnostics snapshot", details, state.Result.StateName);
    }

    private static string Names(IEnumerable<string> names)
    {
        var list = string.Join(", ", names);
        return list.Length == 0 ? "none" : list;
    }
}

/// <summary>Messages of the device commands.</summary>
internal static class DeviceCommandsProtocol
{
    /// <summary>A configuration change was applied: the PLCs and sensors there are now, and the version.</summary>
    public sealed record Reconfigured(IReadOnlyList<Plc.PlcSettings> Plcs, IReadOnlyList<string> SensorIds, string ConfigVersion);
}

/// <summary>What the device commands reach: the vehicle's components and the configuration they run.</summary>
internal sealed record VehicleDevices(
    IActorRef Log,
    IActorRef Sensors,
    IActorRef Scripts,
    IActorRef Operations,
    GpioSettings Gpio,
    IReadOnlyList<Plc.PlcSettings> Plcs,
    IReadOnlyList<string> SensorIds,
    string ConfigVersion);
