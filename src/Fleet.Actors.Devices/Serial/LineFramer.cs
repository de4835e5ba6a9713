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
    private int _length;
    private bool _overlong;

    /// <summary>A completed line (text without terminator), or an overlong one given up.</summary>
    public readonly record struct Line(string Text, bool Overlong);

    /// <summary>Feeds bytes and appends every line they complete. Empty lines are skipped.</summary>
    public void Feed(ReadOnlySpan<byte> data, List<Line> lines)
    {
        foreach (var b in data)
        {
            if (Array.IndexOf(_terminators, b) >= 0)
            {
                if (_overlong) lines.Add(new Line(Encoding.Latin1.GetString(_buffer, 0, Math.Min(_length, 40)), true));
                else if (_length > 0) lines.Add(new Line(Encoding.Latin1.GetString(_buffer, 0, _length), false));
                _length = 0;
                _overlong = false;
                continue;
            }
            if (_length < _buffer.Length) _buffer[_length++] = b;
            else _overlong = true;
        }
    }

    /// <summary>Forgets a partial line (after a reconnect the rest of it never comes).</summary>
    public void Reset()
    {
        _length = 0;
        _overlong = false;
    }
}
