using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Commands;

namespace Fleet.Actors.Devices.Tests.Commands;

public sealed class OperationalStatesTests
{
    private static Command Make(CommandType type, Action<Command>? payload = null)
    {
        var command = new Command { CommandId = "c", Type = type };
        payload?.Invoke(command);
        return command;
    }

    private static readonly Command Mode = Make(CommandType.ChangeOperationalMode, c => c.ChangeOperationalMode = new ChangeOperationalMode { Mode = ChangeOperationalMode.Types.Mode.Maintenance });

    public static TheoryData<OperationalState, CommandType, OperationalState> Legal => new()
    {
        { OperationalState.Ready, CommandType.AssignMission, OperationalState.OnMission },
        { OperationalState.OnMission, CommandType.Pause, OperationalState.Paused },
        { OperationalState.Paused, CommandType.Resume, OperationalState.OnMission },
        { OperationalState.OnMission, CommandType.CancelMission, OperationalState.Ready },
        { OperationalState.Paused, CommandType.CancelMission, OperationalState.Ready },
        { OperationalState.OnMission, CommandType.UpdateRoute, OperationalState.OnMission },
        { OperationalState.Paused, CommandType.UpdateRoute, OperationalState.Paused },
        { OperationalState.Ready, CommandType.SafeStop, OperationalState.SafeStopping },
        { OperationalState.OnMission, CommandType.SafeStop, OperationalState.SafeStopping },
        { OperationalState.Paused, CommandType.SafeStop, OperationalState.SafeStopping },
        { OperationalState.EmergencyStopped, CommandType.ResetEmergencyStop, OperationalState.SafeStopped },
    };

    [Theory]
    [MemberData(nameof(Legal))]
    public void Legal_transitions_should_lead_to_their_state(OperationalState from, CommandType type, OperationalState to)
    {
        var (next, problem) = OperationalStates.Decide(from, Make(type), "m1");
        Assert.Null(problem);
        Assert.Equal(to, next);
    }

    [Fact]
    public void Emergency_stop_should_be_legal_in_every_state()
    {
        foreach (var state in Enum.GetValues<OperationalState>())
            Assert.Equal((OperationalState.EmergencyStopped, (string?)null), OperationalStates.Decide(state, Make(CommandType.EmergencyStop), ""));
    }

    [Fact]
    public void Only_a_reset_should_leave_the_emergency_stop()
    {
        foreach (var type in OperationalStates.Types.Where(t => t is not (CommandType.EmergencyStop or CommandType.ResetEmergencyStop)))
        {
            var (next, problem) = OperationalStates.Decide(OperationalState.EmergencyStopped, type == CommandType.ChangeOperationalMode ? Mode : Make(type), "");
            Assert.Equal(OperationalState.EmergencyStopped, next);
            Assert.Contains("only a signed RESET_EMERGENCY_STOP", problem);
        }
    }

    public static TheoryData<OperationalState, CommandType> Illegal => new()
    {
        { OperationalState.Ready, CommandType.Resume },
        { OperationalState.Ready, CommandType.Pause },
        { OperationalState.OnMission, CommandType.AssignMission },
        { OperationalState.Paused, CommandType.Pause },
        { OperationalState.SafeStopped, CommandType.AssignMission },
        { OperationalState.SafeStopping, CommandType.ChangeOperationalMode },
        { OperationalState.Maintenance, CommandType.AssignMission },
        { OperationalState.Ready, CommandType.ResetEmergencyStop },
        { OperationalState.Ready, CommandType.CancelMission },
    };

    [Theory]
    [MemberData(nameof(Illegal))]
    public void Illegal_transitions_should_be_refused_naming_the_state(OperationalState from, CommandType type)
    {
        var (next, problem) = OperationalStates.Decide(from, type == CommandType.ChangeOperationalMode ? Mode : Make(type), "");
        Assert.Equal(from, next);
        Assert.StartsWith($"{type.ToWireName()} is not allowed in state {OperationalStates.Name(from)}", problem);
    }

    [Fact]
    public void Cancelling_another_mission_than_the_current_one_should_be_refused()
    {
        var cancel = Make(CommandType.CancelMission, c => c.CancelMission = new CancelMission { MissionId = "m2" });
        Assert.Contains("is not the current one", OperationalStates.Decide(OperationalState.OnMission, cancel, "m1").Problem);
        Assert.Null(OperationalStates.Decide(OperationalState.OnMission, cancel, "m2").Problem);
    }
}
