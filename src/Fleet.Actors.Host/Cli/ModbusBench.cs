using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Fleet.Actors.Devices.Plc;

namespace Fleet.Actors.Host.Cli;

/// <summary>What <see cref="ModbusBench"/> measures: a Modbus TCP device, the holding registers to read, and for how long.</summary>
/// <param name="Host">Host name or address of the device.</param>
/// <param name="Port">TCP port of the device.</param>
/// <param name="Unit">Unit (slave) id.</param>
/// <param name="Address">First holding register, 0-based.</param>
/// <param name="Count">Registers per request, 1..125.</param>
/// <param name="Duration">Measured time of each side (ours, then raw).</param>
/// <param name="Warmup">Unmeasured requests before each side's measured time.</param>
public sealed record ModbusBenchOptions(string Host, int Port, byte Unit, ushort Address, int Count, TimeSpan Duration, TimeSpan Warmup);

/// <summary>The round trips of one side of <see cref="ModbusBench"/>.</summary>
/// <param name="Name">What was measured.</param>
/// <param name="Requests">Requests answered in the measured time.</param>
/// <param name="Elapsed">The measured time.</param>
/// <param name="MedianMicros">Median round trip, µs.</param>
/// <param name="P99Micros">99th percentile round trip (nearest rank), µs.</param>
/// <param name="MaxMicros">Longest round trip, µs.</param>
/// <param name="RegistersPerRequest">Registers read by each request.</param>
public sealed record ModbusBenchSide(string Name, long Requests, TimeSpan Elapsed, double MedianMicros, double P99Micros, double MaxMicros, int RegistersPerRequest)
{
    /// <summary>Requests answered per second.</summary>
    public double RequestsPerSecond => Elapsed > TimeSpan.Zero ? Requests / Elapsed.TotalSeconds : 0;

    /// <summary>Registers read per second: requests/s × registers per request.</summary>
    public double RegistersPerSecond => RequestsPerSecond * RegistersPerRequest;
}

/// <summary>Both sides of a <see cref="ModbusBench"/> run.</summary>
/// <param name="Options">What was measured.</param>
/// <param name="Ours">Through <see cref="ModbusClient"/> and <see cref="ModbusTcpTransport"/>.</param>
/// <param name="Raw">A plain socket loop: pre-built request, fixed-length answer, no validation; null when that phase failed.</param>
public sealed record ModbusBenchReport(ModbusBenchOptions Options, ModbusBenchSide Ours, ModbusBenchSide? Raw)
{
    /// <summary>Our requests/s divided by the raw loop's (0 without a raw side).</summary>
    public double Ratio => Raw?.RequestsPerSecond > 0 ? Ours.RequestsPerSecond / Raw.RequestsPerSecond : 0;

    /// <summary>The report as a markdown table, ready for docs/benchmarks.md.</summary>
    public string ToMarkdown()
    {
        var o = Options;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"Read holding registers {o.Address}..{o.Address + o.Count - 1} ({o.Count} a request) of unit {o.Unit} at {o.Host}:{o.Port}, one request at a time, {Seconds(o.Duration)} measured after {Seconds(o.Warmup)} of warm-up on each side.\n\n");
        text.Append("| | requests | median | p99 | max | requests/s | registers/s | ours / raw |\n");
        text.Append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        Row(text, Ours, Raw is null ? "" : Ratio.ToString("0.00", CultureInfo.InvariantCulture));
        if (Raw is not null) Row(text, Raw, "");
        return text.ToString();
    }

    private static void Row(StringBuilder text, ModbusBenchSide side, string ratio) =>
        text.Append(CultureInfo.InvariantCulture,
            $"| {side.Name} | {side.Requests:N0} | {side.MedianMicros:N0} µs | {side.P99Micros:N0} µs | {side.MaxMicros:N0} µs | {side.RequestsPerSecond:N0} | {side.RegistersPerSecond:N0} | {ratio} |\n");

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}

/// <summary>
/// <c>fleet-agent modbus bench</c>: sequential read-holding-registers requests through our client for
/// a while, then as long through a raw socket loop in the same process, every round trip recorded.
/// </summary>
public static class ModbusBench
{
    /// <summary>Runs ours, then raw. Throws what either phase throws (a Modbus exception, a timeout, a link failure).</summary>
    public static async Task<ModbusBenchReport> RunAsync(ModbusBenchOptions options, CancellationToken cancellationToken = default)
    {
        var ours = await MeasureClientAsync(options, cancellationToken);
        return new ModbusBenchReport(options, ours, await MeasureRawAsync(options, cancellationToken));
    }

    /// <summary>The client phase. Throws what the client throws (a Modbus exception, a timeout, a link failure).</summary>
    public static async Task<ModbusBenchSide> MeasureClientAsync(ModbusBenchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Count, ModbusRequest.MaxReadRegisters);
        // Closed when done, before the raw phase connects: the libmodbus server serves one connection at a time.
        await using var client = new ModbusClient(new ModbusTcpTransport(options.Host, options.Port), options.Unit);
        return await MeasureAsync("ours: ModbusClient", options,
            async ct => await client.ReadHoldingRegistersAsync(options.Address, options.Count, ct), cancellationToken);
    }

    /// <summary>The raw phase. Throws a <see cref="TimeoutException"/> or the socket's failure.</summary>
    public static async Task<ModbusBenchSide> MeasureRawAsync(ModbusBenchOptions options, CancellationToken cancellationToken = default)
    {
        // The raw loop has no timeouts of its own: a device that stops answering ends the run here.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Warmup + options.Duration + new ModbusTimeouts().Operation);
        using var raw = new RawLoop(options);
        try
        {
            await raw.ConnectAsync(deadline.Token);
            return await MeasureAsync("raw: socket loop", options, raw.RoundTripAsync, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"raw loop to {options.Host}:{options.Port}: no answer in time");
        }
    }

    private static async Task<ModbusBenchSide> MeasureAsync(
        string name, ModbusBenchOptions options, Func<CancellationToken, ValueTask> roundTrip, CancellationToken cancellationToken)
    {
        var warmupEnd = Stopwatch.GetTimestamp() + ToTicks(options.Warmup);
        while (Stopwatch.GetTimestamp() < warmupEnd) await roundTrip(cancellationToken);

        // Enough room for a fast loopback run; growing the list mid-run would show up in the max.
        var trips = new List<long>(capacity: (int)Math.Min(4_000_000, Math.Max(1024, options.Duration.TotalSeconds * 50_000)));
        var start = Stopwatch.GetTimestamp();
        var end = start + ToTicks(options.Duration);
        long now = start;
        while (now < end)
        {
            var before = now;
            await roundTrip(cancellationToken);
            now = Stopwatch.GetTimestamp();
            trips.Add(now - before);
        }
        var elapsed = Stopwatch.GetElapsedTime(start, now);
        trips.Sort();
        return new ModbusBenchSide(name, trips.Count, elapsed,
            Micros(Percentile(trips, 0.50)), Micros(Percentile(trips, 0.99)), Micros(trips.Count > 0 ? trips[^1] : 0), options.Count);
    }

    // Nearest rank: the smallest value with at least p of the values at or below it.
    private static long Percentile(List<long> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static double Micros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;

    private static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>
    /// The baseline: one pre-built MBAP request whose transaction id is bumped each time, and an
    /// answer read as the fixed number of bytes a normal answer has, not looked at.
    /// </summary>
    private sealed class RawLoop(ModbusBenchOptions options) : IDisposable
    {
        private readonly byte[] _request = Request(options);
        private readonly byte[] _answer = new byte[9 + 2 * options.Count];
        private readonly TcpClient _tcp = new() { NoDelay = true };
        private NetworkStream? _stream;
        private ushort _transaction;

        public async Task ConnectAsync(CancellationToken cancellationToken)
        {
            await _tcp.ConnectAsync(options.Host, options.Port, cancellationToken);
            _stream = _tcp.GetStream();
        }

        public async ValueTask RoundTripAsync(CancellationToken cancellationToken)
        {
            var stream = _stream ?? throw new InvalidOperationException("not connected");
            BinaryPrimitives.WriteUInt16BigEndian(_request, ++_transaction);
            await stream.WriteAsync(_request, cancellationToken);
            await stream.ReadExactlyAsync(_answer, cancellationToken);
        }

        public void Dispose() => _tcp.Dispose();

        private static byte[] Request(ModbusBenchOptions options)
        {
            var request = new byte[12];
            // Transaction id (0..1, set per request), protocol 0 (2..3), length 6 (4..5), unit, function 3, address, count.
            BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(4), 6);
            request[6] = options.Unit;
            request[7] = 3;
            BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(8), options.Address);
            BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(10), (ushort)options.Count);
            return request;
        }
    }
}
