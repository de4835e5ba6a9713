using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Supervision;

namespace Fleet.Actors.Devices.Gpio;

/// <summary>Creates the configured GPIO driver.</summary>
public static class GpioDrivers
{
    /// <summary>
    /// <see cref="SimulatedGpioDriver"/> or System.Device.Gpio's <see cref="LibGpiodDriver"/> on
    /// <c>/dev/gpiochip{Chip}</c> (libgpiod v1, <c>libgpiod.so.2</c>: Debian's <c>libgpiod2</c>).
    /// </summary>
    public static GpioDriver Create(GpioSettings settings) => settings.Driver switch
    {
        GpioDriverKind.Libgpiod => new LibGpiodDriver(settings.Chip),
        _ => new SimulatedGpioDriver(),
    };
}

/// <summary>
/// Parent of the vehicle's GPIO lines (actor <c>gpio</c>): owns the <see cref="GpioController"/>
/// (and so the driver), runs one <c>BackoffSupervisor</c> per line (named <c>line-{id}</c>) that
/// reopens a failed line with exponential backoff and jitter, and routes
/// <see cref="GpioProtocol.Write"/> and <see cref="GpioProtocol.Read"/> by line id, answering
/// itself for unknown lines and lines that are down. Stops its lines on
/// <see cref="SensorProtocol.StopIntake"/> (answering <see cref="SensorProtocol.IntakeStopped"/>),
/// like the sensors at shutdown.
/// </summary>
internal sealed class GpioSupervisor : ReceiveActor
{
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly GpioController _controller;
    private readonly DeviceChildren _lines;

    public GpioSupervisor(string vehicleId, GpioSettings settings, Func<GpioSettings, GpioDriver> driverFactory,
        IActorRef log, AgentMetrics metrics, TimeProvider time)
    {
        _lines = new DeviceChildren(metrics.Counter("restarts_total", "Actor restarts by a supervisor.", vehicleId, "supervisor", "gpio"), vehicleId, "gpio", time);
        _controller = new GpioController(driverFactory(settings));
        foreach (var line in settings.Lines)
        {
            var lineMetrics = new GpioLineMetrics(metrics, vehicleId, line.Id);
            // Down until its actor has opened the line.
            lineMetrics.Down.Set(1);
            var props = GpioLineActor.Props(line, _controller, log, Self, lineMetrics, time, settings.MaxPendingEvents);
            _lines.Start(Context, line.Id, "line-" + Uri.EscapeDataString(line.Id), "line", props,
                settings.MinBackoff, settings.MaxBackoff, settings.RandomFactor, new LineTerminated(line.Id));
            var kind = line.Direction.ToString().ToLowerInvariant();
            _lines.Describe(line.Id, up => new DeviceActivity("gpio", line.Id, kind, up, (long)(lineMetrics.Edges.Value + lineMetrics.Writes.Value), null));
        }

        Receive<LineUp>(up => _lines.Up(Context, up.LineId));
        Receive<LineDown>(down => _lines.Down(Context, down.LineId, "closed (failed or reopening)"));
        Receive<GetDevices>(_ => Sender.Tell(_lines.Report()));
        Receive<GpioProtocol.Write>(Route);
        Receive<GpioProtocol.Read>(Route);
        Receive<SensorProtocol.StopIntake>(_ => _lines.StopAll(Context, Sender));
        Receive<LineTerminated>(terminated =>
        {
            if (!_lines.Terminated(terminated.LineId)) _logger.Error("GPIO line {0} supervisor stopped unexpectedly", terminated.LineId);
        });
    }

    /// <summary>Props for the GPIO lines of one vehicle; <paramref name="driverFactory"/> defaults to <see cref="GpioDrivers.Create"/>.</summary>
    public static Props Props(string vehicleId, GpioSettings settings, IActorRef log, AgentMetrics metrics,
        Func<GpioSettings, GpioDriver>? driverFactory = null, TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new GpioSupervisor(vehicleId, settings, driverFactory ?? GpioDrivers.Create, log, metrics, time ?? TimeProvider.System));

    protected override void PostStop()
    {
        // The lines (children) have stopped and closed their pins by now.
        _controller.Dispose();
    }

    protected override SupervisorStrategy SupervisorStrategy() => _lines.Strategy();

    private void Route(GpioProtocol.IWithLineId request)
    {
        switch (_lines.Find(request.LineId, out var line))
        {
            case DeviceState.Unknown:
                Sender.Tell(new GpioProtocol.Refused(request.LineId, $"unknown GPIO line \"{request.LineId}\""));
                break;
            case DeviceState.Down:
                Sender.Tell(new GpioProtocol.Failed(request.LineId, $"GPIO line {request.LineId} is down (reopening)"));
                break;
            default:
                line.Forward(request);
                break;
        }
    }

    /// <summary>A line opened (from its actor).</summary>
    internal sealed record LineUp(string LineId);

    /// <summary>A line closed (its actor stopped, failed or is restarting).</summary>
    internal sealed record LineDown(string LineId) : IDeadLetterSuppression;

    private sealed record LineTerminated(string LineId);
}
