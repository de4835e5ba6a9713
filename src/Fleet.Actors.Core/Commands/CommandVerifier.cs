using System.Security.Cryptography;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Uplink;
using Google.Protobuf;

namespace Fleet.Actors.Core.Commands;

/// <summary>A command that passed every check the message alone allows (replay is the command actor's).</summary>
/// <param name="Command">The decoded command.</param>
/// <param name="Signed">The bytes exactly as received (journaled for the audit trail).</param>
/// <param name="ContentHash">
/// SHA-256 of the signed command bytes (not of the signature, which differs each time the same command
/// is signed): the same command again, sent as it was or signed anew, has the same hash.
/// </param>
public sealed record VerifiedCommand(Command Command, byte[] Signed, byte[] ContentHash);

/// <summary>Why a message was refused; <paramref name="Command"/> is what could be decoded of it (for the response).</summary>
public sealed record CommandRefusal(string Reason, string Message, Command? Command, byte[] ContentHash);

/// <summary>
/// Checks one message from the commands topic before anything else looks at it, in this order:
/// size; decoding; required fields; a trusted issuer; the ECDSA P-256 signature over the command
/// bytes; addressed to this tenant and vehicle; a known type the issuer may send; not expired, not
/// issued in the future beyond the clock skew, a validity no longer than allowed; the payload of
/// its type with values in range. Thread-safe and allocation-light; never throws on input.
/// </summary>
public sealed class CommandVerifier
{
    private readonly CommandSettings _settings;
    private readonly VehicleIdentity _vehicle;
    private readonly Dictionary<string, TrustedIssuer> _issuers;

    /// <summary>A verifier for <paramref name="vehicle"/> with the issuers and limits of <paramref name="settings"/>.</summary>
    public CommandVerifier(CommandSettings settings, VehicleIdentity vehicle)
    {
        _settings = settings;
        _vehicle = vehicle;
        _issuers = settings.Issuers.ToDictionary(i => i.Id, StringComparer.Ordinal);
    }

    /// <summary>The command ids are at most this long.</summary>
    public const int MaxCommandIdLength = 128;

    /// <summary>Verifies <paramref name="message"/> at <paramref name="now"/>; exactly one of the results is non-null.</summary>
    public (VerifiedCommand? Verified, CommandRefusal? Refusal) Verify(ReadOnlyMemory<byte> message, DateTimeOffset now)
    {
        var hash = SHA256.HashData(message.Span);
        if (message.Length > _settings.MaxCommandBytes)
            return Refuse(CommandRefusals.Oversize, $"the message has {message.Length} bytes, more than the {_settings.MaxCommandBytes} allowed", null, hash);

        SignedCommand signed;
        Command command;
        try
        {
            signed = SignedCommand.Parser.ParseFrom(message.Span);
            command = Command.Parser.ParseFrom(signed.Command.Span);
            hash = CommandHash(signed.Command.Span);
        }
        catch (InvalidProtocolBufferException ex)
        {
            return Refuse(CommandRefusals.Malformed, $"not a SignedCommand holding a Command: {ex.Message}", null, hash);
        }

        if (command.CommandId.Length == 0) return Refuse(CommandRefusals.Malformed, "command_id is empty", command, hash);
        if (command.CommandId.Length > MaxCommandIdLength)
            return Refuse(CommandRefusals.Malformed, $"command_id is longer than {MaxCommandIdLength} characters", command, hash);
        if (command.Issuer.Length == 0) return Refuse(CommandRefusals.Malformed, "issuer is empty", command, hash);
        if (signed.Signature.IsEmpty) return Refuse(CommandRefusals.Malformed, "signature is empty", command, hash);

        if (!_issuers.TryGetValue(command.Issuer, out var issuer))
            return Refuse(CommandRefusals.UntrustedIssuer, $"issuer '{Printable(command.Issuer)}' is not trusted by this vehicle", command, hash);
        if (!CommandKeys.Verify(issuer.Key, signed.Command.Span, signed.Signature.Span))
            return Refuse(CommandRefusals.BadSignature, $"the signature does not verify with the key of issuer '{issuer.Id}'", command, hash);

        // From here on the content is the issuer's.
        if (command.VehicleId != _vehicle.VehicleId || command.Tenant != _vehicle.Tenant)
            return Refuse(CommandRefusals.WrongVehicle,
                $"addressed to vehicle '{Printable(command.VehicleId)}' of tenant '{Printable(command.Tenant)}', this is '{_vehicle.VehicleId}' of '{_vehicle.Tenant}'", command, hash);
        if (command.Type == CommandType.Unspecified || !Enum.IsDefined(command.Type))
            return Refuse(CommandRefusals.UnknownType, $"command type {(int)command.Type} is not known to this agent", command, hash);
        if (!issuer.Types.Contains(command.Type))
            return Refuse(CommandRefusals.TypeNotAllowed, $"issuer '{issuer.Id}' may not send {command.Type.ToWireName()}", command, hash);
        if (!Enum.IsDefined(command.Priority))
            return Refuse(CommandRefusals.InvalidPayload, $"priority {(int)command.Priority} is not known", command, hash);

        var nowMs = now.ToUnixTimeMilliseconds();
        if (command.ExpiresAt <= nowMs)
            return Refuse(CommandRefusals.Expired, $"expired at {Instant(command.ExpiresAt)}, now is {Instant(nowMs)}", command, hash);
        if (command.IssuedAt > nowMs + (long)_settings.MaxClockSkew.TotalMilliseconds)
            return Refuse(CommandRefusals.IssuedInFuture,
                $"issued at {Instant(command.IssuedAt)}, more than {_settings.MaxClockSkew.TotalSeconds:0.#} s after now ({Instant(nowMs)})", command, hash);
        var validity = command.ExpiresAt - command.IssuedAt;
        if (validity <= 0 || validity > (long)_settings.MaxValidity.TotalMilliseconds)
            return Refuse(CommandRefusals.ValidityTooLong,
                validity <= 0 ? $"expires_at is not after issued_at ({validity} ms)"
                    : $"valid for {validity / 1000.0:0.###} s, the vehicle accepts up to {_settings.MaxValidity.TotalSeconds:0.###} s (fleet.commands.max-validity)", command, hash);

        if (CommandPayloads.Check(command) is { } problem) return Refuse(CommandRefusals.InvalidPayload, problem, command, hash);
        return (new VerifiedCommand(command, message.ToArray(), hash), null);
    }

    /// <summary>The content hash of a command: SHA-256 of its serialized bytes as signed.</summary>
    public static byte[] CommandHash(ReadOnlySpan<byte> command) => SHA256.HashData(command);

    private static (VerifiedCommand?, CommandRefusal?) Refuse(string reason, string message, Command? command, byte[] hash) =>
        (null, new CommandRefusal(reason, message, command, hash));

    private static string Instant(long unixMs) =>
        unixMs is < -62135596800000 or > 253402300799999 ? unixMs.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : DateTimeOffset.FromUnixTimeMilliseconds(unixMs).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Untrusted text for a log line or response: at most 64 printable characters.</summary>
    internal static string Printable(string text)
    {
        var clean = new string(text.Take(64).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return text.Length > 64 ? clean + "…" : clean;
    }
}
