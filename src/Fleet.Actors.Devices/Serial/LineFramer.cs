using System.Text;

namespace Fleet.Actors.Devices.Serial;

/// <summary>
/// Cuts a byte stream into lines at any of the given terminator bytes (NMEA ends lines with
/// <c>\r\n</c>, SLCAN with <c>\r</c>). Memory is bounded: a line longer than the limit is given up
/// and reported once as overlong; the bytes up to the next terminator are discarded with it.
/// </summary>
public sealed class LineFramer(int maxLineLength = 512, params byte[] terminators)
{
    private readonly byte[] _terminators = terminators.Length > 0 ? terminators : [(byte)'\n', (byte)'\r'];
    private readonly byte[] _buffer = new byte[maxLineLength];
    private readonly char[] _text = new char[maxLineLength];
    private int _length;
    private bool _overlong;

    /// <summary>A completed line (text without terminator), or an overlong one given up.</summary>
    public readonly record struct Line(string Text, bool Overlong);

    /// <summary>Receives one completed line; the span is valid only during the call.</summary>
    public delegate void LineAction(ReadOnlySpan<char> text, bool overlong);

    /// <summary>Feeds bytes and appends every line they complete as a string. Empty lines are skipped.</summary>
    public void Feed(ReadOnlySpan<byte> data, List<Line> lines) =>
        Feed(data, (text, overlong) => lines.Add(new Line(text.ToString(), overlong)));

    /// <summary>
    /// Feeds bytes and hands every line they complete to <paramref name="onLine"/> without
    /// allocating (an overlong line as its first 40 characters). Empty lines are skipped.
    /// </summary>
    public void Feed(ReadOnlySpan<byte> data, LineAction onLine)
    {
        foreach (var b in data)
        {
            if (Array.IndexOf(_terminators, b) >= 0)
            {
                if (_overlong) onLine(Text(Math.Min(_length, 40)), true);
                else if (_length > 0) onLine(Text(_length), false);
                _length = 0;
                _overlong = false;
                continue;
            }
            if (_length < _buffer.Length) _buffer[_length++] = b;
            else _overlong = true;
        }
    }

    // Latin-1: every byte is the character of the same number, so garbage stays visible in logs.
    private ReadOnlySpan<char> Text(int length)
    {
        var count = Encoding.Latin1.GetChars(_buffer.AsSpan(0, length), _text);
        return _text.AsSpan(0, count);
    }

    /// <summary>Forgets a partial line (after a reconnect the rest of it never comes).</summary>
    public void Reset()
    {
        _length = 0;
        _overlong = false;
    }
}
