using System.Text.Json;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Host.Cli;

namespace Fleet.Actors.Host.Tests.Cli;

/// <summary>The one-line JSON form of readings: every kind the agent records has its own, named after its wire record.</summary>
public sealed class ReadingJsonTests
{
    // One example of every kind of reading, with the wire format's record name.
    public static TheoryData<string, ReadingValue> Kinds() => new()
    {
        { "position", new PositionValue(52.52, 13.405, 90, 34, 12.5, 3) },
        { "status", new StatusValue(OperationalState.Busy, 64.5, 97, AssistState.Requested) },
        { "measurement", new MeasurementValue("engine_rpm", 1800, "rpm") },
        { "motion", new MotionValue(1.2, -0.3, 9.81, 0.1, 0.2, 0.3) },
        { "driving_event", new DrivingEventValue("harsh_brake", 5.2, TimeSpan.FromMilliseconds(400)) },
        { "gap", new GapValue(10, 19, 10, "disk-budget") },
        { "diagnostics", new DiagnosticsValue(12.5, 40, null, 55, 90) },
        { "fault_codes", new FaultCodesValue("j1939", [new FaultCode("SPN 110 FMI 0", 110, 0, 2)], true, 0) },
        { "tyre", new TyreValue(0x12, 850, 40) },
        { "vehicle_info", new VehicleInfoValue("1HGCM82633A004352", "ISO 15765-4 (CAN 11/500)") },
        { "alert", new AlertValue("oxygen-low", AlertSeverity.Warning, "script:aerate", "oxygen at 3.1 mg/l") },
        { "script_run", new ScriptRunValue("aerate", "threshold oxygen < 4", "completed", "", 2, 15) },
        { "script_write", new ScriptWriteValue("gpio:27", 1, "lost", "low", 0, "high", 100, 0, null) },
        { "message", new MessageValue("pond/events", "{\"pump\":\"on\"}") },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_kind_should_be_written_under_its_wire_record_name(string record, ReadingValue value)
    {
        var json = JsonDocument.Parse(ReadingJson.Format(value)).RootElement;

        Assert.Equal(record, json.GetProperty("type").GetString());
        Assert.True(json.EnumerateObject().Count() > 1, json.ToString());
    }

    [Fact]
    public void The_examples_should_cover_every_kind_of_reading()
    {
        var kinds = typeof(ReadingValue).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(ReadingValue)) && !t.IsAbstract)
            .Select(t => t.Name)
            .Order();
        var covered = Kinds().Select(row => row[1].GetType().Name).Order();

        Assert.Equal(kinds, covered);
    }

    [Fact]
    public void A_heartbeat_should_be_written_with_the_health_monitors_fields_under_their_wire_names()
    {
        var heartbeat = new DiagnosticsValue(12.5, 40, 55, null, null,
            new AgentHealth(0.8, 95_000_000, 6_000_000, 8_000_000_000, 3600, 60, 0.25, 2, 1, ["sensors/obd"], 0, ["temperature"]));
        var json = JsonDocument.Parse(ReadingJson.Format(heartbeat)).RootElement;

        Assert.Equal(0.8, json.GetProperty("process_cpu_usage").GetDouble());
        Assert.Equal(95_000_000, json.GetProperty("process_memory_bytes").GetInt64());
        Assert.Equal(8_000_000_000, json.GetProperty("disk_free_bytes").GetInt64());
        Assert.Equal(0.25, json.GetProperty("load_average").GetDouble());
        Assert.Equal((2, 1), (json.GetProperty("devices_up").GetInt32(), json.GetProperty("devices_down").GetInt32()));
        Assert.Equal(["sensors/obd"], json.GetProperty("down_devices").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["temperature"], json.GetProperty("unavailable").EnumerateArray().Select(e => e.GetString()));
        Assert.False(json.TryGetProperty("temperature", out _));
    }

    [Fact]
    public void Enumerations_and_optional_fields_should_be_written_as_the_wire_format_spells_them()
    {
        var status = JsonDocument.Parse(ReadingJson.Format(new StatusValue(OperationalState.Maintenance, 12))).RootElement;
        Assert.Equal("MAINTENANCE", status.GetProperty("operational_state").GetString());
        Assert.Equal("NONE", status.GetProperty("assist_state").GetString());
        Assert.False(status.TryGetProperty("health_score", out _));

        var write = JsonDocument.Parse(ReadingJson.Format(new ScriptWriteValue("modbus:plc1:register:40", 7, "write", "fill", 50))).RootElement;
        Assert.Equal(7, write.GetProperty("value").GetInt64());
        Assert.False(write.TryGetProperty("other_script_id", out _));

        var alert = JsonDocument.Parse(ReadingJson.Format(new AlertValue("door", AlertSeverity.Critical, "", ""))).RootElement;
        Assert.Equal("CRITICAL", alert.GetProperty("severity").GetString());
        Assert.Equal("EVENT", alert.GetProperty("state").GetString());
        Assert.False(alert.TryGetProperty("causes", out _));

        var raised = JsonDocument.Parse(ReadingJson.Format(new AlertValue("engine-overheat", AlertSeverity.Critical, "rule:coolant", "hot",
            AlertState.Raised, "obd", 2, [new AlertCause("obd", "coolant_temp", 106.5, 4711, 1_790_000_000_000)]))).RootElement;
        Assert.Equal(("RAISED", "obd", 2), (raised.GetProperty("state").GetString(), raised.GetProperty("device_id").GetString(), raised.GetProperty("suppressed").GetInt32()));
        var cause = Assert.Single(raised.GetProperty("causes").EnumerateArray().ToList());
        Assert.Equal((106.5, 4711L), (cause.GetProperty("value").GetDouble(), cause.GetProperty("sequence").GetInt64()));
    }
}
