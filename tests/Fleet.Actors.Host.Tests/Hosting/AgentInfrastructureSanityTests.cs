using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Host.Configuration;
using Fleet.Actors.Host.Hosting;
using Fleet.Actors.Host.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Fleet.Actors.Host.Tests.Hosting;

/// <summary>
/// The sanity test (STYLE.md): settings loaded from the shipped files plus an overlay, an actor
/// system started through the production wiring (<see cref="AgentHost.AddAgentInfrastructure"/>),
/// and the overrides found in the running system.
/// </summary>
public sealed class AgentInfrastructureSanityTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Configuration_overrides_should_reach_the_running_actor_system()
    {
        var dataDirectory = Path.Combine(_folder.Root, "data");
        var overlay = _folder.Overlay($"""
            akka.persistence.query.journal.fleet-sqlite.max-buffer-size = 7
            fleet.data-dir = {JsonSerializer.Serialize(dataDirectory)}
            """);
        var settings = _folder.Load(overlay);
        Assert.Equal(Path.Combine(dataDirectory, "journal.db"), settings.JournalPath);
        SqliteWal.PrepareFiles(settings.JournalPath, settings.SnapshotPath);

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddAkka(AgentHost.SystemName, akka => akka.AddAgentInfrastructure(settings));
        using var host = builder.Build();
        using var startTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StartAsync(startTimeout.Token);
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var config = system.Settings.Config;

            // The overlay's Akka setting wins over the shipped akka.conf (1000) and the plugin default.
            Assert.Equal(7, config.GetInt("akka.persistence.query.journal.fleet-sqlite.max-buffer-size"));
            // The agent's scheduler runs the system.
            Assert.IsType<TimerScheduler>(system.Scheduler);

            Assert.Equal(SqliteWal.JournalPluginId, config.GetString("akka.persistence.journal.plugin"));
            Assert.Equal(SqliteWal.SnapshotPluginId, config.GetString("akka.persistence.snapshot-store.plugin"));
            var journal = new SqliteConnectionStringBuilder(config.GetString(SqliteWal.JournalPluginId + ".connection-string"));
            Assert.Equal(Path.Combine(dataDirectory, "journal.db"), journal.DataSource);
            var snapshots = new SqliteConnectionStringBuilder(config.GetString(SqliteWal.SnapshotPluginId + ".connection-string"));
            Assert.Equal(Path.Combine(dataDirectory, "snapshots.db"), snapshots.DataSource);
            var query = new SqliteConnectionStringBuilder(config.GetString(SqliteWal.ReadJournalPluginId + ".connection-string"));
            Assert.Equal(journal.DataSource, query.DataSource);

            // The check of akka.* keys accepts everything the running system's configuration holds:
            // Akka's references, the plugins' sections and the agent's own wiring.
            Assert.Empty(AkkaSettingsCheck.Check(config));

            var entry = new LogEntry(41, 3, 1_000, 2_000, new byte[] { 1, 2, 3, 4 });
            var serializer = system.Serialization.FindSerializerFor(entry);
            Assert.IsType<WalSerializer>(serializer);
            Assert.Equal(1701, serializer.Identifier);
            var bytes = serializer.ToBinary(entry);
            var back = Assert.IsType<LogEntry>(system.Serialization.Deserialize(bytes, serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, entry)));
            Assert.Equal((entry.FirstSequence, entry.Count, entry.FirstTimestampMs, entry.LastTimestampMs), (back.FirstSequence, back.Count, back.FirstTimestampMs, back.LastTimestampMs));
            Assert.Equal(entry.Records.ToArray(), back.Records.ToArray());
        }
        finally
        {
            using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StopAsync(stopTimeout.Token);
            // Pooled connections would keep the SQLite files open and the folder undeletable.
            SqliteWal.ReleaseConnections();
        }
    }
}
