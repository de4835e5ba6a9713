using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Obd;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Fleet.Actors.Devices.Tests.Obd;

/// <summary>
/// <see cref="Elm327Driver"/> against an in-memory <see cref="Elm327Simulator"/>: the set-up
/// sequence, polling, error answers, adapter resets and silences, trouble codes and their clearing.
/// The same driver against a real pseudo-terminal is in the peer tests.
/// </summary>
public sealed class Elm327DriverTests : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private const string Vin = "1FTFW1ET5DFA12345";

    private readonly Elm327Simulator _adapter = new();
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UnixEpoch.AddYears(55));
    private readonly SimulatedElmChannel _channel;
    private Elm327Driver? _driver;

    public Elm327DriverTests()
    {
        _channel = new SimulatedElmChannel(_adapter);
        _adapter.SetPid(0x01, 0x81, 0x07, 0x65, 0x04);
        _adapter.SetPid(0x05, 0x7B);
        _adapter.SetPid(0x0C, 0x1A, 0xF8);
        _adapter.SetPid(0x0D, 0x3C);
        _adapter.SetPid(0x2F, 0x7F);
        _adapter.SetPid(0x42, 0x37, 0x00);
        _adapter.Vin = Vin;
        _adapter.TroubleCodes.Enqueue("P0133");
    }

    public async ValueTask DisposeAsync()
    {
        if (_driver is not null) await _driver.DisposeAsync();
    }

    private static Elm327Options Options(params ObdPoll[] polls) => new()
    {
        Serial = new SerialOptions { Port = "sim" },
        Polls = polls.Length > 0 ? polls : [new ObdPoll(ObdPids.EngineRpm), new ObdPoll(ObdPids.VehicleSpeed), new ObdPoll(ObdPids.CoolantTemp)],
        // Generous: answers are immediate, but the test run shares two cores with property tests.
        CommandTimeout = TimeSpan.FromSeconds(2),
        FirstCommandTimeout = TimeSpan.FromSeconds(5),
        ResetTimeout = TimeSpan.FromSeconds(2),
    };

    private async Task<Elm327Driver> OpenAsync(Elm327Options? options = null, TimeProvider? time = null, TimeSpan? readBudget = null)
    {
        _driver = new Elm327Driver(_channel, options ?? Options(), time ?? TimeProvider.System, rateHz: 10, readBudget ?? TimeSpan.FromSeconds(2));
        await _driver.OpenAsync(CancellationToken.None).WaitAsync(Patience);
        return _driver;
    }

    private async Task<IOException> OpenFailureAsync(Elm327Options? options = null)
    {
        _driver = new Elm327Driver(_channel, options ?? Options(), TimeProvider.System);
        return await Assert.ThrowsAsync<IOException>(() => _driver.OpenAsync(CancellationToken.None).WaitAsync(Patience));
    }

    private static async Task<SensorRead> ReadAsync(Elm327Driver driver) => await driver.ReadAsync(CancellationToken.None).WaitAsync(Patience);

    private static Dictionary<string, double> Measurements(SensorRead read) =>
        read.Values.Select(v => v.Value).OfType<MeasurementValue>().GroupBy(m => m.Name).ToDictionary(g => g.Key, g => g.Last().Value);

    /// <summary>
    /// The next round of polls on <see cref="_clock"/>: a read started now waits for the PIDs to fall due
    /// again (it arms its timer before it returns), and one poll interval (100 ms at 10 Hz) passes.
    /// </summary>
    private async Task<SensorRead> NextRoundAsync(Elm327Driver driver)
    {
        var read = driver.ReadAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        return await read.WaitAsync(Patience);
    }

    /// <summary>Reads until the open's findings have gone out and every configured PID was polled once.</summary>
    private static async Task<SensorRead> FirstPollAsync(Elm327Driver driver)
    {
        await ReadAsync(driver);
        return await ReadAsync(driver);
    }

    [Fact]
    public async Task Open_should_reset_set_up_search_and_learn_the_vehicle_in_order()
    {
        var driver = await OpenAsync();

        Assert.Equal(
            ["ATZ", "ATE0", "ATL0", "ATS0", "ATH0", "ATSP0", "ATAT1", "0100", "ATDPN", "0120", "0140", "0902", "0101", "03"],
            _adapter.Received);
        Assert.Equal("ELM327 v1.5", driver.AdapterVersion);
        Assert.Equal('6', driver.Protocol);
        Assert.Equal("ISO 15765-4 CAN (11 bit ID, 500 kbaud)", driver.ProtocolName);
        Assert.Equal(Vin, driver.Vin);
        Assert.Equal(new byte[] { 0x01, 0x05, 0x0C, 0x0D, 0x20, 0x2F, 0x40, 0x42 }, driver.SupportedPids.Order().ToArray());
    }

    [Fact]
    public async Task First_read_should_report_the_VIN_with_the_protocol_and_the_stored_trouble_codes()
    {
        var driver = await OpenAsync();

        var read = await ReadAsync(driver);

        Assert.Equal(
            [new VehicleInfoValue(Vin, "ISO 15765-4 CAN (11 bit ID, 500 kbaud)"), new FaultCodesValue("obd2", [new FaultCode("P0133")], Mil: true)],
            read.Values.Select(v => v.Value));
        Assert.Empty(read.Malformed);
    }

    [Fact]
    public async Task Reads_should_poll_the_configured_PIDs_and_decode_them()
    {
        var driver = await OpenAsync();

        var read = await FirstPollAsync(driver);

        Assert.Equal(new Dictionary<string, double> { ["engine_rpm"] = 1726, ["vehicle_speed"] = 60, ["coolant_temp"] = 83 }, Measurements(read));
        Assert.Empty(read.Malformed);
        Assert.All(read.Values, v => Assert.InRange(v.TimestampMs, DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
    }

    [Fact]
    public async Task PIDs_the_vehicle_does_not_support_should_be_reported_once_and_never_polled()
    {
        var driver = await OpenAsync(Options(new ObdPoll(ObdPids.EngineRpm), new ObdPoll(ObdPids.FuelRate), new ObdPoll(ObdPids.MafRate)));

        var first = await ReadAsync(driver);
        // A fact about the vehicle, not bad data.
        Assert.Equal(["fuel_rate (PID 5E) is not supported by the vehicle; not polled", "maf_rate (PID 10) is not supported by the vehicle; not polled"],
            first.Notices);
        Assert.Empty(first.Malformed);
        Assert.Equal([ObdPids.EngineRpm], driver.PolledPids);

        for (var i = 0; i < 3; i++) Assert.Empty((await ReadAsync(driver)).Malformed);
        Assert.DoesNotContain("015E", _adapter.Received);
        Assert.DoesNotContain("0110", _adapter.Received);
    }

    [Fact]
    public async Task NO_DATA_for_a_PID_should_be_reported_once_per_connection_and_not_count_as_bad_data()
    {
        var driver = await OpenAsync(time: _clock);
        _adapter.Script("010D", "NO DATA");

        var reads = new List<SensorRead> { await FirstPollAsync(driver) };
        for (var i = 0; i < 3; i++) reads.Add(await NextRoundAsync(driver));

        Assert.All(reads, read => Assert.Empty(read.Malformed));
        var notice = Assert.Single(reads.SelectMany(r => r.Notices));
        Assert.StartsWith("010D (vehicle_speed): NO DATA", notice, StringComparison.Ordinal);
        Assert.All(reads, read => Assert.Equal(1726, Measurements(read).GetValueOrDefault("engine_rpm", 1726)));
        // Still asked: once the vehicle answers, the speed comes back.
        _adapter.Unscript("010D");
        Assert.Equal(60, Measurements(await NextRoundAsync(driver)).GetValueOrDefault("vehicle_speed", double.NaN));
    }

    [Theory]
    [InlineData("?")]
    [InlineData("CAN ERROR")]
    [InlineData("BUFFER FULL")]
    [InlineData("STOPPED")]
    [InlineData("BUS BUSY")]
    [InlineData("<DATA ERROR")]
    [InlineData("7F 01 12")]
    [InlineData("41 0D")]
    public async Task An_error_answer_should_be_a_malformed_frame_and_the_other_PIDs_still_read(string answer)
    {
        var driver = await OpenAsync(time: _clock);
        _adapter.Script("010D", answer);

        var read = await FirstPollAsync(driver);

        Assert.Equal(new Dictionary<string, double> { ["engine_rpm"] = 1726, ["coolant_temp"] = 83 }, Measurements(read));
        var frame = Assert.Single(read.Malformed);
        Assert.StartsWith("010D (vehicle_speed): ", frame.Reason, StringComparison.Ordinal);
        // The port is kept: the next round reads the speed again once the vehicle answers it.
        _adapter.Unscript("010D");
        Assert.Equal(60, Measurements(await NextRoundAsync(driver)).GetValueOrDefault("vehicle_speed", double.NaN));
    }

    [Fact]
    public async Task Three_rounds_in_which_every_PID_failed_should_throw_IOException()
    {
        var driver = await OpenAsync();
        await ReadAsync(driver);
        _adapter.IgnitionOn = false;

        var failures = 0;
        var exception = await Assert.ThrowsAsync<IOException>(async () =>
        {
            while (true)
            {
                var read = await ReadAsync(driver);
                Assert.DoesNotContain(read.Values, v => v.Value is MeasurementValue);
                failures++;
            }
        });

        // Two rounds are tolerated (a bus hiccup); the third says the vehicle is gone.
        Assert.Equal(Elm327Driver.MaxFailedRounds - 1, failures);
        Assert.Contains("NO DATA", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task One_answering_PID_should_keep_the_device_up()
    {
        var driver = await OpenAsync();
        await ReadAsync(driver);
        _adapter.Script("010D", "NO DATA");
        _adapter.Script("0105", "CAN ERROR");

        // Well past three rounds: the PIDs that fail do so every time, and still the device stays up.
        var rpm = new List<double>();
        for (var i = 0; i < 2 * Elm327Driver.MaxFailedRounds; i++)
            rpm.AddRange((await ReadAsync(driver)).Values.Select(v => v.Value).OfType<MeasurementValue>().Select(m => m.Value));
        Assert.Equal(Enumerable.Repeat(1726.0, 2 * Elm327Driver.MaxFailedRounds), rpm);
    }

    [Theory]
    [InlineData("UNABLE TO CONNECT")]
    [InlineData("CAN ERROR")]
    [InlineData("BUS INIT: ...ERROR")]
    [InlineData("NO DATA")]
    public async Task Open_should_fail_with_IOException_when_the_vehicle_does_not_answer(string answer)
    {
        _adapter.Script("0100", "SEARCHING...\r" + answer);
        var exception = await OpenFailureAsync();

        Assert.Contains(answer.Replace("SEARCHING...\r", "", StringComparison.Ordinal), exception.Message, StringComparison.Ordinal);
        Assert.Contains("ignition off?", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_should_fail_with_IOException_with_the_ignition_off()
    {
        _adapter.IgnitionOn = false;
        var exception = await OpenFailureAsync();

        Assert.Contains("UNABLE TO CONNECT", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_should_fail_with_IOException_when_nothing_answers_the_reset()
    {
        _adapter.Script("ATZ", "<silent>");
        var exception = await OpenFailureAsync();

        Assert.Contains("no ELM327 answered ATZ", exception.Message, StringComparison.Ordinal);
        Assert.Equal(["ATZ", "ATZ"], _adapter.Received);
    }

    [Fact]
    public async Task Open_should_fail_with_IOException_when_the_device_is_not_an_ELM327()
    {
        _adapter.Script("ATE0", "?");
        var exception = await OpenFailureAsync();

        Assert.Contains("ATE0 answered \"?\" instead of OK", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_adapter_that_does_not_know_ATS0_should_still_be_read_with_spaces()
    {
        _adapter.KnowsSpaces = false;
        var driver = await OpenAsync();

        Assert.Equal(1726, Measurements(await FirstPollAsync(driver))["engine_rpm"]);
    }

    [Theory]
    [InlineData('6', true, "7")]
    [InlineData('7', true, "7")]
    [InlineData('9', false, "9")]
    [InlineData('3', true, "3")]
    [InlineData('1', false, "auto")]
    public async Task Every_protocol_should_read_with_and_without_headers(char vehicleProtocol, bool headers, string protocol)
    {
        _adapter.VehicleProtocol = vehicleProtocol;
        var options = Options() with { Headers = headers, Protocol = protocol == "auto" ? ElmProtocols.Auto : protocol[0] };
        if (protocol != "auto" && protocol[0] != vehicleProtocol)
        {
            await OpenFailureAsync(options);
            return;
        }

        var opened = await OpenAsync(options);
        var first = await ReadAsync(opened);

        Assert.Equal(vehicleProtocol, opened.Protocol);
        Assert.Contains(new VehicleInfoValue(Vin, ElmProtocols.NameOf(vehicleProtocol)), first.Values.Select(v => v.Value));
        Assert.Contains(new FaultCodesValue("obd2", [new FaultCode("P0133")], true), first.Values.Select(v => v.Value));
        Assert.Equal(new Dictionary<string, double> { ["engine_rpm"] = 1726, ["vehicle_speed"] = 60, ["coolant_temp"] = 83 }, Measurements(await ReadAsync(opened)));
    }

    [Fact]
    public async Task Two_ECUs_should_be_read_with_headers_and_their_supported_PIDs_joined()
    {
        _adapter.SecondEcuPids = new() { [0x5E] = [0x00, 0xC8] };
        var driver = await OpenAsync(Options(new ObdPoll(ObdPids.EngineRpm), new ObdPoll(ObdPids.FuelRate)) with { Headers = true });

        var read = await FirstPollAsync(driver);

        Assert.Contains((byte)0x5E, driver.SupportedPids);
        Assert.Equal(new Dictionary<string, double> { ["engine_rpm"] = 1726, ["fuel_rate"] = 10 }, Measurements(read));
    }

    [Fact]
    public async Task An_adapter_that_goes_silent_should_be_set_up_again_and_the_read_go_on()
    {
        var driver = await OpenAsync();
        await ReadAsync(driver);
        _adapter.Script("010C", "<silent>", times: 1);
        var resets = _adapter.Received.Count(c => c == "ATZ");

        var read = await ReadAsync(driver);

        Assert.Contains(read.Malformed, m => m.Reason.StartsWith("010C: no answer to 010C within 2s", StringComparison.Ordinal));
        Assert.Equal(resets + 1, _adapter.Received.Count(c => c == "ATZ"));
        // The silence used up the read's budget or not: either way the next reads deliver everything.
        var after = new Dictionary<string, double>(Measurements(read));
        for (var i = 0; i < 3; i++)
            foreach (var (name, value) in Measurements(await ReadAsync(driver))) after[name] = value;
        Assert.Equal(new Dictionary<string, double> { ["engine_rpm"] = 1726, ["vehicle_speed"] = 60, ["coolant_temp"] = 83 }, after);
    }

    [Fact]
    public async Task An_adapter_that_stays_silent_should_fail_the_read_with_IOException()
    {
        var driver = await OpenAsync();
        await ReadAsync(driver);
        _adapter.Script("010C", "<silent>");
        _adapter.Script("ATZ", "<silent>");

        await Assert.ThrowsAsync<IOException>(() => ReadAsync(driver));
    }

    [Theory]
    [InlineData("LV RESET")]
    [InlineData("\r\rELM327 v1.5")]
    public async Task An_adapter_that_reset_itself_should_be_set_up_again(string answer)
    {
        var driver = await OpenAsync(time: _clock);
        await ReadAsync(driver);
        _adapter.Script("010C", answer, times: 1);

        var read = await ReadAsync(driver);

        Assert.Contains(read.Malformed, m => m.Reason.Contains("the adapter reset itself", StringComparison.Ordinal));
        Assert.Equal(2, _adapter.Received.Count(c => c == "ATE0"));
        Assert.Equal(1726, Measurements(await NextRoundAsync(driver))["engine_rpm"]);
    }

    [Fact]
    public async Task An_answer_longer_than_the_buffer_should_be_given_up_and_the_next_read_fine()
    {
        var driver = await OpenAsync(Options() with { MaxAnswerBytes = 256 }, _clock);
        await ReadAsync(driver);
        _adapter.Script("010C", string.Concat(Enumerable.Repeat("41 0C 1A F8\r", 100)), times: 1);

        var read = await ReadAsync(driver);

        Assert.Contains(read.Malformed, m => m.Reason == "010C: answer to 010C too long, given up");
        Assert.Equal(60, Measurements(read)["vehicle_speed"]);
        Assert.Equal(1726, Measurements(await NextRoundAsync(driver))["engine_rpm"]);
    }

    [Fact]
    public async Task An_unrequested_answer_should_not_pass_for_the_answer_to_the_next_request()
    {
        var driver = await OpenAsync(Options(new ObdPoll(ObdPids.EngineRpm)));
        await ReadAsync(driver);
        _channel.Inject("41 0D 99\r\r>");

        var read = await ReadAsync(driver);

        Assert.Equal(new Dictionary<string, double> { ["engine_rpm"] = 1726 }, Measurements(read));
        Assert.Contains(read.Malformed, m => m.Reason == "unrequested answer from the adapter");
    }

    [Fact]
    public async Task Each_PID_should_be_polled_at_its_own_interval()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddYears(55));
        var driver = await OpenAsync(Options(new ObdPoll(ObdPids.EngineRpm, TimeSpan.FromSeconds(1)), new ObdPoll(ObdPids.FuelLevel, TimeSpan.FromSeconds(30))),
            time, readBudget: TimeSpan.FromSeconds(5));
        await ReadAsync(driver);
        Assert.Equal(["engine_rpm", "fuel_level"], Measurements(await ReadAsync(driver)).Keys.Order());

        var rpmOnly = 0;
        for (var second = 1; second < 30; second++)
        {
            var read = driver.ReadAsync(CancellationToken.None);
            Assert.False(read.IsCompleted);
            time.Advance(TimeSpan.FromSeconds(1));
            if (Measurements(await read.WaitAsync(Patience)).Keys.SequenceEqual(["engine_rpm"])) rpmOnly++;
        }
        Assert.Equal(29, rpmOnly);

        var both = driver.ReadAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["engine_rpm", "fuel_level"], Measurements(await both.WaitAsync(Patience)).Keys.Order());
    }

    [Fact]
    public async Task A_read_should_return_empty_within_its_budget_when_nothing_is_due()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddYears(55));
        var driver = await OpenAsync(Options(new ObdPoll(ObdPids.FuelLevel, TimeSpan.FromMinutes(5))) with { DtcInterval = TimeSpan.FromHours(1) },
            time, readBudget: TimeSpan.FromSeconds(4));
        await FirstPollAsync(driver);

        var read = driver.ReadAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(4));

        // The sensor actor's stall check sees a read come back, so a slow poll list never looks like a dead device.
        Assert.Empty((await read.WaitAsync(Patience)).Values);
    }

    [Fact]
    public async Task Trouble_codes_should_be_read_again_and_reported_only_when_they_change()
    {
        var driver = await OpenAsync(Options(new ObdPoll(ObdPids.EngineRpm, TimeSpan.FromMilliseconds(50))) with { DtcInterval = TimeSpan.FromMilliseconds(200) });
        var faults = new List<FaultCodesValue>();
        async Task ReadForAsync(TimeSpan span)
        {
            var until = DateTime.UtcNow + span;
            while (DateTime.UtcNow < until) faults.AddRange((await ReadAsync(driver)).Values.Select(v => v.Value).OfType<FaultCodesValue>());
        }

        await ReadForAsync(TimeSpan.FromSeconds(1));
        Assert.Equal([new FaultCodesValue("obd2", [new FaultCode("P0133")], true)], faults);
        Assert.True(_adapter.Received.Count(c => c == "03") >= 3, "the codes are read again every dtc-interval");

        _adapter.TroubleCodes.Enqueue("U0158");
        await ReadForAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(new FaultCodesValue("obd2", [new FaultCode("P0133"), new FaultCode("U0158")], true), faults[^1]);
        Assert.Equal(2, faults.Count);
    }

    [Fact]
    public async Task Clearing_trouble_codes_should_send_mode_04_once_and_report_the_empty_list()
    {
        var driver = await OpenAsync(Options(new ObdPoll(ObdPids.EngineRpm)) with { DtcInterval = TimeSpan.FromHours(1) });
        await FirstPollAsync(driver);
        Assert.DoesNotContain("04", _adapter.Received);

        var result = await driver.ClearTroubleCodesAsync(CancellationToken.None).WaitAsync(Patience);
        _adapter.SetPid(0x01, 0x00, 0x07, 0x65, 0x04);

        Assert.Equal(new ObdCommandResult(true, "trouble codes cleared"), result);
        Assert.Equal(1, _adapter.Received.Count(c => c == "04"));
        var read = await ReadAsync(driver);
        Assert.Contains(new FaultCodesValue("obd2", [], false), read.Values.Select(v => v.Value));
    }

    [Fact]
    public async Task Clearing_should_say_why_when_the_vehicle_refuses()
    {
        var driver = await OpenAsync();
        _adapter.Script("04", "7F 04 22");

        var result = await driver.ClearTroubleCodesAsync(CancellationToken.None).WaitAsync(Patience);

        Assert.False(result.Success);
        Assert.Contains("conditions not correct", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clearing_should_not_be_tried_before_the_open()
    {
        await using var driver = new Elm327Driver(_channel, Options(), TimeProvider.System);
        Assert.False((await driver.ClearTroubleCodesAsync(CancellationToken.None)).Success);
        Assert.Empty(_adapter.Received);
    }

    [Fact]
    public async Task Clearing_while_reads_run_should_take_turns_on_the_line()
    {
        var driver = await OpenAsync(Options(new ObdPoll(ObdPids.EngineRpm, TimeSpan.FromMilliseconds(10))));
        await ReadAsync(driver);
        _adapter.AnswerDelay = TimeSpan.FromMilliseconds(20);

        var reads = Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++) Assert.Empty((await ReadAsync(driver)).Malformed);
        });
        var results = new List<ObdCommandResult>();
        for (var i = 0; i < 3; i++) results.Add(await driver.ClearTroubleCodesAsync(CancellationToken.None).WaitAsync(Patience));
        await reads.WaitAsync(Patience);

        Assert.All(results, r => Assert.True(r.Success, r.Detail));
    }

    [Fact]
    public async Task An_unplugged_adapter_should_fail_the_read_with_IOException()
    {
        var driver = await OpenAsync();
        await ReadAsync(driver);
        _channel.Unplug();

        await Assert.ThrowsAnyAsync<IOException>(() => ReadAsync(driver));
    }

    [Fact]
    public async Task Dispose_should_close_the_channel()
    {
        var driver = await OpenAsync();
        await driver.DisposeAsync();
        _driver = null;

        Assert.True(_channel.Disposed);
        await Assert.ThrowsAsync<InvalidOperationException>(() => driver.ReadAsync(CancellationToken.None));
    }
}
