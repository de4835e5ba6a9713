using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Google.Protobuf;
using static Fleet.Actors.Core.Tests.Commands.TestCommands;

namespace Fleet.Actors.Core.Tests.Commands;

/// <summary>
/// Throws 100,000 random and mutated messages at the decoder and verifier: nothing may throw, and
/// nothing may pass unless the command bytes it carries are exactly bytes a trusted issuer signed.
/// </summary>
public sealed class CommandFuzzTests
{
    private const int Messages = 100_000;

    [Fact]
    public void Random_and_mutated_messages_should_never_pass_unless_a_trusted_issuer_signed_their_exact_command()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var verifier = new CommandVerifier(Settings(), Vehicle);
        var genuine = Enumerable.Range(0, 16).Select(i => RandomCommand(random, i)).ToList();
        var signedBytes = genuine.Select(c => Sign(c)).ToList();
        var genuineCommands = new HashSet<string>(genuine.Select(c => Convert.ToBase64String(c.ToByteArray())));
        var passed = 0;

        for (var i = 0; i < Messages; i++)
        {
            var message = Mutate(random, signedBytes[random.Next(signedBytes.Count)], signedBytes);
            var (verified, refusal) = verifier.Verify(message, Now);
            Assert.True(verified is null != refusal is null, $"seed {seed}, message {i}: exactly one outcome");
            if (verified is null) continue;
            passed++;
            var command = Convert.ToBase64String(SignedCommand.Parser.ParseFrom(verified.Signed).Command.ToByteArray());
            Assert.True(genuineCommands.Contains(command), $"seed {seed}, message {i}: a command no trusted issuer signed passed: {Convert.ToHexString(message)}");
        }
        // The unmutated share (and harmless re-framings) pass: the check above ran on real successes too.
        Assert.InRange(passed, 1, Messages / 2);
    }

    private static Command RandomCommand(Random random, int i)
    {
        var command = Pause("fuzz-" + i);
        switch (random.Next(4))
        {
            case 0:
                command.Type = CommandType.AssignMission;
                command.AssignMission = new AssignMission { MissionId = "m" + random.Next(), RouteId = "r" };
                break;
            case 1:
                command.Type = CommandType.GpioWrite;
                command.GpioWrite = new GpioWrite { Line = "relay", Value = random.Next(2) == 1 };
                break;
            case 2:
                command.Type = CommandType.ModbusWrite;
                command.ModbusWrite = new ModbusWrite { Plc = "plc1", Table = ModbusWrite.Types.Table.HoldingRegister, Address = 40, Value = (uint)random.Next(65536) };
                break;
        }
        return command;
    }

    private static byte[] Mutate(Random random, byte[] signed, IReadOnlyList<byte[]> others)
    {
        var bytes = (byte[])signed.Clone();
        switch (random.Next(10))
        {
            case 0:
                return bytes; // genuine
            case 1: // flip bits
                for (var n = random.Next(1, 4); n > 0; n--) bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                return bytes;
            case 2: // overwrite a byte
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                return bytes;
            case 3: // truncate
                return bytes[..random.Next(bytes.Length)];
            case 4: // insert random bytes
                var at = random.Next(bytes.Length);
                var noise = new byte[random.Next(1, 8)];
                random.NextBytes(noise);
                return [.. bytes[..at], .. noise, .. bytes[at..]];
            case 5: // pure noise
                var junk = new byte[random.Next(0, 300)];
                random.NextBytes(junk);
                return junk;
            case 6: // another command's signature
                var message = SignedCommand.Parser.ParseFrom(bytes);
                message.Signature = SignedCommand.Parser.ParseFrom(others[random.Next(others.Count)]).Signature;
                return message.ToByteArray();
            case 7: // the command changed in one field, the signature kept
                var tampered = SignedCommand.Parser.ParseFrom(bytes);
                var command = Command.Parser.ParseFrom(tampered.Command);
                switch (random.Next(4))
                {
                    case 0: command.ExpiresAt += random.Next(1, 1000); break;
                    case 1: command.Type = (CommandType)random.Next(0, 40); break;
                    case 2: command.Priority = Priority.Emergency; break;
                    default: command.VehicleId += "x"; break;
                }
                tampered.Command = command.ToByteString();
                return tampered.ToByteArray();
            case 8: // signed by an untrusted key, claiming a trusted issuer
                return Sign(Command.Parser.ParseFrom(SignedCommand.Parser.ParseFrom(bytes).Command), Stranger);
            default: // garbage appended after a valid message (protobuf may read it as more fields)
                var tail = new byte[random.Next(1, 16)];
                random.NextBytes(tail);
                return [.. bytes, .. tail];
        }
    }
}
