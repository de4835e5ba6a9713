namespace Fleet.Actors.Devices.Obd;

/// <summary>The OBD protocols an ELM327 speaks, by the number <c>ATSPn</c> sets and <c>ATDPN</c> reports.</summary>
public static class ElmProtocols
{
    /// <summary>Automatic search (<c>ATSP0</c>).</summary>
    public const char Auto = '0';

    private static readonly Dictionary<char, string> Names = new()
    {
        ['1'] = "SAE J1850 PWM (41.6 kbaud)",
        ['2'] = "SAE J1850 VPW (10.4 kbaud)",
        ['3'] = "ISO 9141-2 (5 baud init)",
        ['4'] = "ISO 14230-4 KWP (5 baud init)",
        ['5'] = "ISO 14230-4 KWP (fast init)",
        ['6'] = "ISO 15765-4 CAN (11 bit ID, 500 kbaud)",
        ['7'] = "ISO 15765-4 CAN (29 bit ID, 500 kbaud)",
        ['8'] = "ISO 15765-4 CAN (11 bit ID, 250 kbaud)",
        ['9'] = "ISO 15765-4 CAN (29 bit ID, 250 kbaud)",
        ['A'] = "SAE J1939 CAN (29 bit ID, 250 kbaud)",
        ['B'] = "USER1 CAN (11 bit ID, 125 kbaud)",
        ['C'] = "USER2 CAN (11 bit ID, 50 kbaud)",
    };

    /// <summary>True for a protocol number the adapter knows (1..9, A..C), or 0 for automatic.</summary>
    public static bool IsValid(char protocol) => protocol == Auto || Names.ContainsKey(protocol);

    /// <summary>The protocol's name, e.g. "ISO 15765-4 CAN (11 bit ID, 500 kbaud)"; empty when unknown.</summary>
    public static string NameOf(char protocol) => Names.GetValueOrDefault(protocol, "");

    /// <summary>True for the CAN protocols (their mode 03 answers carry a count byte).</summary>
    public static bool IsCan(char protocol) => protocol is >= '6' and <= '9' or >= 'A' and <= 'C';

    /// <summary>
    /// The protocol number of an <c>ATDPN</c> answer: <c>6</c>, or <c>A6</c> when it was found by the
    /// automatic search. Null when the answer is not one.
    /// </summary>
    public static char? ParseNumber(ElmResponse answer)
    {
        if (answer.Error is not null || answer.Lines.Count != 1) return null;
        var text = answer.Lines[0].Trim().ToUpperInvariant();
        if (text.Length == 2 && text[0] == 'A') text = text[1..];
        return text.Length == 1 && Names.ContainsKey(text[0]) ? text[0] : null;
    }

    /// <summary>How answers are laid out with headers on or off in this protocol.</summary>
    public static ElmFraming FramingOf(bool headers, char? protocol) => !headers
        ? ElmFraming.NoHeaders
        : protocol switch
        {
            >= '1' and <= '5' => ElmFraming.Legacy,
            '6' or '8' => ElmFraming.Can11,
            '7' or '9' or 'A' => ElmFraming.Can29,
            _ => ElmFraming.Auto,
        };
}
