using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Google.Protobuf;
using static Fleet.Actors.Core.Tests.Commands.TestCommands;

namespace Fleet.Actors.Core.Tests.Commands;

public sealed class CommandVerifierTests
{
    private readonly CommandVerifier _verifier = new(Settings(), Vehicle);

    private string? Refusal(byte[] message) => _verifier.Verify(message, Now).Refusal?.Reason;

    [Fact]
    public void A_command_signed_by_a_trusted_issuer_for_this_vehicle_should_pass()
    {
        var (verified, refusal) = _verifier.Verify(Sign(Pause()), Now);

        Assert.Null(refusal);
        Assert.Equal("c-1", verified!.Command.CommandId);
        Assert.Equal(32, verified.ContentHash.Length);
    }

    public static TheoryData<string, Func<byte[]>> Refused => new()
    {
        { CommandRefusals.BadSignature, () => Sign(Pause(), Stranger) },
        { CommandRefusals.BadSignature, () => Tamper(Sign(Pause()), c => c.ExpiresAt += 1) },
        { CommandRefusals.UntrustedIssuer, () => Sign(Pause().With(c => c.Issuer = "mallory"), Stranger) },
        { CommandRefusals.TypeNotAllowed, () => Sign(Pause().With(c => { c.Issuer = "dispatch"; c.Type = CommandType.EmergencyStop; }), Dispatch) },
        { CommandRefusals.Expired, () => Sign(Pause(issued: Now.AddMinutes(-6))) },
        { CommandRefusals.IssuedInFuture, () => Sign(Pause(issued: Now.AddMinutes(1))) },
        { CommandRefusals.WrongVehicle, () => Sign(Pause().With(c => c.VehicleId = "truck-8")) },
        { CommandRefusals.WrongVehicle, () => Sign(Pause().With(c => c.Tenant = "other")) },
        { CommandRefusals.UnknownType, () => Sign(Pause().With(c => c.Type = (CommandType)999)) },
        { CommandRefusals.UnknownType, () => Sign(Pause().With(c => c.Type = CommandType.Unspecified)) },
        { CommandRefusals.Malformed, () => [0xFF, 0x01, 0x02] },
        { CommandRefusals.Malformed, () => new SignedCommand { Command = ByteString.CopyFrom(1, 2, 3), Signature = ByteString.CopyFrom(4) }.ToByteArray() },
        { CommandRefusals.Malformed, () => Sign(Pause().With(c => c.CommandId = "")) },
        { CommandRefusals.Malformed, () => new SignedCommand { Command = Pause().ToByteString() }.ToByteArray() },
        { CommandRefusals.Oversize, () => Sign(Pause().With(c => c.AssignMission = new AssignMission { MissionId = new string('m', 5000) })) },
        { CommandRefusals.ValidityTooLong, () => Sign(Pause().With(c => c.ExpiresAt = c.IssuedAt + (long)TimeSpan.FromDays(2).TotalMilliseconds)) },
        { CommandRefusals.InvalidPayload, () => Sign(Pause().With(c => c.GpioWrite = new GpioWrite { Line = "x" })) },
        { CommandRefusals.InvalidPayload, () => Sign(Pause().With(c => c.Type = CommandType.AssignMission)) },
        { CommandRefusals.InvalidPayload, () => Sign(Pause().With(c => { c.Type = CommandType.ModbusWrite; c.ModbusWrite = new ModbusWrite { Plc = "p", Table = ModbusWrite.Types.Table.Coil, Value = 2 }; })) },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Every_refusal_reason_should_be_named(string reason, Func<byte[]> message) => Assert.Equal(reason, Refusal(message()));

    [Fact]
    public void A_refusal_should_carry_what_was_decoded_for_the_response()
    {
        var refusal = _verifier.Verify(Sign(Pause(issued: Now.AddMinutes(-6))), Now).Refusal!;

        Assert.Equal("c-1", refusal.Command!.CommandId);
        Assert.Contains("expired at", refusal.Message);
    }

    [Fact]
    public void The_clock_skew_should_allow_a_command_issued_a_little_in_the_future()
    {
        Assert.Null(Refusal(Sign(Pause(issued: Now.AddSeconds(29)))));
        Assert.Equal(CommandRefusals.IssuedInFuture, Refusal(Sign(Pause(issued: Now.AddSeconds(31)))));
    }

    [Fact]
    public void A_private_key_should_be_refused_where_a_public_key_belongs()
    {
        var problem = Assert.Throws<FormatException>(() => CommandKeys.PublicKeyFromPem(Ops.ExportPkcs8PrivateKeyPem()));
        Assert.Contains("is a private key", problem.Message);
        Assert.NotNull(CommandKeys.PublicKeyFromPem(Ops.ExportSubjectPublicKeyInfoPem()));
    }

    [Fact]
    public void A_signature_in_another_format_than_DER_should_not_verify()
    {
        var bytes = Pause().ToByteArray();
        var p1363 = Ops.SignData(bytes, System.Security.Cryptography.HashAlgorithmName.SHA256);
        var message = new SignedCommand { Command = ByteString.CopyFrom(bytes), Signature = ByteString.CopyFrom(p1363) }.ToByteArray();

        Assert.Equal(CommandRefusals.BadSignature, Refusal(message));
    }

    /// <summary>Changes the command inside a signed message but keeps the old signature.</summary>
    private static byte[] Tamper(byte[] signed, Action<Command> change)
    {
        var message = SignedCommand.Parser.ParseFrom(signed);
        var command = Command.Parser.ParseFrom(message.Command).With(change);
        message.Command = command.ToByteString();
        return message.ToByteArray();
    }
}
