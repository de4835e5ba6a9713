using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests.Alerts;

/// <summary>
/// A TestKit whose actor system is wired as the agent's (the log on temporary SQLite files) with a real
/// mosquitto started for each test: for whole vehicle agents run in process against the broker.
/// </summary>
public abstract class MosquittoAgentTestKit : TestKit, IAsyncLifetime
{
    private readonly WalFiles _files;

    protected MosquittoAgentTestKit(string systemName, ITestOutputHelper output) : this(new WalFiles(), systemName, output)
    {
    }

    private MosquittoAgentTestKit(WalFiles files, string systemName, ITestOutputHelper output) : base(files.Setup(), systemName, output)
    {
        _files = files;
    }

    /// <summary>The broker (started before each test).</summary>
    protected MosquittoProcess Broker { get; } = new();

    /// <summary>Where the vehicle's journal goes.</summary>
    protected string JournalPath => _files.JournalPath;

    /// <summary>The agent's metrics.</summary>
    protected AgentMetrics Metrics { get; } = new();

    /// <inheritdoc />
    public Task InitializeAsync() => Broker.StartAsync();

    /// <inheritdoc />
    public async Task DisposeAsync() => await Broker.DisposeAsync();

    /// <inheritdoc />
    protected override void AfterAll()
    {
        base.AfterAll();
        _files.Dispose();
    }
}
