using Fleet.Actors.Core.Observability;
using Fleet.Actors.Devices.Sensors;
using Prometheus;

namespace Fleet.Actors.Devices.Can;

/// <summary>
/// The counters of one J1939 sensor's decoder, labelled like the other per-sensor metrics. A driver
/// publishes its decoder's counts after each read; each driver (a new one after every reconnect)
/// starts from zero and adds only what it counted itself.
/// </summary>
public sealed class J1939Metrics
{
    private readonly Counter.Child _unknownPgns;
    private readonly Counter.Child _ignored;
    private readonly Counter.Child _transportAborted;
    private readonly Counter.Child _unsupportedTransport;
    private long _publishedUnknown;
    private long _publishedIgnored;
    private long _publishedAborted;
    private long _publishedUnsupported;

    /// <summary>Creates (or finds) the collectors of one sensor.</summary>
    public J1939Metrics(AgentMetrics metrics, string vehicleId, string sensorId)
    {
        var sensor = metrics.Device(vehicleId, SensorMetrics.SensorLabel, sensorId);
        _unknownPgns = sensor.Counter("j1939_unknown_pgn_total", "J1939 messages with a PGN the agent does not decode.");
        _ignored = sensor.Counter("j1939_ignored_frames_total", "CAN frames that are not J1939 (11-bit, remote) or come from a source that is not listened to.");
        _transportAborted = sensor.Counter("j1939_transport_aborted_total", "BAM transfers given up (missing packet, timeout, bad announcement).");
        _unsupportedTransport = sensor.Counter("j1939_unsupported_transport_total", "RTS/CTS transport frames, which a listener cannot take part in.");
    }

    /// <summary>The metrics of a sensor, or null when the driver runs without an agent's metrics (tests, benchmarks).</summary>
    public static J1939Metrics? For(SensorSettings settings, DriverContext context) =>
        context.Metrics is { } metrics ? new J1939Metrics(metrics, context.VehicleId, settings.Id) : null;

    /// <summary>Adds what <paramref name="decoder"/> counted since the last call.</summary>
    public void Publish(J1939Decoder decoder)
    {
        Add(_unknownPgns, ref _publishedUnknown, decoder.UnknownPgns);
        Add(_ignored, ref _publishedIgnored, decoder.NotJ1939 + decoder.IgnoredSources);
        Add(_transportAborted, ref _publishedAborted, decoder.TransportAborted);
        Add(_unsupportedTransport, ref _publishedUnsupported, decoder.UnsupportedTransport);
    }

    private static void Add(Counter.Child counter, ref long published, long current)
    {
        if (current <= published) return;
        counter.Inc(current - published);
        published = current;
    }
}
