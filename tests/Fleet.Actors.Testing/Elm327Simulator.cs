using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Fleet.Actors.Testing;

/// <summary>
/// An ELM327 adapter plugged into a vehicle, as text in and text out: the AT commands an agent uses
/// (ATZ, ATE, ATL, ATS, ATH, ATSP, ATAT, ATDP, ATDPN, ATI, ATRV), the protocol search (with its
/// <c>SEARCHING...</c> delay), and a vehicle with a set of mode 01 PIDs (raw data bytes, so the test
/// owns the formulas), a VIN, stored trouble codes and an optional second ECU. Answers are laid
/// out as the adapter does it for the vehicle's protocol (CAN 11/29-bit or legacy), with and without
/// headers, spaces, echo and linefeeds, including ISO-TP multi-frame answers. Faults are scripted
/// per command. Thread-safe; written independently of the driver under test.
/// </summary>
public sealed class Elm327Simulator
{
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, (string Answer, int Remaining)> _scripts = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<string> _received = new();
    private bool _echo = true;
    private bool _linefeeds = true;
    private bool _spaces = true;
    private bool _headers;
    private char _protocolSetting = '0';
    private bool _connected;

    /// <summary>What ATZ and ATI answer.</summary>
    public string Banner { get; set; } = "ELM327 v1.5";

    /// <summary>The protocol the vehicle speaks (1..9, A).</summary>
    public char VehicleProtocol { get; set; } = '6';

    /// <summary>False: the bus is silent (search fails with UNABLE TO CONNECT, requests get NO DATA).</summary>
    public volatile bool IgnitionOn = true;

    /// <summary>False: an adapter older than v1.3 that answers <c>?</c> to ATS0.</summary>
    public bool KnowsSpaces { get; set; } = true;

    /// <summary>Mode 01 data bytes by PID (without <c>41 pid</c>); the supported-PID bitmaps follow from the keys.</summary>
    public ConcurrentDictionary<byte, byte[]> Pids { get; } = new();

    /// <summary>A second ECU (7E9) and its PIDs; null when the vehicle has one ECU.</summary>
    public ConcurrentDictionary<byte, byte[]>? SecondEcuPids { get; set; }

    /// <summary>The VIN (mode 09 PID 02); null: NO DATA.</summary>
    public string? Vin { get; set; }

    /// <summary>Stored trouble codes such as P0133 (mode 03); mode 04 clears them.</summary>
    public ConcurrentQueue<string> TroubleCodes { get; private set; } = new();

    /// <summary>How long the protocol search takes after <c>SEARCHING...</c>.</summary>
    public TimeSpan SearchDelay { get; set; }

    /// <summary>Delay before every answer to an OBD request.</summary>
    public TimeSpan AnswerDelay { get; set; }

    /// <summary>Every command received, in order.</summary>
    public IReadOnlyCollection<string> Received => _received.ToArray();

    /// <summary>
    /// Answers <paramref name="command"/> with <paramref name="answer"/> (lines separated by <c>\r</c>,
    /// e.g. <c>NO DATA</c>, <c>?</c>, <c>CAN ERROR</c>) the next <paramref name="times"/> times it is sent;
    /// <c>&lt;silent&gt;</c> answers nothing at all.
    /// </summary>
    public void Script(string command, string answer, int times = int.MaxValue) => _scripts[Squeeze(command)] = (answer, times);

    /// <summary>Removes the script of a command.</summary>
    public void Unscript(string command) => _scripts.TryRemove(Squeeze(command), out _);

    /// <summary>Sets the data bytes the vehicle answers for a mode 01 PID (the test applies the formula).</summary>
    public void SetPid(byte pid, params byte[] data) => Pids[pid] = data;

    /// <summary>
    /// The adapter's answer to one command line (without its carriage return): pieces of text to
    /// write, each after its delay. An empty list means the adapter says nothing.
    /// </summary>
    public IReadOnlyList<(TimeSpan Delay, string Text)> Respond(string command)
    {
        var sent = Squeeze(command);
        _received.Enqueue(sent);
        lock (_gate)
        {
            var echo = _echo ? command + Eol : "";
            if (_scripts.TryGetValue(sent, out var script) && script.Remaining > 0)
            {
                _scripts[sent] = script with { Remaining = script.Remaining - 1 };
                if (script.Answer == "<silent>") return [];
                return [(AnswerDelay, Answer(echo, script.Answer.Split('\r')))];
            }
            if (sent == "ATZ") return Reset(echo);
            if (sent.StartsWith("AT", StringComparison.Ordinal)) return [(TimeSpan.Zero, Answer(echo, AtCommand(sent)))];
            if (sent.Length < 2 || sent.Any(c => !Uri.IsHexDigit(c))) return [(TimeSpan.Zero, Answer(echo, ["?"]))];

            var pieces = new List<(TimeSpan, string)>();
            if (!_connected)
            {
                if (_protocolSetting == '0')
                {
                    pieces.Add((TimeSpan.Zero, echo + "SEARCHING..." + Eol));
                    echo = "";
                }
                else if (_protocolSetting is >= '3' and <= '5')
                {
                    pieces.Add((TimeSpan.Zero, echo + "BUS INIT: ..."));
                    echo = "";
                }
                var reachable = IgnitionOn && (_protocolSetting == '0' || _protocolSetting == VehicleProtocol);
                if (!reachable)
                {
                    var failure = _protocolSetting is >= '3' and <= '5' ? "ERROR" : "UNABLE TO CONNECT";
                    pieces.Add((SearchDelay, Answer(echo, [failure])));
                    return pieces;
                }
                _connected = true;
                if (_protocolSetting is >= '3' and <= '5') pieces.Add((SearchDelay, "OK" + Eol));
            }
            var delay = pieces.Count > 0 ? SearchDelay + AnswerDelay : AnswerDelay;
            var lines = IgnitionOn ? Vehicle(sent) : ["NO DATA"];
            pieces.Add((delay, Answer(echo, lines.Count > 0 ? lines : ["NO DATA"])));
            return pieces;
        }
    }

    private string Eol => _linefeeds ? "\r\n" : "\r";

    private bool IsCan => VehicleProtocol is >= '6' and <= '9' or 'A';

    private static string Squeeze(string command) => command.Replace(" ", "", StringComparison.Ordinal).Trim().ToUpperInvariant();

    private string Answer(string echo, IEnumerable<string> lines) => echo + string.Concat(lines.Select(l => l + Eol)) + Eol + ">";

    private List<(TimeSpan, string)> Reset(string echo)
    {
        _echo = true;
        _linefeeds = true;
        _spaces = true;
        _headers = false;
        _protocolSetting = '0';
        _connected = false;
        return [(TimeSpan.Zero, echo + Eol + Banner + Eol + Eol + ">")];
    }

    private string[] AtCommand(string sent)
    {
        static bool Flag(string sent) => sent[^1] == '1';
        switch (sent)
        {
            case "ATE0" or "ATE1": _echo = Flag(sent); return ["OK"];
            case "ATL0" or "ATL1": _linefeeds = Flag(sent); return ["OK"];
            case "ATS0" or "ATS1" when KnowsSpaces: _spaces = Flag(sent); return ["OK"];
            case "ATH0" or "ATH1": _headers = Flag(sent); return ["OK"];
            case "ATAT0" or "ATAT1" or "ATAT2": return ["OK"];
            case "ATI": return [Banner];
            case "ATRV": return ["12.6V"];
            case "ATDPN": return [_connected ? (_protocolSetting == '0' ? "A" : "") + VehicleProtocol : "0"];
            case "ATDP": return [_connected ? (_protocolSetting == '0' ? "AUTO, " : "") + "PROTOCOL " + VehicleProtocol : "AUTO"];
        }
        if (sent.Length == 5 && sent.StartsWith("ATSP", StringComparison.Ordinal) && (char.IsAsciiDigit(sent[4]) || sent[4] is >= 'A' and <= 'C'))
        {
            _protocolSetting = sent[4];
            _connected = false;
            return ["OK"];
        }
        return ["?"];
    }

    private List<string> Vehicle(string sent)
    {
        var service = Convert.ToByte(sent[..2], 16);
        var pid = sent.Length >= 4 ? Convert.ToByte(sent[2..4], 16) : (byte)0;
        var ecus = new List<(int Ecu, byte[] Message)>();
        switch (service)
        {
            case 0x01:
                AddMode01(ecus, 0, Pids, pid);
                if (SecondEcuPids is { } second) AddMode01(ecus, 1, second, pid);
                break;
            case 0x09 when pid == 0x02 && Vin is { } vin:
                if (IsCan) ecus.Add((0, [0x49, 0x02, 0x01, .. Encoding.ASCII.GetBytes(vin)]));
                else
                {
                    // Legacy: five numbered messages of four bytes, the first padded with three zeros.
                    var bytes = new byte[] { 0, 0, 0 }.Concat(Encoding.ASCII.GetBytes(vin)).ToArray();
                    for (var i = 0; i < 5; i++) ecus.Add((0, [0x49, 0x02, (byte)(i + 1), .. bytes.AsSpan(i * 4, 4)]));
                }
                break;
            case 0x03:
                var codes = TroubleCodes.Select(EncodeDtc).ToList();
                if (IsCan) ecus.Add((0, [0x43, (byte)codes.Count, .. codes.SelectMany(c => c)]));
                else
                {
                    do
                    {
                        var chunk = codes.Take(3).SelectMany(c => c).ToList();
                        while (chunk.Count < 6) chunk.Add(0);
                        ecus.Add((0, [0x43, .. chunk]));
                        codes = codes.Skip(3).ToList();
                    }
                    while (codes.Count > 0);
                }
                break;
            case 0x04:
                TroubleCodes = new ConcurrentQueue<string>();
                ecus.Add((0, [0x44]));
                break;
        }
        return ecus.SelectMany(e => Format(e.Ecu, e.Message)).ToList();
    }

    private static void AddMode01(List<(int, byte[])> ecus, int ecu, ConcurrentDictionary<byte, byte[]> pids, byte pid)
    {
        if (pid % 0x20 == 0)
        {
            var inRange = pids.Keys.Where(k => k > pid && k <= pid + 0x20).ToList();
            var more = pids.Keys.Any(k => k > pid + 0x20);
            if (pid != 0 && inRange.Count == 0 && !more) return;
            uint bits = 0;
            foreach (var k in inRange) bits |= 1u << (32 - (k - pid));
            if (more) bits |= 1;
            ecus.Add((ecu, [0x41, pid, (byte)(bits >> 24), (byte)(bits >> 16), (byte)(bits >> 8), (byte)bits]));
        }
        else if (pids.TryGetValue(pid, out var data))
        {
            ecus.Add((ecu, [0x41, pid, .. data]));
        }
    }

    private static byte[] EncodeDtc(string code)
    {
        var letter = "PCBU".IndexOf(code[0], StringComparison.Ordinal);
        var value = int.Parse(code[1..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return [(byte)((letter << 6) | (value >> 8)), (byte)value];
    }

    private IEnumerable<string> Format(int ecu, byte[] message)
    {
        string Hex(IEnumerable<byte> bytes) => string.Join(_spaces ? " " : "", bytes.Select(b => b.ToString("X2", CultureInfo.InvariantCulture)));
        if (!IsCan)
        {
            var header = new byte[] { 0x48, 0x6B, (byte)(0x10 + ecu) };
            var checksum = (byte)header.Concat(message).Sum(b => b);
            yield return _headers ? Hex([.. header, .. message, checksum]) : Hex(message);
            yield break;
        }
        var id = VehicleProtocol is '7' or '9' or 'A'
            ? (_spaces ? $"18 DA F1 {0x10 + ecu:X2}" : $"18DAF1{0x10 + ecu:X2}")
            : $"7E{8 + ecu:X1}";
        var sep = _spaces ? " " : "";
        if (message.Length <= 7)
        {
            yield return _headers ? $"{id}{sep}{Hex([(byte)message.Length, .. message])}" : Hex(message);
            yield break;
        }
        if (!_headers)
        {
            yield return message.Length.ToString("X3", CultureInfo.InvariantCulture);
            yield return $"0:{sep}{Hex(message.Take(6))}";
            for (int offset = 6, n = 1; offset < message.Length; offset += 7, n++)
                yield return $"{n % 16:X1}:{sep}{Hex(message.Skip(offset).Take(7))}";
            yield break;
        }
        yield return $"{id}{sep}{Hex([(byte)(0x10 | (message.Length >> 8)), (byte)message.Length, .. message.Take(6)])}";
        for (int offset = 6, n = 1; offset < message.Length; offset += 7, n++)
        {
            var frame = message.Skip(offset).Take(7).ToList();
            while (frame.Count < 7) frame.Add(0x00);
            yield return $"{id}{sep}{Hex([(byte)(0x20 | (n % 16)), .. frame])}";
        }
    }
}
