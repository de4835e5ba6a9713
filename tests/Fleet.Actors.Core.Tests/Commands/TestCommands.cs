using System.Collections.Immutable;
using System.Security.Cryptography;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Uplink;
using Google.Protobuf;

namespace Fleet.Actors.Core.Tests.Commands;

/// <summary>Issuers, vehicles and signed commands for the command tests.</summary>
internal static class TestCommands
{
    public static readonly VehicleIdentity Vehicle = new("truck-7", "acme");
    public static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);

    /// <summary>Trusted for everything.</summary>
    public static readonly ECDsa Ops = CommandKeys.Generate();

    /// <summary>Trusted for PAUSE and RESUME only.</summary>
    public static readonly ECDsa Dispatch = CommandKeys.Generate();

    /// <summary>Not trusted.</summary>
    public static readonly ECDsa Stranger = CommandKeys.Generate();

    public static CommandSettings Settings() => new()
    {
        Issuers =
        [
            new TrustedIssuer("ops", Ops, CommandPayloads.AllTypes.ToImmutableHashSet()),
            new TrustedIssuer("dispatch", Dispatch, [CommandType.Pause, CommandType.Resume]),
        ],
        MaxCommandBytes = 4096,
    };

    public static Command Pause(string id = "c-1", DateTimeOffset? issued = null) => new()
    {
        CommandId = id,
        VehicleId = Vehicle.VehicleId,
        Tenant = Vehicle.Tenant,
        IssuedAt = (issued ?? Now).ToUnixTimeMilliseconds(),
        ExpiresAt = (issued ?? Now).AddMinutes(5).ToUnixTimeMilliseconds(),
        Type = CommandType.Pause,
        Issuer = "ops",
    };

    public static byte[] Sign(Command command, ECDsa? key = null)
    {
        var bytes = command.ToByteArray();
        return new SignedCommand { Command = ByteString.CopyFrom(bytes), Signature = ByteString.CopyFrom(CommandKeys.Sign(key ?? Ops, bytes)) }.ToByteArray();
    }

    public static Command With(this Command command, Action<Command> change)
    {
        var copy = command.Clone();
        change(copy);
        return copy;
    }
}
