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

    // The exact text of each example (key order, escaping, numbers): decode's output is read by scripts.
    private static readonly Dictionary<string, string> Exact = new()
    {
        { "PositionValue", """{"type":"position","lat":52.52,"lon":13.405,"heading":90,"alt":34,"speed":12.5,"accuracy":3}""" },
        { "StatusValue", """{"type":"status","operational_state":"BUSY","energy_level":64.5,"health_score":97,"assist_state":"REQUESTED"}""" },
        { "MeasurementValue", """{"type":"measurement","name":"engine_rpm","value":1800,"unit":"rpm"}""" },
        { "MotionValue", """{"type":"motion","accel_x":1.2,"accel_y":-0.3,"accel_z":9.81,"gyro_x":0.1,"gyro_y":0.2,"gyro_z":0.3}""" },
        { "DrivingEventValue", """{"type":"driving_event","event":"harsh_brake","magnitude":5.2,"duration_ms":400}""" },
        { "GapValue", """{"type":"gap","from_sequence":10,"to_sequence":19,"count":10,"reason":"disk-budget"}""" },
        { "DiagnosticsValue", """{"type":"diagnostics","cpu_usage":12.5,"memory_usage":40,"temperature":55,"network_quality":90}""" },
        { "FaultCodesValue", """{"type":"fault_codes","source":"j1939","source_address":0,"mil":true,"faults":[{"code":"SPN 110 FMI 0","spn":110,"fmi":0,"occurrences":2}]}""" },
        { "TyreValue", """{"type":"tyre","location":18,"pressure_kpa":850,"temperature_c":40}""" },
        { "VehicleInfoValue", """{"type":"vehicle_info","vin":"1HGCM82633A004352","protocol":"ISO 15765-4 (CAN 11/500)"}""" },
        { "AlertValue", """{"type":"alert","name":"oxygen-low","severity":"WARNING","source":"script:aerate","message":"oxygen at 3.1 mg/l","state":"EVENT"}""" },
        { "ScriptRunValue", """{"type":"script_run","script_id":"aerate","trigger":"threshold oxygen \u003C 4","outcome":"completed","reason":"","actions":2,"duration_ms":15}""" },
        { "ScriptWriteValue", """{"type":"script_write","target":"gpio:27","value":1,"outcome":"lost","script_id":"low","priority":0,"other_script_id":"high","other_priority":100,"other_value":0}""" },
        { "MessageValue", """{"type":"message","topic":"pond/events","payload":"{\u0022pump\u0022:\u0022on\u0022}"}""" },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_kind_should_be_written_exactly_as_decode_prints_it(string record, ReadingValue value)
    {
        Assert.StartsWith($"{{\"type\":\"{record}\",", Exact[value.GetType().Name]);
        Assert.Equal(Exact[value.GetType().Name], ReadingJson.Format(value));
    }

    [Fact]
    public void Context_fields_should_come_first_and_a_heartbeat_and_causes_should_be_written_exactly()
    {
        var heartbeat = new DiagnosticsValue(12.5, 40, 55, null, null,
            new AgentHealth(0.8, 95_000_000, 6_000_000, 8_000_000_000, 3600, 60, 0.25, 2, 1, ["sensors/obd"], 0, ["temperature"]));
        Assert.Equal("""{"type":"diagnostics","cpu_usage":12.5,"memory_usage":40,"disk_usage":55,"process_cpu_usage":0.8,"process_memory_bytes":95000000,"gc_heap_bytes":6000000,"disk_free_bytes":8000000000,"uptime_seconds":3600,"process_uptime_seconds":60,"load_average":0.25,"devices_up":2,"devices_down":1,"down_devices":["sensors/obd"],"thread_pool_queue":0,"unavailable":["temperature"]}""", ReadingJson.Format(heartbeat));
        var raised = new AlertValue("engine-overheat", AlertSeverity.Critical, "rule:coolant", "hot <&> é", AlertState.Raised, "obd", 2,
            [new AlertCause("obd", "coolant_temp", 106.5, 4711, 1_790_000_000_000, "detail")]);
        Assert.Equal("""{"line":3,"t":120,"type":"alert","name":"engine-overheat","severity":"CRITICAL","source":"rule:coolant","message":"hot \u003C\u0026\u003E \u00E9","state":"RAISED","device_id":"obd","suppressed":2,"causes":[{"device_id":"obd","name":"coolant_temp","value":106.5,"sequence":4711,"timestamp":1790000000000,"detail":"detail"}]}""",
            ReadingJson.Format(raised, json =>
            {
                json.WriteNumber("line", 3);
                json.WriteNumber("t", 120);
            }));
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
