using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Vehicle;

/// <summary>
/// Logs a one-line summary of the vehicle every interval, in two groups that never mix: counts since
/// this process started (read, logged, dropped, acknowledged, with rates), and the log's own position
/// (last sequence, delivered-or-evicted up to, backlog, evicted in total), which survives restarts.
/// The log's figures come from one <see cref="WalProtocol.WalStatus"/>, so they agree with each other:
/// backlog = last sequence − delivered-or-evicted. Each tick tells the log <see cref="WalProtocol.GetStatus"/>
/// and prints on its reply; a log that has not answered by the next tick (recovering, restarting, or
/// waiting on a slow disk) is said so on a line of its own, without figures.
/// </summary>
/// <example>
/// <c>truck-001 | sensors 3/3 | since start: read 9,150 (+18/s, 0 bad), logged 9,150 (+18/s, 0 dropped), acked 9,150 (+18/s)
/// | log: last seq 12,400, acked or evicted up to 12,400, backlog 0, evicted 0 in total | broker online</c>
/// </example>
internal sealed class VehicleReporter : ReceiveActor, IWithTimers
{
    private readonly VehicleSettings _settings;
    private readonly IActorRef _log;
    private readonly WalMetrics _wal;
    private readonly UplinkMetrics _uplink;
    private readonly IReadOnlyList<SensorMetrics> _sensors;
    private readonly IReadOnlyList<string> _sensorIds;
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private bool _awaitingStatus;
    private long _requestedAt;
    private long _lastLineAt = Stopwatch.GetTimestamp();
    private double _lastRead;
    private double _lastAccepted;
    private double _lastSent;

    public VehicleReporter(VehicleSettings settings, IActorRef log, WalMetrics wal, UplinkMetrics uplink, AgentMetrics metrics)
    {
        _settings = settings;
        _log = log;
        _wal = wal;
        _uplink = uplink;
        _sensors = settings.Sensors.Select(s => new SensorMetrics(metrics, settings.VehicleId, s.Id)).ToList();
        _sensorIds = settings.Sensors.Select(s => s.Id).ToList();
        Receive<Tick>(_ => OnTick());
        Receive<WalProtocol.WalStatus>(OnStatus);
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for the summary of one vehicle; <paramref name="log"/> is its write-ahead log (or the log's supervisor).</summary>
    public static Props Props(VehicleSettings settings, IActorRef log, WalMetrics wal, UplinkMetrics uplink, AgentMetrics metrics) =>
        Akka.Actor.Props.Create(() => new VehicleReporter(settings, log, wal, uplink, metrics));

    protected override void PreStart() => Timers.StartPeriodicTimer("tick", Tick.Instance, _settings.SummaryInterval);

    private void OnTick()
    {
        if (_awaitingStatus)
        {
            // A tick that queued up behind a busy dispatcher, right after the request: the answer may
            // be next in the mailbox.
            if (Stopwatch.GetElapsedTime(_requestedAt) < _settings.SummaryInterval * 0.9) return;
            // No answer for a whole interval: the log is recovering, restarting (its supervisor has
            // no child) or waiting on the disk.
            Report(null);
        }
        _awaitingStatus = true;
        _requestedAt = Stopwatch.GetTimestamp();
        _log.Tell(WalProtocol.GetStatus.Instance);
    }

    private void OnStatus(WalProtocol.WalStatus status)
    {
        if (!_awaitingStatus) return;
        _awaitingStatus = false;
        Report(status);
    }

    private void Report(WalProtocol.WalStatus? log)
    {
        var now = Stopwatch.GetTimestamp();
        var seconds = Math.Max(Stopwatch.GetElapsedTime(_lastLineAt, now).TotalSeconds, 1e-3);
        var read = _sensors.Sum(s => s.ReadSuccess.Value);
        var errors = _sensors.Sum(s => s.ReadError.Value);
        var accepted = _wal.Accepted.Value;
        var sent = _uplink.EventsSent.Value;
        var active = _sensors.Count == 0 ? 0 : _sensors[0].Active.Value;
        _logger.Info(string.Create(CultureInfo.InvariantCulture,
            $"{_settings.VehicleId} | sensors {active:F0}/{_sensors.Count} | " +
            $"since start: read {read:N0} (+{(read - _lastRead) / seconds:N0}/s, {errors:N0} bad), " +
            $"logged {accepted:N0} (+{(accepted - _lastAccepted) / seconds:N0}/s, {_wal.NeverAccepted:N0} dropped), " +
            $"acked {sent:N0} (+{(sent - _lastSent) / seconds:N0}/s) | {LogPosition(log)} | " +
            $"broker {(_uplink.Connected.Value > 0 ? "online" : "OFFLINE")}{DownSensors()}"));
        _lastLineAt = now;
        _lastRead = read;
        _lastAccepted = accepted;
        _lastSent = sent;
    }

    // The log's own figures, all from one status: they hold across restarts and agree with each other.
    private string LogPosition(WalProtocol.WalStatus? log) => log is null
        ? string.Create(CultureInfo.InvariantCulture, $"log: no answer within {_settings.SummaryInterval.TotalSeconds:0.###} s")
        : string.Create(CultureInfo.InvariantCulture,
            $"log: last seq {log.LastSequence:N0}, acked or evicted up to {log.DeliveredSequence:N0}, backlog {log.UnsentCount:N0}, evicted {log.EvictedTotal:N0} in total");

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
