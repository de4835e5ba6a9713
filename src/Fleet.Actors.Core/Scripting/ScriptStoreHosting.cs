using Akka.Configuration;
using Akka.Hosting;

namespace Fleet.Actors.Core.Scripting;

/// <summary>
/// The script store's Akka wiring: the binding of everything it persists
/// (<see cref="IScriptStorePersisted"/>) to <see cref="ScriptSerializer"/>. The store uses the
/// journal and snapshot plugins of the write-ahead log (<c>WalHosting</c>).
/// </summary>
public static class ScriptStoreHosting
{
    /// <summary>Binds <see cref="IScriptStorePersisted"/> to <see cref="ScriptSerializer"/> (stable manifests, no CLR type names).</summary>
    public static Config SerializationHocon { get; } = ConfigurationFactory.ParseString($$"""
        akka.actor {
          serializers.fleet-scripts = "{{typeof(ScriptSerializer).FullName}}, {{typeof(ScriptSerializer).Assembly.GetName().Name}}"
          serialization-bindings {
            "{{typeof(IScriptStorePersisted).FullName}}, {{typeof(IScriptStorePersisted).Assembly.GetName().Name}}" = fleet-scripts
          }
        }
        """);

    /// <summary>Adds the script store's serializer binding to an Akka.Hosting builder.</summary>
    public static AkkaConfigurationBuilder AddScriptStoreSerialization(this AkkaConfigurationBuilder builder) =>
        builder.AddHocon(SerializationHocon, HoconAddMode.Prepend);
}
