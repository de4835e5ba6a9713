using Fleet.Actors.Core.Health;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Alerts;

namespace Fleet.Actors.Devices.Tests.Alerts;

/// <summary>Rule evaluation without actors: durations by the data's timestamps, hysteresis, devices apart, causes with sequences.</summary>
public sealed class RuleEvaluatorTests
{
    private const long T0 = 1_790_000_000_000;

    private static readonly ReadingRule Coolant = new()
    {
        Id = "coolant", Type = "engine-overheat", Severity = AlertSeverity.Critical, Measurement = "coolant_temp",
        Threshold = new Threshold(ThresholdDirection.Above, 105, Hysteresis: 5), For = TimeSpan.FromSeconds(30),
    };

    private readonly List<object> _signals = new();

    /// <summary>Readings of one device at 1 Hz from <paramref name="start"/>, accepted with sequences from <paramref name="firstSequence"/>.</summary>
    private static WalProtocol.ReadingsAccepted Accepted(string device, long start, long firstSequence, params double[] values) =>
        new(values.Select((v, i) => new Reading(device, start + i * 1000L, new MeasurementValue("coolant_temp", v, "°C"))).ToList())
        {
            Sequences = [new WalProtocol.SequenceRun(0, firstSequence)],
        };

    private List<object> Take()
    {
        var taken = _signals.ToList();
        _signals.Clear();
        return taken;
    }

    [Fact]
    public void A_reading_rule_should_raise_only_after_the_condition_held_for_its_duration_and_clear_past_the_hysteresis()
    {
        var rules = new RuleEvaluator([Coolant]);

        // 20 s above, one reading back below (not yet recovered, but the condition broke), then 31 s above.
        rules.Observe(Accepted("obd", T0, 1, Enumerable.Repeat(106.0, 20).Append(104).ToArray()), _signals);
        Assert.Empty(Take());
        rules.Observe(Accepted("obd", T0 + 21_000, 100, Enumerable.Repeat(107.0, 30).ToArray()), _signals);
        Assert.Empty(Take());
        rules.Observe(Accepted("obd", T0 + 51_000, 200, 108.5), _signals);
        var raise = Assert.IsType<AlertsProtocol.Raise>(Assert.Single(Take()));
        Assert.Equal(("engine-overheat", AlertSeverity.Critical, "rule:coolant", "obd", false),
            (raise.Type, raise.Severity, raise.Source, raise.DeviceId, raise.OneShot));
        Assert.Equal("coolant_temp on obd at 108.5, > 105 (clears below 100) for 30s", raise.Message);
        // The reading that started the condition and the one that completed it, with their sequences.
        Assert.Equal([new AlertCause("obd", "coolant_temp", 107, 100, T0 + 21_000), new AlertCause("obd", "coolant_temp", 108.5, 200, T0 + 51_000)], raise.Causes);

        // Within the hysteresis band nothing changes; below 100 it clears.
        rules.Observe(Accepted("obd", T0 + 52_000, 201, 104, 100, 101), _signals);
        Assert.Empty(Take());
        rules.Observe(Accepted("obd", T0 + 55_000, 204, 99.5), _signals);
        var clear = Assert.IsType<AlertsProtocol.Clear>(Assert.Single(Take()));
        Assert.Equal(("engine-overheat", "rule:coolant", "obd"), (clear.Type, clear.Source, clear.DeviceId));
        Assert.Equal(204, clear.Causes![0].Sequence);
    }

    [Fact]
    public void Without_a_device_each_device_should_have_its_own_condition_and_with_one_others_are_ignored()
    {
        var instant = Coolant with { For = TimeSpan.Zero };
        var rules = new RuleEvaluator([instant, instant with { Id = "front-only", Device = "obd-front" }]);

        rules.Observe(Accepted("obd-front", T0, 1, 110), _signals);
        rules.Observe(Accepted("obd-rear", T0, 2, 111), _signals);
        var raised = Take().Cast<AlertsProtocol.Raise>().Select(r => (r.Source, r.DeviceId)).ToList();
        Assert.Equal([("rule:coolant", "obd-front"), ("rule:front-only", "obd-front"), ("rule:coolant", "obd-rear")], raised);
    }

    [Fact]
    public void A_health_rule_should_time_its_duration_by_the_samples_and_ignore_unavailable_fields()
    {
        var cpu = new HealthRule
        {
            Id = "cpu", Type = "cpu-high", Field = HealthFields.CpuUsage,
            Threshold = new Threshold(ThresholdDirection.Above, 90, 10), For = TimeSpan.FromMinutes(5),
        };
        var rules = new RuleEvaluator([cpu]);
        HealthSample Sample(long at, double? value) => new(at,
            value is { } v ? new Dictionary<string, double> { [HealthFields.CpuUsage] = v } : new Dictionary<string, double>(),
            value is null ? new Dictionary<string, string> { [HealthFields.CpuUsage] = "sampling failed" } : new Dictionary<string, string>(),
            new Dictionary<string, bool>());

        for (var minute = 0; minute < 5; minute++) rules.Observe(Sample(T0 + minute * 60_000, 95), _signals);
        // A sample that could not read the field neither raises nor breaks the condition.
        rules.Observe(Sample(T0 + 270_000, null), _signals);
        Assert.Empty(Take());
        rules.Observe(Sample(T0 + 300_000, 96), _signals);
        var raise = Assert.IsType<AlertsProtocol.Raise>(Assert.Single(Take()));
        Assert.Null(raise.DeviceId);
        Assert.Equal("cpu_usage at 96, > 90 (clears below 80) for 5m", raise.Message);

        rules.Observe(Sample(T0 + 360_000, 85), _signals);
        Assert.Empty(Take());
        rules.Observe(Sample(T0 + 420_000, 79), _signals);
        Assert.IsType<AlertsProtocol.Clear>(Assert.Single(Take()));
    }

    [Fact]
    public void A_driving_rule_should_raise_a_one_shot_alert_for_events_of_its_type_and_magnitude()
    {
        var brakes = new DrivingEventRule { Id = "brakes", Type = "harsh-brake", Event = "harsh_brake", MinMagnitude = 4.5 };
        var rules = new RuleEvaluator([brakes]);
        HarshDrivingDetected Event(string type, double magnitude) =>
            new("truck", "imu", T0, new DrivingEventValue(type, magnitude, TimeSpan.FromMilliseconds(800)));

        rules.Observe(Event("harsh_brake", 4.4), _signals);
        rules.Observe(Event("harsh_cornering", 6), _signals);
        Assert.Empty(Take());
        rules.Observe(Event("harsh_brake", 6.1), _signals);
        var raise = Assert.IsType<AlertsProtocol.Raise>(Assert.Single(Take()));
        Assert.True(raise.OneShot);
        Assert.Equal(("harsh-brake", "imu"), (raise.Type, raise.DeviceId));
        Assert.Equal("harsh_brake of 6.1 m/s² for 800 ms on imu (at least 4.5 m/s²)", raise.Message);
        Assert.Equal([new AlertCause("imu", "harsh_brake", 6.1, TimestampMs: T0)], raise.Causes);
    }

    [Fact]
    public void A_rule_left_alone_by_a_configuration_change_should_keep_its_condition()
    {
        var rules = new RuleEvaluator([Coolant]);
        rules.Observe(Accepted("obd", T0, 1, Enumerable.Repeat(106.0, 20).ToArray()), _signals);

        var other = new ReadingRule { Id = "oil", Type = "oil-hot", Measurement = "oil_temp", Threshold = new Threshold(ThresholdDirection.Above, 130) };
        var changed = new RuleEvaluator([Coolant, other], rules, [Coolant]);
        changed.Observe(Accepted("obd", T0 + 20_000, 21, Enumerable.Repeat(106.0, 11).ToArray()), _signals);
        // The 20 s pending before the change count: it raises 30 s after the first reading.
        var raise = Assert.IsType<AlertsProtocol.Raise>(Assert.Single(Take()));
        Assert.Equal([T0, T0 + 30_000], raise.Causes!.Select(c => c.TimestampMs!.Value));

        // A changed rule starts from nothing.
        var fresh = new RuleEvaluator([Coolant]);
        fresh.Observe(Accepted("obd", T0, 1, Enumerable.Repeat(106.0, 20).ToArray()), _signals);
        var stricter = new RuleEvaluator([Coolant with { For = TimeSpan.FromSeconds(29) }], fresh, [Coolant]);
        stricter.Observe(Accepted("obd", T0 + 20_000, 21, Enumerable.Repeat(106.0, 11).ToArray()), _signals);
        Assert.Empty(Take());
    }

    [Fact]
    public void Readings_of_a_commit_should_find_their_sequences_across_the_logs_own_records()
    {
        // Three readings, then the log's gap records took 10..11, then two more.
        var accepted = new WalProtocol.ReadingsAccepted(Enumerable.Range(0, 5).Select(i => new Reading("obd", T0, new MeasurementValue("x", i, ""))).ToList())
        {
            Sequences = [new WalProtocol.SequenceRun(0, 7), new WalProtocol.SequenceRun(3, 12)],
        };
        Assert.Equal([7L, 8, 9, 12, 13], Enumerable.Range(0, 5).Select(i => accepted.SequenceOf(i)!.Value));
        Assert.Null(accepted.SequenceOf(5));
        Assert.Null(new WalProtocol.ReadingsAccepted(accepted.Readings).SequenceOf(0));
        Assert.Equal(ValueArray<AlertRule>.Empty, new AlertsSettings().Rules);
    }
}
