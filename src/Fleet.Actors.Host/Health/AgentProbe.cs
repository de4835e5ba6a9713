using Akka.Actor;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Commands;
using Fleet.Actors.Devices.Configuration;
using Fleet.Actors.Devices.Health;
using Fleet.Actors.Devices.Vehicle;

namespace Fleet.Actors.Host.Health;

/// <summary>What the HTTP endpoint asks the running agent.</summary>
public interface IAgentProbe
{
    /// <summary>Whether the actor system answers.</summary>
    Task<bool> AliveAsync(CancellationToken cancellationToken);

    /// <summary>The agent's state as its parts report it; parts that do not answer in time are null.</summary>
    Task<AgentStatus> StatusAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A running agent's state for <c>/status</c> and <c>/readyz</c>. Ready: the log has recovered (it
/// answers), the command ledger and the operational state are running (not restarting after their
/// journal failed), and the uplink is online, or offline for no longer than the tolerance.
/// </summary>
public sealed record AgentStatus(
    string VehicleId,
    string Tenant,
    TimeSpan Uptime,
    WalProtocol.WalStatus? Log,
    UplinkProtocol.UplinkStatus? Link,
    OperationalStateProtocol.Current? Operations,
    ConfigurationProtocol.Version? Configuration,
    IReadOnlyList<string> NotReady,
    HealthProtocol.HealthReport? Health = null)
{
    /// <summary>Ready for traffic and data: nothing in <see cref="NotReady"/>.</summary>
    public bool Ready => NotReady.Count == 0;
}

/// <summary>The probe of the vehicle agent in this process: it asks its parts, each with a timeout.</summary>
public sealed class VehicleAgentProbe(IActorRef agent, string vehicleId, string tenant, TimeSpan offlineTolerance, TimeProvider? time = null) : IAgentProbe
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(2);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly DateTimeOffset _started = (time ?? TimeProvider.System).GetUtcNow();

    /// <inheritdoc />
    public async Task<bool> AliveAsync(CancellationToken cancellationToken)
    {
        try
        {
            await agent.Ask<ActorIdentity>(new Identify(null), AskTimeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is AskTimeoutException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<AgentStatus> StatusAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var components = await AskOrNull<VehicleProtocol.Components>(agent, VehicleProtocol.GetComponents.Instance, cancellationToken).ConfigureAwait(false);
        var log = AskOrNull<WalProtocol.WalStatus>(components?.Log, WalProtocol.GetStatus.Instance, cancellationToken);
        var link = AskOrNull<UplinkProtocol.UplinkStatus>(components?.Uplink, UplinkProtocol.GetStatus.Instance, cancellationToken);
        var operations = AskOrNull<OperationalStateProtocol.Current>(components?.Operations, OperationalStateProtocol.GetState.Instance, cancellationToken);
        var configuration = AskOrNull<ConfigurationProtocol.Version>(components?.Configuration, ConfigurationProtocol.GetVersion.Instance, cancellationToken);
        var health = AskOrNull<HealthProtocol.HealthReport>(components?.Health, HealthProtocol.GetHealth.Instance, cancellationToken);
        // The command ledger and the operational state run behind gates that say whether they are up.
        var gated = new[] { components?.Commands, components?.Operations }.OfType<IActorRef>()
            .Select(gate => AskOrNull<BackoffGateProtocol.Availability>(gate, BackoffGateProtocol.GetAvailability.Instance, cancellationToken)).ToList();
        await Task.WhenAll(log, link, operations, configuration, health).ConfigureAwait(false);
        var availability = await Task.WhenAll(gated).ConfigureAwait(false);

        var notReady = new List<string>();
        if (components is null) notReady.Add("the vehicle agent does not answer");
        else if (log.Result is null) notReady.Add("the log does not answer (still recovering?)");
        if (components is not null && link.Result is { Connected: false, OfflineSince: { } since } && now - since > offlineTolerance)
            notReady.Add($"the uplink has been offline for {Format(now - since)} ({link.Result.State}), longer than fleet.http.ready-offline-tolerance ({Format(offlineTolerance)})");
        else if (components is not null && link.Result is null) notReady.Add("the uplink does not answer");
        if (components?.Health is not null && health.Result is null) notReady.Add("the health monitor does not answer");
        foreach (var down in availability)
        {
            if (down is { Up: false }) notReady.Add($"{down.Component} is not running ({down.Why})");
        }
        foreach (var (part, stall) in health.Result?.Stalls ?? new Dictionary<string, string>())
            notReady.Add($"{part} is stalled ({stall}); restarted, waiting for it to deliver again");
        return new AgentStatus(vehicleId, tenant, now - _started, log.Result, link.Result, operations.Result, configuration.Result, notReady, health.Result);
    }

    private static async Task<T?> AskOrNull<T>(IActorRef? actor, object message, CancellationToken cancellationToken)
        where T : class
    {
        if (actor is null) return null;
        try
        {
            return await actor.Ask<T>(message, AskTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AskTimeoutException or OperationCanceledException)
        {
            return null;
        }
    }

    private static string Format(TimeSpan span) => span.TotalHours >= 1 ? $"{(int)span.TotalHours}h{span.Minutes:00}m"
        : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes}m{span.Seconds:00}s" : $"{span.TotalSeconds:0.#}s";
}
