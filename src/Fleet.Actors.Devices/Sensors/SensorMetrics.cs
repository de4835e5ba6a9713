using Fleet.Actors.Core.Observability;
using Prometheus;

namespace Fleet.Actors.Devices.Sensors;

/// <summary>Per-sensor metrics (SPEC.md capability 2) and the vehicle's active sensor count.</summary>
public sealed class SensorMetrics
{
    private const string SensorLabel = "sensor";

    /// <summary>Creates (or finds) the collectors of one sensor.</summary>
    public SensorMetrics(AgentMetrics metrics, string vehicleId, string sensorId)
    {
        ReadSuccess = metrics.Counter("read_success", "Valid readings delivered by the sensor.", vehicleId, SensorLabel, sensorId);
        ReadError = metrics.Counter("read_error", "Malformed frames, invalid values and I/O failures of the sensor.", vehicleId, SensorLabel, sensorId);
        Missed = metrics.Counter("sensor_missed_samples_total", "Samples the driver could not deliver in time.", vehicleId, SensorLabel, sensorId);
        LastSeen = metrics.Gauge("last_seen", "Unix time (s) of the sensor's last valid reading.", vehicleId, SensorLabel, sensorId);
        Down = metrics.Gauge("sensor_down", "1 while the sensor is disconnected or reconnecting.", vehicleId, SensorLabel, sensorId);
        Active = metrics.Gauge("active_sensors_count", "Sensors currently delivering.", vehicleId);
        Restarts = metrics.Counter("restarts_total", "Actor restarts by a supervisor.", vehicleId, "supervisor", "sensors");
    }

    public Counter.Child ReadSuccess { get; }
    public Counter.Child ReadError { get; }
    public Counter.Child Missed { get; }
    public Gauge.Child LastSeen { get; }
    public Gauge.Child Down { get; }
    public Gauge.Child Active { get; }

    /// <summary>Restarts of the vehicle's sensor actors (shared by its sensors; label supervisor=sensors).</summary>
    public Counter.Child Restarts { get; }
}
