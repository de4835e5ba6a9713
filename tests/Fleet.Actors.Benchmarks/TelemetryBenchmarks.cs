using BenchmarkDotNet.Attributes;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Telemetry.Wire;
using Google.Protobuf;
using ZstdSharp;

namespace Fleet.Actors.Benchmarks;

/// <summary>
/// The log's hot path: encoding readings into entry bytes. Baseline: the same records built and
/// serialized with the generated protobuf classes alone, without sequence/timestamp handling.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class EntryEncodingBenchmarks
{
    private const int Records = 1000;
    private Reading[] _readings = [];
    private readonly EntryWriter _writer = new();

    [GlobalSetup]
    public void Setup() => _readings = Samples.TypicalReadings(Records);

    [Benchmark(Baseline = true, OperationsPerInvoke = Records)]
    public int RawProtobuf()
    {
        var batch = new TelemetryBatch();
        foreach (var reading in _readings) batch.Records.Add(RecordCodec.ToRecord(reading));
        return batch.ToByteArray().Length;
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public int EntryWriterAppendAndSeal()
    {
        for (var i = 0; i < _readings.Length; i++) _writer.Append(i + 1, _readings[i]);
        return _writer.Seal().Length;
    }
}

/// <summary>
/// The uplink's per-batch work: header, concatenation and zstd. Baseline: zstd of the same bytes alone.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class BatchEncodingBenchmarks
{
    private const int Records = 1000;
    private ReadOnlyMemory<byte>[] _entries = [];
    private byte[] _concatenated = [];
    private readonly BatchCodec _codec = new();
    private readonly Compressor _compressor = new(3);
    private byte[] _payload = [];

    [GlobalSetup]
    public void Setup()
    {
        var writer = new EntryWriter();
        var readings = Samples.TypicalReadings(Records);
        var entries = new List<ReadOnlyMemory<byte>>();
        for (var i = 0; i < readings.Length; i++)
        {
            writer.Append(i + 1, readings[i]);
            if (writer.Count == 100) entries.Add(writer.Seal());
        }
        _entries = entries.ToArray();
        _concatenated = _entries.SelectMany(e => e.ToArray()).ToArray();
        _payload = _codec.Encode("truck-001", "acme", _entries).Payload;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Records)]
    public int RawZstd() => _compressor.Wrap(_concatenated).Length;

    [Benchmark(OperationsPerInvoke = Records)]
    public int EncodeBatch() => _codec.Encode("truck-001", "acme", _entries).Payload.Length;

    [Benchmark(OperationsPerInvoke = Records)]
    public int DecodeBatch() => BatchCodec.Decode(_payload, "zstd").Records.Count;
}

internal static class Samples
{
    /// <summary>GPS and OBD-II readings in the proportions of a typical truck.</summary>
    public static Reading[] TypicalReadings(int count)
    {
        var random = new Random(7);
        return Enumerable.Range(0, count).Select(i => i % 8 == 0
            ? new Reading("gps", 1_700_000_000_000 + i * 110L,
                new PositionValue(53.54 + i * 1e-6, 9.96 + i * 2e-6, 90 + random.NextDouble(), 12.3, 13.4 + random.NextDouble(), 2.5))
            : new Reading("obd", 1_700_000_000_000 + i * 110L,
                new MeasurementValue(Pids[i % Pids.Length], Math.Round(1000 + random.NextDouble() * 800, 1), "rpm"))).ToArray();
    }

    private static readonly string[] Pids = ["engine_rpm", "vehicle_speed", "coolant_temp", "engine_load", "throttle_position", "fuel_rate", "fuel_level"];
}
