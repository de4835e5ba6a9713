using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Devices.Sensors;
using Prometheus;

namespace Fleet.Actors.Devices.Plc;

/// <summary>
/// Parent of the vehicle's PLCs (actor <c>plcs</c>): one <c>BackoffSupervisor</c> per PLC (named
/// <c>plc-{id}</c>) that restarts a failed PLC actor with exponential backoff and jitter, and routes
/// <see cref="PlcProtocol"/> writes by PLC id, answering itself for unknown PLCs (<c>Refused</c>)
/// and PLCs that are down (<c>Failed</c>). Stops its PLCs on <see cref="SensorProtocol.StopIntake"/>
/// (answering <see cref="SensorProtocol.IntakeStopped"/>), like the sensors at shutdown.
/// </summary>
internal sealed class PlcSupervisor : ReceiveActor
{
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> _plcs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _up = new(StringComparer.Ordinal);
    private readonly List<IActorRef> _stopRequesters = new();
    private readonly Counter.Child _restarts;
    private bool _stopping;

    public PlcSupervisor(string vehicleId, IReadOnlyList<PlcSettings> plcs, IActorRef log, AgentMetrics metrics,
        Func<PlcSettings, ModbusClient> clientFactory, TimeProvider time)
    {
        _restarts = metrics.Counter("restarts_total", "Actor restarts by a supervisor.", vehicleId, "supervisor", "plcs");
        foreach (var plc in plcs)
        {
            var props = PlcActor.Props(plc, log, Self, new PlcMetrics(metrics, vehicleId, plc.Id), clientFactory, time);
            var options = Backoff.OnFailure(props, "plc", plc.MinBackoff, plc.MaxBackoff, plc.RandomFactor, maxNrOfRetries: -1)
                .WithAutoReset(plc.MinBackoff + TimeSpan.FromSeconds(10))
                .WithSupervisorStrategy(new OneForOneStrategy(_ =>
                {
                    _restarts.Inc();
                    return Directive.Restart;
                }));
            var child = Context.ActorOf(BackoffSupervisor.Props(options), "plc-" + Uri.EscapeDataString(plc.Id));
            Context.WatchWith(child, new PlcTerminated(plc.Id));
            _plcs[plc.Id] = child;
        }

        Receive<PlcUp>(up => _up.Add(up.PlcId));
        Receive<PlcDown>(down => _up.Remove(down.PlcId));
        Receive<PlcProtocol.IWithPlcId>(Route);
        Receive<SensorProtocol.StopIntake>(_ =>
        {
            _stopRequesters.Add(Sender);
            _stopping = true;
            foreach (var child in _plcs.Values) Context.Stop(child);
            CheckStopped();
        });
        Receive<PlcTerminated>(terminated =>
        {
            _plcs.Remove(terminated.PlcId);
            _up.Remove(terminated.PlcId);
            if (!_stopping) _logger.Error("PLC {0} supervisor stopped unexpectedly", terminated.PlcId);
            CheckStopped();
        });
    }

    /// <summary>Props for the PLCs of one vehicle; <paramref name="clientFactory"/> defaults to <see cref="PlcSettings.CreateClient"/>.</summary>
    public static Props Props(string vehicleId, IReadOnlyList<PlcSettings> plcs, IActorRef log, AgentMetrics metrics,
        Func<PlcSettings, ModbusClient>? clientFactory = null, TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new PlcSupervisor(vehicleId, plcs, log, metrics, clientFactory ?? (s => s.CreateClient()), time ?? TimeProvider.System));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(
        maxNrOfRetries: 10,
        withinTimeRange: TimeSpan.FromMinutes(1),
        decider: Decider.From(ex =>
        {
            _restarts.Inc();
            return ex is ActorInitializationException ? Directive.Stop : Directive.Restart;
        }));

    private void Route(PlcProtocol.IWithPlcId request)
    {
        if (!_plcs.TryGetValue(request.PlcId, out var plc))
            Sender.Tell(new PlcProtocol.Refused(request.PlcId, $"unknown PLC \"{request.PlcId}\""));
        else if (!_up.Contains(request.PlcId))
            Sender.Tell(new PlcProtocol.Failed(request.PlcId, $"PLC {request.PlcId} is down (restarting)"));
        else
            plc.Forward(request);
    }

    private void CheckStopped()
    {
        if (!_stopping || _plcs.Count > 0) return;
        foreach (var requester in _stopRequesters) requester.Tell(SensorProtocol.IntakeStopped.Instance);
        _stopRequesters.Clear();
    }

    /// <summary>A PLC actor started (from the actor).</summary>
    internal sealed record PlcUp(string PlcId);

    /// <summary>A PLC actor stopped, failed or is restarting.</summary>
    internal sealed record PlcDown(string PlcId) : IDeadLetterSuppression;

    private sealed record PlcTerminated(string PlcId);
}
