using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Devices.Commands;

/// <summary>
/// The legal moves of the operational state machine (docs/commands.md draws them):
/// <code>
/// READY         --ASSIGN_MISSION--> ON_MISSION     --PAUSE--> PAUSED --RESUME--> ON_MISSION
/// ON_MISSION, PAUSED --CANCEL_MISSION--> READY;   UPDATE_ROUTE keeps the state
/// READY, ON_MISSION, PAUSED --SAFE_STOP--> SAFE_STOPPING --(outputs set, settle time)--> SAFE_STOPPED
/// READY, SAFE_STOPPED, MAINTENANCE --CHANGE_OPERATIONAL_MODE(READY | MAINTENANCE)--> READY | MAINTENANCE
/// any state    --EMERGENCY_STOP--> EMERGENCY_STOPPED --RESET_EMERGENCY_STOP--> SAFE_STOPPED
/// </code>
/// Anything else is refused with <c>illegal-transition</c> and changes nothing.
/// </summary>
public static class OperationalStates
{
    /// <summary>The command types the state machine carries out.</summary>
    public static readonly CommandType[] Types =
    [
        CommandType.AssignMission, CommandType.CancelMission, CommandType.Pause, CommandType.Resume, CommandType.SafeStop,
        CommandType.EmergencyStop, CommandType.ResetEmergencyStop, CommandType.ChangeOperationalMode, CommandType.UpdateRoute,
    ];

    /// <summary>The state name as the contract spells it, e.g. <c>ON_MISSION</c>.</summary>
    public static string Name(OperationalState state) => state switch
    {
        OperationalState.Ready => "READY",
        OperationalState.OnMission => "ON_MISSION",
        OperationalState.Paused => "PAUSED",
        OperationalState.SafeStopping => "SAFE_STOPPING",
        OperationalState.SafeStopped => "SAFE_STOPPED",
        OperationalState.EmergencyStopped => "EMERGENCY_STOPPED",
        OperationalState.Maintenance => "MAINTENANCE",
        OperationalState.Busy => "BUSY",
        OperationalState.Charging => "CHARGING",
        OperationalState.Error => "ERROR",
        _ => "UNSPECIFIED",
    };

    /// <summary>Parses a name written by <see cref="Name"/>; unknown names are <see cref="OperationalState.Unspecified"/>.</summary>
    public static OperationalState Parse(string name) =>
        Enum.GetValues<OperationalState>().FirstOrDefault(s => Name(s) == name, OperationalState.Unspecified);

    /// <summary>The state <paramref name="command"/> leads to from <paramref name="current"/>, or why it may not.</summary>
    public static (OperationalState Next, string? Problem) Decide(OperationalState current, Command command, string missionId)
    {
        var type = command.Type;
        if (type == CommandType.EmergencyStop) return (OperationalState.EmergencyStopped, null);
        if (current == OperationalState.EmergencyStopped && type != CommandType.ResetEmergencyStop)
            return Illegal(current, type, "the vehicle is emergency-stopped; only a signed RESET_EMERGENCY_STOP leaves it");
        return (type, current) switch
        {
            (CommandType.ResetEmergencyStop, OperationalState.EmergencyStopped) => (OperationalState.SafeStopped, null),
            (CommandType.AssignMission, OperationalState.Ready) => (OperationalState.OnMission, null),
            (CommandType.CancelMission, OperationalState.OnMission or OperationalState.Paused)
                when command.CancelMission is { MissionId.Length: > 0 } cancel && cancel.MissionId != missionId =>
                Illegal(current, type, $"mission '{CommandVerifier.Printable(cancel.MissionId)}' is not the current one ('{missionId}')"),
            (CommandType.CancelMission, OperationalState.OnMission or OperationalState.Paused) => (OperationalState.Ready, null),
            (CommandType.Pause, OperationalState.OnMission) => (OperationalState.Paused, null),
            (CommandType.Resume, OperationalState.Paused) => (OperationalState.OnMission, null),
            (CommandType.UpdateRoute, OperationalState.OnMission or OperationalState.Paused) => (current, null),
            (CommandType.SafeStop, OperationalState.Ready or OperationalState.OnMission or OperationalState.Paused) => (OperationalState.SafeStopping, null),
            (CommandType.ChangeOperationalMode, OperationalState.Ready or OperationalState.SafeStopped or OperationalState.Maintenance) =>
                (command.ChangeOperationalMode.Mode == ChangeOperationalMode.Types.Mode.Maintenance ? OperationalState.Maintenance : OperationalState.Ready, null),
            _ => Illegal(current, type, null),
        };
    }

    private static (OperationalState, string?) Illegal(OperationalState current, CommandType type, string? why) =>
        (current, $"{type.ToWireName()} is not allowed in state {Name(current)}{(why is null ? "" : ": " + why)}");
}
