using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Obd;

namespace Fleet.Actors.Devices.Tests.Obd;

/// <summary><see cref="ObdDecoder"/>: SAE J1979 formulas, bitmaps, VIN, trouble codes, with known values.</summary>
public sealed class ObdDecoderTests
{
    private static ElmResponse Answer(string text, string command, ElmFraming framing = ElmFraming.Auto) =>
        ElmResponse.Parse(text + "\r\r", command, framing);

    private static MeasurementValue Measure(byte pid, string answer)
    {
        var obdPid = ObdPids.ByNumber(pid)!;
        Assert.True(ObdDecoder.TryDecodePid(obdPid, Answer(answer, obdPid.Command), out var values, out var problem), problem);
        return Assert.Single(values);
    }

    [Theory]
    [InlineData(0x0C, "41 0C 1A F8", "engine_rpm", 1726, "rpm")]
    [InlineData(0x0C, "41 0C 00 00", "engine_rpm", 0, "rpm")]
    [InlineData(0x0C, "41 0C FF FF", "engine_rpm", 16383.75, "rpm")]
    [InlineData(0x05, "41 05 7B", "coolant_temp", 83, "°C")]
    [InlineData(0x05, "41 05 00", "coolant_temp", -40, "°C")]
    [InlineData(0x04, "41 04 FF", "engine_load", 100, "%")]
    [InlineData(0x04, "41 04 80", "engine_load", 50.2, "%")]
    [InlineData(0x0D, "41 0D 3C", "vehicle_speed", 60, "km/h")]
    [InlineData(0x0F, "41 0F 46", "intake_air_temp", 30, "°C")]
    [InlineData(0x10, "41 10 01 F4", "maf_rate", 5, "g/s")]
    [InlineData(0x10, "41 10 FF FF", "maf_rate", 655.35, "g/s")]
    [InlineData(0x11, "41 11 33", "throttle_position", 20, "%")]
    [InlineData(0x1F, "41 1F 0E 10", "run_time", 3600, "s")]
    [InlineData(0x21, "41 21 00 64", "distance_with_mil", 100, "km")]
    [InlineData(0x2F, "41 2F 7F", "fuel_level", 49.8, "%")]
    [InlineData(0x5E, "41 5E 00 C8", "fuel_rate", 10, "L/h")]
    [InlineData(0x5E, "41 5E 01 2D", "fuel_rate", 15.05, "L/h")]
    public void TryDecodePid_should_apply_the_SAE_J1979_formula(byte pid, string answer, string name, double value, string unit)
    {
        Assert.Equal(new MeasurementValue(name, value, unit), Measure(pid, answer));
    }

    [Fact]
    public void Measurement_names_and_units_should_be_those_of_the_simulated_OBD_sensor()
    {
        // The same names and units as sim-obd, so dashboards and rules work for both.
        var expected = new Dictionary<string, string>
        {
            ["engine_rpm"] = "rpm", ["vehicle_speed"] = "km/h", ["coolant_temp"] = "°C", ["engine_load"] = "%",
            ["throttle_position"] = "%", ["fuel_rate"] = "L/h", ["fuel_level"] = "%",
        };
        foreach (var (name, unit) in expected)
        {
            Assert.True(ObdPids.TryParse(name, out var pid), name);
            Assert.Equal(unit, pid.Unit);
        }
    }

    [Fact]
    public void TryDecodePid_should_take_the_first_ECU_that_answered_the_PID()
    {
        var pid = ObdPids.EngineRpm;
        var response = Answer("7E9 03 7F 01 12\r7E8 04 41 0C 1A F8", pid.Command, ElmFraming.Can11);
        Assert.True(ObdDecoder.TryDecodePid(pid, response, out var values, out _));
        Assert.Equal(1726, Assert.Single(values).Value);
    }

    [Theory]
    [InlineData("NO DATA", "NO DATA")]
    [InlineData("41 0C 1A", "answer too short")]
    [InlineData("41 0D 1A F8", "does not match")]
    [InlineData("7F 01 12", "negative response 12 (sub-function not supported)")]
    public void TryDecodePid_should_say_why_it_could_not_decode(string answer, string reason)
    {
        Assert.False(ObdDecoder.TryDecodePid(ObdPids.EngineRpm, Answer(answer, "010C"), out var values, out var problem));
        Assert.Empty(values);
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Monitor_status_should_give_the_MIL_and_the_count_over_every_ECU()
    {
        Assert.True(ObdDecoder.TryMonitorStatus(Answer("41 01 83 07 65 04", "0101"), out var on, out _));
        Assert.Equal(new MonitorStatus(true, 3), on);
        Assert.True(ObdDecoder.TryMonitorStatus(Answer("41 01 00 07 65 04", "0101"), out var off, out _));
        Assert.Equal(new MonitorStatus(false, 0), off);
        Assert.True(ObdDecoder.TryMonitorStatus(Answer("41 01 02 07 65 04\r41 01 81 00 00 00", "0101"), out var both, out _));
        Assert.Equal(new MonitorStatus(true, 3), both);

        Assert.True(ObdDecoder.TryDecodePid(ObdPids.MonitorStatus, Answer("41 01 83 07 65 04", "0101"), out var values, out _));
        Assert.Equal([new MeasurementValue("mil_on", 1, "bool"), new MeasurementValue("dtc_count", 3, "count")], values);
    }

    [Fact]
    public void Supported_PIDs_should_be_the_exact_set_of_the_bitmap()
    {
        Assert.True(ObdDecoder.TrySupportedPids(0x00, Answer("41 00 BE 1F A8 13", "0100"), out var pids, out _));
        Assert.Equal(
            new byte[] { 0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x13, 0x15, 0x1C, 0x1F, 0x20 },
            pids.ToArray());
    }

    [Fact]
    public void Supported_PIDs_of_a_later_range_should_be_offset_and_joined_over_ECUs()
    {
        Assert.True(ObdDecoder.TrySupportedPids(0x40, Answer("41 40 40 00 00 00\r41 40 00 00 00 04", "0140"), out var pids, out _));
        Assert.Equal(new byte[] { 0x42, 0x5E }, pids.ToArray());
        // Bit 1 of the last byte says whether the next range may be asked for.
        Assert.DoesNotContain((byte)0x60, pids);
    }

    [Fact]
    public void VIN_should_decode_from_a_CAN_multi_frame_answer()
    {
        var response = Answer("014\r0: 49 02 01 31 46 54\r1: 46 57 31 45 54 35 44\r2: 46 41 31 32 33 34 35", "0902");
        Assert.True(ObdDecoder.TryVin(response, out var vin, out var problem), problem);
        Assert.Equal("1FTFW1ET5DFA12345", vin);
    }

    [Fact]
    public void VIN_should_decode_from_numbered_legacy_messages_in_any_order()
    {
        var text = "49 02 01 00 00 00 31\r49 02 03 57 31 45 54\r49 02 02 46 54 46 35\r49 02 04 35 44 46 41\r49 02 05 31 32 33 34";
        Assert.True(ObdDecoder.TryVin(Answer(text, "0902"), out var vin, out var problem), problem);
        Assert.Equal("1FTF5W1ET5DFA1234", vin);
    }

    [Fact]
    public void VIN_should_decode_from_legacy_messages_with_headers()
    {
        var text = string.Join("\r", new[] { "00 00 00 31", "46 54 46 57", "31 45 54 35", "44 46 41 31", "32 33 34 35" }
            .Select((part, i) => $"48 6B 10 49 02 0{i + 1} {part} 00"));
        Assert.True(ObdDecoder.TryVin(Answer(text, "0902", ElmFraming.Legacy), out var vin, out var problem), problem);
        Assert.Equal("1FTFW1ET5DFA12345", vin);
    }

    [Theory]
    [InlineData("49 02 01 31 46 54 46 57", "not 17")]
    [InlineData("NO DATA", "NO DATA")]
    [InlineData("00B\r0: 49 02 01 31 46 54\r1: 46 57 01 02 03", "not printable")]
    public void VIN_should_say_why_it_is_not_one(string answer, string reason)
    {
        Assert.False(ObdDecoder.TryVin(Answer(answer, "0902"), out _, out var problem));
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Trouble_codes_should_decode_from_a_legacy_answer_without_the_padding()
    {
        Assert.True(ObdDecoder.TryTroubleCodes(Answer("43 01 33 00 00 00 00", "03"), isCan: false, out var faults, out _));
        Assert.Equal([new FaultCode("P0133")], faults);
    }

    [Fact]
    public void Trouble_codes_should_decode_from_a_CAN_answer_with_its_count_byte()
    {
        Assert.True(ObdDecoder.TryTroubleCodes(Answer("43 02 01 33 02 20", "03"), isCan: true, out var faults, out _));
        Assert.Equal([new FaultCode("P0133"), new FaultCode("P0220")], faults);
        // Without knowing the protocol the count byte is recognised by the odd length.
        Assert.True(ObdDecoder.TryTroubleCodes(Answer("43 02 01 33 02 20", "03"), isCan: null, out var guessed, out _));
        Assert.Equal(faults, guessed);
    }

    [Fact]
    public void Trouble_codes_should_carry_all_four_letters()
    {
        Assert.True(ObdDecoder.TryTroubleCodes(Answer("43 41 23 81 00 C1 58\r43 3F FF 00 00 00 00", "03"), isCan: false, out var faults, out _));
        Assert.Equal(["C0123", "B0100", "U0158", "P3FFF"], faults.Select(f => f.Code));
    }

    [Fact]
    public void Trouble_codes_should_join_ECUs_and_drop_duplicates()
    {
        var text = "7E8 04 43 01 01 33\r7E9 06 43 02 01 33 C1 58";
        Assert.True(ObdDecoder.TryTroubleCodes(Answer(text, "03", ElmFraming.Can11), isCan: true, out var faults, out _));
        Assert.Equal(["P0133", "U0158"], faults.Select(f => f.Code));
    }

    [Fact]
    public void No_trouble_codes_should_be_an_empty_list_not_a_failure()
    {
        Assert.True(ObdDecoder.TryTroubleCodes(Answer("43 00", "03"), isCan: true, out var can, out _));
        Assert.Empty(can);
        Assert.True(ObdDecoder.TryTroubleCodes(Answer("43 00 00 00 00 00 00", "03"), isCan: false, out var legacy, out _));
        Assert.Empty(legacy);
    }

    [Theory]
    [InlineData(0x01, 0x33, "P0133")]
    [InlineData(0x42, 0x00, "C0200")]
    [InlineData(0x9A, 0xBC, "B1ABC")]
    [InlineData(0xC1, 0x58, "U0158")]
    [InlineData(0xFF, 0xFF, "U3FFF")]
    public void FormatDtc_should_read_letter_digit_and_three_hex_digits(byte high, byte low, string code) =>
        Assert.Equal(code, ObdDecoder.FormatDtc(high, low));

    [Fact]
    public void Clear_should_be_confirmed_only_by_44()
    {
        Assert.True(ObdDecoder.TryClearConfirmed(Answer("44", "04"), out _));
        Assert.False(ObdDecoder.TryClearConfirmed(Answer("7F 04 22", "04"), out var refused));
        Assert.Contains("conditions not correct", refused, StringComparison.Ordinal);
        Assert.False(ObdDecoder.TryClearConfirmed(Answer("NO DATA", "04"), out _));
    }

    [Theory]
    [InlineData("rpm", 0x0C)]
    [InlineData("engine_rpm", 0x0C)]
    [InlineData("ENGINE-RPM", 0x0C)]
    [InlineData("0C", 0x0C)]
    [InlineData("0x5e", 0x5E)]
    [InlineData("fuel_level", 0x2F)]
    [InlineData("mil", 0x01)]
    public void ObdPids_should_be_found_by_name_alias_or_hex(string text, byte number)
    {
        Assert.True(ObdPids.TryParse(text, out var pid));
        Assert.Equal(number, pid.Number);
    }

    [Theory]
    [InlineData("rpms")]
    [InlineData("0x46")]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("100")]
    public void ObdPids_should_not_find_unknown_PIDs(string text) => Assert.False(ObdPids.TryParse(text, out _));
}
