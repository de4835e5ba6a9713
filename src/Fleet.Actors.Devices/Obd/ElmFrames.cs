namespace Fleet.Actors.Devices.Obd;

/// <summary>
/// Puts the data lines of an ELM327 answer together into one message per ECU: strips headers,
/// ISO-TP bytes and legacy checksums, and joins multi-frame answers in both of the forms the
/// adapter prints (<c>014</c> / <c>0: ..</c> without headers, first and consecutive frames with them).
/// </summary>
internal static class ElmFrames
{
    /// <summary>
    /// Assembles <paramref name="lines"/> (answer lines without echo or messages).
    /// <paramref name="prefix"/> is how a positive answer starts, used to recognise the layout when
    /// <paramref name="framing"/> is <see cref="ElmFraming.Auto"/>. <paramref name="problem"/> says what
    /// did not fit (a line that is not hex, a missing frame); the messages that did fit are returned anyway.
    /// </summary>
    public static IReadOnlyList<EcuMessage> Assemble(IReadOnlyList<string> lines, byte[]? prefix, ElmFraming framing, out string? problem)
    {
        problem = null;
        var parsed = new List<Line>(lines.Count);
        foreach (var text in lines)
        {
            if (ParseLine(text) is { } line) parsed.Add(line);
            else problem ??= $"not a data line: \"{Excerpt(text)}\"";
        }
        if (framing == ElmFraming.Auto) framing = Detect(parsed, prefix);
        var messages = new List<EcuMessage>();
        var failure = framing switch
        {
            ElmFraming.Can11 => AssembleCan(parsed, 3, messages),
            ElmFraming.Can29 => AssembleCan(parsed, 8, messages),
            ElmFraming.Legacy => AssembleLegacy(parsed, messages),
            _ => AssembleHeaderless(parsed, messages),
        };
        problem ??= failure;
        return messages;
    }

    /// <summary>True when every character is a hexadecimal digit.</summary>
    public static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
            if (!char.IsAsciiHexDigit(c)) return false;
        return true;
    }

    /// <summary>Hex digits (no spaces) to bytes; null when the text is not whole bytes of hex.</summary>
    public static byte[]? Hex(ReadOnlySpan<char> text)
    {
        if (text.Length % 2 != 0 || !IsHex(text)) return null;
        return Convert.FromHexString(text);
    }

    private static string Excerpt(string text) => text.Length > 40 ? text[..40] + "…" : text;

    private static Line? ParseLine(string text)
    {
        // "0: 49 02 01 31 46 54": a numbered frame of a headerless multi-frame answer.
        var colon = text.IndexOf(':');
        if (colon > 0)
        {
            var index = text[..colon].Trim();
            var rest = ElmResponse.Normalise(text[(colon + 1)..]);
            if (index.Length != 1 || !IsHex(index) || Hex(rest) is not { } frame) return null;
            return new Line(LineKind.Numbered, Convert.ToInt32(index, 16), rest, frame);
        }
        var digits = ElmResponse.Normalise(text);
        if (digits.Length == 0 || !IsHex(digits)) return null;
        // "014": the byte count that starts a headerless multi-frame answer (never spaced, always three digits).
        if (digits.Length == 3 && text.Trim().Length == 3) return new Line(LineKind.Length, Convert.ToInt32(digits, 16), digits, null);
        return new Line(LineKind.Data, 0, digits, null);
    }

    private static ElmFraming Detect(List<Line> lines, byte[]? prefix)
    {
        if (lines.Any(l => l.Kind != LineKind.Data)) return ElmFraming.NoHeaders;
        if (lines.Count == 0) return ElmFraming.NoHeaders;
        var digits = lines[0].Digits;
        var odd = digits.Length % 2 == 1;
        if (prefix is not null)
        {
            if (!odd && Hex(digits) is { } plain && Answers(plain, prefix)) return ElmFraming.NoHeaders;
            if (odd && CanPayload(digits, 3) is { } can11 && Answers(can11, prefix)) return ElmFraming.Can11;
            // Legacy before 29-bit CAN: the fourth byte of a 29-bit identifier is an ECU address
            // (0x10..0x17), never a response service, while legacy data can look like an ISO-TP byte.
            if (!odd && digits.Length >= 8 && Hex(digits) is { } legacy && Answers(legacy.AsSpan(3), prefix)) return ElmFraming.Legacy;
            if (!odd && CanPayload(digits, 8) is { } can29 && Answers(can29, prefix)) return ElmFraming.Can29;
        }
        return odd ? ElmFraming.Can11 : ElmFraming.NoHeaders;
    }

    // A positive answer to the request, or a negative one (7F, service) which must not be mistaken for garbage.
    private static bool Answers(ReadOnlySpan<byte> data, byte[] prefix) =>
        data.StartsWith(prefix) || data.Length >= 2 && data[0] == 0x7F && data[1] == prefix[0] - 0x40;

    // The data of a single or first frame after a CAN identifier of headerDigits hex digits.
    private static byte[]? CanPayload(string digits, int headerDigits)
    {
        if (digits.Length < headerDigits + 4 || Hex(digits.AsSpan(headerDigits)) is not { } frame) return null;
        return (frame[0] >> 4) switch
        {
            0 => frame[1..],
            1 when frame.Length > 2 => frame[2..],
            _ => null,
        };
    }

    private static string? AssembleHeaderless(List<Line> lines, List<EcuMessage> messages)
    {
        string? problem = null;
        List<byte>? pending = null;
        var declared = -1;
        var nextIndex = 0;

        void Finish()
        {
            if (pending is null) return;
            if (declared >= 0 && pending.Count < declared) problem ??= $"multi-frame answer incomplete ({pending.Count} of {declared} bytes)";
            else messages.Add(new EcuMessage(null, (declared >= 0 ? pending.Take(declared) : pending).ToArray()));
            pending = null;
            declared = -1;
        }

        foreach (var line in lines)
        {
            switch (line.Kind)
            {
                case LineKind.Length:
                    Finish();
                    pending = new List<byte>(line.Number);
                    declared = line.Number;
                    nextIndex = 0;
                    break;
                case LineKind.Numbered:
                    pending ??= new List<byte>();
                    if (line.Number != nextIndex % 16) problem ??= $"frame {line.Number:X} where {nextIndex % 16:X} was due";
                    nextIndex = line.Number + 1;
                    pending.AddRange(line.Frame!);
                    break;
                default:
                    Finish();
                    if (Hex(line.Digits) is { } data) messages.Add(new EcuMessage(null, data));
                    else problem ??= $"odd number of hex digits: \"{Excerpt(line.Digits)}\"";
                    break;
            }
        }
        Finish();
        return problem;
    }

    private static string? AssembleCan(List<Line> lines, int headerDigits, List<EcuMessage> messages)
    {
        string? problem = null;
        var pending = new Dictionary<string, (int Length, List<byte> Data, int NextSequence)>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            if (line.Kind != LineKind.Data || line.Digits.Length < headerDigits + 2 || Hex(line.Digits.AsSpan(headerDigits)) is not { } frame)
            {
                problem ??= $"not a CAN frame with a {headerDigits * 4}-bit identifier: \"{Excerpt(line.Digits)}\"";
                continue;
            }
            var ecu = line.Digits[..headerDigits];
            var pci = frame[0];
            switch (pci >> 4)
            {
                case 0:
                    var length = pci & 0x0F;
                    if (length == 0 || frame.Length - 1 < length) problem ??= $"single frame of {ecu} says {length} bytes but has {frame.Length - 1}";
                    else messages.Add(new EcuMessage(ecu, frame[1..(1 + length)]));
                    break;
                case 1 when frame.Length >= 2:
                    if (pending.ContainsKey(ecu)) problem ??= $"{ecu} started a new answer before finishing the last";
                    pending[ecu] = (((pci & 0x0F) << 8) | frame[1], new List<byte>(frame[2..]), 1);
                    break;
                case 2:
                    if (!pending.TryGetValue(ecu, out var message))
                    {
                        problem ??= $"consecutive frame of {ecu} without a first frame";
                        break;
                    }
                    if ((pci & 0x0F) != message.NextSequence % 16) problem ??= $"frame {pci & 0x0F:X} of {ecu} where {message.NextSequence % 16:X} was due";
                    message.Data.AddRange(frame[1..]);
                    pending[ecu] = message with { NextSequence = message.NextSequence + 1 };
                    if (message.Data.Count >= message.Length)
                    {
                        messages.Add(new EcuMessage(ecu, message.Data.Take(message.Length).ToArray()));
                        pending.Remove(ecu);
                    }
                    break;
                case 3:
                    // Flow control (only seen when the adapter monitors the bus): not data.
                    break;
                default:
                    problem ??= $"unknown ISO-TP frame type {pci:X2} from {ecu}";
                    break;
            }
        }
        foreach (var (ecu, message) in pending)
            problem ??= $"multi-frame answer of {ecu} incomplete ({message.Data.Count} of {message.Length} bytes)";
        return problem;
    }

    private static string? AssembleLegacy(List<Line> lines, List<EcuMessage> messages)
    {
        string? problem = null;
        foreach (var line in lines)
        {
            // Three header bytes (priority, target, source), the data, and the checksum byte.
            if (line.Kind != LineKind.Data || Hex(line.Digits) is not { Length: >= 5 } frame)
            {
                problem ??= $"not a frame with a 3-byte header: \"{Excerpt(line.Digits)}\"";
                continue;
            }
            messages.Add(new EcuMessage(frame[2].ToString("X2", System.Globalization.CultureInfo.InvariantCulture), frame[3..^1]));
        }
        return problem;
    }

    private enum LineKind
    {
        Data,
        Length,
        Numbered,
    }

    private sealed record Line(LineKind Kind, int Number, string Digits, byte[]? Frame);
}
