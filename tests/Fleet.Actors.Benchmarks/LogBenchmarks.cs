using Akka.Actor;
using BenchmarkDotNet.Attributes;
using Fleet.Actors.Core.Telemetry.Verification;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Benchmarks;

/// <summary>Serializing a journal row. Baseline: copying the same bytes into a new array.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class WalSerializerBenchmarks
{
    private WalSerializer _serializer = null!;
    private LogEntry _entry = null!;
    private byte[] _bytes = [];
    private ActorSystem _system = null!;

    [GlobalSetup]
    public void Setup()
    {
        _system = ActorSystem.Create("bench");
        _serializer = new WalSerializer((ExtendedActorSystem)_system);
        _entry = new LogEntry(1, 500, 1, 2, new byte[16 * 1024]);
        _bytes = _serializer.ToBinary(_entry);
    }

    [GlobalCleanup]
    public void Cleanup() => _system.Terminate().Wait();

    [Benchmark(Baseline = true)]
    public byte[] RawCopy() => _entry.Records.ToArray();

    [Benchmark]
    public byte[] ToBinary() => _serializer.ToBinary(_entry);

    [Benchmark]
    public object FromBinary() => _serializer.FromBinary(_bytes, "E1");
}

/// <summary>The verifier's bookkeeping of a million in-order sequences. Baseline: a HashSet.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class SequenceSetBenchmarks
{
    private const int Count = 1_000_000;

    [Benchmark(Baseline = true, OperationsPerInvoke = Count)]
    public int HashSetOfLongs()
    {
        var set = new HashSet<long>();
        for (long i = 1; i <= Count; i++) set.Add(i);
        return set.Count;
    }

    [Benchmark(OperationsPerInvoke = Count)]
    public long SequenceSetInOrder()
    {
        var set = new SequenceSet();
        for (long i = 1; i <= Count; i++) set.Add(i);
        return set.Count;
    }
}
