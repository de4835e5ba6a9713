using System.Diagnostics.CodeAnalysis;
using Akka.Actor;
using Akka.Serialization;

namespace Fleet.Actors.Core.Wal.Journal;

/// <summary>
/// A payload to bytes and back with the serializer Akka binds to its type, as Akka.Persistence.Sql
/// stores it: the bytes, the serializer's id, and its manifest (a string manifest, or the type name
/// for serializers that want one).
/// </summary>
internal sealed class PayloadSerialization(ActorSystem system)
{
    private readonly Akka.Serialization.Serialization _serialization = system.Serialization;

    /// <summary>Serializes <paramref name="payload"/> (with the system's transport information, so that actor references survive).</summary>
    public (byte[] Bytes, int SerializerId, string Manifest) Serialize(object payload)
    {
        var serializer = _serialization.FindSerializerFor(payload);
        var manifest = serializer switch
        {
            SerializerWithStringManifest withManifest => withManifest.Manifest(payload),
            { IncludeManifest: true } => $"{payload.GetType().FullName}, {payload.GetType().Assembly.GetName().Name}",
            _ => "",
        };
        var bytes = Akka.Serialization.Serialization.WithTransport((ExtendedActorSystem)system, (serializer, payload), state => state.serializer.ToBinary(state.payload));
        return (bytes, serializer.Identifier, manifest);
    }

    /// <summary>The payload stored with <paramref name="serializerId"/> and <paramref name="manifest"/>; without an id, by the manifest's type.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2057",
        Justification = "A manifest names a type of ours or Akka's, assemblies the published agent keeps whole (TrimMode partial, ADR 0021).")]
    public object Deserialize(byte[] bytes, int? serializerId, string manifest) =>
        serializerId is { } id
            ? _serialization.Deserialize(bytes, id, manifest)
            : _serialization.FindSerializerForType(Type.GetType(manifest, throwOnError: true)!).FromBinary(bytes, Type.GetType(manifest, throwOnError: true));
}
