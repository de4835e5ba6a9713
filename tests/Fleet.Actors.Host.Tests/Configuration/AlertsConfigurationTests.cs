using Fleet.Actors.Core.Health;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Alerts;
using Fleet.Actors.Host.Configuration;
using Fleet.Actors.Host.Tests.Support;
using Fleet.Actors.Testing;

namespace Fleet.Actors.Host.Tests.Configuration;

/// <summary>
/// <c>fleet.alerts</c> through <see cref="AgentConfiguration.Load"/>: rules and outputs reach
/// <c>VehicleSettings.Alerts</c>, and every bad value is one problem naming the overlay and the full key.
/// </summary>
public sealed class AlertsConfigurationTests : IDisposable
{
    private const string Lines = "fleet.gpio.lines = [ { id = buzzer, pin = 27, direction = output }, { id = door, pin = 17 } ]\n";
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Shipped_files_should_watch_the_coolant_only_which_the_simulated_truck_never_overheats()
    {
        var alerts = _folder.Load().Vehicle.Alerts;
        Assert.Equal(TimeSpan.FromSeconds(10), alerts.Debounce);
        var rule = Assert.IsType<ReadingRule>(Assert.Single(alerts.Rules));
        // Any device that reports coolant_temp (OBD-II, J1939), each with its own alert.
        Assert.Equal(("coolant-hot", "engine-overheat", AlertSeverity.Critical, (string?)null, "coolant_temp"), (rule.Id, rule.Type, rule.Severity, rule.Device, rule.Measurement));
        Assert.Equal(new Threshold(ThresholdDirection.Above, 105, 5), rule.Threshold);
        Assert.Empty(alerts.Actuation);
        // The high-priority lane is on, on its own topic.
        var uplink = _folder.Load().Vehicle.Uplink;
        Assert.Equal(("fleet/{tenant}/{vehicle_id}/alerts", true, 1000), (uplink.AlertsTopic, uplink.PriorityLane, uplink.PriorityLaneMaxPending));
    }

    [Fact]
    public void Rules_and_outputs_should_be_read_with_their_settings_and_defaults()
    {
        var overlay = _folder.Overlay(Lines + """
            fleet.alerts {
              debounce = 5s
              rules = [
                { id = hot, kind = reading, reading = coolant_temp, device = obd, above = 105, hysteresis = 5, for = 30s, type = engine-overheat, severity = critical, message = "Engine too hot" }
                { id = brakes, kind = driving-event, event = harsh_brake, min-magnitude = 4.5 }
                { id = cpu, kind = health, field = cpu_usage, above = 90, for = 5m }
                { id = gps-down, kind = device-down, device = gps, for = 1m, severity = info }
                { id = cold, kind = reading, reading = oil_temp, below = -20 }
              ]
              actuation = [
                { line = buzzer, pattern = blink, on = 200ms, off = 300ms, duration = 3s, min-severity = warning, types = [ harsh-brake ], priority = critical }
                { line = buzzer }
              ]
            }
            """);

        var alerts = _folder.Load(overlay).Vehicle.Alerts;

        Assert.Equal(TimeSpan.FromSeconds(5), alerts.Debounce);
        Assert.Equal(ValueArray.Of<AlertRule>(
            new ReadingRule
            {
                Id = "hot", Type = "engine-overheat", Severity = AlertSeverity.Critical, Device = "obd", Message = "Engine too hot", Measurement = "coolant_temp",
                Threshold = new Threshold(ThresholdDirection.Above, 105, 5), For = TimeSpan.FromSeconds(30),
            },
            new DrivingEventRule { Id = "brakes", Type = "brakes", Event = "harsh_brake", MinMagnitude = 4.5 },
            new HealthRule { Id = "cpu", Type = "cpu", Field = HealthFields.CpuUsage, Threshold = new Threshold(ThresholdDirection.Above, 90), For = TimeSpan.FromMinutes(5) },
            new DeviceDownRule { Id = "gps-down", Type = "gps-down", Device = "gps", Severity = AlertSeverity.Info, For = TimeSpan.FromMinutes(1) },
            new ReadingRule { Id = "cold", Type = "cold", Measurement = "oil_temp", Threshold = new Threshold(ThresholdDirection.Below, -20) }), alerts.Rules);
        Assert.Equal(ValueArray.Of(
            new ActuationSettings
            {
                Line = "buzzer", Pin = 27, Pattern = ActuationPattern.Blink, On = TimeSpan.FromMilliseconds(200), Off = TimeSpan.FromMilliseconds(300),
                Duration = TimeSpan.FromSeconds(3), MinSeverity = AlertSeverity.Warning, Types = ValueArray.Of("harsh-brake"), Priority = 200,
            },
            new ActuationSettings { Line = "buzzer", Pin = 27 }), alerts.Actuation);
        Assert.Equal((AlertSeverity.Critical, ActuationPattern.Steady, TimeSpan.FromSeconds(5), 100),
            (alerts.Actuation[1].MinSeverity, alerts.Actuation[1].Pattern, alerts.Actuation[1].Duration, alerts.Actuation[1].Priority));
        Assert.Equal(TimeSpan.FromSeconds(30), new DeviceDownRule { Id = "x", Type = "x" }.For);
    }

    [Fact]
    public void The_example_of_the_alerts_document_should_be_a_valid_configuration()
    {
        var example = DocumentedExamples.CodeBlock("docs/alerts.md", "## Configuration (`fleet.alerts`)", "hocon");
        Assert.NotNull(example);

        var alerts = _folder.Load(_folder.Overlay("fleet {\n" + example + "}\n")).Vehicle.Alerts;

        Assert.Equal(["coolant-hot", "harsh-brake", "cpu-high", "disk-full", "gps-down"], alerts.Rules.Select(r => r.Id));
        Assert.Equal(["buzzer", "led"], alerts.Actuation.Select(a => a.Line));
    }

    public static TheoryData<string, string, string> BadValues => new()
    {
        { "fleet.alerts.debounce = 2h", "fleet.alerts.debounce", "must be between" },
        { "fleet.alerts.rules = [ { kind = health, field = cpu_usage, above = 90 } ]", "fleet.alerts.rules[0].id", "is required" },
        { "fleet.alerts.rules = [ { id = a } ]", "fleet.alerts.rules[0].kind", "is required: one of reading, driving-event, health, device-down" },
        { "fleet.alerts.rules = [ { id = a, kind = temperature } ]", "fleet.alerts.rules[0].kind", "must be one of reading, driving-event, health, device-down (got \"temperature\")" },
        { "fleet.alerts.rules = [ { id = a, kind = reading, above = 1 } ]", "fleet.alerts.rules[0].reading", "is required: the measurement's name" },
        { "fleet.alerts.rules = [ { id = a, kind = reading, reading = x } ]", "fleet.alerts.rules[0].above", "is required (or below)" },
        { "fleet.alerts.rules = [ { id = a, kind = reading, reading = x, above = 1, below = 0 } ]", "fleet.alerts.rules[0].below", "give either above or below, not both" },
        { "fleet.alerts.rules = [ { id = a, kind = reading, reading = x, above = hot } ]", "fleet.alerts.rules[0].above", "must be a number (got \"hot\")" },
        { "fleet.alerts.rules = [ { id = a, kind = reading, reading = x, above = 1, hysteresis = -1 } ]", "fleet.alerts.rules[0].hysteresis", "must be between 0" },
        { "fleet.alerts.rules = [ { id = a, kind = reading, reading = x, above = 1, for = soon } ]", "fleet.alerts.rules[0].for", "must be a duration" },
        { "fleet.alerts.rules = [ { id = a, kind = reading, reading = x, above = 1, device = obdd } ]", "fleet.alerts.rules[0].device", "no device \"obdd\" is configured (fleet.sensors, fleet.plcs, fleet.gpio.lines)" },
        { "fleet.alerts.rules = [ { id = a, kind = reading, reading = x, above = 1, event = harsh_brake } ]", "fleet.alerts.rules[0].event", "does not apply to a reading rule" },
        { "fleet.alerts.rules = [ { id = a, kind = reading, reading = x, above = 1, severity = fatal } ]", "fleet.alerts.rules[0].severity", "must be info, warning or critical (got \"fatal\")" },
        { "fleet.alerts.rules = [ { id = a, kind = reading, reading = x, above = 1, type = \"engine hot\" } ]", "fleet.alerts.rules[0].type", "must be 1 to 64 letters" },
        { "fleet.alerts.rules = [ { id = a, kind = driving-event, event = pothole } ]", "fleet.alerts.rules[0].event", "must be one of harsh_brake, harsh_acceleration, harsh_cornering (got \"pothole\")" },
        { "fleet.alerts.rules = [ { id = a, kind = driving-event, event = harsh_brake, for = 1s } ]", "fleet.alerts.rules[0].for", "does not apply to a driving-event rule" },
        { "fleet.alerts.rules = [ { id = a, kind = driving-event, event = harsh_brake, device = door } ]", "fleet.alerts.rules[0].device", "no device \"door\" is configured (fleet.sensors)" },
        { "fleet.alerts.rules = [ { id = a, kind = health, field = cpu, above = 90 } ]", "fleet.alerts.rules[0].field", "must be one of cpu_usage, " },
        { "fleet.alerts.rules = [ { id = a, kind = health, field = cpu_usage, above = 90, device = gps } ]", "fleet.alerts.rules[0].device", "does not apply to a health rule" },
        { "fleet.alerts.rules = [ { id = a, kind = device-down, above = 3 } ]", "fleet.alerts.rules[0].above", "does not apply to a device-down rule" },
        { "fleet.alerts.rules = [ { id = a, kind = device-down, for = 2d } ]", "fleet.alerts.rules[0].for", "must be between" },
        { "fleet.alerts.rules = [ { id = a, kind = device-down, sevrity = info } ]", "fleet.alerts.rules[0].sevrity", "is not a known setting (misspelt?)" },
        {
            "fleet.alerts.rules = [ { id = a, kind = device-down }, { id = a, kind = device-down } ]",
            "fleet.alerts.rules", "rule id \"a\" is used more than once"
        },
        { "fleet.alerts.actuation = [ { pattern = steady } ]", "fleet.alerts.actuation[0].line", "is required: the id of a configured GPIO output line" },
        { "fleet.alerts.actuation = [ { line = horn } ]", "fleet.alerts.actuation[0].line", "no GPIO line \"horn\" is configured (fleet.gpio.lines)" },
        { "fleet.alerts.actuation = [ { line = door } ]", "fleet.alerts.actuation[0].line", "\"door\" is an input line; only outputs can be driven" },
        { "fleet.alerts.actuation = [ { line = buzzer, on = 1s } ]", "fleet.alerts.actuation[0].on", "applies to pattern = blink only" },
        { "fleet.alerts.actuation = [ { line = buzzer, pattern = siren } ]", "fleet.alerts.actuation[0].pattern", "must be one of steady, blink (got \"siren\")" },
        { "fleet.alerts.actuation = [ { line = buzzer, pattern = blink, off = 1ms } ]", "fleet.alerts.actuation[0].off", "must be between" },
        { "fleet.alerts.actuation = [ { line = buzzer, duration = 0s } ]", "fleet.alerts.actuation[0].duration", "must be between" },
        { "fleet.alerts.actuation = [ { line = buzzer, priority = urgent } ]", "fleet.alerts.actuation[0].priority", "must be low, normal, high, critical, emergency or a number from 0 to 255 (got \"urgent\")" },
        { "fleet.alerts.actuation = [ { line = buzzer, types = harsh-brake } ]", "fleet.alerts.actuation[0].types", "must be a list of alert types" },
        { "fleet.alerts.actuation = [ { line = buzzer, min-severity = loud } ]", "fleet.alerts.actuation[0].min-severity", "must be info, warning or critical" },
        { "fleet.alerts.colour = red", "fleet.alerts.colour", "is not a known setting" },
        { "fleet.uplink.topics.alerts = \"fleet/{tenant}/{vehicle_id}/telemetry\"", "fleet.uplink.topics.alerts", "must differ from topics.telemetry" },
        { "fleet.uplink.topics.alerts = \"fleet/#\"", "fleet.uplink.topics.alerts", "must not contain MQTT wildcards" },
        { "fleet.uplink.priority-lane.max-pending = 0", "fleet.uplink.priority-lane.max-pending", "must be between 1 and 1000000" },
        { "fleet.uplink.priority-lane.enabled = sometimes", "fleet.uplink.priority-lane.enabled", "must be on or off" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void Bad_alerts_value_should_name_the_overlay_the_full_key_and_the_problem(string hocon, string key, string problem)
    {
        var overlay = _folder.Overlay(Lines + hocon + "\n", "bad.conf");

        var ex = _folder.LoadFails(overlay);

        var line = Assert.Single(ex.Problems);
        Assert.StartsWith($"{overlay}: {key}: ", line, StringComparison.Ordinal);
        Assert.Contains(problem, line, StringComparison.Ordinal);
    }
}
