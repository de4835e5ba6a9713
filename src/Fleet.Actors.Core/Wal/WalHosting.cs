using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Hosting;
using Fleet.Actors.Core.Scripting;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// The write-ahead log's Akka wiring in one place: the persistence plugins on SQLite and the binding of every persisted type to <see cref="WalSerializer"/> (and of
/// the script store's, which journals into the same plugins, to <see cref="ScriptSerializer"/>).
/// The agent uses it through Akka.Hosting; tests and benchmarks through <see cref="Setup"/>.
/// </summary>
public static class WalHosting
{
    /// <summary>Binds <see cref="IWalEvent"/> to <see cref="WalSerializer"/> (stable manifests, no CLR type names).</summary>
    public static Config SerializationHocon { get; } = ConfigurationFactory.ParseString($$"""
        akka.actor {
          serializers.fleet-wal = "{{typeof(WalSerializer).FullName}}, {{typeof(WalSerializer).Assembly.GetName().Name}}"
          serialization-bindings {
            "{{typeof(IWalEvent).FullName}}, {{typeof(IWalEvent).Assembly.GetName().Name}}" = fleet-wal
          }
        }
        """);

    /// <summary>
    /// Adds the log's plugins and serializer to an Akka.Hosting builder. Call
    /// <see cref="SqliteWal.PrepareFiles"/> before the actor system starts.
    /// </summary>
    public static AkkaConfigurationBuilder AddSqliteWal(this AkkaConfigurationBuilder builder, string journalPath, string snapshotPath, SqliteSynchronous synchronous)
    {
        builder.AddHocon(Hocon(journalPath, snapshotPath, synchronous), HoconAddMode.Prepend);
        return builder;
    }

    /// <summary>The same wiring as an <see cref="ActorSystemSetup"/> (prepares the files too), with <paramref name="extra"/> on top.</summary>
    public static ActorSystemSetup Setup(string journalPath, string snapshotPath, SqliteSynchronous synchronous, Config? extra = null)
    {
        SqliteWal.PrepareFiles(journalPath, snapshotPath);
        var config = (extra ?? Config.Empty).WithFallback(Hocon(journalPath, snapshotPath, synchronous));
        return ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(config));
    }

    // The script store and the command journal use the same plugins, so their serializer bindings come along.
    private static Config Hocon(string journalPath, string snapshotPath, SqliteSynchronous synchronous) =>
        SerializationHocon.WithFallback(ScriptStoreHosting.SerializationHocon).WithFallback(Commands.CommandSerializer.SerializationHocon)
            .WithFallback(SqliteWal.Hocon(journalPath, snapshotPath, synchronous));
}
