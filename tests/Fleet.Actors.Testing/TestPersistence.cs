using Akka.Configuration;

namespace Fleet.Actors.Testing;

/// <summary>
/// Akka.Persistence.TestKit's in-memory journal and snapshot store as the default plugins. A test
/// alters their behaviour (failing or rejected writes, failing recoveries) through
/// <c>TestJournal.FromRef(Persistence.Instance.Apply(Sys).JournalFor(null))</c>; the project using it
/// references the Akka.Persistence.TestKit package.
/// </summary>
public static class TestPersistence
{
    /// <summary>The plugin settings.</summary>
    public static Config Config { get; } = ConfigurationFactory.ParseString("""
        akka.persistence {
          journal {
            plugin = "akka.persistence.journal.test"
            test.class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit"
          }
          snapshot-store {
            plugin = "akka.persistence.snapshot-store.test"
            test.class = "Akka.Persistence.TestKit.TestSnapshotStore, Akka.Persistence.TestKit"
          }
        }
        """);
}
