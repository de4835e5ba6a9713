using System.Text;
using System.Threading.Channels;
using Akka.Configuration;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Testing;
using Fleet.Actors.Devices.Can;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Devices.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Fleet.Actors.Devices.Tests.Can;

public sealed class SlcanDriverTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(1_740_000_000_000));
    private readonly ScriptedChannel _channel = new();

    private static SlcanOptions Options(int bitrate = 250_000, bool listenOnly = true) =>
        new(new SerialOptions { Port = "/dev/null" }, bitrate, listenOnly, new J1939Options());

    [Fact]
    public async Task Open_should_set_the_adapter_up_before_anything_else()
    {
        await using var driver = new SlcanDriver(Options(500_000, listenOnly: false), _channel, _time);

        await driver.OpenAsync(CancellationToken.None);

        Assert.Equal("C\rS6\rZ0\rO\r", _channel.Written);
    }

    [Fact]
    public async Task Read_should_decode_frame_lines_skip_acknowledgements_and_report_bad_lines()
    {
        await using var driver = new SlcanDriver(Options(), _channel, _time);
        await driver.OpenAsync(CancellationToken.None);
        var et1 = Slcan.Encode(J1939Frames.Single(J1939Pgns.Et1, 0x00, [0x82]));
        var dd = Slcan.Encode(J1939Frames.Single(J1939Pgns.Dd, 0x17, [0xFF, 0xC8]));

        // Acknowledgements of the four set-up commands (one refused), then frames ended by CR or LF, split anywhere.
        _channel.Deliver("\r\r\a\r" + et1[..5]);
        _channel.Deliver(et1[5..] + "\rT18FEF1\r" + dd + "\n");
        using var timeout = new CancellationTokenSource(Generous);
        var first = await driver.ReadAsync(timeout.Token);
        var second = await driver.ReadAsync(timeout.Token);

        Assert.Empty(first.Values);
        Assert.Empty(first.Malformed);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.Equal(
            [new TimedValue(now, new MeasurementValue("coolant_temp", 90, "°C")), new TimedValue(now, new MeasurementValue("fuel_level", 80, "%"))],
            second.Values);
        var bad = Assert.Single(second.Malformed);
        Assert.Contains("too short", bad.Reason, StringComparison.Ordinal);
        Assert.Equal("T18FEF1", bad.Excerpt);
        Assert.Equal(1, driver.AdapterErrors);
    }

    [Fact]
    public async Task Decoder_counters_should_reach_the_sensor_metrics()
    {
        var metrics = new AgentMetrics();
        await using var driver = new SlcanDriver(Options(), _channel, _time, new J1939Metrics(metrics, "truck-can", "can-1"));
        await driver.OpenAsync(CancellationToken.None);

        _channel.Deliver(Slcan.Encode(J1939Frames.Single(0xFF00, 0x00, [1, 2, 3])) + "\r" + "t1230\r"
                         + Slcan.Encode(J1939Frames.Single(J1939Pgns.TpCm, 0x00, [16, 20, 0, 3, 0xFF, 0xCA, 0xFE, 0x00], destination: 0x21)) + "\r");
        await driver.ReadAsync(CancellationToken.None);

        Assert.Equal(1, driver.Decoder.UnknownPgns);
        Assert.Equal(1, MetricValues.Sensor(metrics, "j1939_unknown_pgn_total", "truck-can", "can-1"));
        Assert.Equal(1, MetricValues.Sensor(metrics, "j1939_ignored_frames_total", "truck-can", "can-1"));
        Assert.Equal(1, MetricValues.Sensor(metrics, "j1939_unsupported_transport_total", "truck-can", "can-1"));
        Assert.Equal(0, MetricValues.Sensor(metrics, "j1939_transport_aborted_total", "truck-can", "can-1"));
    }

    [Fact]
    public async Task Recorded_capture_should_replay_through_the_driver()
    {
        var path = Path.Combine(Path.GetTempPath(), $"slcan-{Guid.NewGuid():N}.log");
        var frames = new[] { J1939Frames.Single(J1939Pgns.Et1, 0x00, [0x82]) }
            .Concat(J1939Frames.Bam(J1939Pgns.Dm1, 0x00, [0x40, 0xFF, 0x6E, 0x00, 0x00, 0x03, 0x64, 0x00, 0x01, 0x01]));
        await File.WriteAllTextAsync(path, "# SLCAN capture\r\n" + string.Concat(frames.Select(f => Slcan.Encode(f) + "\r\n")));
        try
        {
            var options = Options() with { Serial = new SerialOptions { Replay = new ReplayOptions(path, Speed: 0) } };
            await using var driver = new SlcanDriver(options, options.Serial.CreateChannel(TimeProvider.System), TimeProvider.System);
            await driver.OpenAsync(CancellationToken.None);

            var values = new List<ReadingValue>();
            var malformed = new List<MalformedFrame>();
            await Assert.ThrowsAsync<EndOfStreamException>(async () =>
            {
                while (true)
                {
                    var read = await driver.ReadAsync(CancellationToken.None);
                    values.AddRange(read.Values.Select(v => v.Value));
                    malformed.AddRange(read.Malformed);
                }
            });

            Assert.Empty(malformed);
            Assert.Equal(new MeasurementValue("coolant_temp", 90, "°C"), values[0]);
            Assert.Equal(["SPN 110 FMI 0", "SPN 100 FMI 1"], Assert.IsType<FaultCodesValue>(values[1]).Faults.Select(f => f.Code));
            Assert.Equal(2, values.Count);
        }
        finally
        {
            File.Delete(path);
        }
    }

    // ---- configuration ----

    private static (object? Options, IReadOnlyList<SettingsProblem> Problems) ReadOptions(string type, string hocon)
    {
        var reader = new ConfigReader(ConfigurationFactory.ParseString(hocon), "fleet.sensors[0]");
        Assert.True(SensorDriverRegistry.Default.TryGet(type, out var factory));
        var options = factory.ReadOptions(reader);
        reader.ReportUnknownKeys();
        return (options, reader.Problems);
    }

    [Fact]
    public void Registry_should_know_both_J1939_drivers() =>
        Assert.Superset(new HashSet<string> { "j1939-slcan", "j1939-socketcan" }, SensorDriverRegistry.Default.Types.ToHashSet());

    [Fact]
    public void SLCAN_options_should_default_to_J1939_on_a_listen_only_adapter()
    {
        var (options, problems) = ReadOptions("j1939-slcan", "port = /dev/ttyACM0");

        Assert.Empty(problems);
        var slcan = Assert.IsType<SlcanOptions>(options);
        Assert.Equal(("/dev/ttyACM0", 115_200), (slcan.Serial.Port, slcan.Serial.BaudRate));
        Assert.Equal((250_000, true), (slcan.Bitrate, slcan.ListenOnly));
        Assert.Null(slcan.J1939.SourceAddresses);
        Assert.Equal(TimeSpan.FromSeconds(1), slcan.J1939.MinInterval);
    }

    [Fact]
    public void SLCAN_options_should_read_every_key()
    {
        var (options, problems) = ReadOptions("j1939-slcan",
            "port = /dev/ttyUSB1, baud = 921600, bitrate = 1M, listen-only = off, source-addresses = [0, 0x0B, \"0x33\"], min-interval = 0s");

        Assert.Empty(problems);
        var slcan = Assert.IsType<SlcanOptions>(options);
        Assert.Equal((921_600, 1_000_000, false), (slcan.Serial.BaudRate, slcan.Bitrate, slcan.ListenOnly));
        Assert.Equal([0, 11, 51], slcan.J1939.SourceAddresses!.Order());
        Assert.Equal(TimeSpan.Zero, slcan.J1939.MinInterval);
    }

    [Theory]
    [InlineData("port = /dev/x, bitrate = 300k", "fleet.sensors[0].bitrate", "must be one of 10k, 20k, 50k, 100k, 125k, 250k, 500k, 800k, 1M (got \"300k\")")]
    [InlineData("port = /dev/x, bitrate = fast", "fleet.sensors[0].bitrate", "(got \"fast\")")]
    [InlineData("port = /dev/x, listen-only = maybe", "fleet.sensors[0].listen-only", "must be on or off")]
    [InlineData("port = /dev/x, source-addresses = 3", "fleet.sensors[0].source-addresses", "must be a list of source addresses")]
    [InlineData("port = /dev/x, source-addresses = []", "fleet.sensors[0].source-addresses", "must not be empty")]
    [InlineData("port = /dev/x, source-addresses = [0, 254]", "fleet.sensors[0].source-addresses[1]", "must be a source address 0..253 (got \"254\")")]
    [InlineData("port = /dev/x, source-addresses = [engine]", "fleet.sensors[0].source-addresses[0]", "(got \"engine\")")]
    [InlineData("port = /dev/x, min-interval = soon", "fleet.sensors[0].min-interval", "must be a duration")]
    [InlineData("bitrate = 250k", "fleet.sensors[0].port", "is required")]
    [InlineData("port = /dev/x, bit-rate = 250k", "fleet.sensors[0].bit-rate", "is not a known setting")]
    public void Bad_SLCAN_option_should_be_a_problem_naming_the_key(string hocon, string key, string problem)
    {
        var (_, problems) = ReadOptions("j1939-slcan", hocon);

        var found = Assert.Single(problems);
        Assert.Equal(key, found.Key);
        Assert.Contains(problem, found.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void SocketCAN_options_should_read_the_interface()
    {
        var (options, problems) = ReadOptions("j1939-socketcan", "interface = can0, source-addresses = [0]");

        Assert.Empty(problems);
        var socketCan = Assert.IsType<SocketCanOptions>(options);
        Assert.Equal("can0", socketCan.Interface);
        Assert.Equal([0], socketCan.J1939.SourceAddresses!);
    }

    [Theory]
    [InlineData("", "is required")]
    [InlineData("interface = \"can 0\"", "must be a network interface name")]
    [InlineData("interface = \"/dev/can0\"", "must be a network interface name")]
    [InlineData("interface = averyveryverylongname0", "must be a network interface name")]
    public void Bad_SocketCAN_interface_should_be_a_problem_naming_the_key(string hocon, string problem)
    {
        var (_, problems) = ReadOptions("j1939-socketcan", hocon);

        var found = Assert.Single(problems);
        Assert.Equal("fleet.sensors[0].interface", found.Key);
        Assert.Contains(problem, found.Problem, StringComparison.Ordinal);
    }

    /// <summary>An in-memory serial channel: the test delivers bytes, the driver's writes are recorded.</summary>
    private sealed class ScriptedChannel : ISerialChannel
    {
        private readonly Channel<byte[]> _incoming = Channel.CreateUnbounded<byte[]>();
        private readonly StringBuilder _written = new();

        public string Description => "scripted";

        public long DroppedBytes => 0;

        public string Written
        {
            get
            {
                lock (_written) return _written.ToString();
            }
        }

        public void Deliver(string text) => _incoming.Writer.TryWrite(Encoding.Latin1.GetBytes(text));

        public Task OpenAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken) =>
            await _incoming.Reader.ReadAsync(cancellationToken);

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            lock (_written) _written.Append(Encoding.Latin1.GetString(data.Span));
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
