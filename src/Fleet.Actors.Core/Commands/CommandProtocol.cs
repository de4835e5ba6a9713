using Akka.Actor;
using Fleet.Actors.Core.Commands.Wire;

namespace Fleet.Actors.Core.Commands;

/// <summary>
/// Messages between the command actor, the uplink and the actors that own what commands change.
/// </summary>
/// <remarks>
/// An owner receives <see cref="Execute"/> and answers its sender, by command id, with exactly one
/// of <see cref="Refuse"/> (nothing done: NACK), <see cref="Succeed"/> or <see cref="Fail"/>, or
/// first <see cref="Accept"/> (the ACK goes out now) and <see cref="Progress"/> for long work, then
/// one of the final two.
/// </remarks>
public static class CommandProtocol
{
    /// <summary>A message from the commands topic. <paramref name="Acknowledge"/> sends its PUBACK; it is called once the decision is journaled.</summary>
    public sealed record Inbound(ReadOnlyMemory<byte> Payload, Func<Task>? Acknowledge) : INoSerializationVerificationNeeded;

    /// <summary>A response for the responses topic (command actor → uplink).</summary>
    public sealed record Respond(CommandResponse Response) : INoSerializationVerificationNeeded;

    /// <summary>Carry out a verified, journaled command (command actor → owner).</summary>
    public sealed record Execute(string CommandId, Command Command) : INoSerializationVerificationNeeded
    {
        /// <summary>The command's priority as a script priority, 0..255.</summary>
        public int ScriptPriority => Command.Priority switch
        {
            Priority.Low => 0,
            Priority.High => 100,
            Priority.Critical => 200,
            Priority.Emergency => 255,
            _ => 50,
        };
    }

    /// <summary>The owner refuses: nothing was done (NACK with <paramref name="Reason"/>).</summary>
    public sealed record Refuse(string CommandId, string Reason, string Message, string? OperationalState = null);

    /// <summary>The owner took it on and will answer later (the ACK goes out now).</summary>
    public sealed record Accept(string CommandId);

    /// <summary>Long work under way.</summary>
    public sealed record Progress(string CommandId, uint Percent, string Message);

    /// <summary>Done.</summary>
    public sealed record Succeed(string CommandId, string Message, IReadOnlyDictionary<string, string>? Details = null, string? OperationalState = null);

    /// <summary>Taken on but not done (FAILED with <paramref name="Reason"/>).</summary>
    public sealed record Fail(string CommandId, string Reason, string Message);

    /// <summary>Asks the command actor for its <see cref="Status"/>.</summary>
    public sealed class GetStatus
    {
        /// <summary>The only instance.</summary>
        public static readonly GetStatus Instance = new();

        private GetStatus()
        {
        }
    }

    /// <summary>Commands remembered (for replay protection) and running now.</summary>
    public sealed record Status(int Remembered, int Running);
}
