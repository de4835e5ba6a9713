using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Fleet.Actors.Core.Observability;
using Prometheus;

namespace Fleet.Actors.Devices.Sensors;

/// <summary>Messages of the sensors domain.</summary>
public static class SensorProtocol
{
    /// <summary>Stop every sensor (shutdown: no new readings); answers <see cref="IntakeStopped"/>.</summary>
    public sealed class StopIntake
    {
        public static readonly StopIntake Instance = new();
        private StopIntake() { }
    }

    /// <summary>Every sensor has stopped.</summary>
    public sealed class IntakeStopped
    {
        public static readonly IntakeStopped Instance = new();
        private IntakeStopped() { }
    }

    /// <summary>
    /// Asks a sensor's driver to do something other than read (e.g. clear an OBD-II vehicle's
    /// trouble codes). Answered with a <see cref="SensorCommandResult"/>; a sensor that is down
    /// (waiting for its backoff) does not answer, so ask with a timeout.
    /// </summary>
    public sealed record Execute(string SensorId, object Command);
}

/// <summary>What a sensor command came to: done, or refused or failed with the reason.</summary>
public sealed record SensorCommandResult(bool Success, string Detail);

/// <summary>A driver that takes commands besides reading (<see cref="SensorProtocol.Execute"/>).</summary>
public interface ISensorCommandTarget
{
    /// <summary>Carries out a command, taking turns with the reads on the device; never throws for a refused command.</summary>
    Task<SensorCommandResult> ExecuteAsync(object command, CancellationToken cancellationToken);
}

/// <summary>
/// Parent of the vehicle's sensors: one <c>BackoffSupervisor</c> per sensor (named
/// <c>sensor-{id}</c>), each restarting its sensor actor with exponential backoff and jitter.
/// </summary>
internal sealed class SensorSupervisor : ReceiveActor
{
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly Dictionary<IActorRef, string> _sensors = new();
    private readonly List<IActorRef> _stopRequesters = new();
    private readonly Counter.Child _restarts;
    private bool _stopping;

    public SensorSupervisor(string vehicleId, IReadOnlyList<SensorSettings> sensors, SensorDriverRegistry drivers,
        DriverContext context, IActorRef log, AgentMetrics metrics)
    {
        _restarts = metrics.Counter("restarts_total", "Actor restarts by a supervisor.", vehicleId, "supervisor", "sensors");
        foreach (var sensor in sensors)
        {
            if (!drivers.TryGet(sensor.Type, out var factory))
                throw new ArgumentException($"Sensor {sensor.Id}: unknown driver type '{sensor.Type}'");
            var sensorMetrics = new SensorMetrics(metrics, vehicleId, sensor.Id);
            // Down until its actor has opened the device.
            sensorMetrics.Down.Set(1);
            var props = SensorActor.Props(vehicleId, sensor, () => factory.Create(sensor, context), log, sensorMetrics, context.Time);
            // The sensor actor stops itself when its device fails (after one log line naming the
            // cause); the backoff supervisor starts a fresh one after the backoff.
            var options = Backoff.OnStop(props, "device", sensor.MinBackoff, sensor.MaxBackoff, sensor.RandomFactor, maxNrOfRetries: -1)
                .WithAutoReset(sensor.MinBackoff + sensor.StallTimeout)
                .WithSupervisorStrategy(new OneForOneStrategy(ex =>
                {
                    // A bug, not the device: restart at once (Akka logs it with its stack trace).
                    _restarts.Inc();
                    return Directive.Restart;
                }));
            var child = Context.ActorOf(BackoffSupervisor.Props(options), "sensor-" + Uri.EscapeDataString(sensor.Id));
            Context.WatchWith(child, new SensorTerminated(sensor.Id));
            _sensors[child] = sensor.Id;
        }

        Receive<SensorProtocol.StopIntake>(_ =>
        {
            _stopRequesters.Add(Sender);
            _stopping = true;
            foreach (var child in _sensors.Keys) Context.Stop(child);
            CheckStopped();
        });
        Receive<SensorProtocol.Execute>(execute =>
        {
            var child = _sensors.FirstOrDefault(kv => kv.Value == execute.SensorId).Key;
            if (child is null) Sender.Tell(new SensorCommandResult(false, $"no sensor '{execute.SensorId}'"));
            else child.Forward(execute);
        });
        Receive<SensorTerminated>(terminated =>
        {
            var child = _sensors.FirstOrDefault(kv => kv.Value == terminated.SensorId).Key;
            if (child is not null) _sensors.Remove(child);
            if (!_stopping) _logger.Error("Sensor {0} supervisor stopped unexpectedly", terminated.SensorId);
            CheckStopped();
        });
    }

    /// <summary>Props for the sensors of one vehicle.</summary>
    public static Props Props(string vehicleId, IReadOnlyList<SensorSettings> sensors, SensorDriverRegistry drivers,
        DriverContext context, IActorRef log, AgentMetrics metrics) =>
        Akka.Actor.Props.Create(() => new SensorSupervisor(vehicleId, sensors, drivers, context, log, metrics));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(
        maxNrOfRetries: 10,
        withinTimeRange: TimeSpan.FromMinutes(1),
        decider: Decider.From(ex =>
        {
            _restarts.Inc();
            return ex switch
            {
                ActorInitializationException => Directive.Stop,
                _ => Directive.Restart,
            };
        }));

    private void CheckStopped()
    {
        if (!_stopping || _sensors.Count > 0) return;
        foreach (var requester in _stopRequesters) requester.Tell(SensorProtocol.IntakeStopped.Instance);
        _stopRequesters.Clear();
    }

    private sealed record SensorTerminated(string SensorId);
}
