using System.Globalization;
using System.Text;

namespace Fleet.Actors.Devices.Serial;

/// <summary>Which way bytes went: from the device (read) or to it (written).</summary>
public enum TraceDirection
{
    /// <summary>The device sent them.</summary>
    FromDevice,

    /// <summary>The agent sent them.</summary>
    ToDevice,
}

/// <summary>One chunk of a recorded conversation.</summary>
/// <param name="OffsetMs">Milliseconds since the recording started.</param>
/// <param name="Direction">Which way the bytes went.</param>
/// <param name="Data">The bytes.</param>
public sealed record TraceChunk(long OffsetMs, TraceDirection Direction, byte[] Data);

/// <summary>
/// The recorded-trace file format: a header line, then one chunk per line as
/// <c>&lt;ms&gt; &lt;direction&gt; &lt;bytes&gt;</c>, where the direction is <c>&lt;</c> (from the device) or
/// <c>&gt;</c> (to it) and the bytes are printable ASCII with <c>\r \n \t \\ \xHH</c> escapes. A file
/// without the header is a plain capture (such as an NMEA log): every line not starting with
/// <c>#</c> is a chunk from the device, paced at a fixed rate since it has no timing.
/// </summary>
public static class SerialTrace
{
    /// <summary>The first line of a trace file.</summary>
    public const string Header = "# fleet-agent serial trace v1";

    /// <summary>Escapes bytes into the trace's one-line text form.</summary>
    public static string Escape(ReadOnlySpan<byte> data)
    {
        var text = new StringBuilder(data.Length + 8);
        foreach (var b in data)
        {
            switch (b)
            {
                case (byte)'\\': text.Append(@"\\"); break;
                case (byte)'\r': text.Append(@"\r"); break;
                case (byte)'\n': text.Append(@"\n"); break;
                case (byte)'\t': text.Append(@"\t"); break;
                case >= 0x20 and < 0x7F: text.Append((char)b); break;
                default: text.Append(CultureInfo.InvariantCulture, $"\\x{b:X2}"); break;
            }
        }
        return text.ToString();
    }

    /// <summary>Turns escaped text back into bytes; unknown escapes are kept literally.</summary>
    public static byte[] Unescape(ReadOnlySpan<char> text)
    {
        var bytes = new List<byte>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '\\' || i + 1 >= text.Length)
            {
                bytes.Add((byte)c);
                continue;
            }
            var next = text[++i];
            switch (next)
            {
                case '\\': bytes.Add((byte)'\\'); break;
                case 'r': bytes.Add((byte)'\r'); break;
                case 'n': bytes.Add((byte)'\n'); break;
                case 't': bytes.Add((byte)'\t'); break;
                case 'x' when i + 2 < text.Length &&
                              byte.TryParse(text.Slice(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var value):
                    bytes.Add(value);
                    i += 2;
                    break;
                default:
                    bytes.Add((byte)'\\');
                    bytes.Add((byte)next);
                    break;
            }
        }
        return bytes.ToArray();
    }

    /// <summary>Formats one chunk as a trace line (without the line end).</summary>
    public static string FormatLine(TraceChunk chunk) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{chunk.OffsetMs} {(chunk.Direction == TraceDirection.FromDevice ? '<' : '>')} {Escape(chunk.Data)}");

    /// <summary>
    /// Reads a trace or a plain capture. Plain lines are paced <paramref name="linesPerSecond"/>
    /// apart; lines of a trace that do not parse are skipped and counted in <paramref name="skipped"/>.
    /// </summary>
    public static IReadOnlyList<TraceChunk> Load(string path, double linesPerSecond, out int skipped)
    {
        var bytes = File.ReadAllBytes(path);
        var lines = SplitLines(bytes);
        skipped = 0;
        var chunks = new List<TraceChunk>(lines.Count);
        var isTrace = lines.Count > 0 && Encoding.Latin1.GetString(lines[0]).TrimEnd('\r', '\n') == Header;
        if (!isTrace)
        {
            var intervalMs = 1000.0 / linesPerSecond;
            foreach (var line in lines)
            {
                if (line.Length == 0 || line[0] == (byte)'#') continue;
                chunks.Add(new TraceChunk((long)(chunks.Count * intervalMs), TraceDirection.FromDevice, line));
            }
            return chunks;
        }
        foreach (var line in lines.Skip(1))
        {
            var text = Encoding.Latin1.GetString(line).TrimEnd('\r', '\n');
            if (text.Length == 0 || text[0] == '#') continue;
            if (TryParseLine(text, out var chunk)) chunks.Add(chunk);
            else skipped++;
        }
        return chunks;
    }

    /// <summary>Parses one trace line.</summary>
    public static bool TryParseLine(string text, out TraceChunk chunk)
    {
        chunk = null!;
        var firstSpace = text.IndexOf(' ');
        if (firstSpace <= 0 || text.Length < firstSpace + 2) return false;
        if (!long.TryParse(text.AsSpan(0, firstSpace), NumberStyles.None, CultureInfo.InvariantCulture, out var offset)) return false;
        var direction = text[firstSpace + 1] switch
        {
            '<' => TraceDirection.FromDevice,
            '>' => TraceDirection.ToDevice,
            _ => (TraceDirection?)null,
        };
        if (direction is null) return false;
        var payload = text.Length > firstSpace + 3 ? text.AsSpan(firstSpace + 3) : [];
        chunk = new TraceChunk(offset, direction.Value, Unescape(payload));
        return true;
    }

    /// <summary>Splits bytes after each line end (<c>\n</c>, <c>\r\n</c> or a lone <c>\r</c>), keeping the line ends.</summary>
    private static List<byte[]> SplitLines(byte[] bytes)
    {
        var lines = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            var end = bytes[i] switch
            {
                (byte)'\n' => i + 1,
                (byte)'\r' when i + 1 < bytes.Length && bytes[i + 1] == (byte)'\n' => -1,
                (byte)'\r' => i + 1,
                _ => -1,
            };
            if (end < 0) continue;
            lines.Add(bytes[start..end]);
            start = end;
        }
        if (start < bytes.Length) lines.Add(bytes[start..]);
        return lines;
    }
}
