using System.Globalization;

namespace Fleet.Actors.Devices.Can;

/// <summary>What one line from an SLCAN adapter is.</summary>
public enum SlcanLineKind
{
    /// <summary>A received CAN frame.</summary>
    Frame,

    /// <summary>An adapter's answer to a command (<c>\r</c>, <c>z</c>/<c>Z</c>, or only BEL bytes): nothing to decode.</summary>
    Reply,

    /// <summary>Text that is not a valid SLCAN frame; <see cref="SlcanLine.Problem"/> says why.</summary>
    Malformed,
}

/// <summary>One parsed SLCAN line.</summary>
/// <param name="Kind">Frame, adapter reply or malformed.</param>
/// <param name="Frame">The frame (when <paramref name="Kind"/> is <see cref="SlcanLineKind.Frame"/>).</param>
/// <param name="Timestamp">The adapter's millisecond timestamp suffix (time stamps on, <c>Z1</c>), 0..0xFFFF; null without one.</param>
/// <param name="Problem">Why the line was refused (malformed lines only).</param>
/// <param name="AdapterErrors">BEL bytes (the adapter refusing a command) found at the start of the line.</param>
public readonly record struct SlcanLine(SlcanLineKind Kind, CanFrame Frame, int? Timestamp, string? Problem, int AdapterErrors);

/// <summary>
/// The SLCAN (Lawicel CAN232/CANUSB) ASCII protocol spoken by serial CAN adapters: frames are
/// <c>tIIILDD..</c> (11-bit), <c>TIIIIIIIILDD..</c> (29-bit), <c>rIIIL</c> / <c>RIIIIIIIIL</c>
/// (remote), each optionally followed by a 4-hex-digit timestamp, and ended by CR. Commands are
/// answered with CR (OK) or BEL 0x07 (error). Parsing is strict: anything but exactly that is
/// malformed, with the reason.
/// </summary>
public static class Slcan
{
    /// <summary>The byte an adapter answers a refused command with.</summary>
    public const char Bell = '\a';

    /// <summary>Bit rates of the <c>Sn</c> command, index n (S0 = 10 kbit/s ... S8 = 1 Mbit/s).</summary>
    public static IReadOnlyList<int> Bitrates { get; } = [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000];

    /// <summary>J1939's bit rate (J1939-11), 250 kbit/s.</summary>
    public const int J1939Bitrate = 250_000;

    /// <summary>Parses one line (without its CR). Never throws.</summary>
    public static SlcanLine Parse(ReadOnlySpan<char> line)
    {
        var bells = 0;
        while (bells < line.Length && line[bells] == Bell) bells++;
        line = line[bells..];
        if (line.IsEmpty || line is "z" or "Z") return new SlcanLine(SlcanLineKind.Reply, default, null, null, bells);
        return line[0] switch
        {
            't' => ParseFrame(line, idDigits: 3, extended: false, remote: false, bells),
            'T' => ParseFrame(line, idDigits: 8, extended: true, remote: false, bells),
            'r' => ParseFrame(line, idDigits: 3, extended: false, remote: true, bells),
            'R' => ParseFrame(line, idDigits: 8, extended: true, remote: true, bells),
            _ => Malformed($"not an SLCAN frame (starts with {Describe(line[0])})", bells),
        };
    }

    /// <summary>The SLCAN text of a frame, without the CR; <paramref name="timestamp"/> appends the 4-digit suffix.</summary>
    public static string Encode(CanFrame frame, int? timestamp = null)
    {
        if (timestamp is < 0 or > 0xFFFF) throw new ArgumentOutOfRangeException(nameof(timestamp), timestamp, "an SLCAN timestamp is 0..0xFFFF");
        var type = (frame.IsExtended, frame.IsRemote) switch
        {
            (false, false) => 't',
            (true, false) => 'T',
            (false, true) => 'r',
            (true, true) => 'R',
        };
        var id = frame.Id.ToString(frame.IsExtended ? "X8" : "X3", CultureInfo.InvariantCulture);
        var data = frame.IsRemote ? "" : Convert.ToHexString(frame.ToArray());
        var suffix = timestamp is { } ms ? ms.ToString("X4", CultureInfo.InvariantCulture) : "";
        return string.Create(CultureInfo.InvariantCulture, $"{type}{id}{frame.Length}{data}{suffix}");
    }

    /// <summary>The <c>Sn</c> command (without CR) for a bit rate in <see cref="Bitrates"/>.</summary>
    public static string BitrateCommand(int bitrate)
    {
        var index = Bitrates.ToList().IndexOf(bitrate);
        if (index < 0) throw new ArgumentOutOfRangeException(nameof(bitrate), bitrate, "SLCAN knows 10k, 20k, 50k, 100k, 125k, 250k, 500k, 800k and 1M");
        return string.Create(CultureInfo.InvariantCulture, $"S{index}");
    }

    /// <summary>
    /// The commands that set an adapter up, each ended by CR: close the channel (it may still be
    /// open from a previous run), set the bit rate, time stamps off, then open it listen-only
    /// (<c>L</c>, never acknowledges or sends on the bus) or normally (<c>O</c>).
    /// </summary>
    public static IReadOnlyList<string> SetupCommands(int bitrate, bool listenOnly) =>
        ["C\r", BitrateCommand(bitrate) + "\r", "Z0\r", listenOnly ? "L\r" : "O\r"];

    private static SlcanLine ParseFrame(ReadOnlySpan<char> line, int idDigits, bool extended, bool remote, int bells)
    {
        var kind = extended ? "29-bit" : "11-bit";
        if (line.Length < 1 + idDigits + 1)
            return Malformed($"{kind} {(remote ? "remote " : "")}frame too short ({line.Length} characters, needs an id of {idDigits} digits and a DLC)", bells);
        if (!TryHex(line.Slice(1, idDigits), out var id)) return Malformed($"{kind} id '{line.Slice(1, idDigits)}' is not hexadecimal", bells);
        var max = extended ? CanFrame.MaxExtendedId : CanFrame.MaxStandardId;
        if (id > max) return Malformed($"{kind} id 0x{id:X} is above 0x{max:X}", bells);
        var dlcChar = line[1 + idDigits];
        if (dlcChar is < '0' or > '8') return Malformed($"DLC {Describe(dlcChar)} is not 0..8", bells);
        var dlc = dlcChar - '0';

        var rest = line[(2 + idDigits)..];
        var dataDigits = remote ? 0 : 2 * dlc;
        if (rest.Length != dataDigits && rest.Length != dataDigits + 4)
        {
            return Malformed(remote
                ? $"remote frame has {rest.Length} characters after the DLC (expected none or a 4-digit timestamp)"
                : $"DLC {dlc} needs {dataDigits} data digits (plus an optional 4-digit timestamp), got {rest.Length}", bells);
        }
        Span<byte> data = stackalloc byte[CanFrame.MaxLength];
        for (var i = 0; i < dataDigits / 2; i++)
        {
            if (!TryHex(rest.Slice(2 * i, 2), out var b)) return Malformed($"data byte {i + 1} '{rest.Slice(2 * i, 2)}' is not hexadecimal", bells);
            data[i] = (byte)b;
        }
        int? timestamp = null;
        if (rest.Length > dataDigits)
        {
            if (!TryHex(rest[dataDigits..], out var ms)) return Malformed($"timestamp '{rest[dataDigits..]}' is not hexadecimal", bells);
            timestamp = (int)ms;
        }
        var frame = remote ? CanFrame.Remote(id, extended, dlc) : new CanFrame(id, extended, data[..dlc]);
        return new SlcanLine(SlcanLineKind.Frame, frame, timestamp, null, bells);
    }

    private static SlcanLine Malformed(string problem, int bells) => new(SlcanLineKind.Malformed, default, null, "SLCAN: " + problem, bells);

    // Hex digits only: uint.TryParse(HexNumber) would also take surrounding white space.
    private static bool TryHex(ReadOnlySpan<char> digits, out uint value)
    {
        value = 0;
        foreach (var c in digits)
        {
            int nibble = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'A' and <= 'F' => c - 'A' + 10,
                >= 'a' and <= 'f' => c - 'a' + 10,
                _ => -1,
            };
            if (nibble < 0) return false;
            value = (value << 4) | (uint)nibble;
        }
        return true;
    }

    private static string Describe(char c) => c is >= ' ' and < '\x7F' ? $"'{c}'" : $"0x{(int)c:X2}";
}
