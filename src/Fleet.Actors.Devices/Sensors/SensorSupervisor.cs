using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Devices.Supervision;
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
    /// (waiting for its backoff) or still opening its device says so at once. Ask with a timeout all the same.
    /// </summary>
    public sealed record Execute(string SensorId, object Command);

    /// <summary>
    /// A new configuration of the sensors: those named in <paramref name="Changed"/> are restarted with
    /// their settings in <paramref name="Sensors"/>, stopped when they are no longer there, or started when new.
    /// </summary>
    public sealed record Apply(IReadOnlyList<SensorSettings> Sensors, IReadOnlyList<string> Changed);
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
    private readonly Dictionary<string, (SensorSettings Settings, SensorMetrics Metrics)> _running = new();
    private readonly List<IActorRef> _stopRequesters = new();
    private readonly Counter.Child _restarts;
    private readonly string _vehicleId;
    private readonly SensorDriverRegistry _drivers;
    private readonly DriverContext _context;
    private readonly IActorRef _log;
    private readonly AgentMetrics _metrics;

    // Sensors stopped to be started again with new settings (null: removed), by id.
    private readonly Dictionary<string, SensorSettings?> _replacing = new();
    private bool _stopping;

    public SensorSupervisor(string vehicleId, IReadOnlyList<SensorSettings> sensors, SensorDriverRegistry drivers,
        DriverContext context, IActorRef log, AgentMetrics metrics)
    {
        _vehicleId = vehicleId;
        _drivers = drivers;
        _context = context;
        _log = log;
        _metrics = metrics;
        _restarts = metrics.Counter("restarts_total", "Actor restarts by a supervisor.", vehicleId, "supervisor", "sensors");
        foreach (var sensor in sensors) StartSensor(sensor);

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
            _running.Remove(terminated.SensorId);
            if (_replacing.Remove(terminated.SensorId, out var replacement))
            {
                if (replacement is not null && !_stopping) StartSensor(replacement);
            }
            else if (!_stopping) _logger.Error("Sensor {0} supervisor stopped unexpectedly", terminated.SensorId);
            CheckStopped();
        });
        Receive<SensorProtocol.Apply>(OnApply);
        Receive<GetDevices>(_ => Sender.Tell(new DeviceReport(_running.Values.Select(s => new DeviceActivity("sensors", s.Settings.Id, s.Settings.Type,
            s.Metrics.Down.Value == 0, (long)s.Metrics.ReadSuccess.Value, s.Metrics.LastSeen.Value > 0 ? (long)(s.Metrics.LastSeen.Value * 1000) : null)).ToList())));
    }

    /// <summary>A new configuration: changed sensors restart with their new settings, removed ones stop, new ones start; the others run on.</summary>
    private void OnApply(SensorProtocol.Apply apply)
    {
        if (_stopping) return;
        var wanted = apply.Sensors.ToDictionary(s => s.Id);
        foreach (var id in apply.Changed)
        {
            var child = _sensors.FirstOrDefault(kv => kv.Value == id).Key;
            if (child is not null)
            {
                // Started again once the old one is gone (the name is taken until then).
                _replacing[id] = wanted.GetValueOrDefault(id);
                Context.Stop(child);
                _logger.Info("Sensor {0} {1}", id, wanted.ContainsKey(id) ? "restarts with its new settings" : "is removed");
            }
            else if (_replacing.ContainsKey(id)) _replacing[id] = wanted.GetValueOrDefault(id);
            else if (wanted.TryGetValue(id, out var added))
            {
                StartSensor(added);
                _logger.Info("Sensor {0} added", id);
            }
        }
    }

    private void StartSensor(SensorSettings sensor)
    {
        if (!_drivers.TryGet(sensor.Type, out var factory))
            throw new ArgumentException($"Sensor {sensor.Id}: unknown driver type '{sensor.Type}'");
        var sensorMetrics = new SensorMetrics(_metrics, _vehicleId, sensor.Id);
        // Down until its actor has opened the device.
        sensorMetrics.Down.Set(1);
        var context = _context;
        var props = SensorActor.Props(_vehicleId, sensor, () => factory.Create(sensor, context), _log, sensorMetrics, context.Time);
        // The sensor actor stops itself when its device fails (after one log line naming the
        // cause); the backoff supervisor starts a fresh one after the backoff.
        var options = Backoff.OnStop(props, "device", sensor.MinBackoff, sensor.MaxBackoff, sensor.RandomFactor, maxNrOfRetries: -1)
            .WithAutoReset(sensor.MinBackoff + sensor.StallTimeout)
            // A command for a sensor waiting out its backoff is answered at once, not left to time out in dead letters.
            .WithReplyWhileStopped(new SensorCommandResult(false, $"sensor {sensor.Id} is down (its device failed; reconnecting)"))
            .WithSupervisorStrategy(new OneForOneStrategy(ex =>
            {
                // A bug, not the device: restart at once (Akka logs it with its stack trace).
                _restarts.Inc();
                return Directive.Restart;
            }));
        var child = Context.ActorOf(BackoffSupervisor.Props(options), "sensor-" + Uri.EscapeDataString(sensor.Id));
        Context.WatchWith(child, new SensorTerminated(sensor.Id));
        _sensors[child] = sensor.Id;
        _running[sensor.Id] = (sensor, sensorMetrics);
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
