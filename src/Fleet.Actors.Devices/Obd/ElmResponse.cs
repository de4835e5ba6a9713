using System.Globalization;
using System.Text;

namespace Fleet.Actors.Devices.Obd;

/// <summary>What an ELM327 said instead of data. Every one of them is a typed answer, never an exception.</summary>
public enum ElmErrorKind
{
    /// <summary><c>NO DATA</c>: no ECU answered the request (PID not supported, or the vehicle is off).</summary>
    NoData,

    /// <summary><c>?</c>: the adapter did not understand the command.</summary>
    UnknownCommand,

    /// <summary><c>UNABLE TO CONNECT</c>: the protocol search found no bus (ignition off, wrong protocol).</summary>
    UnableToConnect,

    /// <summary><c>CAN ERROR</c>: the CAN bus could not be used (wrong speed, no other node).</summary>
    CanError,

    /// <summary><c>BUS ERROR</c>: a bus fault (short circuit, wiring).</summary>
    BusError,

    /// <summary><c>BUS INIT: ...ERROR</c>: a legacy (ISO 9141 / KWP) bus did not initialise.</summary>
    BusInitError,

    /// <summary><c>BUS BUSY</c>: too much traffic to send.</summary>
    BusBusy,

    /// <summary><c>BUFFER FULL</c>: the adapter's receive buffer overflowed (the serial line is too slow).</summary>
    BufferFull,

    /// <summary><c>STOPPED</c>: the command was interrupted by a character on the serial line.</summary>
    Stopped,

    /// <summary><c>DATA ERROR</c>: an answer arrived but could not be understood.</summary>
    DataError,

    /// <summary><c>&lt;DATA ERROR</c>: a line whose checksum or CRC was wrong.</summary>
    LineDataError,

    /// <summary><c>&lt;RX ERROR</c>: a CAN frame was received with an error.</summary>
    ReceiveError,

    /// <summary><c>FB ERROR</c>: a feedback error (the adapter did not see its own transmission).</summary>
    FeedbackError,

    /// <summary><c>LV RESET</c>: the adapter reset itself on a low supply voltage (its settings are gone).</summary>
    LowVoltageReset,

    /// <summary><c>ACT ALERT</c>: the adapter saw no activity and is about to sleep.</summary>
    ActivityAlert,

    /// <summary><c>ERRnn</c>: an internal adapter error (e.g. ERR94, a fatal CAN error).</summary>
    InternalError,

    /// <summary>The adapter's banner (<c>ELM327 v1.5</c>) in the answer to anything but a reset: it restarted.</summary>
    Reset,

    /// <summary>The answer is neither data nor a known message, or the data does not fit together.</summary>
    Garbled,
}

/// <summary>One error answer of an ELM327.</summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="Text">The adapter's words, for the log.</param>
public sealed record ElmError(ElmErrorKind Kind, string Text)
{
    /// <summary>True when the adapter restarted and must be initialised again.</summary>
    public bool IsReset => Kind is ElmErrorKind.Reset or ElmErrorKind.LowVoltageReset;
}

/// <summary>How the data lines of an answer are laid out, which depends on <c>ATH</c> and the protocol.</summary>
public enum ElmFraming
{
    /// <summary>Find out from the answer and the request (used when decoding captures).</summary>
    Auto,

    /// <summary>Headers off (<c>ATH0</c>): data bytes only; CAN multi-frame answers as <c>014</c>, <c>0: ..</c>, <c>1: ..</c>.</summary>
    NoHeaders,

    /// <summary>Headers on with 11-bit CAN: <c>7E8 06 41 0C 1A F8</c> (identifier, ISO-TP byte, data).</summary>
    Can11,

    /// <summary>Headers on with 29-bit CAN: <c>18 DA F1 10 06 41 0C 1A F8</c>.</summary>
    Can29,

    /// <summary>Headers on with J1850, ISO 9141 or KWP: <c>48 6B 10 41 0C 1A F8 CS</c> (three header bytes, data, checksum).</summary>
    Legacy,
}

/// <summary>The data one ECU sent, with multi-frame answers put back together.</summary>
/// <param name="Ecu">The sender: CAN identifier (<c>7E8</c>, <c>18DAF110</c>) or legacy source address; null without headers.</param>
/// <param name="Data">The message, starting with the response service byte (e.g. 0x41).</param>
public sealed record EcuMessage(string? Ecu, byte[] Data)
{
    /// <inheritdoc />
    public override string ToString() => $"{Ecu ?? "-"}: {Convert.ToHexString(Data)}";
}

/// <summary>
/// An ELM327 answer: the text the adapter sent up to its <c>&gt;</c> prompt, cleaned of echo, blank
/// lines and progress messages (<c>SEARCHING...</c>, <c>BUS INIT: ...OK</c>), with the data of each
/// ECU put together (spaces or not, headers or not, ISO-TP multi-frame), or the error it reported.
/// Pure: parsing never throws.
/// </summary>
public sealed record ElmResponse
{
    private static readonly (string Text, ElmErrorKind Kind)[] Errors =
    [
        ("NODATA", ElmErrorKind.NoData),
        ("?", ElmErrorKind.UnknownCommand),
        ("UNABLETOCONNECT", ElmErrorKind.UnableToConnect),
        ("CANERROR", ElmErrorKind.CanError),
        ("BUSERROR", ElmErrorKind.BusError),
        ("BUSBUSY", ElmErrorKind.BusBusy),
        ("BUFFERFULL", ElmErrorKind.BufferFull),
        ("STOPPED", ElmErrorKind.Stopped),
        ("DATAERROR", ElmErrorKind.DataError),
        ("FBERROR", ElmErrorKind.FeedbackError),
        ("LVRESET", ElmErrorKind.LowVoltageReset),
        ("ACTALERT", ElmErrorKind.ActivityAlert),
    ];

    /// <summary>Lines of the answer without echo, blank lines and progress messages.</summary>
    public IReadOnlyList<string> Lines { get; init; } = [];

    /// <summary>The error the adapter reported, or null.</summary>
    public ElmError? Error { get; init; }

    /// <summary>The data of each answering ECU (empty for AT commands and errors).</summary>
    public IReadOnlyList<EcuMessage> Messages { get; init; } = [];

    /// <summary>The adapter's banner (<c>ELM327 v1.5</c>) when the answer contained one.</summary>
    public string? Banner { get; init; }

    /// <summary>True when the adapter searched for the protocol first.</summary>
    public bool Searched { get; init; }

    /// <summary>True when the answer is a plain <c>OK</c>.</summary>
    public bool IsOk => Error is null && Lines.Count > 0 && Lines.All(l => l == "OK");

    /// <summary>The answer as one line, for logs.</summary>
    public string Excerpt => Error?.Text ?? string.Join(" | ", Lines);

    /// <summary>
    /// Parses the text of an answer (everything before the prompt; a prompt in it is ignored).
    /// <paramref name="command"/> is what was sent, to strip its echo and to recognise the data
    /// layout; <paramref name="framing"/> says whether headers are on and in which form.
    /// </summary>
    public static ElmResponse Parse(string text, string? command = null, ElmFraming framing = ElmFraming.Auto)
    {
        var sent = Normalise(command ?? "");
        var lines = new List<string>();
        var searched = false;
        string? banner = null;
        ElmError? error = null;
        foreach (var raw in text.Split('\r', '\n', '>'))
        {
            var line = Printable(raw).Trim();
            if (line.Length == 0) continue;
            var squeezed = Normalise(line);
            // The echo is the first line when echo is still on (before ATE0, or after a reset).
            if (lines.Count == 0 && !searched && sent.Length > 0 && squeezed == sent) continue;
            if (squeezed.StartsWith("SEARCHING", StringComparison.Ordinal))
            {
                searched = true;
                continue;
            }
            if (squeezed.StartsWith("BUSINIT", StringComparison.Ordinal))
            {
                if (squeezed.Contains("ERROR", StringComparison.Ordinal)) error ??= new ElmError(ElmErrorKind.BusInitError, line);
                continue;
            }
            if (line.StartsWith("ELM327", StringComparison.OrdinalIgnoreCase))
            {
                banner = line;
                continue;
            }
            if (ErrorOf(line, squeezed) is { } lineError) error ??= lineError;
            else lines.Add(line);
        }

        // Only OBD requests carry data; AT commands answer in words (OK, a version, a voltage...).
        if (!ObdRequest.TryParse(sent, out var request))
            return new ElmResponse { Lines = lines, Error = error, Banner = banner, Searched = searched };
        if (banner is not null) error ??= new ElmError(ElmErrorKind.Reset, banner);
        if (error is null && lines.Count == 0) error = new ElmError(ElmErrorKind.Garbled, "empty answer");
        if (error is not null)
            return new ElmResponse { Lines = lines, Error = error, Banner = banner, Searched = searched };

        var messages = ElmFrames.Assemble(lines, request.ExpectedPrefix, framing, out var problem);
        return new ElmResponse
        {
            Lines = lines,
            Messages = messages,
            Error = problem is null ? null : new ElmError(ElmErrorKind.Garbled, problem),
            Banner = banner,
            Searched = searched,
        };
    }

    private static ElmError? ErrorOf(string line, string squeezed)
    {
        if (line.StartsWith("<DATA ERROR", StringComparison.OrdinalIgnoreCase) || line.EndsWith("<DATA ERROR", StringComparison.OrdinalIgnoreCase))
            return new ElmError(ElmErrorKind.LineDataError, line);
        if (line.Contains("<RX ERROR", StringComparison.OrdinalIgnoreCase))
            return new ElmError(ElmErrorKind.ReceiveError, line);
        foreach (var (text, kind) in Errors)
            if (squeezed == text) return new ElmError(kind, line);
        if (squeezed.Length == 5 && squeezed.StartsWith("ERR", StringComparison.Ordinal) && char.IsAsciiDigit(squeezed[3]) && char.IsAsciiDigit(squeezed[4]))
            return new ElmError(ElmErrorKind.InternalError, line);
        return null;
    }

    /// <summary>Upper case without spaces: how commands and messages are compared (ATS0 removes spaces).</summary>
    internal static string Normalise(string text) => text.Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();

    // Adapters (clones especially) emit NUL and other control bytes around resets.
    private static string Printable(string text)
    {
        if (text.All(c => c is >= ' ' and < '\u007F')) return text;
        var clean = new StringBuilder(text.Length);
        foreach (var c in text)
            if (c is >= ' ' and < '\u007F') clean.Append(c);
        return clean.ToString();
    }
}

/// <summary>An OBD request as sent to the adapter (<c>010C</c>): service and optional PID.</summary>
public readonly record struct ObdRequest(byte Service, byte? Pid)
{
    /// <summary>
    /// Reads a request such as <c>010C</c>, <c>01 0C</c> or <c>03</c> (a trailing digit, the ELM's
    /// "expected answers" count, is allowed); false for AT commands and anything else.
    /// </summary>
    public static bool TryParse(string? command, out ObdRequest request)
    {
        request = default;
        var text = ElmResponse.Normalise(command ?? "");
        if (text.Length is < 2 or > 5 || !ElmFrames.IsHex(text)) return false;
        var service = byte.Parse(text.AsSpan(0, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if (service is 0 or >= 0x40) return false;
        request = new ObdRequest(service, text.Length >= 4 ? byte.Parse(text.AsSpan(2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture) : null);
        return true;
    }

    /// <summary>The command text, e.g. <c>010C</c>.</summary>
    public override string ToString() => Pid is { } pid ? $"{Service:X2}{pid:X2}" : $"{Service:X2}";

    /// <summary>The bytes a positive answer starts with: the service + 0x40, then the PID if any.</summary>
    public byte[] ExpectedPrefix => Pid is { } pid ? [(byte)(Service + 0x40), pid] : [(byte)(Service + 0x40)];
}
