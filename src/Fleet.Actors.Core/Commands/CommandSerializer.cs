using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Fleet.Actors.Core.Commands.Journal;
using Google.Protobuf;

namespace Fleet.Actors.Core.Commands;

/// <summary>A command journal row or snapshot that did not decode: logged and skipped.</summary>
public sealed record CorruptCommandRecord(string Manifest, int Length, string Error);

/// <summary>
/// Serializer of the command journal: each row is one protobuf message of
/// <c>Commands/command_journal.proto</c> under a short stable manifest (never a CLR type name).
/// </summary>
public sealed class CommandSerializer : SerializerWithStringManifest
{
    /// <summary>Serializer id; stable, stored in every row (<c>WalSerializer</c> is 1701, <c>ScriptSerializer</c> 1702).</summary>
    public const int SerializerId = 1703;

    private static readonly Dictionary<string, MessageParser> Parsers = new()
    {
        ["CA1"] = Accepted.Parser,
        ["CF1"] = Refused.Parser,
        ["CB1"] = Started.Parser,
        ["CC1"] = Completed.Parser,
        ["CN1"] = Seen.Parser,
        ["CO1"] = OperationalStateChanged.Parser,
        ["CH1"] = HistoryLost.Parser,
    };

    /// <summary>Creates the serializer; Akka calls this with the system.</summary>
    public CommandSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    /// <summary>Binds the command journal's rows to this serializer.</summary>
    public static Config SerializationHocon { get; } = ConfigurationFactory.ParseString($$"""
        akka.actor {
          serializers.fleet-commands = "{{typeof(CommandSerializer).FullName}}, {{typeof(CommandSerializer).Assembly.GetName().Name}}"
          serialization-bindings {
            {{string.Join("\n    ", new[] { typeof(Accepted), typeof(Refused), typeof(Started), typeof(Completed), typeof(Seen), typeof(OperationalStateChanged), typeof(HistoryLost) }
                .Select(t => $"\"{t.FullName}, {t.Assembly.GetName().Name}\" = fleet-commands"))}}
          }
        }
        """);

    /// <inheritdoc />
    public override int Identifier => SerializerId;

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        Accepted => "CA1",
        Refused => "CF1",
        Started => "CB1",
        Completed => "CC1",
        Seen => "CN1",
        OperationalStateChanged => "CO1",
        HistoryLost => "CH1",
        _ => throw new ArgumentException($"{o.GetType()} is not persisted by the command journal", nameof(o)),
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => obj is IMessage message && Parsers.ContainsKey(Manifest(obj))
        ? message.ToByteArray()
        : throw new ArgumentException($"{obj.GetType()} is not persisted by the command journal", nameof(obj));

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!Parsers.TryGetValue(manifest, out var parser)) return new CorruptCommandRecord(manifest, bytes.Length, $"unknown manifest '{manifest}'");
        try
        {
            var message = parser.ParseFrom(bytes);
            if (message is Accepted accepted) _ = Wire.Command.Parser.ParseFrom(Wire.SignedCommand.Parser.ParseFrom(accepted.SignedCommand).Command);
            return message;
        }
        catch (InvalidProtocolBufferException ex)
        {
            return new CorruptCommandRecord(manifest, bytes.Length, ex.Message);
        }
    }
}
