using System.Globalization;

namespace Fleet.Actors.Devices.Gps;

/// <summary>
/// One NMEA 0183 sentence checked and split without allocating: <c>$TTSSS,f1,f2,...*HH</c>. The
/// talker is the first two characters (GP, GN, GL, GA, GB, BD, QZ...), the type the next three;
/// proprietary sentences (<c>$P...</c>) have no talker. Field access is by index over spans.
/// </summary>
public readonly ref struct NmeaSentence
{
    /// <summary>Longest sentence accepted (without the start character and the line end).</summary>
    public const int MaxLength = 120;

    /// <summary>Most fields a sentence can have within <see cref="MaxLength"/> (size of a field buffer).</summary>
    public const int MaxFields = MaxLength + 1;

    private readonly ReadOnlySpan<char> _body;
    private readonly ReadOnlySpan<Range> _fields;

    private NmeaSentence(ReadOnlySpan<char> body, ReadOnlySpan<Range> fields, bool hasChecksum)
    {
        _body = body;
        _fields = fields;
        Address = body[fields[0]];
        HasChecksum = hasChecksum;
    }

    /// <summary>False for a sentence sent without <c>*HH</c> (allowed by NMEA, rare in practice).</summary>
    public bool HasChecksum { get; }

    /// <summary>The address field, e.g. <c>GPGGA</c>.</summary>
    public ReadOnlySpan<char> Address { get; }

    /// <summary>The talker (<c>GP</c>, <c>GN</c>...), empty for proprietary sentences.</summary>
    public ReadOnlySpan<char> Talker => IsProprietary || Address.Length < 5 ? [] : Address[..2];

    /// <summary>The sentence type (<c>GGA</c>, <c>RMC</c>...), the last three characters of the address.</summary>
    public ReadOnlySpan<char> Type => IsProprietary || Address.Length < 5 ? [] : Address[^3..];

    /// <summary>True for manufacturer sentences (<c>$P...</c>).</summary>
    public bool IsProprietary => Address.Length > 0 && Address[0] == 'P';

    /// <summary>
    /// Checks the framing and the checksum of a line. Leading noise before the first <c>$</c> is
    /// skipped (a receiver's line that started mid-stream); a sentence without a checksum passes
    /// with <see cref="HasChecksum"/> false, for the caller to decide. The fields are located once,
    /// into <paramref name="fieldBuffer"/> (at least <see cref="MaxFields"/> long, reused by the caller).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> line, Span<Range> fieldBuffer, out NmeaSentence sentence, out string? problem)
    {
        sentence = default;
        line = line.TrimEnd("\r\n \t\0");
        var start = line.IndexOfAny('$', '!');
        if (start < 0)
        {
            problem = "not an NMEA sentence (no '$')";
            return false;
        }
        // A second start inside the line means the first sentence was cut off: keep the last one.
        var restart = line[(start + 1)..].LastIndexOfAny('$', '!');
        if (restart >= 0) start += restart + 1;
        var text = line[(start + 1)..];
        // NMEA allows 82 characters; real receivers send up to about 100 (gpsd accepts 102).
        if (text.Length > MaxLength)
        {
            problem = $"sentence longer than {MaxLength} characters";
            return false;
        }

        var star = text.LastIndexOf('*');
        ReadOnlySpan<char> body;
        if (star >= 0)
        {
            body = text[..star];
            var given = text[(star + 1)..];
            if (given.Length != 2 || !byte.TryParse(given, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var expected))
            {
                problem = "checksum is not two hex digits";
                return false;
            }
            var actual = Checksum(body);
            if (actual != expected)
            {
                problem = $"checksum mismatch (computed {actual:X2}, sentence says {expected:X2})";
                return false;
            }
        }
        else
        {
            body = text;
        }

        foreach (var c in body)
        {
            if (c < 0x20 || c > 0x7E)
            {
                problem = "control or non-ASCII character in sentence";
                return false;
            }
        }
        var count = body.Split(fieldBuffer, ',');
        var address = body[fieldBuffer[0]];
        if (address.Length is < 2 or > 8 || !IsAddress(address))
        {
            problem = "bad address field";
            return false;
        }
        sentence = new NmeaSentence(body, fieldBuffer[..count], star >= 0);
        problem = null;
        return true;
    }

    /// <summary>XOR of every character between the start character and the <c>*</c>.</summary>
    public static byte Checksum(ReadOnlySpan<char> body)
    {
        byte sum = 0;
        foreach (var c in body) sum ^= (byte)c;
        return sum;
    }

    /// <summary>Field <paramref name="index"/> (1 = the first after the address); empty when absent.</summary>
    public ReadOnlySpan<char> Field(int index) => index < _fields.Length ? _body[_fields[index]] : [];

    /// <summary>Fields after the address.</summary>
    public int FieldCount => _fields.Length - 1;

    private static bool IsAddress(ReadOnlySpan<char> address)
    {
        foreach (var c in address)
            if (!char.IsAsciiLetterOrDigit(c)) return false;
        return true;
    }
}
