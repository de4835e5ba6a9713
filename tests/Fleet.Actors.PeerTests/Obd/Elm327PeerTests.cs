using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Obd;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Testing;

namespace Fleet.Actors.PeerTests.Obd;

/// <summary>
/// The ELM327 driver against an adapter on the far end of a socat pseudo-terminal: the real serial
/// port code, the AT set-up, the protocol search with its delay, a vehicle with its supported PIDs,
/// slow and scripted error answers, ignition off, and the adapter unplugged and plugged back in.
/// </summary>
public sealed class Elm327PeerTests : IAsyncLifetime
{
    // Generous: positive waits end as soon as the answer is there.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private const string Vin = "1FTFW1ET5DFA12345";

    private readonly Elm327Simulator _adapter = new() { SearchDelay = TimeSpan.FromMilliseconds(400) };
    private readonly List<IAsyncDisposable> _drivers = new();
    private SocatPty _pty = null!;
    private Elm327Peer? _peer;

    public async Task InitializeAsync()
    {
        _pty = await SocatPty.StartAsync();
        _peer = new Elm327Peer(_pty, _adapter);
        _adapter.SetPid(0x01, 0x82, 0x07, 0x65, 0x04);
        _adapter.SetPid(0x05, 0x7B);
        _adapter.SetPid(0x0C, 0x1A, 0xF8);
        _adapter.SetPid(0x0D, 0x3C);
        _adapter.SetPid(0x11, 0x33);
        _adapter.SetPid(0x2F, 0x7F);
        _adapter.Vin = Vin;
        _adapter.TroubleCodes.Enqueue("P0133");
        _adapter.TroubleCodes.Enqueue("P0301");
    }

    public async Task DisposeAsync()
    {
        foreach (var driver in _drivers)
        {
            // Closing must not hang even after an unplug (SerialPortChannel gives up after 2 s).
            await driver.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        _peer?.Dispose();
        await _pty.DisposeAsync();
    }

    private Elm327Driver Driver(params ObdPoll[] polls)
    {
        var options = new Elm327Options
        {
            Serial = new SerialOptions { Port = _pty.DevicePath, BaudRate = 38400 },
            Polls = polls.Length > 0 ? polls : [new ObdPoll(ObdPids.EngineRpm), new ObdPoll(ObdPids.VehicleSpeed), new ObdPoll(ObdPids.CoolantTemp)],
            CommandTimeout = TimeSpan.FromSeconds(3),
            FirstCommandTimeout = TimeSpan.FromSeconds(10),
            ResetTimeout = TimeSpan.FromSeconds(3),
        };
        var driver = new Elm327Driver(options.Serial.CreateChannel(TimeProvider.System), options, TimeProvider.System, rateHz: 5, readBudget: TimeSpan.FromSeconds(10));
        _drivers.Add(driver);
        return driver;
    }

    private static async Task<SensorRead> ReadAsync(Elm327Driver driver) => await driver.ReadAsync(CancellationToken.None).WaitAsync(Patience);

    private static async Task OpenAsync(Elm327Driver driver) => await driver.OpenAsync(CancellationToken.None).WaitAsync(Patience);

    /// <summary>Reads until every named measurement has been seen once (or the patience runs out).</summary>
    private static async Task<(Dictionary<string, double> Values, List<MalformedFrame> Malformed)> ReadUntilAsync(Elm327Driver driver, params string[] names)
    {
        var values = new Dictionary<string, double>();
        var malformed = new List<MalformedFrame>();
        var deadline = DateTime.UtcNow + Patience;
        while (!names.All(values.ContainsKey) && DateTime.UtcNow < deadline)
        {
            var read = await ReadAsync(driver);
            foreach (var measurement in read.Values.Select(v => v.Value).OfType<MeasurementValue>()) values[measurement.Name] = measurement.Value;
            malformed.AddRange(read.Malformed);
        }
        return (values, malformed);
    }

    [Fact]
    public async Task Driver_should_set_up_the_adapter_search_the_protocol_and_read_the_vehicle_through_the_pty()
    {
        var driver = Driver();

        await OpenAsync(driver);
        var first = await ReadAsync(driver);
        var (values, malformed) = await ReadUntilAsync(driver, "engine_rpm", "vehicle_speed", "coolant_temp");

        Assert.Equal(["ATZ", "ATE0", "ATL0", "ATS0", "ATH0", "ATSP0", "ATAT1", "0100", "ATDPN"], _adapter.Received.Take(9));
        Assert.Equal("ELM327 v1.5", driver.AdapterVersion);
        Assert.Equal(
            [new VehicleInfoValue(Vin, "ISO 15765-4 CAN (11 bit ID, 500 kbaud)"), new FaultCodesValue("obd2", [new FaultCode("P0133"), new FaultCode("P0301")], true)],
            first.Values.Select(v => v.Value));
        Assert.Equal(new Dictionary<string, double> { ["engine_rpm"] = 1726, ["vehicle_speed"] = 60, ["coolant_temp"] = 83 }, values);
        Assert.Empty(malformed);
    }

    [Fact]
    public async Task Driver_should_poll_only_the_PIDs_the_vehicle_supports()
    {
        var driver = Driver(new ObdPoll(ObdPids.ThrottlePosition), new ObdPoll(ObdPids.FuelRate), new ObdPoll(ObdPids.FuelLevel));

        await OpenAsync(driver);
        var first = await ReadAsync(driver);
        var (values, _) = await ReadUntilAsync(driver, "throttle_position", "fuel_level");

        // A fact about the vehicle, not bad data.
        Assert.Equal(["fuel_rate (PID 5E) is not supported by the vehicle; not polled"], first.Notices);
        Assert.Empty(first.Malformed);
        Assert.Equal(new Dictionary<string, double> { ["throttle_position"] = 20, ["fuel_level"] = 49.8 }, values);
        Assert.DoesNotContain("015E", _adapter.Received);
    }

    [Fact]
    public async Task Driver_should_wait_for_slow_answers()
    {
        _adapter.AnswerDelay = TimeSpan.FromMilliseconds(300);
        var driver = Driver(new ObdPoll(ObdPids.EngineRpm));

        await OpenAsync(driver);
        var (values, malformed) = await ReadUntilAsync(driver, "engine_rpm");

        Assert.Equal(1726, values["engine_rpm"]);
        Assert.Empty(malformed);
    }

    [Theory]
    [InlineData("?")]
    [InlineData("CAN ERROR")]
    [InlineData("BUFFER FULL")]
    [InlineData("STOPPED")]
    public async Task Error_answers_should_be_malformed_frames_while_the_other_PIDs_are_read(string answer)
    {
        var driver = Driver();
        await OpenAsync(driver);
        await ReadAsync(driver);
        _adapter.Script("010D", answer);

        var (values, malformed) = await ReadUntilAsync(driver, "engine_rpm", "coolant_temp");

        Assert.Equal(new Dictionary<string, double> { ["engine_rpm"] = 1726, ["coolant_temp"] = 83 }, values);
        Assert.Contains(malformed, m => m.Reason == $"010D (vehicle_speed): {answer}");
    }

    [Fact]
    public async Task NO_DATA_should_be_a_notice_while_the_other_PIDs_are_read()
    {
        var driver = Driver();
        await OpenAsync(driver);
        await ReadAsync(driver);
        _adapter.Script("010D", "NO DATA");

        var notices = new List<string>();
        var malformed = new List<MalformedFrame>();
        var values = new Dictionary<string, double>();
        var deadline = DateTime.UtcNow + Patience;
        while (notices.Count == 0 && DateTime.UtcNow < deadline)
        {
            var read = await ReadAsync(driver);
            foreach (var measurement in read.Values.Select(v => v.Value).OfType<MeasurementValue>()) values[measurement.Name] = measurement.Value;
            notices.AddRange(read.Notices);
            malformed.AddRange(read.Malformed);
        }

        Assert.StartsWith("010D (vehicle_speed): NO DATA", Assert.Single(notices), StringComparison.Ordinal);
        Assert.Empty(malformed);
        Assert.Equal(1726, values["engine_rpm"]);
    }

    [Fact]
    public async Task Open_should_fail_with_IOException_when_the_protocol_search_finds_no_vehicle()
    {
        _adapter.IgnitionOn = false;
        var driver = Driver();

        var exception = await Assert.ThrowsAsync<IOException>(() => OpenAsync(driver));

        Assert.Contains("UNABLE TO CONNECT", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ignition_off_while_reading_should_end_in_IOException()
    {
        var driver = Driver();
        await OpenAsync(driver);
        await ReadUntilAsync(driver, "engine_rpm");
        _adapter.IgnitionOn = false;

        await Assert.ThrowsAsync<IOException>(async () =>
        {
            while (true) await ReadAsync(driver);
        });
    }

    [Fact]
    public async Task Clearing_trouble_codes_should_report_the_empty_list()
    {
        var driver = Driver(new ObdPoll(ObdPids.EngineRpm));
        await OpenAsync(driver);
        await ReadAsync(driver);

        var result = await driver.ClearTroubleCodesAsync(CancellationToken.None).WaitAsync(Patience);
        var read = await ReadAsync(driver);

        Assert.True(result.Success, result.Detail);
        Assert.Contains(read.Values.Select(v => v.Value), v => v is FaultCodesValue { Faults.Count: 0 });
    }

    [Fact]
    public async Task Unplugging_during_reads_should_throw_IOException_and_a_new_driver_should_open_after_replug()
    {
        var driver = Driver();
        await OpenAsync(driver);
        await ReadUntilAsync(driver, "engine_rpm");

        var reading = Task.Run(async () =>
        {
            while (true) await ReadAsync(driver);
        });
        await _pty.UnplugAsync();
        await Assert.ThrowsAnyAsync<IOException>(() => reading.WaitAsync(Patience));

        // What the sensor actor does after the backoff: a fresh driver on the same path.
        _peer!.Dispose();
        await _pty.PlugAsync();
        _peer = new Elm327Peer(_pty, _adapter);
        var again = Driver();
        await OpenAsync(again);
        var (values, _) = await ReadUntilAsync(again, "engine_rpm");
        Assert.Equal(1726, values["engine_rpm"]);
    }
}
