using System.Text.Json;
using Fleet.Actors.Devices.Can;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Host.Cli;
using Fleet.Actors.Host.Tests.Support;
using Fleet.Actors.Testing;

namespace Fleet.Actors.Host.Tests.Cli;

/// <summary><c>fleet-agent decode</c>: one JSON object per reading of a capture, comparable with another decoder's output.</summary>
public sealed class DecodeCommandTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [GpsdCapturesFact]
    public async Task Decode_nmea_should_print_one_json_fix_per_epoch_matching_gpsd()
    {
        var capture = Path.Combine(GpsdCaptures.Directory, "mt3339.log");
        var result = await AgentProcess.RunAsync(_folder.Root, null, "decode", "nmea", capture);

        Assert.True(result.ExitCode == 0, result.ToString());
        var fixes = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(30, fixes.Count);
        var first = fixes[0];
        Assert.Equal("2015-04-13T20:26:40.000Z", first.GetProperty("time").GetString());
        Assert.Equal(3, first.GetProperty("mode").GetInt32());
        Assert.Equal(44.068843333, first.GetProperty("lat").GetDouble(), 9);
        Assert.Equal(-121.314191667, first.GetProperty("lon").GetDouble(), 9);
        Assert.Equal(1127.7, first.GetProperty("alt").GetDouble(), 6);
        Assert.Equal(225.97, first.GetProperty("track").GetDouble(), 6);
        Assert.Equal(0.0154, first.GetProperty("speed").GetDouble(), 4);
        Assert.Contains("30 fixes; 138 sentences decoded, 0 ignored, 0 refused", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Refused_lines_should_be_reported_with_their_line_number_in_the_file()
    {
        var capture = _folder.Overlay(
            "# a comment\n" + NmeaText.Sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") +
            "$GPGGA,123520,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*00\n", "capture.log");
        var output = new StringWriter();
        var errors = new StringWriter();

        var summary = DecodeCommand.DecodeNmea(DecodeCommand.CaptureLines(capture), output, errors);

        Assert.Equal("1 fixes; 1 sentences decoded, 0 ignored, 1 refused", summary);
        Assert.StartsWith("line 3: checksum mismatch", errors.ToString(), StringComparison.Ordinal);
    }

    [GpsdCapturesFact]
    public void A_recorded_trace_should_decode_like_the_plain_capture_of_the_same_bytes()
    {
        var lines = GpsdCaptures.Lines("ublox-lea-4h.log").Where(l => l.Length > 0).ToList();
        var plain = _folder.Overlay(string.Join("\n", lines) + "\n", "plain.log");
        var trace = _folder.Overlay(
            SerialTrace.Header + "\n" + string.Join("\n", lines.Select((l, i) =>
                SerialTrace.FormatLine(new TraceChunk(i * 100, TraceDirection.FromDevice, System.Text.Encoding.Latin1.GetBytes(l + "\r\n"))))) + "\n",
            "capture.trace");

        var fromPlain = new StringWriter();
        var fromTrace = new StringWriter();
        DecodeCommand.DecodeNmea(DecodeCommand.CaptureLines(plain), fromPlain, TextWriter.Null);
        DecodeCommand.DecodeNmea(DecodeCommand.CaptureLines(trace), fromTrace, TextWriter.Null);

        Assert.NotEmpty(fromPlain.ToString());
        Assert.Equal(fromPlain.ToString(), fromTrace.ToString());
    }

    [Fact]
    public void Decode_slcan_should_print_every_J1939_reading_with_its_line_and_time_stamp()
    {
        // EEC1 at 621 rpm, a tyre, a two-fault DM1 over BAM, a broken line and an unknown PGN.
        var frames = new List<string>
        {
            Slcan.Encode(J1939Frames.Single(61444, 0x00, [0xF0, 0x7D, 0x7D, 0x68, 0x13, 0x00, 0xF0, 0x7D]), 1000),
            Slcan.Encode(J1939Frames.Single(65268, 0x33, [0x12, 200, 0x80, 0x25, 0xFF, 0xFF, 0xFF, 0xFF]), 1010),
        };
        byte[] dm1 = [0x40, 0xFF, 0x6E, 0x00, 0x00, 0x03, 0xBE, 0x00, 0x04, 0x05];
        frames.AddRange(J1939Frames.Bam(65226, 0x00, dm1).Select((f, i) => Slcan.Encode(f, 1020 + i * 50)));
        frames.Add("T18FEF100X");
        frames.Add(Slcan.Encode(J1939Frames.Single(0xFF42, 0x21, [1, 2, 3, 4, 5, 6, 7, 8]), 1200));
        var capture = _folder.Overlay("# SLCAN capture\n" + string.Join("\r", frames) + "\r", "can.log");
        var output = new StringWriter();
        var errors = new StringWriter();

        var summary = DecodeCommand.DecodeSlcan(DecodeCommand.CaptureLines(capture), output, errors);

        var readings = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var rpm = readings.Single(r => r.GetProperty("type").GetString() == "measurement" && r.GetProperty("name").GetString() == "engine_rpm");
        Assert.Equal((2, 1000L, 621.0), (rpm.GetProperty("line").GetInt32(), rpm.GetProperty("t").GetInt64(), rpm.GetProperty("value").GetDouble()));
        var tyre = readings.Single(r => r.GetProperty("type").GetString() == "tyre");
        Assert.Equal((0x12, 800.0), (tyre.GetProperty("location").GetInt32(), tyre.GetProperty("pressure_kpa").GetDouble()));
        var faults = readings.Single(r => r.GetProperty("type").GetString() == "fault_codes");
        Assert.Equal(["SPN 110 FMI 0", "SPN 190 FMI 4"], faults.GetProperty("faults").EnumerateArray().Select(f => f.GetProperty("code").GetString()));
        Assert.True(faults.GetProperty("mil").GetBoolean());
        Assert.StartsWith("line ", errors.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("1 refused", summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decode_elm327_should_print_every_reading_of_a_recorded_conversation()
    {
        var trace = _folder.Overlay(string.Join("\n",
            SerialTrace.Header,
            @"0 > ATZ\r",
            @"900 < \r\rELM327 v1.5\r\r>",
            @"910 > 0100\r",
            @"1400 < SEARCHING...\r4100BE1FB810\r\r>",
            @"1410 > 010C\r",
            @"1450 < 410C1AF8\r\r>",
            @"1460 > 0105\r",
            @"1500 < 41057B\r\r>",
            @"1510 > 012F\r",
            @"1550 < NO DATA\r\r>",
            @"1560 > 03\r",
            @"1600 < 43010133\r\r>") + "\n", "obd.trace");

        var result = await AgentProcess.RunAsync(_folder.Root, null, "decode", "elm327", trace);

        Assert.True(result.ExitCode == 0, result.ToString());
        var readings = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var rpm = readings.Single(r => r.TryGetProperty("name", out var n) && n.GetString() == "engine_rpm");
        Assert.Equal(("010C", 1450L, 1726.0), (rpm.GetProperty("command").GetString(), rpm.GetProperty("t").GetInt64(), rpm.GetProperty("value").GetDouble()));
        Assert.Equal(83.0, readings.Single(r => r.TryGetProperty("name", out var n) && n.GetString() == "coolant_temp").GetProperty("value").GetDouble());
        var faults = readings.Single(r => r.GetProperty("type").GetString() == "fault_codes");
        Assert.Equal("P0133", faults.GetProperty("faults")[0].GetProperty("code").GetString());
        Assert.Contains("012F: ", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("NO DATA", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decode_of_a_missing_file_should_exit_1()
    {
        var result = await AgentProcess.RunAsync(_folder.Root, null, "decode", "nmea", Path.Combine(_folder.Root, "missing.log"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("does not exist", result.StandardError, StringComparison.Ordinal);
    }
}
