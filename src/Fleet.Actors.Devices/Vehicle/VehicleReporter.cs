using System.Globalization;
using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Vehicle;

/// <summary>
/// Logs a one-line summary of the vehicle every interval: what the sensors read, what the log
/// accepted, what the broker acknowledged, the backlog and the link. Reads metrics only.
/// </summary>
internal sealed class VehicleReporter : ReceiveActor, IWithTimers
{
    private readonly VehicleSettings _settings;
    private readonly WalMetrics _wal;
    private readonly UplinkMetrics _uplink;
    private readonly IReadOnlyList<SensorMetrics> _sensors;
    private readonly IReadOnlyList<string> _sensorIds;
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private double _lastRead;
    private double _lastAccepted;
    private double _lastSent;

    public VehicleReporter(VehicleSettings settings, WalMetrics wal, UplinkMetrics uplink, AgentMetrics metrics)
    {
        _settings = settings;
        _wal = wal;
        _uplink = uplink;
        _sensors = settings.Sensors.Select(s => new SensorMetrics(metrics, settings.VehicleId, s.Id)).ToList();
        _sensorIds = settings.Sensors.Select(s => s.Id).ToList();
        Receive<Tick>(_ => Report());
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(VehicleSettings settings, WalMetrics wal, UplinkMetrics uplink, AgentMetrics metrics) =>
        Akka.Actor.Props.Create(() => new VehicleReporter(settings, wal, uplink, metrics));

    protected override void PreStart() => Timers.StartPeriodicTimer("tick", Tick.Instance, _settings.SummaryInterval);

    private void Report()
    {
        var seconds = _settings.SummaryInterval.TotalSeconds;
        var read = _sensors.Sum(s => s.ReadSuccess.Value);
        var errors = _sensors.Sum(s => s.ReadError.Value);
        var accepted = _wal.Accepted.Value;
        var sent = _uplink.EventsSent.Value;
        var active = _sensors.Count == 0 ? 0 : _sensors[0].Active.Value;
        _logger.Info(string.Create(CultureInfo.InvariantCulture,
            $"{_settings.VehicleId} | sensors {active:F0}/{_sensors.Count} read {read:N0} (+{(read - _lastRead) / seconds:N0}/s, {errors:N0} bad) | " +
            $"logged seq {_wal.LastSequence.Value:N0} (+{(accepted - _lastAccepted) / seconds:N0}/s, {_wal.NeverAccepted:N0} dropped) | " +
            $"acked {sent:N0} (+{(sent - _lastSent) / seconds:N0}/s) | backlog {_wal.UnsentEvents.Value:N0} | " +
            $"broker {(_uplink.Connected.Value > 0 ? "online" : "OFFLINE")} | evicted {_wal.Evicted.Value:N0}{DownSensors()}"));
        _lastRead = read;
        _lastAccepted = accepted;
        _lastSent = sent;
    }

    // " | down: gps (last seen 12 s ago), can (never seen)" while any sensor is down.
    private string DownSensors()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var down = _sensors.Select((s, i) => (Id: _sensorIds[i], Metrics: s))
            .Where(s => s.Metrics.Down.Value > 0)
            .Select(s => s.Metrics.LastSeen.Value > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{s.Id} (last seen {now - s.Metrics.LastSeen.Value:N0} s ago)")
                : $"{s.Id} (never seen)")
            .ToList();
        return down.Count == 0 ? "" : " | down: " + string.Join(", ", down);
    }

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }
}
