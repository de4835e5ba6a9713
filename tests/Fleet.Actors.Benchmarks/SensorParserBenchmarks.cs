using System.Text;
using BenchmarkDotNet.Attributes;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Can;
using Fleet.Actors.Devices.Gps;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Testing;

namespace Fleet.Actors.Benchmarks;

/// <summary>
/// The GPS decoder on every line of the 31 real receivers' captures (../shared/data/gps), per
/// sentence. Baseline: what any NMEA reader does at least, a checksum XOR and a split at the commas.
/// <c>BytesToPositions</c> is the driver's whole path: bytes cut into lines, decoded, fixes turned
/// into position readings (its allocation divided by the fixes per sentence is the cost per reading).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class NmeaParserBenchmarks
{
    private string[] _lines = [];
    private byte[] _bytes = [];
    private readonly List<GpsFix> _fixes = new();

    /// <summary>Sentences per invocation: the captures' 3,700-odd lines, repeated from the start to make this many.</summary>
    public const int Sentences = 4000;

    [GlobalSetup]
    public void Setup()
    {
        var all = GpsdCaptures.Names.SelectMany(GpsdCaptures.Lines).Where(l => l.Length > 0).ToArray();
        _lines = Enumerable.Range(0, Sentences).Select(i => all[i % all.Length]).ToArray();
        _bytes = Encoding.Latin1.GetBytes(string.Concat(_lines.Select(l => l.TrimEnd('\r') + "\r\n")));
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Sentences)]
    public int RawChecksumAndSplit()
    {
        var fields = 0;
        foreach (var line in _lines)
        {
            var star = line.LastIndexOf('*');
            byte sum = 0;
            for (var i = 1; i < (star < 0 ? line.Length : star); i++) sum ^= (byte)line[i];
            fields += line.Split(',').Length + sum;
        }
        return fields;
    }

    [Benchmark(OperationsPerInvoke = Sentences)]
    public int DecodeSentences()
    {
        var decoder = new NmeaDecoder();
        foreach (var line in _lines)
        {
            decoder.Decode(line, _fixes, out _);
            _fixes.Clear();
        }
        return (int)decoder.Decoded;
    }

    [Benchmark(OperationsPerInvoke = Sentences)]
    public int BytesToPositions()
    {
        var framer = new LineFramer(NmeaSentence.MaxLength * 2, (byte)'\n', (byte)'\r');
        var decoder = new NmeaDecoder();
        var positions = 0;
        framer.Feed(_bytes, (line, overlong) =>
        {
            decoder.Decode(line, _fixes, out _);
            foreach (var fix in _fixes)
                if (fix.HasPosition && fix.ToPosition() is not null) positions++;
            _fixes.Clear();
        });
        return positions;
    }
}

/// <summary>
/// SLCAN lines of a typical J1939 truck bus (engine speed, wheel speed, coolant, fuel, tyres and a
/// DM1 over BAM) through the adapter parser and the J1939 decoder, per frame, every value kept.
/// Baseline: the same lines' hex turned into bytes with <see cref="Convert.FromHexString(string)"/>.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class SlcanJ1939Benchmarks
{
    /// <summary>Frames per invocation.</summary>
    public const int Frames = 2000;

    private string[] _lines = [];
    private readonly List<TimedValue> _values = new();
    private readonly List<MalformedFrame> _malformed = new();

    [GlobalSetup]
    public void Setup()
    {
        var cycle = new List<CanFrame>
        {
            J1939Frames.Single(61444, 0x00, [0xF0, 0x7D, 0x7D, 0x68, 0x13, 0x00, 0xF0, 0x7D]),
            J1939Frames.Single(65265, 0x00, [0xFF, 0x00, 0x50, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            J1939Frames.Single(65262, 0x00, [0x7B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            J1939Frames.Single(65266, 0x00, [0x40, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            J1939Frames.Single(65276, 0x17, [0xFF, 0xA0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            J1939Frames.Single(65268, 0x33, [0x12, 200, 0x80, 0x25, 0xFF, 0xFF, 0xFF, 0xFF]),
        };
        cycle.AddRange(J1939Frames.Bam(65226, 0x00, [0x40, 0xFF, 0x6E, 0x00, 0x00, 0x03, 0xBE, 0x00, 0x04, 0x05]));
        _lines = Enumerable.Range(0, Frames).Select(i => Slcan.Encode(cycle[i % cycle.Count], i % 60_000)).ToArray();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Frames)]
    public int RawHexToBytes()
    {
        var total = 0;
        foreach (var line in _lines) total += Convert.FromHexString(line.AsSpan(10, (line.Length - 14) & ~1)).Length;
        return total;
    }

    [Benchmark(OperationsPerInvoke = Frames)]
    public int ParseAndDecode()
    {
        var decoder = new J1939Decoder(new J1939Options { MinInterval = TimeSpan.Zero });
        var count = 0;
        for (var i = 0; i < _lines.Length; i++)
        {
            var line = Slcan.Parse(_lines[i]);
            if (line.Kind != SlcanLineKind.Frame) continue;
            decoder.Decode(line.Frame, i, _values, _malformed);
            count += _values.Count;
            _values.Clear();
            _malformed.Clear();
        }
        return count;
    }
}

/// <summary>
/// ELM327 answers to the mode 01 polls of a typical car (headers off, spaces on, as most adapters
/// answer), parsed and decoded, per answer. Baseline: the same answers' hex turned into bytes with
/// <see cref="Convert.FromHexString(string)"/> after removing the spaces and the prompt.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class Elm327AnswerBenchmarks
{
    /// <summary>Answers per invocation.</summary>
    public const int Answers = 1000;

    private (string Command, string Answer, Fleet.Actors.Devices.Obd.ObdPid Pid)[] _answers = [];

    [GlobalSetup]
    public void Setup()
    {
        var polls = new (string, string, Fleet.Actors.Devices.Obd.ObdPid)[]
        {
            ("010C", "41 0C 1A F8 \r\r>", Fleet.Actors.Devices.Obd.ObdPids.EngineRpm),
            ("010D", "41 0D 3C \r\r>", Fleet.Actors.Devices.Obd.ObdPids.VehicleSpeed),
            ("0105", "41 05 7B \r\r>", Fleet.Actors.Devices.Obd.ObdPids.CoolantTemp),
            ("0104", "41 04 66 \r\r>", Fleet.Actors.Devices.Obd.ObdPids.EngineLoad),
            ("0111", "41 11 33 \r\r>", Fleet.Actors.Devices.Obd.ObdPids.ThrottlePosition),
            ("015E", "41 5E 01 F4 \r\r>", Fleet.Actors.Devices.Obd.ObdPids.FuelRate),
            ("012F", "41 2F 7F \r\r>", Fleet.Actors.Devices.Obd.ObdPids.FuelLevel),
        };
        _answers = Enumerable.Range(0, Answers).Select(i => polls[i % polls.Length]).ToArray();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Answers)]
    public int RawHexToBytes()
    {
        var total = 0;
        foreach (var (_, answer, _) in _answers) total += Convert.FromHexString(answer.Replace(" ", "", StringComparison.Ordinal).TrimEnd('\r', '>')).Length;
        return total;
    }

    [Benchmark(OperationsPerInvoke = Answers)]
    public int ParseAndDecode()
    {
        var count = 0;
        foreach (var (command, answer, pid) in _answers)
        {
            var response = Fleet.Actors.Devices.Obd.ElmResponse.Parse(answer, command);
            if (Fleet.Actors.Devices.Obd.ObdDecoder.TryDecodePid(pid, response, out var values, out _)) count += values.Count;
        }
        return count;
    }
}
