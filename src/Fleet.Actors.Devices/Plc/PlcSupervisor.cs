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
/// (answering <see cref="SensorProtocol.IntakeStopped"/>), like the sensors at shutdown.
/// </summary>
internal sealed class PlcSupervisor : ReceiveActor
{
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly DeviceChildren _plcs;

    public PlcSupervisor(string vehicleId, IReadOnlyList<PlcSettings> plcs, IActorRef log, AgentMetrics metrics,
        Func<PlcSettings, ModbusClient> clientFactory, TimeProvider time)
    {
        _plcs = new DeviceChildren(metrics.Counter("restarts_total", "Actor restarts by a supervisor.", vehicleId, "supervisor", "plcs"));
        foreach (var plc in plcs)
        {
            var props = PlcActor.Props(plc, log, Self, new PlcMetrics(metrics, vehicleId, plc.Id), clientFactory, time);
            _plcs.Start(Context, plc.Id, "plc-" + Uri.EscapeDataString(plc.Id), "plc", props,
                plc.MinBackoff, plc.MaxBackoff, plc.RandomFactor, new PlcTerminated(plc.Id));
        }

        Receive<PlcUp>(up => _plcs.Up(up.PlcId));
        Receive<PlcDown>(down => _plcs.Down(down.PlcId));
        Receive<PlcProtocol.IWithPlcId>(Route);
        Receive<SensorProtocol.StopIntake>(_ => _plcs.StopAll(Context, Sender));
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

    private sealed record PlcTerminated(string PlcId);
}
