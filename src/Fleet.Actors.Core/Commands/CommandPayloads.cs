using System.Collections.Frozen;
using System.Reflection;
using Fleet.Actors.Core.Commands.Wire;
using Google.Protobuf.Reflection;

namespace Fleet.Actors.Core.Commands;

/// <summary>Which payload each command type carries, and the checks on its values.</summary>
public static class CommandPayloads
{
    private static readonly FrozenDictionary<CommandType, Command.PayloadOneofCase[]> Allowed = new Dictionary<CommandType, Command.PayloadOneofCase[]>
    {
        [CommandType.AssignMission] = [Command.PayloadOneofCase.AssignMission],
        [CommandType.CancelMission] = [Command.PayloadOneofCase.CancelMission, Command.PayloadOneofCase.None],
        [CommandType.Pause] = [Command.PayloadOneofCase.None],
        [CommandType.Resume] = [Command.PayloadOneofCase.None],
        [CommandType.SafeStop] = [Command.PayloadOneofCase.Stop, Command.PayloadOneofCase.None],
        [CommandType.EmergencyStop] = [Command.PayloadOneofCase.Stop, Command.PayloadOneofCase.None],
        [CommandType.ResetEmergencyStop] = [Command.PayloadOneofCase.Stop, Command.PayloadOneofCase.None],
        [CommandType.ChangeOperationalMode] = [Command.PayloadOneofCase.ChangeOperationalMode],
        [CommandType.UpdateRoute] = [Command.PayloadOneofCase.UpdateRoute],
        [CommandType.Diagnostics] = [Command.PayloadOneofCase.None],
        [CommandType.OtaUpdate] = [Command.PayloadOneofCase.None],
        [CommandType.ConfigurationUpdate] = [Command.PayloadOneofCase.ConfigurationUpdate],
        [CommandType.Reboot] = [Command.PayloadOneofCase.None],
        [CommandType.ServiceRestart] = [Command.PayloadOneofCase.None],
        [CommandType.GpioWrite] = [Command.PayloadOneofCase.GpioWrite],
        [CommandType.ModbusWrite] = [Command.PayloadOneofCase.ModbusWrite],
        [CommandType.DtcClear] = [Command.PayloadOneofCase.DtcClear],
        [CommandType.ScriptInstall] = [Command.PayloadOneofCase.ScriptInstall],
        [CommandType.ScriptRemove] = [Command.PayloadOneofCase.Script],
        [CommandType.ScriptEnable] = [Command.PayloadOneofCase.Script],
        [CommandType.ScriptDisable] = [Command.PayloadOneofCase.Script],
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<CommandType, string> WireNames = Enum.GetValues<CommandType>().ToFrozenDictionary(
        t => t, t => typeof(CommandType).GetField(t.ToString())!.GetCustomAttribute<OriginalNameAttribute>()!.Name);

    private static readonly FrozenDictionary<string, CommandType> ByWireName = WireNames.ToFrozenDictionary(p => p.Value, p => p.Key, StringComparer.OrdinalIgnoreCase);

    /// <summary>The type's name as the schema and the docs spell it, e.g. <c>EMERGENCY_STOP</c>.</summary>
    public static string ToWireName(this CommandType type) => WireNames.TryGetValue(type, out var name) ? name : ((int)type).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Parses a type as the docs spell it (case-insensitive, <c>-</c> for <c>_</c> allowed).</summary>
    public static bool TryParseType(string text, out CommandType type) =>
        ByWireName.TryGetValue(text.Replace('-', '_'), out type) && type != CommandType.Unspecified;

    /// <summary>Every type the schema defines (not <c>COMMAND_TYPE_UNSPECIFIED</c>).</summary>
    public static IEnumerable<CommandType> AllTypes => Allowed.Keys.OrderBy(t => (int)t);

    /// <summary>What is wrong with the payload of <paramref name="command"/>, or null.</summary>
    public static string? Check(Command command)
    {
        if (!Allowed.TryGetValue(command.Type, out var cases)) return $"no payload is defined for {command.Type.ToWireName()}";
        if (Array.IndexOf(cases, command.PayloadCase) < 0)
            return command.PayloadCase == Command.PayloadOneofCase.None
                ? $"{command.Type.ToWireName()} needs its payload {Snake(cases[0])}"
                : $"{command.Type.ToWireName()} does not take a {Snake(command.PayloadCase)} payload";
        return command.PayloadCase switch
        {
            Command.PayloadOneofCase.AssignMission when string.IsNullOrWhiteSpace(command.AssignMission.MissionId) => "assign_mission.mission_id is empty",
            Command.PayloadOneofCase.UpdateRoute when string.IsNullOrWhiteSpace(command.UpdateRoute.RouteId) => "update_route.route_id is empty",
            Command.PayloadOneofCase.ChangeOperationalMode when command.ChangeOperationalMode.Mode == ChangeOperationalMode.Types.Mode.Unspecified
                || !Enum.IsDefined(command.ChangeOperationalMode.Mode) => "change_operational_mode.mode must be READY or MAINTENANCE",
            Command.PayloadOneofCase.GpioWrite when string.IsNullOrWhiteSpace(command.GpioWrite.Line) => "gpio_write.line is empty",
            Command.PayloadOneofCase.ModbusWrite => CheckModbus(command.ModbusWrite),
            Command.PayloadOneofCase.ScriptInstall when string.IsNullOrWhiteSpace(command.ScriptInstall.ScriptJson) => "script_install.script_json is empty",
            Command.PayloadOneofCase.Script when string.IsNullOrWhiteSpace(command.Script.ScriptId) => "script.script_id is empty",
            Command.PayloadOneofCase.ConfigurationUpdate when string.IsNullOrWhiteSpace(command.ConfigurationUpdate.Hocon) => "configuration_update.hocon is empty",
            Command.PayloadOneofCase.DtcClear when string.IsNullOrWhiteSpace(command.DtcClear.Sensor) => "dtc_clear.sensor is empty",
            _ => null,
        };
    }

    private static string? CheckModbus(ModbusWrite write)
    {
        if (string.IsNullOrWhiteSpace(write.Plc)) return "modbus_write.plc is empty";
        if (write.Address > 65535) return "modbus_write.address must be 0..65535";
        return write.Table switch
        {
            ModbusWrite.Types.Table.HoldingRegister when write.Value > 65535 => "modbus_write.value must be 0..65535 for a holding register",
            ModbusWrite.Types.Table.Coil when write.Value > 1 => "modbus_write.value must be 0 or 1 for a coil",
            ModbusWrite.Types.Table.HoldingRegister or ModbusWrite.Types.Table.Coil => null,
            _ => "modbus_write.table must be HOLDING_REGISTER or COIL",
        };
    }

    private static string Snake(Command.PayloadOneofCase payload) =>
        string.Concat(payload.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
