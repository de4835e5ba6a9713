using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Vehicle;
using Prometheus;
using static Fleet.Actors.Core.Commands.CommandProtocol;

namespace Fleet.Actors.Devices.Configuration;

/// <summary>Messages of the vehicle's configuration actor.</summary>
public static class ConfigurationProtocol
{
    /// <summary>Read the files again (a file in the configuration folder changed, or SIGHUP).</summary>
    public sealed record Reload(string Why);

    /// <summary>From the configuration actor to the vehicle agent: apply these settings to the parts named (all live).</summary>
    public sealed record Apply(VehicleSettings Settings, IReadOnlyList<string> ChangedParts, string Version);

    /// <summary>Asks for the running <see cref="Version"/>.</summary>
    public sealed class GetVersion
    {
        /// <summary>The only instance.</summary>
        public static readonly GetVersion Instance = new();

        private GetVersion()
        {
        }
    }

    /// <summary>
    /// The running configuration's version, how many changes were applied and how many refused;
    /// also told to the vehicle agent after every change or refusal (for the retained status).
    /// </summary>
    public sealed record Version(string Value, long Reloads, long Errors);
}

/// <summary>
/// The running configuration of one vehicle (actor <c>configuration</c>): carries out
/// CONFIGURATION_UPDATE commands and reloads. A candidate is read and checked exactly as at start
/// (<see cref="IConfigurationSource"/>, off this actor's thread); with a problem the old configuration
/// stays and the answer names file, key and problem; a change to a part that only applies at start
/// is refused (<c>restart-required</c>) and nothing is applied (from the files: a warning that it
/// applies at the next start); otherwise the vehicle agent applies it
/// to the actors it affects, the overlay is kept for the next start, and the version and reload count
/// go up. A failed reload from the files raises an alert (journaled like any reading).
/// </summary>
internal sealed class ConfigurationActor : ReceiveActor
{
    private readonly string _vehicleId;
    private readonly IConfigurationSource _source;
    private readonly IActorRef _log;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly Counter.Child _reloads;
    private readonly Counter.Child _errors;
    private readonly Gauge _version;
    private ConfigurationCandidate _running;
    private long _reloadCount;
    private long _errorCount;
    private bool _busy;
    private readonly Queue<(object Request, IActorRef Sender)> _waiting = new();
    private const int MaxWaiting = 16;

    public ConfigurationActor(string vehicleId, IConfigurationSource source, ConfigurationCandidate running, IActorRef log, AgentMetrics metrics, TimeProvider time)
    {
        _vehicleId = vehicleId;
        _source = source;
        _running = running;
        _log = log;
        _time = time;
        _reloads = metrics.Counter("config_reload_count", "Configuration changes applied while running (commands, file changes, SIGHUP).", vehicleId);
        _errors = metrics.Counter("config_errors_total", "Configuration changes refused (problems, or parts that apply only at start).", vehicleId);
        _version = metrics.Factory.CreateGauge("config_version", "The running configuration's version (label version: a digest of the effective settings, the same however the files are laid out); 1 for the running one.",
            [AgentMetrics.VehicleLabel, "version"]);
        _version.WithLabels(vehicleId, running.Version).Set(1);

        Receive<Execute>(execute => Enqueue(execute));
        Receive<ConfigurationProtocol.Reload>(reload => Enqueue(reload));
        Receive<Loaded>(OnLoaded);
        Receive<Kept>(OnKept);
        Receive<ConfigurationProtocol.GetVersion>(_ => Sender.Tell(CurrentVersion));
    }

    /// <summary>Props for the configuration actor; <paramref name="running"/> is what the agent started with.</summary>
    public static Props Props(string vehicleId, IConfigurationSource source, ConfigurationCandidate running, IActorRef log, AgentMetrics metrics, TimeProvider time) =>
        Akka.Actor.Props.Create(() => new ConfigurationActor(vehicleId, source, running, log, metrics, time));

    // One change at a time: each is checked against the configuration the one before it left.
    private void Enqueue(object request)
    {
        if (_waiting.Count >= MaxWaiting)
        {
            // Bounded: a flood of reloads or updates is refused (and counted) rather than queued without end.
            CountError();
            if (request is Execute execute) Sender.Tell(new Refuse(execute.CommandId, CommandRefusals.Busy, $"{MaxWaiting} configuration changes are already waiting; try again"));
            else _logger.Warning("Configuration reload ({0}) dropped: {1} changes are already waiting", ((ConfigurationProtocol.Reload)request).Why, MaxWaiting);
            return;
        }
        _waiting.Enqueue((request, Sender));
        Next();
    }

    private void Next()
    {
        if (_busy || !_waiting.TryDequeue(out var next)) return;
        _busy = true;
        var overlay = next.Request is Execute execute ? execute.Command.ConfigurationUpdate.Hocon : null;
        var source = _source;
        Task.Run(() => source.Load(overlay)).PipeTo(Self, success: candidate => new Loaded(next.Request, next.Sender, candidate),
            failure: ex => new Loaded(next.Request, next.Sender, new ConfigurationCandidate(null, [ex.GetBaseException().Message], "", new Dictionary<string, string>())));
    }

    private void OnLoaded(Loaded loaded)
    {
        var (request, sender, candidate) = loaded;
        var commandId = (request as Execute)?.CommandId;
        var what = commandId is null ? $"Configuration reload ({((ConfigurationProtocol.Reload)request).Why})" : $"Configuration update {commandId}";
        if (candidate.Settings is null)
        {
            Refused(request, sender, CommandRefusals.InvalidPayload, $"{what} refused; the running configuration stays: {string.Join("; ", candidate.Problems)}");
            return;
        }
        if (commandId is null && candidate.OverriddenByCommands.Count > 0)
            _logger.Warning("{0}: {1} keep the values set by CONFIGURATION_UPDATE commands (the kept remote overlay, read last); edits of them in the files take effect only once it is removed (docs/configuration.md)",
                what, string.Join(", ", candidate.OverriddenByCommands.Select(LiveConfiguration.Describe)));
        var changed = candidate.ChangedSince(_running);
        if (changed.Count == 0)
        {
            if (commandId is not null) sender.Tell(new Succeed(commandId, "no change", Details(candidate, "none")));
            else _logger.Info("{0}: no change", what);
            Done();
            return;
        }
        var startOnly = changed.Where(p => !LiveConfiguration.AppliesLive(p)).ToList();
        if (startOnly.Count > 0)
        {
            var parts = string.Join(", ", startOnly.Select(LiveConfiguration.Describe));
            if (commandId is null)
            {
                // An edit of the files is not wrong: it takes effect when the agent starts again.
                _logger.Warning("{0}: {1} changed, which applies only at the next start; nothing applied now (restart the agent to apply the files)", what, parts);
                Done();
                return;
            }
            Refused(request, sender, CommandRefusals.RestartRequired, $"{what} refused; nothing applied: {parts} can change only with a restart");
            return;
        }
        Context.Parent.Tell(new ConfigurationProtocol.Apply(candidate.Settings, changed, candidate.Version));
        var previous = _running;
        _running = candidate;
        _reloadCount++;
        _reloads.Inc();
        _version.WithLabels(_vehicleId, previous.Version).Set(0);
        _version.WithLabels(_vehicleId, candidate.Version).Set(1);
        _logger.Warning("{0} applied: {1} changed; version {2} -> {3}", what, candidate.Describe(changed, previous), previous.Version, candidate.Version);
        Context.Parent.Tell(CurrentVersion);
        if (request is Execute execute)
        {
            // Kept for the next start before the command is answered.
            var source = _source;
            var overlay = execute.Command.ConfigurationUpdate.Hocon;
            var described = candidate.Describe(changed, previous);
            Task.Run(() => source.Keep(overlay)).PipeTo(Self, success: () => new Kept(execute.CommandId, sender, candidate, changed, described, null),
                failure: ex => new Kept(execute.CommandId, sender, candidate, changed, described, ex.GetBaseException().Message));
            return;
        }
        Done();
    }

    private void OnKept(Kept kept)
    {
        if (kept.Problem is null)
            kept.Sender.Tell(new Succeed(kept.CommandId, $"applied: {kept.Described}", Details(kept.Candidate, string.Join(", ", kept.Changed))));
        else
            kept.Sender.Tell(new Fail(kept.CommandId, CommandRefusals.ExecutionFailed, $"applied, but it could not be kept for the next start: {kept.Problem}"));
        Done();
    }

    private void Refused(object request, IActorRef sender, string reason, string message)
    {
        CountError();
        // A command's refusal is logged by the command actor; a reload's here, with an alert.
        if (request is Execute execute) sender.Tell(new Refuse(execute.CommandId, reason, message));
        else
        {
            _logger.Error("{0}", message);
            _log.Tell(new WalProtocol.LogReadings([new Reading("configuration", _time.GetUtcNow().ToUnixTimeMilliseconds(),
                new AlertValue("config-reload-failed", AlertSeverity.Warning, "configuration", message))]));
        }
        Done();
    }

    private ConfigurationProtocol.Version CurrentVersion => new(_running.Version, _reloadCount, _errorCount);

    private void CountError()
    {
        _errors.Inc();
        _errorCount++;
        Context.Parent.Tell(CurrentVersion);
    }

    private void Done()
    {
        _busy = false;
        Next();
    }

    private static Dictionary<string, string> Details(ConfigurationCandidate candidate, string changed) =>
        new() { ["config_version"] = candidate.Version, ["changed"] = changed };

    private sealed record Loaded(object Request, IActorRef Sender, ConfigurationCandidate Candidate);

    private sealed record Kept(string CommandId, IActorRef Sender, ConfigurationCandidate Candidate, IReadOnlyList<string> Changed, string Described, string? Problem);
}
