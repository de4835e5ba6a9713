using Fleet.Actors.Core.Observability;
using Prometheus;

namespace Fleet.Actors.Devices.Sensors;

/// <summary>Per-sensor metrics (SPEC.md capability 2, label <c>sensor</c>) and the vehicle's active sensor count.</summary>
public sealed class SensorMetrics
{
    /// <summary>The label naming the sensor.</summary>
    public const string SensorLabel = "sensor";

    /// <summary>Creates (or finds) the collectors of one sensor.</summary>
    public SensorMetrics(AgentMetrics metrics, string vehicleId, string sensorId)
    {
        var sensor = metrics.Device(vehicleId, SensorLabel, sensorId);
        ReadSuccess = sensor.Counter("read_success", "Valid readings delivered by the sensor.");
        ReadError = sensor.Counter("read_error", "Malformed frames, invalid values and I/O failures of the sensor.");
        Missed = sensor.Counter("sensor_missed_samples_total", "Samples the driver could not deliver in time.");
        LastSeen = sensor.Gauge("last_seen", "Unix time (s) of the sensor's last valid reading.");
        Down = sensor.Gauge("sensor_down", "1 while the sensor is disconnected or reconnecting.");
        Active = metrics.Gauge("active_sensors_count", "Sensors currently delivering.", vehicleId);
        Restarts = metrics.Counter("restarts_total", "Actor restarts by a supervisor.", vehicleId, "supervisor", "sensors");
    }

    /// <summary>Valid readings delivered.</summary>
    public Counter.Child ReadSuccess { get; }

    /// <summary>Malformed frames, invalid values and I/O failures.</summary>
    public Counter.Child ReadError { get; }

    /// <summary>Samples the driver could not deliver in time.</summary>
    public Counter.Child Missed { get; }

    /// <summary>Unix time (s) of the last valid reading.</summary>
    public Gauge.Child LastSeen { get; }

    /// <summary>1 while the sensor is disconnected or reconnecting.</summary>
    public Gauge.Child Down { get; }

    /// <summary>The vehicle's sensors currently delivering (label <c>vehicle_id</c> only).</summary>
    public Gauge.Child Active { get; }

    /// <summary>Restarts of the vehicle's sensor actors (shared by its sensors; label supervisor=sensors).</summary>
    public Counter.Child Restarts { get; }
}
