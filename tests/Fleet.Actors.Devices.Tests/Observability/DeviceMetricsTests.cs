using Fleet.Actors.Core.Observability;
using Fleet.Actors.Devices.Can;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Plc;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Tests.Observability;

/// <summary>
/// The per-device metrics (sensors, J1939 decoders, GPIO lines, PLCs) as a scraper reads them: names,
/// help texts, types and labels are what docs and dashboards name, so they are pinned here byte for byte.
/// </summary>
public sealed class DeviceMetricsTests
{
    [Fact]
    public async Task Per_device_metrics_should_export_their_documented_names_help_types_and_labels()
    {
        var metrics = new AgentMetrics();
        _ = new SensorMetrics(metrics, "truck-1", "gps");
        _ = new J1939Metrics(metrics, "truck-1", "can");
        _ = new GpioLineMetrics(metrics, "truck-1", "door");
        _ = new PlcMetrics(metrics, "truck-1", "plc1");

        Assert.Equal(Expected, (await metrics.ExportAsync()).TrimEnd('\n'));
    }

    private const string Expected = """
        # HELP read_success Valid readings delivered by the sensor.
        # TYPE read_success counter
        read_success{vehicle_id="truck-1",sensor="gps"} 0
        # HELP read_error Malformed frames, invalid values and I/O failures of the sensor.
        # TYPE read_error counter
        read_error{vehicle_id="truck-1",sensor="gps"} 0
        # HELP sensor_missed_samples_total Samples the driver could not deliver in time.
        # TYPE sensor_missed_samples_total counter
        sensor_missed_samples_total{vehicle_id="truck-1",sensor="gps"} 0
        # HELP last_seen Unix time (s) of the sensor's last valid reading.
        # TYPE last_seen gauge
        last_seen{vehicle_id="truck-1",sensor="gps"} 0
        # HELP sensor_down 1 while the sensor is disconnected or reconnecting.
        # TYPE sensor_down gauge
        sensor_down{vehicle_id="truck-1",sensor="gps"} 0
        # HELP active_sensors_count Sensors currently delivering.
        # TYPE active_sensors_count gauge
        active_sensors_count{vehicle_id="truck-1"} 0
        # HELP restarts_total Actor restarts by a supervisor.
        # TYPE restarts_total counter
        restarts_total{vehicle_id="truck-1",supervisor="sensors"} 0
        # HELP j1939_unknown_pgn_total J1939 messages with a PGN the agent does not decode.
        # TYPE j1939_unknown_pgn_total counter
        j1939_unknown_pgn_total{vehicle_id="truck-1",sensor="can"} 0
        # HELP j1939_ignored_frames_total CAN frames that are not J1939 (11-bit, remote) or come from a source that is not listened to.
        # TYPE j1939_ignored_frames_total counter
        j1939_ignored_frames_total{vehicle_id="truck-1",sensor="can"} 0
        # HELP j1939_transport_aborted_total BAM transfers given up (missing packet, timeout, bad announcement).
        # TYPE j1939_transport_aborted_total counter
        j1939_transport_aborted_total{vehicle_id="truck-1",sensor="can"} 0
        # HELP j1939_unsupported_transport_total RTS/CTS transport frames, which a listener cannot take part in.
        # TYPE j1939_unsupported_transport_total counter
        j1939_unsupported_transport_total{vehicle_id="truck-1",sensor="can"} 0
        # HELP gpio_edges_total Edges of an input accepted after debouncing.
        # TYPE gpio_edges_total counter
        gpio_edges_total{vehicle_id="truck-1",line="door"} 0
        # HELP gpio_bounces_total Edges of an input ignored by the debounce.
        # TYPE gpio_bounces_total counter
        gpio_bounces_total{vehicle_id="truck-1",line="door"} 0
        # HELP gpio_events_dropped_total Edge callbacks dropped because the line actor was too far behind.
        # TYPE gpio_events_dropped_total counter
        gpio_events_dropped_total{vehicle_id="truck-1",line="door"} 0
        # HELP gpio_writes_total Levels written to an output.
        # TYPE gpio_writes_total counter
        gpio_writes_total{vehicle_id="truck-1",line="door"} 0
        # HELP gpio_errors_total Failed opens, reads and writes of the line.
        # TYPE gpio_errors_total counter
        gpio_errors_total{vehicle_id="truck-1",line="door"} 0
        # HELP gpio_line_down 1 while the line is not open (failed or reopening).
        # TYPE gpio_line_down gauge
        gpio_line_down{vehicle_id="truck-1",line="door"} 0
        # HELP plc_polls_total Poll cycles completed.
        # TYPE plc_polls_total counter
        plc_polls_total{vehicle_id="truck-1",plc="plc1"} 0
        # HELP plc_poll_failures_total Poll cycles that failed (timeout, link failure, device exception).
        # TYPE plc_poll_failures_total counter
        plc_poll_failures_total{vehicle_id="truck-1",plc="plc1"} 0
        # HELP plc_polls_skipped_total Poll ticks not acted on: a cycle was still running or the circuit breaker was open.
        # TYPE plc_polls_skipped_total counter
        plc_polls_skipped_total{vehicle_id="truck-1",plc="plc1"} 0
        # HELP plc_breaker_state Circuit breaker: 0 closed, 1 half-open, 2 open.
        # TYPE plc_breaker_state gauge
        plc_breaker_state{vehicle_id="truck-1",plc="plc1"} 0
        # HELP plc_writes_total Writes the device confirmed.
        # TYPE plc_writes_total counter
        plc_writes_total{vehicle_id="truck-1",plc="plc1"} 0
        # HELP plc_write_failures_total Writes that failed or were refused by the open breaker.
        # TYPE plc_write_failures_total counter
        plc_write_failures_total{vehicle_id="truck-1",plc="plc1"} 0
        """;
}
