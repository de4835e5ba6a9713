using Akka.Actor;
using Akka.Configuration;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.Host.Hosting;

namespace Fleet.Actors.Host.Bench;

/// <summary>
/// A vehicle agent in this process with the production wiring (log on SQLite, uplink, simulated
/// sensors), for measurements that need to look inside: log status, metrics, acknowledged batches.
/// </summary>
internal sealed class InProcessAgent : IAsyncDisposable
{
    private readonly WorkerGovernor? _governor;

    private InProcessAgent(ActorSystem system, IActorRef agent, VehicleProtocol.Components components, AgentMetrics metrics, VehicleSettings settings,
        WorkerGovernor? governor)
    {
        _governor = governor;
        System = system;
        Agent = agent;
        Components = components;
        Metrics = metrics;
        Settings = settings;
    }

    public ActorSystem System { get; }

    public IActorRef Agent { get; }

    public VehicleProtocol.Components Components { get; }

    public AgentMetrics Metrics { get; }

    public VehicleSettings Settings { get; }

    public WalMetrics Wal => new(Metrics, Settings.VehicleId);

    public UplinkMetrics Uplink => new(Metrics, Settings.VehicleId);

    /// <summary>Starts an actor system on <paramref name="dataDirectory"/> and the agent in it.</summary>
    public static async Task<InProcessAgent> StartAsync(VehicleSettings settings, string dataDirectory, SqliteSynchronous synchronous)
    {
        // As the agent runs: one thread-pool worker at rest, every core when busy (ADR 0023). From one
        // worker, so that a load step also proves the load raises it (an agent that had been at rest).
        var governor = WorkerGovernor.StartForProcess(quiet: true);
        var journal = Path.Combine(dataDirectory, "journal.db");
        var snapshots = Path.Combine(dataDirectory, "snapshots.db");
        var shipped = Path.Combine(AppContext.BaseDirectory, "hocon", "akka.conf");
        var akka = File.Exists(shipped) ? ConfigurationFactory.ParseString(File.ReadAllText(shipped)) : Config.Empty;
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING").WithFallback(akka);
        var system = ActorSystem.Create("bench", WalHosting.Setup(journal, snapshots, synchronous, config));
        var metrics = new AgentMetrics();
        var withJournal = settings with
        {
            Wal = settings.Wal with { JournalPath = journal, SnapshotPath = snapshots, SequenceFile = Path.Combine(dataDirectory, "wal.seq") },
        };
        var agent = system.ActorOf(VehicleAgent.Props(withJournal, metrics), VehicleAgent.ActorName(settings.VehicleId));
        var components = await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, TimeSpan.FromSeconds(10));
        return new InProcessAgent(system, agent, components, metrics, withJournal, governor);
    }

    public Task<WalProtocol.WalStatus> StatusAsync() =>
        Components.Log.Ask<WalProtocol.WalStatus>(WalProtocol.GetStatus.Instance, TimeSpan.FromSeconds(30));

    public Task<VehicleShutdown.Outcome> ShutdownAsync(TimeSpan drainTimeout) => VehicleShutdown.RunAsync(Agent, drainTimeout);

    public async ValueTask DisposeAsync()
    {
        await System.Terminate();
        _governor?.Dispose();
        Fleet.Actors.Core.Wal.SqliteWal.ReleaseConnections();
    }
}
