using Fleet.Actors.Devices.Obd;

namespace Fleet.Actors.Devices.Tests.Obd;

/// <summary>
/// <see cref="ElmResponse.Parse"/>: every layout an ELM327 prints (echo, spaces, headers in 11-bit,
/// 29-bit and legacy form, multi-frame, several ECUs) and every error answer as a typed result.
/// </summary>
public sealed class ElmResponseTests
{
    private static string Hex(EcuMessage message) => Convert.ToHexString(message.Data);

    private static EcuMessage Single(string text, string command, ElmFraming framing = ElmFraming.Auto)
    {
        var response = ElmResponse.Parse(text, command, framing);
        Assert.Null(response.Error);
        return Assert.Single(response.Messages);
    }

    [Theory]
    [InlineData("41 0C 1A F8\r\r", "010C")]
    [InlineData("410C1AF8\r\r", "010C")]
    [InlineData("010C\r41 0C 1A F8\r\r", "010C")]
    [InlineData("01 0C\r\n41 0C 1A F8\r\n\r\n", "01 0C")]
    [InlineData("010C\r410C1AF8\r\r>", "010C")]
    [InlineData("\r\n\r\n  41 0C 1A F8  \r\n\r\n", "010C")]
    public void Parse_should_strip_echo_blank_lines_and_spaces_without_headers(string text, string command)
    {
        var message = Single(text, command);
        Assert.Null(message.Ecu);
        Assert.Equal("410C1AF8", Hex(message));
    }

    [Theory]
    [InlineData("7E8 04 41 0C 1A F8", ElmFraming.Can11, "7E8")]
    [InlineData("7E8 04 41 0C 1A F8 00 00 00", ElmFraming.Can11, "7E8")]
    [InlineData("7E804410C1AF8", ElmFraming.Can11, "7E8")]
    [InlineData("7E8 04 41 0C 1A F8", ElmFraming.Auto, "7E8")]
    [InlineData("18DAF110 04 41 0C 1A F8", ElmFraming.Can29, "18DAF110")]
    [InlineData("18 DA F1 10 04 41 0C 1A F8", ElmFraming.Auto, "18DAF110")]
    [InlineData("18DAF11004410C1AF8AAAAAA", ElmFraming.Auto, "18DAF110")]
    [InlineData("48 6B 10 41 0C 1A F8 E4", ElmFraming.Legacy, "10")]
    [InlineData("486B10410C1AF8E4", ElmFraming.Auto, "10")]
    public void Parse_should_take_headers_off_the_data_and_name_the_ECU(string line, ElmFraming framing, string ecu)
    {
        var message = Single(line + "\r\r", "010C", framing);
        Assert.Equal(ecu, message.Ecu);
        Assert.Equal("410C1AF8", Hex(message));
    }

    [Fact]
    public void Parse_should_skip_the_protocol_search_and_say_it_happened()
    {
        var response = ElmResponse.Parse("0100\rSEARCHING...\r41 00 BE 1F B8 10\r\r", "0100");
        Assert.True(response.Searched);
        Assert.Equal("4100BE1FB810", Hex(Assert.Single(response.Messages)));
    }

    [Fact]
    public void Parse_should_skip_a_successful_legacy_bus_init()
    {
        var response = ElmResponse.Parse("BUS INIT: ...OK\r41 00 BE 1F B8 10\r\r", "0100");
        Assert.Null(response.Error);
        Assert.Equal("4100BE1FB810", Hex(Assert.Single(response.Messages)));
    }

    [Fact]
    public void Parse_should_keep_each_ECU_apart_without_headers()
    {
        var response = ElmResponse.Parse("41 00 BE 1F B8 10\r41 00 80 00 00 01\r\r", "0100");
        Assert.Equal(["4100BE1FB810", "410080000001"], response.Messages.Select(Hex));
    }

    [Fact]
    public void Parse_should_keep_each_ECU_apart_with_headers()
    {
        var response = ElmResponse.Parse("7E8 06 41 00 BE 1F B8 10\r7E9 06 41 00 80 00 00 01\r\r", "0100", ElmFraming.Can11);
        Assert.Equal([("7E8", "4100BE1FB810"), ("7E9", "410080000001")], response.Messages.Select(m => (m.Ecu, Hex(m))));
    }

    [Theory]
    [InlineData("014\r0: 49 02 01 31 46 54\r1: 46 57 31 45 54 35 44\r2: 46 41 31 32 33 34 35\r\r")]
    [InlineData("014\r0:490201314654\r1:46573145543544\r2:46413132333435\r\r")]
    [InlineData("0902\r014\r0: 49 02 01 31 46 54\r1: 46 57 31 45 54 35 44\r2: 46 41 31 32 33 34 35 00 00\r\r")]
    public void Parse_should_join_a_headerless_multi_frame_answer_to_its_declared_length(string text)
    {
        var message = Single(text, "0902");
        Assert.Equal("490201" + Convert.ToHexString("1FTFW1ET5DFA12345"u8), Hex(message));
    }

    [Theory]
    [InlineData(ElmFraming.Can11, "7E8 10 14 49 02 01 31 46 54\r7E8 21 46 57 31 45 54 35 44\r7E8 22 46 41 31 32 33 34 35\r\r", "7E8")]
    [InlineData(ElmFraming.Auto, "7E8 10 14 49 02 01 31 46 54\r7E8 21 46 57 31 45 54 35 44\r7E8 22 46 41 31 32 33 34 35\r\r", "7E8")]
    [InlineData(ElmFraming.Can29, "18DAF110 10 14 49 02 01 31 46 54\r18DAF110 21 46 57 31 45 54 35 44\r18DAF110 22 46 41 31 32 33 34 35\r\r", "18DAF110")]
    public void Parse_should_join_first_and_consecutive_frames_with_headers(ElmFraming framing, string text, string ecu)
    {
        var message = Single(text, "0902", framing);
        Assert.Equal(ecu, message.Ecu);
        Assert.Equal("490201" + Convert.ToHexString("1FTFW1ET5DFA12345"u8), Hex(message));
    }

    [Fact]
    public void Parse_should_join_interleaved_multi_frame_answers_of_two_ECUs_separately()
    {
        var text = "7E8 10 0A 49 02 01 41 42 43\r7E9 10 0A 49 02 01 58 59 5A\r7E8 21 44 45 46 47 00 00 00\r7E9 21 31 32 33 34 00 00 00\r\r";
        var response = ElmResponse.Parse(text, "0902", ElmFraming.Can11);
        Assert.Null(response.Error);
        Assert.Equal([("7E8", "49020141424344454647"), ("7E9", "49020158595A31323334")], response.Messages.Select(m => (m.Ecu, Hex(m))));
    }

    [Theory]
    [InlineData("014\r0: 49 02 01 31 46 54\r1: 46 57 31 45 54 35 44\r\r", ElmFraming.Auto)]
    [InlineData("014\r0: 49 02 01 31 46 54\r2: 46 57 31 45 54 35 44\r1: 46 41 31 32 33 34 35\r\r", ElmFraming.Auto)]
    [InlineData("7E8 10 14 49 02 01 31 46 54\r7E8 21 46 57 31 45 54 35 44\r\r", ElmFraming.Can11)]
    [InlineData("7E8 21 46 57 31 45 54 35 44\r\r", ElmFraming.Can11)]
    [InlineData("7E8 10 14 49 02 01 31 46 54\r7E8 23 46 57 31 45 54 35 44\r7E8 22 46 41 31 32 33 34 35\r\r", ElmFraming.Can11)]
    [InlineData("41 0C 1A F\r\r", ElmFraming.Auto)]
    [InlineData("41 0C 1A FG\r\r", ElmFraming.Auto)]
    [InlineData("7E8 07 41 0C 1A F8\r\r", ElmFraming.Can11)]
    [InlineData("\r\r", ElmFraming.Auto)]
    public void Parse_should_report_broken_or_incomplete_data_as_garbled(string text, ElmFraming framing)
    {
        var response = ElmResponse.Parse(text, "0902", framing);
        Assert.Equal(ElmErrorKind.Garbled, response.Error?.Kind);
    }

    [Theory]
    [InlineData("NO DATA", ElmErrorKind.NoData)]
    [InlineData("NODATA", ElmErrorKind.NoData)]
    [InlineData("?", ElmErrorKind.UnknownCommand)]
    [InlineData("UNABLE TO CONNECT", ElmErrorKind.UnableToConnect)]
    [InlineData("SEARCHING...\rUNABLE TO CONNECT", ElmErrorKind.UnableToConnect)]
    [InlineData("CAN ERROR", ElmErrorKind.CanError)]
    [InlineData("BUS ERROR", ElmErrorKind.BusError)]
    [InlineData("BUS INIT: ...ERROR", ElmErrorKind.BusInitError)]
    [InlineData("BUS INIT: ERROR", ElmErrorKind.BusInitError)]
    [InlineData("BUS BUSY", ElmErrorKind.BusBusy)]
    [InlineData("BUFFER FULL", ElmErrorKind.BufferFull)]
    [InlineData("41 0C 1A F8\r41 0C 1A\rBUFFER FULL", ElmErrorKind.BufferFull)]
    [InlineData("STOPPED", ElmErrorKind.Stopped)]
    [InlineData("DATA ERROR", ElmErrorKind.DataError)]
    [InlineData("41 0C 1A F8 <DATA ERROR", ElmErrorKind.LineDataError)]
    [InlineData("<DATA ERROR", ElmErrorKind.LineDataError)]
    [InlineData("7E8 04 41 0C 1A <RX ERROR", ElmErrorKind.ReceiveError)]
    [InlineData("FB ERROR", ElmErrorKind.FeedbackError)]
    [InlineData("LV RESET", ElmErrorKind.LowVoltageReset)]
    [InlineData("ACT ALERT", ElmErrorKind.ActivityAlert)]
    [InlineData("ERR94", ElmErrorKind.InternalError)]
    [InlineData("ERR71", ElmErrorKind.InternalError)]
    [InlineData("\u0000\u00FCELM327 v1.5", ElmErrorKind.Reset)]
    public void Parse_should_type_every_error_answer(string answer, ElmErrorKind kind)
    {
        foreach (var text in new[] { answer + "\r\r", "010C\r" + answer + "\r\r", answer.Replace("\r", "\r\n", StringComparison.Ordinal) + "\r\n\r\n" })
        {
            var response = ElmResponse.Parse(text, "010C");
            Assert.Equal(kind, response.Error?.Kind);
            Assert.False(string.IsNullOrWhiteSpace(response.Error!.Text));
        }
    }

    [Fact]
    public void Parse_should_mark_resets_as_needing_a_new_setup()
    {
        Assert.True(ElmResponse.Parse("LV RESET\r\r", "010C").Error!.IsReset);
        Assert.True(ElmResponse.Parse("ELM327 v1.5\r\r", "010C").Error!.IsReset);
        Assert.False(ElmResponse.Parse("NO DATA\r\r", "010C").Error!.IsReset);
    }

    [Theory]
    [InlineData("ATZ\r\r\rELM327 v1.5\r\r", "ATZ")]
    [InlineData("\r\rELM327 v1.5\r\r", "ATZ")]
    public void Parse_should_find_the_banner_in_the_answer_to_a_reset_without_calling_it_an_error(string text, string command)
    {
        var response = ElmResponse.Parse(text, command);
        Assert.Null(response.Error);
        Assert.Equal("ELM327 v1.5", response.Banner);
    }

    [Theory]
    [InlineData("ATE0\rOK\r\r", "ATE0", true)]
    [InlineData("OK\r\r", "ATH1", true)]
    [InlineData("?\r\r", "ATS0", false)]
    [InlineData("12.6V\r\r", "ATRV", false)]
    public void Parse_should_read_AT_answers_as_words(string text, string command, bool ok)
    {
        var response = ElmResponse.Parse(text, command);
        Assert.Equal(ok, response.IsOk);
        Assert.Empty(response.Messages);
    }

    [Fact]
    public void Parse_should_keep_a_negative_response_as_data_for_the_decoder()
    {
        var message = Single("7F 01 12\r\r", "0142");
        Assert.Equal("7F0112", Hex(message));
    }

    [Theory]
    [InlineData("010C", 0x01, 0x0C)]
    [InlineData("01 0c", 0x01, 0x0C)]
    [InlineData("01001", 0x01, 0x00)]
    [InlineData("0902", 0x09, 0x02)]
    [InlineData("03", 0x03, null)]
    public void ObdRequest_should_read_service_and_pid(string command, byte service, int? pid)
    {
        Assert.True(ObdRequest.TryParse(command, out var request));
        Assert.Equal(service, request.Service);
        Assert.Equal(pid, request.Pid);
    }

    [Theory]
    [InlineData("ATZ")]
    [InlineData("")]
    [InlineData("4100")]
    [InlineData("010C0D0E")]
    [InlineData("01XY")]
    public void ObdRequest_should_refuse_what_is_not_a_request(string command) =>
        Assert.False(ObdRequest.TryParse(command, out _));
}
