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

    /// <summary>Longest line read from a trace file; a longer one is cut there (a chunk of a trace is at most 16 KiB escaped).</summary>
    public const int MaxFileLineBytes = 1 << 20;

    /// <summary>
    /// Reads a trace or a plain capture into memory. Plain lines are paced <paramref name="linesPerSecond"/>
    /// apart; lines of a trace that do not parse are skipped and counted in <paramref name="skipped"/>.
    /// </summary>
    public static IReadOnlyList<TraceChunk> Load(string path, double linesPerSecond, out int skipped)
    {
        var counter = new SkipCounter();
        var chunks = Read(path, linesPerSecond, counter).ToList();
        skipped = counter.Skipped;
        return chunks;
    }

    /// <summary>
    /// Reads a trace or a plain capture chunk by chunk, holding one line at a time (so a replay of
    /// hours of recording takes no more memory than a minute of it). Lines of a trace that do not
    /// parse are skipped and counted in <paramref name="skipped"/>.
    /// </summary>
    public static IEnumerable<TraceChunk> Read(string path, double linesPerSecond, SkipCounter skipped)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 64 * 1024);
        var lines = ReadLines(file).GetEnumerator();
        if (!lines.MoveNext()) yield break;
        var first = lines.Current;
        if (Encoding.Latin1.GetString(first).TrimEnd('\r', '\n') != Header)
        {
            var intervalMs = 1000.0 / linesPerSecond;
            var index = 0;
            var line = first;
            while (true)
            {
                if (line.Length > 0 && line[0] != (byte)'#')
                    yield return new TraceChunk((long)(index++ * intervalMs), TraceDirection.FromDevice, line);
                if (!lines.MoveNext()) yield break;
                line = lines.Current;
            }
        }
        while (lines.MoveNext())
        {
            var text = Encoding.Latin1.GetString(lines.Current).TrimEnd('\r', '\n');
            if (text.Length == 0 || text[0] == '#') continue;
            if (TryParseLine(text, out var chunk)) yield return chunk;
            else skipped.Skipped++;
        }
    }

    /// <summary>Counts the trace lines <see cref="Read"/> could not parse.</summary>
    public sealed class SkipCounter
    {
        /// <summary>Lines skipped so far.</summary>
        public int Skipped { get; internal set; }
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

    /// <summary>
    /// Yields each line with its line end (<c>\n</c>, <c>\r\n</c> or a lone <c>\r</c>); a line longer
    /// than <see cref="MaxFileLineBytes"/> comes out in pieces of that size.
    /// </summary>
    private static IEnumerable<byte[]> ReadLines(Stream stream)
    {
        var line = new List<byte>(256);
        var pendingCr = false;
        int b;
        while ((b = stream.ReadByte()) >= 0)
        {
            if (pendingCr)
            {
                pendingCr = false;
                if (b == '\n')
                {
                    line.Add((byte)b);
                    yield return line.ToArray();
                    line.Clear();
                    continue;
                }
                yield return line.ToArray();
                line.Clear();
            }
            line.Add((byte)b);
            if (b == '\r') pendingCr = true;
            else if (b == '\n' || line.Count >= MaxFileLineBytes)
            {
                yield return line.ToArray();
                line.Clear();
            }
        }
        if (line.Count > 0) yield return line.ToArray();
    }
}
