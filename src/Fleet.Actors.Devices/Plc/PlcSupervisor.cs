using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Supervision;

namespace Fleet.Actors.Devices.Plc;

/// <summary>
/// Parent of the vehicle's PLCs (actor <c>plcs</c>): one <c>BackoffSupervisor</c> per PLC (named
/// <c>plc-{id}</c>) that restarts a failed PLC actor with exponential backoff and jitter, and routes
/// <see cref="PlcProtocol"/> writes by PLC id, answering itself for unknown PLCs (<c>Refused</c>)
/// and PLCs that are down (<c>Failed</c>). Stops its PLCs on <see cref="SensorProtocol.StopIntake"/>
/// (answering <see cref="SensorProtocol.IntakeStopped"/>), like the sensors at shutdown. A
/// configuration change (<see cref="PlcProtocol.Apply"/>) restarts only the PLCs whose settings
/// (connection, register map, polling) changed, starts new ones and stops removed ones.
/// </summary>
internal sealed class PlcSupervisor : ReceiveActor
{
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly DeviceChildren _plcs;
    private readonly string _vehicleId;
    private readonly IActorRef _log;
    private readonly AgentMetrics _metrics;
    private readonly Func<PlcSettings, ModbusClient> _clientFactory;
    private readonly TimeProvider _time;

    public PlcSupervisor(string vehicleId, IReadOnlyList<PlcSettings> plcs, IActorRef log, AgentMetrics metrics,
        Func<PlcSettings, ModbusClient> clientFactory, TimeProvider time)
    {
        _vehicleId = vehicleId;
        _log = log;
        _metrics = metrics;
        _clientFactory = clientFactory;
        _time = time;
        _plcs = new DeviceChildren(metrics.Counter("restarts_total", "Actor restarts by a supervisor.", vehicleId, "supervisor", "plcs"), vehicleId, "plcs", time);
        foreach (var plc in plcs) StartPlc(plc);

        Receive<PlcUp>(up => _plcs.Up(Context, up.PlcId));
        Receive<PlcDown>(down => _plcs.Down(Context, down.PlcId, "stopped (failed or restarting)"));
        Receive<PlcReachable>(reachable => _plcs.Reachable(Context, reachable.PlcId, reachable.Reachable, reachable.Reason));
        Receive<GetDevices>(_ => Sender.Tell(_plcs.Report()));
        Receive<PlcProtocol.IWithPlcId>(Route);
        Receive<SensorProtocol.StopIntake>(_ => _plcs.StopAll(Context, Sender));
        Receive<PlcProtocol.Apply>(OnApply);
        Receive<PlcTerminated>(terminated =>
        {
            if (!_plcs.Terminated(terminated.PlcId)) _logger.Error("PLC {0} supervisor stopped unexpectedly", terminated.PlcId);
        });
    }

    /// <summary>Props for the PLCs of one vehicle; <paramref name="clientFactory"/> defaults to <see cref="PlcSettings.CreateClient"/>.</summary>
    public static Props Props(string vehicleId, IReadOnlyList<PlcSettings> plcs, IActorRef log, AgentMetrics metrics,
        Func<PlcSettings, ModbusClient>? clientFactory = null, TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new PlcSupervisor(vehicleId, plcs, log, metrics, clientFactory ?? (s => s.CreateClient()), time ?? TimeProvider.System));

    protected override SupervisorStrategy SupervisorStrategy() => _plcs.Strategy();

    private void StartPlc(PlcSettings plc)
    {
        var plcMetrics = new PlcMetrics(_metrics, _vehicleId, plc.Id);
        var props = PlcActor.Props(plc, _log, Self, plcMetrics, _clientFactory, _time);
        _plcs.Start(Context, plc.Id, "plc-" + Uri.EscapeDataString(plc.Id), "plc", props,
            plc.MinBackoff, plc.MaxBackoff, plc.RandomFactor, new PlcTerminated(plc.Id));
        // Down while its circuit breaker is open (state 2): the PLC does not answer.
        _plcs.Describe(plc.Id, up => new DeviceActivity("plcs", plc.Id, plc.Host is not null ? "modbus-tcp" : "modbus-rtu",
            up && plcMetrics.BreakerState.Value < 2, (long)plcMetrics.Polls.Value, null));
    }

    private void OnApply(PlcProtocol.Apply apply)
    {
        var wanted = apply.Plcs.ToDictionary(p => p.Id, StringComparer.Ordinal);
        foreach (var id in apply.Changed)
        {
            var settings = wanted.GetValueOrDefault(id);
            var known = _plcs.Find(id, out _) != DeviceState.Unknown;
            _plcs.Replace(Context, id, settings is null ? null : () => StartPlc(settings));
            _logger.Info("PLC {0} {1}", id, settings is null ? "is removed" : known ? "restarts with its new settings" : "added");
        }
    }

    private void Route(PlcProtocol.IWithPlcId request)
    {
        switch (_plcs.Find(request.PlcId, out var plc))
        {
            case DeviceState.Unknown:
                Sender.Tell(new PlcProtocol.Refused(request.PlcId, $"unknown PLC \"{request.PlcId}\""));
                break;
            case DeviceState.Down:
                Sender.Tell(new PlcProtocol.Failed(request.PlcId, $"PLC {request.PlcId} is down (restarting)"));
                break;
            default:
                plc.Forward(request);
                break;
        }
    }

    /// <summary>A PLC actor started (from the actor).</summary>
    internal sealed record PlcUp(string PlcId);

    /// <summary>A PLC actor stopped, failed or is restarting.</summary>
    internal sealed record PlcDown(string PlcId) : IDeadLetterSuppression;

    /// <summary>A PLC's circuit breaker opened (unreachable, with the reason) or closed again (from the actor).</summary>
    internal sealed record PlcReachable(string PlcId, bool Reachable, string Reason) : IDeadLetterSuppression;

    private sealed record PlcTerminated(string PlcId);
}
