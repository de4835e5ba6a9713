using System.CommandLine;
using Fleet.Actors.Core.Commands.Wire;
using Command = System.CommandLine.Command;
using FleetCommand = Fleet.Actors.Core.Commands.Wire.Command;

namespace Fleet.Actors.Host.Cli;

/// <summary>The payload options of <c>fleet-agent command send</c>, and how they fill a command of each type.</summary>
internal sealed class CommandPayloadOptions
{
    private readonly Option<string?> _mission = new("--mission-id") { Description = "ASSIGN_MISSION, CANCEL_MISSION: the mission" };
    private readonly Option<string?> _route = new("--route-id") { Description = "ASSIGN_MISSION, UPDATE_ROUTE: the route" };
    private readonly Option<string?> _mode = new("--mode") { Description = "CHANGE_OPERATIONAL_MODE: READY or MAINTENANCE" };
    private readonly Option<string?> _reason = new("--reason") { Description = "SAFE_STOP, EMERGENCY_STOP, RESET_EMERGENCY_STOP: why (for the audit trail)" };
    private readonly Option<string?> _line = new("--line") { Description = "GPIO_WRITE: the output line's id" };
    private readonly Option<string?> _plc = new("--plc") { Description = "MODBUS_WRITE: the PLC's id" };
    private readonly Option<string?> _table = new("--table") { Description = "MODBUS_WRITE: register or coil" };
    private readonly Option<uint?> _address = new("--address") { Description = "MODBUS_WRITE: 0-based address" };
    private readonly Option<uint?> _value = new("--value") { Description = "GPIO_WRITE: 0 or 1; MODBUS_WRITE: the value" };
    private readonly Option<string?> _scriptFile = new("--script-file") { Description = "SCRIPT_INSTALL: a JSON file with one script" };
    private readonly Option<string?> _scriptId = new("--script-id") { Description = "SCRIPT_REMOVE, SCRIPT_ENABLE, SCRIPT_DISABLE: the script" };
    private readonly Option<string?> _sensor = new("--sensor") { Description = "DTC_CLEAR: the ELM327 sensor's id" };
    private readonly Option<string?> _hoconFile = new("--hocon-file") { Description = "CONFIGURATION_UPDATE: a HOCON overlay file" };

    public static CommandPayloadOptions Create() => new();

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _mission, _route, _mode, _reason, _line, _plc, _table, _address, _value, _scriptFile, _scriptId, _sensor, _hoconFile })
            command.Options.Add(option);
    }

    /// <summary>Sets the payload of a command from the options; returns a usage problem or null.</summary>
    public Func<ParseResult, FleetCommand, string?> Fill => (parse, command) =>
    {
        switch (command.Type)
        {
            case CommandType.AssignMission:
                command.AssignMission = new AssignMission { MissionId = parse.GetValue(_mission) ?? "", RouteId = parse.GetValue(_route) ?? "" };
                break;
            case CommandType.CancelMission when parse.GetValue(_mission) is { } mission:
                command.CancelMission = new CancelMission { MissionId = mission };
                break;
            case CommandType.UpdateRoute:
                command.UpdateRoute = new UpdateRoute { RouteId = parse.GetValue(_route) ?? "" };
                break;
            case CommandType.ChangeOperationalMode:
                var mode = parse.GetValue(_mode)?.ToUpperInvariant();
                command.ChangeOperationalMode = new ChangeOperationalMode
                {
                    Mode = mode switch
                    {
                        "READY" => ChangeOperationalMode.Types.Mode.Ready,
                        "MAINTENANCE" => ChangeOperationalMode.Types.Mode.Maintenance,
                        _ => ChangeOperationalMode.Types.Mode.Unspecified,
                    },
                };
                break;
            case CommandType.SafeStop or CommandType.EmergencyStop or CommandType.ResetEmergencyStop when parse.GetValue(_reason) is { } reason:
                command.Stop = new StopRequest { Reason = reason };
                break;
            case CommandType.GpioWrite:
                if (parse.GetValue(_value) is not (0 or 1)) return "--value: GPIO_WRITE needs --value 0 or 1";
                command.GpioWrite = new GpioWrite { Line = parse.GetValue(_line) ?? "", Value = parse.GetValue(_value) == 1 };
                break;
            case CommandType.ModbusWrite:
                var table = parse.GetValue(_table)?.ToLowerInvariant();
                command.ModbusWrite = new ModbusWrite
                {
                    Plc = parse.GetValue(_plc) ?? "",
                    Table = table switch
                    {
                        "register" or "holding-register" => ModbusWrite.Types.Table.HoldingRegister,
                        "coil" => ModbusWrite.Types.Table.Coil,
                        _ => ModbusWrite.Types.Table.Unspecified,
                    },
                    Address = parse.GetValue(_address) ?? 0,
                    Value = parse.GetValue(_value) ?? 0,
                };
                break;
            case CommandType.ScriptInstall:
                if (parse.GetValue(_scriptFile) is not { } file) return "--script-file: SCRIPT_INSTALL needs a JSON file with one script";
                if (!File.Exists(file)) return $"--script-file: {file} not found";
                command.ScriptInstall = new ScriptInstall { ScriptJson = File.ReadAllText(file) };
                break;
            case CommandType.ScriptRemove or CommandType.ScriptEnable or CommandType.ScriptDisable:
                command.Script = new ScriptReference { ScriptId = parse.GetValue(_scriptId) ?? "" };
                break;
            case CommandType.DtcClear:
                command.DtcClear = new DtcClear { Sensor = parse.GetValue(_sensor) ?? "" };
                break;
            case CommandType.ConfigurationUpdate:
                if (parse.GetValue(_hoconFile) is not { } hocon) return "--hocon-file: CONFIGURATION_UPDATE needs a HOCON overlay file";
                if (!File.Exists(hocon)) return $"--hocon-file: {hocon} not found";
                command.ConfigurationUpdate = new ConfigurationUpdate { Hocon = File.ReadAllText(hocon) };
                break;
        }
        return null;
    };
}
