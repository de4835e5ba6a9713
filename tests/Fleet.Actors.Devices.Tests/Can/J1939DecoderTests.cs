using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Can;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Tests.Can;

public sealed class J1939DecoderTests
{
    private const byte Engine = 0x00;
    private const byte Brakes = 0x0B;
    private const byte Tpms = 0x33;

    private readonly List<TimedValue> _values = new();
    private readonly List<MalformedFrame> _malformed = new();
    private J1939Decoder _decoder = new();

    private List<ReadingValue> Feed(CanFrame frame, long timestampMs = 1_000)
    {
        _values.Clear();
        _malformed.Clear();
        _decoder.Decode(frame, timestampMs, _values, _malformed);
        Assert.All(_values, v => Assert.Equal(timestampMs, v.TimestampMs));
        return _values.Select(v => v.Value).ToList();
    }

    private List<ReadingValue> Feed(int pgn, byte source, params byte[] data) => Feed(J1939Frames.Single(pgn, source, data));

    /// <summary>Feeds every frame at the given times; returns all values and keeps all malformed frames.</summary>
    private List<ReadingValue> FeedAll(IEnumerable<CanFrame> frames, Func<int, long>? timeOf = null)
    {
        var values = new List<ReadingValue>();
        var malformed = new List<MalformedFrame>();
        var i = 0;
        foreach (var frame in frames)
        {
            values.AddRange(Feed(frame, timeOf?.Invoke(i) ?? 1_000 + i * 50));
            malformed.AddRange(_malformed);
            i++;
        }
        _malformed.Clear();
        _malformed.AddRange(malformed);
        return values;
    }

    private static MeasurementValue M(string name, double value, string unit) => new(name, value, unit);

    [Fact]
    public void EEC1_should_give_engine_speed_and_actual_torque()
    {
        // Byte 3: 0x96 = 150 - 125 = 25 %; bytes 4-5: 0x1368 * 0.125 = 621 rpm.
        var values = Feed(J1939Pgns.Eec1, Engine, 0xF0, 0x7D, 0x96, 0x68, 0x13, 0x00, 0xF0, 0x7D);

        Assert.Equal([M("engine_torque", 25, "%"), M("engine_rpm", 621, "rpm")], values);
        Assert.Empty(_malformed);
    }

    [Fact]
    public void Values_that_are_not_available_or_in_error_should_be_skipped()
    {
        Assert.Empty(Feed(J1939Pgns.Eec1, Engine, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF));
        // Torque 0xFB (reserved), speed 0xFE00 (error indicator).
        Assert.Empty(Feed(J1939Pgns.Eec1, Engine, 0xFF, 0xFF, 0xFB, 0x00, 0xFE, 0xFF, 0xFF, 0xFF));
        // The largest valid values still count: 0xFA - 125 and 0xFAFF * 0.125.
        Assert.Equal([M("engine_torque", 125, "%"), M("engine_rpm", 8031.875, "rpm")],
            Feed(J1939Pgns.Eec1, Engine, 0xFF, 0xFF, 0xFA, 0xFF, 0xFA, 0xFF, 0xFF, 0xFF));
        Assert.Empty(Feed(J1939Pgns.Et1, Engine, 0xFE));
        Assert.Empty(Feed(J1939Pgns.Vd, Engine, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xFB));
        Assert.Empty(Feed(J1939Pgns.Ccvs, Engine, 0xFF, 0x00, 0xFF));
        Assert.Empty(_malformed);
    }

    [Fact]
    public void CCVS_should_give_wheel_based_speed_and_the_parking_brake()
    {
        // Byte 1 bits 3-4 = 01 (brake set); bytes 2-3: 0x5000 / 256 = 80 km/h.
        Assert.Equal([M("vehicle_speed", 80, "km/h"), M("parking_brake", 1, "bool")], Feed(J1939Pgns.Ccvs, Engine, 0xF4, 0x00, 0x50));
        Assert.Equal([M("vehicle_speed", 0.5, "km/h"), M("parking_brake", 0, "bool")], Feed(J1939Pgns.Ccvs, Engine, 0xF0, 0x80, 0x00));
        // 10 (error) and 11 (not available) leave the brake out.
        Assert.Equal([M("vehicle_speed", 80, "km/h")], Feed(J1939Pgns.Ccvs, Engine, 0xF8, 0x00, 0x50));
    }

    [Fact]
    public void ET1_LFE_and_DD_should_scale_coolant_fuel_rate_and_level()
    {
        Assert.Equal([M("coolant_temp", 90, "°C")], Feed(J1939Pgns.Et1, Engine, 0x82, 0xFF));
        Assert.Equal([M("coolant_temp", -40, "°C")], Feed(J1939Pgns.Et1, Engine, 0x00));
        Assert.Equal([M("fuel_rate", 16, "L/h")], Feed(J1939Pgns.Lfe, Engine, 0x40, 0x01));
        Assert.Equal([M("fuel_level", 80, "%")], Feed(J1939Pgns.Dd, 0x17, 0xFF, 0xC8));
    }

    [Fact]
    public void VD_and_HRVD_should_both_give_the_total_distance_in_km()
    {
        // VD bytes 5-8: 0x000F4240 * 0.125 km; HRVD bytes 1-4: 0x02625A00 * 5 m.
        Assert.Equal([M("total_distance", 125_000, "km")], Feed(J1939Pgns.Vd, Engine, 0xFF, 0xFF, 0xFF, 0xFF, 0x40, 0x42, 0x0F, 0x00));
        Assert.Equal([M("total_distance", 200_000, "km")], Feed(J1939Pgns.Hrvd, Engine, 0x00, 0x5A, 0x62, 0x02, 0xFF, 0xFF, 0xFF, 0xFF));
    }

    [Fact]
    public void TIRE_should_give_the_tyre_location_pressure_and_temperature()
    {
        // Location 0x12; 0xC8 * 4 = 800 kPa; 0x2720 * 0.03125 - 273 = 40 °C.
        Assert.Equal([new TyreValue(0x12, 800, 40)], Feed(J1939Pgns.Tire, Tpms, 0x12, 0xC8, 0x20, 0x27, 0xFF, 0xFF, 0xFF, 0xFF));
        Assert.Equal([new TyreValue(0x21, 0, null)], Feed(J1939Pgns.Tire, Tpms, 0x21, 0x00, 0xFF, 0xFF));
        Assert.Equal([new TyreValue(0x21, null, -40)], Feed(J1939Pgns.Tire, Tpms, 0x21, 0xFF, 0x20, 0x1D));
        Assert.Empty(Feed(J1939Pgns.Tire, Tpms, 0x21, 0xFF, 0xFF, 0xFF));
        Assert.Empty(_malformed);
        Assert.Empty(Feed(J1939Pgns.Tire, Tpms, 0xFF, 0xC8, 0x20, 0x27));
    }

    [Fact]
    public void TIRE_with_an_impossible_temperature_should_keep_the_pressure_and_report_the_temperature()
    {
        // 0x9F20 * 0.03125 - 273 = 1000 °C: valid on the bus, impossible for a tyre.
        var values = Feed(J1939Pgns.Tire, Tpms, 0x12, 0xC8, 0x20, 0x9F);

        Assert.Equal([new TyreValue(0x12, 800, null)], values);
        Assert.Contains("1000.0 °C is not plausible", Assert.Single(_malformed).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_short_payload_should_be_malformed()
    {
        Assert.Empty(Feed(new CanFrame(J1939Id.For(J1939Pgns.Eec1, Engine).ToCanId(), true, [0x00, 0x00, 0x00])));
        Assert.Contains("EEC1 (PGN 61444) has 3 data bytes, needs 5", Assert.Single(_malformed).Reason, StringComparison.Ordinal);
        Assert.Empty(Feed(new CanFrame(J1939Id.For(J1939Pgns.Et1, Engine).ToCanId(), true, [])));
        Assert.Contains("needs 1", Assert.Single(_malformed).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void DM1_in_one_frame_should_give_the_fault_the_MIL_and_the_source()
    {
        // MIL on (byte 1 bits 7-8 = 01); SPN 110 FMI 0, conversion method 0, 3 occurrences.
        var values = Feed(J1939Pgns.Dm1, Engine, 0x40, 0xFF, 0x6E, 0x00, 0x00, 0x03, 0xFF, 0xFF);

        var dm1 = Assert.IsType<FaultCodesValue>(Assert.Single(values));
        Assert.Equal(new FaultCodesValue("j1939", [new FaultCode("SPN 110 FMI 0", 110, 0, 3)], true, Engine), dm1);
        Assert.Null(ReadingValidator.Validate(dm1));
    }

    [Fact]
    public void DM1_should_read_all_19_SPN_bits_and_both_conversion_methods()
    {
        // SPN 0x7F000 = 520192: bytes 00 F0, top bits 111 in byte 5 with FMI 31; count not available (0x7F).
        var method0 = Assert.IsType<FaultCodesValue>(Assert.Single(Feed(J1939Pgns.Dm1, Engine, 0x00, 0xFF, 0x00, 0xF0, 0xFF, 0x7F)));
        Assert.Equal(new FaultCode("SPN 520192 FMI 31", 520192, 31, null), Assert.Single(method0.Faults));
        Assert.False(method0.Mil);

        // Version 1 layout (CM = 1): SPN 110 most significant bits first: 0x00, 110 >> 3 = 0x0D, (110 & 7) << 5 = 0xC0.
        var method1 = Assert.IsType<FaultCodesValue>(Assert.Single(Feed(J1939Pgns.Dm1, Brakes, 0xC0, 0xFF, 0x00, 0x0D, 0xC4, 0x81)));
        Assert.Equal(new FaultCode("SPN 110 FMI 4", 110, 4, 1), Assert.Single(method1.Faults));
        Assert.Null(method1.Mil);
    }

    [Fact]
    public void DM1_with_no_active_faults_should_give_an_empty_list()
    {
        var values = Feed(J1939Pgns.Dm1, Engine, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF);

        Assert.Equal([new FaultCodesValue("j1939", [], false, Engine)], values);
    }

    [Fact]
    public void DM1_should_be_emitted_only_when_it_changes_per_source()
    {
        byte[] fault = [0x40, 0xFF, 0x6E, 0x00, 0x00, 0x01, 0xFF, 0xFF];
        Assert.Single(Feed(J1939Pgns.Dm1, Engine, fault));
        Assert.Empty(Feed(J1939Pgns.Dm1, Engine, fault));
        // The same faults from another ECU are news.
        Assert.Single(Feed(J1939Pgns.Dm1, Brakes, fault));
        // A new occurrence count is a change.
        Assert.Single(Feed(J1939Pgns.Dm1, Engine, 0x40, 0xFF, 0x6E, 0x00, 0x00, 0x02, 0xFF, 0xFF));
        // Cleared, then cleared again.
        Assert.Equal([new FaultCodesValue("j1939", [], false, Engine)], Feed(J1939Pgns.Dm1, Engine, 0x00, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF));
        Assert.Empty(Feed(J1939Pgns.Dm1, Engine, 0x00, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF));
        Assert.Equal(2, _decoder.Unchanged);
    }

    private static byte[] Dm1Payload(params (int Spn, int Fmi, int Count)[] faults)
    {
        var payload = new List<byte> { 0x40, 0xFF };
        foreach (var (spn, fmi, count) in faults)
            payload.AddRange([(byte)spn, (byte)(spn >> 8), (byte)(((spn >> 16) << 5) | fmi), (byte)count]);
        return payload.ToArray();
    }

    [Fact]
    public void DM1_over_BAM_should_reassemble_every_packet_and_give_all_faults()
    {
        // Five faults: 2 + 5 * 4 = 22 bytes in 4 packets.
        var payload = Dm1Payload((110, 0, 1), (100, 1, 2), (190, 2, 3), (520192, 31, 4), (3216, 16, 5));
        var frames = J1939Frames.Bam(J1939Pgns.Dm1, Engine, payload);
        Assert.Equal(5, frames.Count);

        var values = FeedAll(frames);

        var dm1 = Assert.IsType<FaultCodesValue>(Assert.Single(values));
        Assert.Equal(["SPN 110 FMI 0", "SPN 100 FMI 1", "SPN 190 FMI 2", "SPN 520192 FMI 31", "SPN 3216 FMI 16"], dm1.Faults.Select(f => f.Code));
        Assert.Equal([1, 2, 3, 4, 5], dm1.Faults.Select(f => f.Occurrences ?? -1));
        Assert.True(dm1.Mil);
        Assert.Equal(Engine, dm1.SourceAddress);
        Assert.Empty(_malformed);
        Assert.Equal(1, _decoder.TransportCompleted);
        Assert.Equal(0, _decoder.UnknownPgns);
    }

    [Fact]
    public void BAM_should_reassemble_transfers_from_several_sources_interleaved()
    {
        var engine = J1939Frames.Bam(J1939Pgns.Dm1, Engine, Dm1Payload((110, 0, 1), (100, 1, 1)));
        var brakes = J1939Frames.Bam(J1939Pgns.Dm1, Brakes, Dm1Payload((1045, 3, 1), (1046, 4, 1), (1047, 5, 1)));
        var interleaved = engine.Zip(brakes).SelectMany(p => new[] { p.Item1, p.Item2 }).Concat(brakes.Skip(engine.Count));

        var values = FeedAll(interleaved).Cast<FaultCodesValue>().ToList();

        Assert.Equal(new[] { (int)Engine, Brakes }, values.Select(v => v.SourceAddress).Order());
        Assert.Equal(5, values.Sum(v => v.Faults.Count));
        Assert.Empty(_malformed);
    }

    [Fact]
    public void BAM_with_a_missing_packet_should_abort_and_count_it_as_malformed()
    {
        var frames = J1939Frames.Bam(J1939Pgns.Dm1, Engine, Dm1Payload((110, 0, 1), (100, 1, 2), (190, 2, 3), (84, 2, 1), (91, 3, 1)));
        var withoutSecond = frames.Where((_, i) => i != 2);

        var values = FeedAll(withoutSecond);

        Assert.Empty(values);
        Assert.Contains("packet 2 missing (got 3)", Assert.Single(_malformed).Reason, StringComparison.Ordinal);
        Assert.Equal(1, _decoder.TransportAborted);
        Assert.Equal(0, _decoder.TransportCompleted);
        // The rest of the transfer has nowhere to go.
        Assert.Equal(1, _decoder.OrphanPackets);
    }

    [Fact]
    public void BAM_with_a_packet_out_of_order_should_abort()
    {
        var frames = J1939Frames.Bam(J1939Pgns.Dm1, Engine, Dm1Payload((110, 0, 1), (100, 1, 2), (190, 2, 3), (84, 2, 1)));
        FeedAll([frames[0], frames[1], frames[2], frames[2], frames[3]]);

        Assert.Contains("packet 2 repeated or out of order (expected 3)", Assert.Single(_malformed).Reason, StringComparison.Ordinal);
        Assert.Equal(1, _decoder.TransportAborted);
    }

    [Fact]
    public void BAM_with_a_gap_longer_than_750_ms_should_time_out()
    {
        var frames = J1939Frames.Bam(J1939Pgns.Dm1, Engine, Dm1Payload((110, 0, 1), (100, 1, 2)));
        // Announcement at 0, packet 1 at 100, packet 2 at 851: 751 ms without a packet.
        long[] times = [0, 100, 851];

        var values = FeedAll(frames, i => times[i]);

        Assert.Empty(values);
        Assert.Contains("no packet for 751 ms (timeout 750 ms), 1 of 2 received", Assert.Single(_malformed).Reason, StringComparison.Ordinal);
        Assert.Equal((1, 1), (_decoder.TransportAborted, _decoder.TransportTimedOut));
    }

    [Fact]
    public void BAM_with_gaps_of_exactly_750_ms_should_complete()
    {
        var frames = J1939Frames.Bam(J1939Pgns.Dm1, Engine, Dm1Payload((110, 0, 1), (100, 1, 2)));
        var values = FeedAll(frames, i => i * 750L);

        Assert.Single(values);
        Assert.Equal(0, _decoder.TransportAborted);
    }

    [Fact]
    public void Any_later_frame_should_expire_a_transfer_that_went_silent()
    {
        var frames = J1939Frames.Bam(J1939Pgns.Dm1, Engine, Dm1Payload((110, 0, 1), (100, 1, 2)));
        Feed(frames[0], 0);
        Feed(frames[1], 10);

        Feed(J1939Pgns.Et1, Brakes, 0x82);

        Assert.Contains("timeout", Assert.Single(_malformed).Reason, StringComparison.Ordinal);
        Assert.Equal(1, _decoder.TransportTimedOut);
    }

    [Fact]
    public void A_new_announcement_should_abandon_the_transfer_in_progress_from_that_source()
    {
        var first = J1939Frames.Bam(J1939Pgns.Dm1, Engine, Dm1Payload((110, 0, 1), (100, 1, 2)));
        var second = J1939Frames.Bam(J1939Pgns.Dm1, Engine, Dm1Payload((190, 2, 3), (84, 2, 1)));

        var values = FeedAll([first[0], first[1], .. second]);

        Assert.Contains("abandoned", Assert.Single(_malformed).Reason, StringComparison.Ordinal);
        Assert.Equal(["SPN 190 FMI 2", "SPN 84 FMI 2"], Assert.IsType<FaultCodesValue>(Assert.Single(values)).Faults.Select(f => f.Code));
    }

    [Theory]
    [InlineData(8, 2, "announces 8 bytes (9..1785)")]
    [InlineData(1786, 255, "announces 1786 bytes (9..1785)")]
    [InlineData(20, 2, "announces 20 bytes in 2 packets (needs 3)")]
    public void Bad_BAM_announcement_should_be_malformed(int size, int packets, string reason)
    {
        var values = Feed(J1939Pgns.TpCm, Engine, 32, (byte)size, (byte)(size >> 8), (byte)packets, 0xFF, 0xCA, 0xFE, 0x00);

        Assert.Empty(values);
        Assert.Contains(reason, Assert.Single(_malformed).Reason, StringComparison.Ordinal);
        Assert.Equal(1, _decoder.TransportAborted);
    }

    [Fact]
    public void Transfers_beyond_the_session_limit_should_be_refused()
    {
        _decoder = new J1939Decoder(new J1939Options { MaxTransportSessions = 2 });
        byte[] payload = Dm1Payload((110, 0, 1), (100, 1, 2));
        foreach (byte source in new byte[] { 1, 2, 3 }) Feed(J1939Frames.Bam(J1939Pgns.Dm1, source, payload)[0]);

        Assert.Contains("refused: 2 transfers already in progress", Assert.Single(_malformed).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void RTS_CTS_transfers_should_be_counted_as_unsupported_and_ignored()
    {
        // RTS (16) from 0x00 to 0x21 for 20 bytes, and a data packet of that conversation.
        Assert.Empty(Feed(J1939Frames.Single(J1939Pgns.TpCm, Engine, [16, 20, 0, 3, 0xFF, 0xCA, 0xFE, 0x00], destination: 0x21)));
        Assert.Empty(Feed(J1939Frames.Single(J1939Pgns.TpDt, Engine, [1, 1, 2, 3, 4, 5, 6, 7], destination: 0x21)));

        Assert.Empty(_malformed);
        Assert.Equal(2, _decoder.UnsupportedTransport);
        Assert.Equal(0, _decoder.TransportAborted);
    }

    [Fact]
    public void Unknown_PGNs_should_be_counted_and_ignored_without_errors()
    {
        Assert.Empty(Feed(0xFF00, Engine, 1, 2, 3, 4, 5, 6, 7, 8));
        Assert.Empty(Feed(59904, Engine, 0xCA, 0xFE, 0x00));
        // Reassembled, but of a PGN nobody decodes (component identification).
        Assert.Empty(FeedAll(J1939Frames.Bam(65259, Engine, "ACME*X100*12345*UNIT1*"u8)));

        Assert.Empty(_malformed);
        Assert.Equal(3, _decoder.UnknownPgns);
    }

    [Fact]
    public void Standard_and_remote_frames_should_be_counted_as_not_J1939()
    {
        Assert.Empty(Feed(new CanFrame(0x123, false, [1, 2, 3])));
        Assert.Empty(Feed(CanFrame.Remote(J1939Id.For(J1939Pgns.Eec1, Engine).ToCanId(), true, 8)));

        Assert.Equal(2, _decoder.NotJ1939);
        Assert.Empty(_malformed);
    }

    [Fact]
    public void Configured_source_addresses_should_be_the_only_ones_decoded()
    {
        _decoder = new J1939Decoder(new J1939Options { SourceAddresses = new HashSet<int> { Engine } });

        Assert.NotEmpty(Feed(J1939Pgns.Et1, Engine, 0x82));
        Assert.Empty(Feed(J1939Pgns.Et1, Brakes, 0x82));
        Assert.Equal(1, _decoder.IgnoredSources);
    }

    [Fact]
    public void Min_interval_should_thin_each_signal_per_source()
    {
        _decoder = new J1939Decoder(new J1939Options { MinInterval = TimeSpan.FromSeconds(1) });
        byte[] eec1 = [0xF0, 0x7D, 0x96, 0x68, 0x13, 0x00, 0xF0, 0x7D];
        var frame = J1939Frames.Single(J1939Pgns.Eec1, Engine, eec1);

        Assert.Equal(2, Feed(frame, 0).Count);
        Assert.Empty(Feed(frame, 500));
        Assert.Equal(2, Feed(J1939Frames.Single(J1939Pgns.Eec1, 0x01, eec1), 500).Count);
        Assert.Equal(2, Feed(frame, 1_000).Count);
        Assert.Equal(2, _decoder.Thinned);
    }

    [Fact]
    public void VIN_over_BAM_should_give_the_vehicle_info()
    {
        var values = FeedAll(J1939Frames.Bam(J1939Pgns.Vi, Engine, "1FUJGLDR5CLBP8834*"u8));

        Assert.Equal([new VehicleInfoValue("1FUJGLDR5CLBP8834", "j1939")], values);
    }

    [Fact]
    public void VIN_with_characters_that_are_not_letters_or_digits_should_be_malformed()
    {
        Assert.Empty(FeedAll(J1939Frames.Bam(J1939Pgns.Vi, Engine, "1FUJ\u0001LDR5CLBP8834*"u8)));
        Assert.Contains("not a letter or digit", Assert.Single(_malformed).Reason, StringComparison.Ordinal);
    }
}
