using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Obd;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Testing;

namespace Fleet.Actors.Devices.Tests.Obd;

/// <summary><see cref="ElmCapture"/>: offline decoding of recorded traces and plain-text captures.</summary>
public sealed class ElmCaptureTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"elm-{Guid.NewGuid():N}");

    public ElmCaptureTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Opens a driver on <paramref name="channel"/>, reads <paramref name="reads"/> times and returns every value read.</summary>
    private static async Task<List<ReadingValue>> DriveAsync(ISerialChannel channel, Elm327Options options, int reads, Func<Elm327Driver, Task>? last = null)
    {
        var values = new List<ReadingValue>();
        await using var driver = new Elm327Driver(channel, options, TimeProvider.System, rateHz: 20);
        await driver.OpenAsync(CancellationToken.None);
        for (var i = 0; i < reads; i++) values.AddRange((await driver.ReadAsync(CancellationToken.None)).Values.Select(v => v.Value));
        if (last is not null) await last(driver);
        return values;
    }

    [Fact]
    public void Plain_text_capture_should_decode_values_VIN_and_trouble_codes_and_list_errors()
    {
        var capture = """
            # terminal session with an ELM327
            >ATZ

            ELM327 v1.5

            >ATH1
            OK
            >ATDPN
            A6
            >0100
            SEARCHING...
            7E8 06 41 00 BE 1F B8 13
            >010C
            7E8 04 41 0C 1A F8
            >0105
            7E8 03 41 05 7B
            >010D
            NO DATA
            >0902
            7E8 10 14 49 02 01 31 46 54
            7E8 21 46 57 31 45 54 35 44
            7E8 22 46 41 31 32 33 34 35
            >0101
            7E8 06 41 01 81 07 65 04
            >03
            7E8 04 43 01 01 33
            >0146
            7E8 03 41 46 3C
            >
            """;

        var result = ElmCapture.Decode(capture);

        Assert.Equal(
            [
                ("010C", (ReadingValue)new MeasurementValue("engine_rpm", 1726, "rpm")),
                ("0105", new MeasurementValue("coolant_temp", 83, "°C")),
                ("0902", new VehicleInfoValue("1FTFW1ET5DFA12345", "ISO 15765-4 CAN (11 bit ID, 500 kbaud)")),
                ("0101", new MeasurementValue("mil_on", 1, "bool")),
                ("0101", new MeasurementValue("dtc_count", 1, "count")),
                ("03", new FaultCodesValue("obd2", [new FaultCode("P0133")], true)),
            ],
            result.Readings.Select(r => (r.Command, r.Value)));
        Assert.All(result.Readings, r => Assert.Null(r.OffsetMs));
        var malformed = Assert.Single(result.Malformed);
        Assert.Equal(("010D", "NO DATA"), (malformed.Command, malformed.Reason));
        Assert.Equal(1, result.Unhandled);
        Assert.Equal(11, result.Exchanges.Count);
    }

    [Fact]
    public void Plain_answers_marked_with_arrows_should_decode_too()
    {
        var result = ElmCapture.Decode("> 010D\n< 41 0D 3C\n> 012F\n< 41 2F 7F\n");

        Assert.Equal([new MeasurementValue("vehicle_speed", 60, "km/h"), new MeasurementValue("fuel_level", 49.8, "%")],
            result.Readings.Select(r => r.Value));
    }

    [Fact]
    public void Trace_should_pair_requests_with_answers_across_chunks_and_keep_their_timing()
    {
        var trace = string.Join("\n",
            SerialTrace.Header,
            "# simulated",
            "0 > ATE0\\r",
            "12 < ATE0\\rOK\\r\\r>",
            "20 > 01",
            "21 > 0C\\r",
            "60 < 41 0C ",
            "61 < 1A F8\\r\\r",
            "62 < >",
            "70 > 010D\\r",
            "95 < NO DATA\\r\\r>",
            "not a trace line",
            "");

        var result = ElmCapture.Decode(trace);

        Assert.Equal([new ElmExchange("ATE0", "ATE0\rOK\r\r", 12), new ElmExchange("010C", "41 0C 1A F8\r\r", 62), new ElmExchange("010D", "NO DATA\r\r", 95)],
            result.Exchanges);
        var reading = Assert.Single(result.Readings);
        Assert.Equal(new ElmDecodedReading("010C", new MeasurementValue("engine_rpm", 1726, "rpm"), 62), reading);
        Assert.Equal("NO DATA", Assert.Single(result.Malformed).Reason);
    }

    [Fact]
    public async Task A_session_recorded_by_the_driver_should_decode_offline_to_what_the_driver_read()
    {
        var adapter = new Elm327Simulator { VehicleProtocol = '7', Vin = "WDB9634031L123456" };
        adapter.SetPid(0x0C, 0x0F, 0xA0);
        adapter.SetPid(0x0D, 0x50);
        adapter.SetPid(0x05, 0x82);
        adapter.TroubleCodes.Enqueue("P0401");
        adapter.TroubleCodes.Enqueue("U0100");
        adapter.TroubleCodes.Enqueue("C0035");
        var path = Path.Combine(_directory, "session.trace");
        var options = new Elm327Options
        {
            Serial = new SerialOptions { Port = "sim" },
            Headers = true,
            Polls = [new ObdPoll(ObdPids.EngineRpm), new ObdPoll(ObdPids.VehicleSpeed), new ObdPoll(ObdPids.CoolantTemp)],
        };
        var driven = await DriveAsync(new RecordingChannel(new SimulatedElmChannel(adapter), path, TimeProvider.System), options, reads: 4);

        var result = ElmCapture.Decode(await File.ReadAllTextAsync(path));

        Assert.Empty(result.Malformed);
        Assert.Equal(driven, result.Readings.Select(r => r.Value));
        Assert.Contains(new VehicleInfoValue("WDB9634031L123456", "ISO 15765-4 CAN (29 bit ID, 500 kbaud)"), driven);
        Assert.Contains(new FaultCodesValue("obd2", [new FaultCode("P0401"), new FaultCode("U0100"), new FaultCode("C0035")], null), driven);
        Assert.Contains(new MeasurementValue("engine_rpm", 1000, "rpm"), driven);
    }

    [Fact]
    public void Raw_capture_with_carriage_returns_only_should_decode()
    {
        var result = ElmCapture.Decode(">010C\r41 0C 1A F8\r\r>010D\r41 0D 3C\r\r>");

        Assert.Equal([new MeasurementValue("engine_rpm", 1726, "rpm"), new MeasurementValue("vehicle_speed", 60, "km/h")],
            result.Readings.Select(r => r.Value));
    }

    [Fact]
    public async Task A_recorded_session_should_replay_through_the_driver_to_the_same_values_and_then_end_as_a_device_gone()
    {
        var adapter = new Elm327Simulator { Vin = "WDB9634031L123456" };
        adapter.SetPid(0x0C, 0x0F, 0xA0);
        adapter.SetPid(0x0D, 0x50);
        adapter.TroubleCodes.Enqueue("P0401");
        var path = Path.Combine(_directory, "replay.trace");
        var options = new Elm327Options
        {
            Serial = new SerialOptions { Port = "sim" },
            Polls = [new ObdPoll(ObdPids.EngineRpm), new ObdPoll(ObdPids.VehicleSpeed)],
        };
        var recorded = await DriveAsync(new RecordingChannel(new SimulatedElmChannel(adapter), path, TimeProvider.System), options, reads: 3);

        var replayed = await DriveAsync(new ReplayChannel(new ReplayOptions(path, Speed: 0), TimeProvider.System), options, reads: 3,
            last: driver => Assert.ThrowsAnyAsync<IOException>(() => driver.ReadAsync(CancellationToken.None)));

        Assert.Equal(recorded, replayed);
        Assert.Equal(6, recorded.Count);
    }

    [Fact]
    public void Empty_or_unrelated_text_should_decode_to_nothing_without_throwing()
    {
        Assert.Empty(ElmCapture.Decode("").Readings);
        Assert.Empty(ElmCapture.Decode("hello\nworld\n").Exchanges);
        Assert.Empty(ElmCapture.Decode(SerialTrace.Header + "\n5 < \\x00\\xFF>\n").Readings);
    }
}
