using Akka.Actor;
using Fleet.Actors.Core.Commands.Wire;

namespace Fleet.Actors.Devices.Commands;

/// <summary>
/// Which actor carries out each command type: the one place that decides it (ADR 0013). A type
/// without an owner here is refused with <c>unsupported</c> before it is journaled as accepted.
/// </summary>
public static class CommandOwners
{
    /// <summary>The routing table of a vehicle agent.</summary>
    public static IReadOnlyDictionary<CommandType, IActorRef> Build(IActorRef operations, IActorRef deviceCommands, IActorRef? systemCommands = null,
        SystemCommandSettings? system = null, IActorRef? configuration = null)
    {
        var owners = new Dictionary<CommandType, IActorRef>();
        foreach (var type in OperationalStates.Types) owners[type] = operations;
        foreach (var type in DeviceCommands.Types) owners[type] = deviceCommands;
        if (systemCommands is not null && system is not null)
            foreach (var type in system.Types) owners[type] = systemCommands;
        if (configuration is not null) owners[CommandType.ConfigurationUpdate] = configuration;
        return owners;
    }
}
