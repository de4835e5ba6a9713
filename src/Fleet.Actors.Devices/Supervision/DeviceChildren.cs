using Akka.Actor;
using Akka.Pattern;
using Fleet.Actors.Devices.Sensors;
using Prometheus;

namespace Fleet.Actors.Devices.Supervision;

/// <summary>Where a request for a device child can go.</summary>
internal enum DeviceState
{
    /// <summary>No such device is configured.</summary>
    Unknown,

    /// <summary>Configured, but its actor is not running (failed, waiting for its backoff).</summary>
    Down,

    /// <summary>Its actor is running.</summary>
    Up,
}

/// <summary>
/// The per-device children of a domain supervisor (GPIO lines, PLCs): one <c>BackoffSupervisor</c>
/// each, which of them are up, and the stop at shutdown (<see cref="SensorProtocol.StopIntake"/>
/// answered with <see cref="SensorProtocol.IntakeStopped"/> once every child has stopped). Used on
/// the supervisor's thread only.
/// </summary>
internal sealed class DeviceChildren
{
    private readonly Dictionary<string, IActorRef> _children = new(StringComparer.Ordinal);
    private readonly HashSet<string> _up = new(StringComparer.Ordinal);
    private readonly List<IActorRef> _stopRequesters = new();
    private readonly Dictionary<string, Func<bool, DeviceActivity>> _activity = new(StringComparer.Ordinal);

    // Children stopped to be started again with new settings (null: removed), by id.
    private readonly Dictionary<string, Action?> _replacing = new(StringComparer.Ordinal);
    private readonly Counter.Child _restarts;
    private readonly string _vehicleId;
    private readonly string _domain;
    private readonly TimeProvider _time;
    private bool _stopping;

    /// <summary>
    /// Children whose restarts are counted in <paramref name="restarts"/>; their ups and downs are
    /// published as <see cref="Core.Health.DeviceStatusChanged"/> of <paramref name="domain"/>.
    /// </summary>
    public DeviceChildren(Counter.Child restarts, string vehicleId, string domain, TimeProvider time)
    {
        _restarts = restarts;
        _vehicleId = vehicleId;
        _domain = domain;
        _time = time;
    }

    /// <summary>
    /// Starts a device actor (named <paramref name="childName"/>) under a <c>BackoffSupervisor</c> named
    /// <paramref name="name"/> (restarted with exponential backoff and jitter, without a retry limit),
    /// watched with <paramref name="terminated"/>.
    /// </summary>
    public void Start(IActorContext context, string id, string name, string childName, Props device, TimeSpan minBackoff,
        TimeSpan maxBackoff, double randomFactor, object terminated)
    {
        var options = Backoff.OnFailure(device, childName, minBackoff, maxBackoff, randomFactor, maxNrOfRetries: -1)
            .WithAutoReset(minBackoff + TimeSpan.FromSeconds(10))
            .WithSupervisorStrategy(new OneForOneStrategy(_ =>
            {
                _restarts.Inc();
                return Directive.Restart;
            }));
        var child = context.ActorOf(BackoffSupervisor.Props(options), name);
        context.WatchWith(child, terminated);
        _children[id] = child;
    }

    /// <summary>How <paramref name="id"/> describes itself in <see cref="Report"/>, given whether its actor is up.</summary>
    public void Describe(string id, Func<bool, DeviceActivity> activity) => _activity[id] = activity;

    /// <summary>Every running device's activity (for <see cref="GetDevices"/>).</summary>
    public DeviceReport Report() =>
        new(_activity.Where(a => _children.ContainsKey(a.Key)).Select(a => a.Value(Find(a.Key, out _) == DeviceState.Up)).ToList());

    /// <summary>The device's actor reported itself running.</summary>
    public void Up(IActorContext context, string id)
    {
        _up.Add(id);
        DeviceStatus.Publish(context, _vehicleId, _domain, id, true, "", _time);
    }

    /// <summary>The device's actor stopped, failed or is restarting.</summary>
    public void Down(IActorContext context, string id, string reason)
    {
        _up.Remove(id);
        DeviceStatus.Publish(context, _vehicleId, _domain, id, false, reason, _time);
    }

    /// <summary>The device is reachable again, or not (its actor runs on): published, routing unchanged.</summary>
    public void Reachable(IActorContext context, string id, bool reachable, string reason) =>
        DeviceStatus.Publish(context, _vehicleId, _domain, id, reachable, reason, _time);

    /// <summary>Whether requests for <paramref name="id"/> can be forwarded, and to whom.</summary>
    public DeviceState Find(string id, out IActorRef child)
    {
        if (!_children.TryGetValue(id, out child!)) return DeviceState.Unknown;
        // Being replaced: its old actor is stopping (a request would end in dead letters).
        if (_replacing.TryGetValue(id, out var start)) return start is null ? DeviceState.Unknown : DeviceState.Down;
        return _up.Contains(id) ? DeviceState.Up : DeviceState.Down;
    }

    /// <summary>Stops every child; <paramref name="requester"/> gets <see cref="SensorProtocol.IntakeStopped"/> when all have stopped.</summary>
    public void StopAll(IActorContext context, IActorRef requester)
    {
        _stopRequesters.Add(requester);
        _stopping = true;
        foreach (var child in _children.Values) context.Stop(child);
        CheckStopped();
    }

    /// <summary>
    /// A configuration change for <paramref name="id"/>: its running child stops and, once it is gone
    /// (its name is taken until then), <paramref name="start"/> starts it again with the new settings;
    /// null removes it. A device without a child (new) starts at once.
    /// </summary>
    public void Replace(IActorContext context, string id, Action? start)
    {
        if (_stopping) return;
        if (_children.TryGetValue(id, out var child))
        {
            _replacing[id] = start;
            context.Stop(child);
        }
        else if (_replacing.ContainsKey(id)) _replacing[id] = start;
        else start?.Invoke();
    }

    /// <summary>A child's supervisor has terminated; false when that was not asked for (a stop at shutdown or a replacement).</summary>
    public bool Terminated(string id)
    {
        _children.Remove(id);
        _activity.Remove(id);
        _up.Remove(id);
        if (_replacing.Remove(id, out var start))
        {
            if (!_stopping) start?.Invoke();
            CheckStopped();
            return true;
        }
        CheckStopped();
        return _stopping;
    }

    /// <summary>The domain supervisor's own strategy: restart, but stop a child that cannot even be created.</summary>
    public SupervisorStrategy Strategy() => new OneForOneStrategy(
        maxNrOfRetries: 10,
        withinTimeRange: TimeSpan.FromMinutes(1),
        decider: Decider.From(ex =>
        {
            _restarts.Inc();
            return ex is ActorInitializationException ? Directive.Stop : Directive.Restart;
        }));

    private void CheckStopped()
    {
        if (!_stopping || _children.Count > 0) return;
        foreach (var requester in _stopRequesters) requester.Tell(SensorProtocol.IntakeStopped.Instance);
        _stopRequesters.Clear();
    }
}
