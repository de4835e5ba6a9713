using Fleet.Actors.Core.Telemetry;
using Wire = Fleet.Actors.Core.Telemetry.Wire;

namespace Fleet.Actors.Core.Tests.Telemetry;

public class BatchCodecTests
{
    private static readonly Reading[] EveryKind =
    [
        new("gps", 1_700_000_000_000, new PositionValue(53.5461234, 9.9663211, 271.25, 12.34, 13.89, 2.5)),
        new("gps", 1_700_000_000_900, new PositionValue(-33.8688197, 151.2092955, 0, null, null, null)),
        new("obd", 1_700_000_001_000, new MeasurementValue("engine_rpm", 1834.5, "rpm")),
        new("imu", 1_700_000_001_010, new MotionValue(-5.234, 0.41, 9.807, 0.5, -0.25, 12.5)),
        new("imu", 1_700_000_001_020, new DrivingEventValue("harsh_brake", 6.1, TimeSpan.FromMilliseconds(850))),
        new("obd", 1_700_000_001_030, new StatusValue(OperationalState.Busy, 63.5, 98, AssistState.None)),
        new("agent", 1_700_000_001_040, new DiagnosticsValue(12.5, 40, 71.25, 55, null)),
        new("wal", 1_700_000_000_500, new GapValue(10, 19, 10, "disk-budget")),
        new("obd", 1_700_000_001_050, new FaultCodesValue("obd2", [new FaultCode("P0301"), new FaultCode("U0100")], Mil: true)),
        new("can", 1_700_000_001_060, new FaultCodesValue("j1939", [new FaultCode("SPN 110 FMI 0", 110, 0, 3)], SourceAddress: 0)),
        new("can", 1_700_000_001_070, new FaultCodesValue("j1939", [], Mil: false, SourceAddress: 3)),
        new("can", 1_700_000_001_080, new TyreValue(0x12, 812, 41.5)),
        new("can", 1_700_000_001_090, new TyreValue(0x00, null, -3)),
        new("obd", 1_700_000_001_100, new VehicleInfoValue("1FTFW1ET5DFC10312", "ISO 15765-4 (CAN 11/500)")),
        new("operations", 1_700_000_001_110, new StatusValue(OperationalState.EmergencyStopped, null)),
    ];

    [Theory]
    [InlineData(PayloadCompression.Zstd)]
    [InlineData(PayloadCompression.None)]
    public void Batch_should_round_trip_every_reading_kind_with_sequences_and_timestamps(PayloadCompression compression)
    {
        var writer = new EntryWriter();
        for (var i = 0; i < EveryKind.Length; i++) writer.Append(100 + i, EveryKind[i]);
        var entry = writer.Seal();

        using var codec = new BatchCodec(compression);
        var (payload, raw) = codec.Encode("truck-7", "acme", [entry]);
        var batch = BatchCodec.Decode(payload, codec.ContentEncoding);

        Assert.Equal("truck-7", batch.VehicleId);
        Assert.Equal("acme", batch.Tenant);
        Assert.Equal(1u, batch.SchemaVersion);
        Assert.Equal(EveryKind.Length, batch.Records.Count);
        Assert.True(raw > entry.Length);
        for (var i = 0; i < EveryKind.Length; i++)
        {
            var record = batch.Records[i];
            Assert.Equal(100 + i, record.Sequence);
            Assert.Equal(EveryKind[i].TimestampMs, record.TimestampMs);
            Assert.Equal(EveryKind[i].DeviceId, record.DeviceId);
        }

        var position = Assert.IsType<PositionValue>(batch.Records[0].Value);
        Assert.Equal(53.5461234, position.Latitude, 7);
        Assert.Equal(9.9663211, position.Longitude, 7);
        Assert.Equal(271.25, position.Heading, 2);
        Assert.Equal(12.34, position.Altitude!.Value, 2);
        Assert.Equal(13.89, position.Speed!.Value, 2);
        Assert.Equal(2.5, position.Accuracy!.Value, 2);
        var bare = Assert.IsType<PositionValue>(batch.Records[1].Value);
        Assert.Null(bare.Altitude);
        Assert.Null(bare.Speed);
        Assert.Equal(EveryKind[2].Value, batch.Records[2].Value);
        var motion = Assert.IsType<MotionValue>(batch.Records[3].Value);
        Assert.Equal(-5.234, motion.AccelX, 3);
        Assert.Equal(12.5, motion.GyroZ!.Value, 2);
        Assert.Equal(EveryKind[4].Value, batch.Records[4].Value);
        var status = Assert.IsType<StatusValue>(batch.Records[5].Value);
        Assert.Equal(OperationalState.Busy, status.State);
        Assert.Equal(63.5, status.EnergyLevel!.Value, 3);
        var diagnostics = Assert.IsType<DiagnosticsValue>(batch.Records[6].Value);
        Assert.Null(diagnostics.NetworkQuality);
        Assert.Equal(EveryKind[7].Value, batch.Records[7].Value);
        for (var i = 8; i <= 10; i++) Assert.Equal(EveryKind[i].Value, batch.Records[i].Value);
        var tyre = Assert.IsType<TyreValue>(batch.Records[11].Value);
        Assert.Equal(0x12, tyre.Location);
        Assert.Equal(812, tyre.Pressure!.Value, 3);
        Assert.Equal(41.5, tyre.Temperature!.Value, 3);
        Assert.Equal(EveryKind[12].Value, batch.Records[12].Value);
        Assert.Equal(EveryKind[13].Value, batch.Records[13].Value);
    }

    // Alerts and script records are exact (no scaled units), so they must come back equal, nulls
    // as nulls and empty strings as empty strings.
    private static readonly Reading[] AlertsAndScripts =
    [
        new("scripts", 1_700_000_002_000, new AlertValue("oxygen-low", AlertSeverity.Critical, "script:cooling", "O₂ 4.2 mg/l in tank 3")),
        new("scripts", 1_700_000_002_001, new AlertValue("door-open", AlertSeverity.Info, "", "")),
        new("scripts", 1_700_000_002_002, new ScriptRunValue("cooling", "threshold water_temp > 28.5", "completed", "3 actions", 3, 512)),
        new("scripts", 1_700_000_001_990, new ScriptRunValue("loop", "alert oxygen-low", "stopped_time_limit", "loop: action 2: ran 00:00:30, limit 00:00:30", 10_000, 30_000)),
        new("scripts", 1_700_000_002_003, new ScriptRunValue("idle", "interval 5s", "rate_limited", "", 0, 0)),
        new("scripts", 1_700_000_002_004, new ScriptWriteValue("gpio:17", 1, "write", "cooling", 50)),
        new("scripts", 1_700_000_002_005, new ScriptWriteValue("modbus:plc1:register:40", 1200, "won", "shutdown", 255, "cooling", 50, 65535)),
        new("scripts", 1_700_000_002_006, new ScriptWriteValue("modbus:plc1:coil:3", 0, "lost", "cooling", 0, "shutdown", 0, 0)),
        new("scripts", 1_700_000_002_007, new ScriptWriteValue("modbus:plc1:register:41", -7, "failed", "cooling", 50, Error: "Modbus exception 2 (illegal data address)")),
        new("scripts", 1_700_000_002_008, new ScriptWriteValue("gpio:4", long.MaxValue, "refused", "x", 100, OtherScriptId: "", OtherValue: long.MinValue, Error: "")),
        new("scripts", 1_700_000_002_009, new MessageValue("pumps/status", "{\"pump\":2,\"state\":\"stopped\",\"note\":\"Überlauf\"}")),
        new("scripts", 1_700_000_002_010, new MessageValue("heartbeat", "")),
        new("alerts", 1_700_000_002_011, new AlertValue("engine-overheat", AlertSeverity.Critical, "rule:coolant", "coolant_temp on obd at 106.5", AlertState.Raised, "obd", 3,
            [new AlertCause("obd", "coolant_temp", 105.2, 4711, 1_700_000_001_000), new AlertCause("obd", "coolant_temp", 106.5, null, null, "")])),
        new("alerts", 1_700_000_002_011, new AlertValue("gps-down", AlertSeverity.Warning, "rule:down", "", AlertState.Cleared, "",
            Causes: [new AlertCause("", "down", Detail: "no fix")])),
    ];

    [Theory]
    [InlineData(PayloadCompression.Zstd)]
    [InlineData(PayloadCompression.None)]
    public void Batch_should_round_trip_alerts_and_script_records_exactly(PayloadCompression compression)
    {
        var writer = new EntryWriter();
        for (var i = 0; i < AlertsAndScripts.Length; i++) writer.Append(500 + i, AlertsAndScripts[i]);
        using var codec = new BatchCodec(compression);
        var batch = BatchCodec.Decode(codec.Encode("boat-3", "acme", [writer.Seal()]).Payload, codec.ContentEncoding);

        Assert.Equal(AlertsAndScripts.Length, batch.Records.Count);
        for (var i = 0; i < AlertsAndScripts.Length; i++)
        {
            var record = batch.Records[i];
            Assert.Equal(500 + i, record.Sequence);
            Assert.Equal(AlertsAndScripts[i].TimestampMs, record.TimestampMs);
            Assert.Equal(AlertsAndScripts[i].DeviceId, record.DeviceId);
            Assert.Equal(AlertsAndScripts[i].Value, record.Value);
        }
        var bare = Assert.IsType<ScriptWriteValue>(batch.Records[5].Value);
        Assert.Null(bare.OtherScriptId);
        Assert.Null(bare.OtherPriority);
        Assert.Null(bare.OtherValue);
        Assert.Null(bare.Error);
        var empty = Assert.IsType<ScriptWriteValue>(batch.Records[9].Value);
        Assert.Equal("", empty.OtherScriptId);
        Assert.Null(empty.OtherPriority);
        Assert.Equal("", empty.Error);
    }

    [Theory]
    [InlineData("alert", 20, "Alert")]
    [InlineData("script_run", 21, "ScriptRun")]
    [InlineData("script_write", 22, "ScriptWrite")]
    [InlineData("message", 23, "ScriptMessage")]
    public void Record_oneof_should_keep_the_published_field_numbers(string field, int number, string message)
    {
        var descriptor = Wire.Record.Descriptor.FindFieldByName(field);
        Assert.NotNull(descriptor);
        Assert.Equal(number, descriptor.FieldNumber);
        Assert.Equal("value", descriptor.ContainingOneof?.Name);
        Assert.Equal($"fleet.telemetry.v1.{message}", descriptor.MessageType.FullName);
    }

    [Fact]
    public void Alert_severity_should_map_to_the_wire_enum_by_value()
    {
        Assert.Equal(
            Enum.GetValues<Wire.AlertSeverity>().Select(v => ((int)v, v.ToString())),
            Enum.GetValues<AlertSeverity>().Select(v => ((int)v, v.ToString())));
    }

    [Fact]
    public void Entries_should_concatenate_into_one_batch_in_order()
    {
        var writer = new EntryWriter();
        var entries = new List<ReadOnlyMemory<byte>>();
        long sequence = 1;
        for (var e = 0; e < 3; e++)
        {
            for (var i = 0; i < 4; i++, sequence++)
                writer.Append(sequence, new Reading("obd", 1000 + sequence * 7, new MeasurementValue("x", sequence, "u")));
            entries.Add(writer.Seal());
        }
        using var codec = new BatchCodec();
        var batch = BatchCodec.Decode(codec.Encode("v", "t", entries).Payload, "zstd");

        Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), batch.Records.Select(r => r.Sequence));
        Assert.Equal(Enumerable.Range(1, 12).Select(i => 1000 + i * 7L), batch.Records.Select(r => r.TimestampMs));
    }

    [Fact]
    public void Entry_writer_should_refuse_a_sequence_that_does_not_follow()
    {
        var writer = new EntryWriter();
        writer.Append(5, new Reading("a", 1, new MeasurementValue("x", 1, "u")));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Append(7, new Reading("a", 2, new MeasurementValue("x", 1, "u"))));
        Assert.Equal(1, writer.Count);
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("identity")]
    public void Decode_should_refuse_garbage_with_invalid_data(string encoding)
    {
        var garbage = new byte[] { 0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x58, 0xFF, 0xFF, 0x01, 0x02 };
        Assert.Throws<InvalidDataException>(() => BatchCodec.Decode(garbage, encoding));
    }

    [Fact]
    public void Decode_should_refuse_an_unknown_content_encoding() =>
        Assert.Throws<InvalidDataException>(() => BatchCodec.Decode([1, 2, 3], "gzip"));

    [Fact]
    public void Typical_telemetry_should_compress_well_when_batched()
    {
        var writer = new EntryWriter();
        for (var i = 0; i < 1000; i++)
        {
            var value = i % 8 == 0
                ? (ReadingValue)new PositionValue(53.54 + i * 1e-6, 9.96 + i * 1e-6, 90 + i % 3, 12, 13.9, 2.5)
                : new MeasurementValue("engine_rpm", 1400 + i % 50, "rpm");
            writer.Append(i + 1, new Reading(i % 8 == 0 ? "gps" : "obd", 1_700_000_000_000 + i * 125, value));
        }
        var entry = writer.Seal();
        using var codec = new BatchCodec();
        var (payload, raw) = codec.Encode("truck-001", "acme", [entry]);

        Assert.True(payload.Length < raw / 3, $"zstd gave {payload.Length} of {raw} bytes");
    }
}
