using System.Text;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Serial;

namespace Fleet.Actors.Devices.Obd;

/// <summary>One request and the answer the adapter gave, from a capture.</summary>
/// <param name="Command">What was sent (without the carriage return); empty for text the adapter sent unasked (a power-up banner).</param>
/// <param name="Answer">The answer text up to the prompt.</param>
/// <param name="OffsetMs">When the answer was complete, in milliseconds since the trace started (null for plain text).</param>
public sealed record ElmExchange(string Command, string Answer, long? OffsetMs);

/// <summary>A value decoded from a capture.</summary>
/// <param name="Command">The request that produced it (e.g. <c>010C</c>).</param>
/// <param name="Value">The value.</param>
/// <param name="OffsetMs">Time of the answer in the trace (null for plain text).</param>
public sealed record ElmDecodedReading(string Command, ReadingValue Value, long? OffsetMs);

/// <summary>An answer in a capture that did not decode.</summary>
/// <param name="Command">The request.</param>
/// <param name="Reason">Why (the adapter's error or the decoder's problem).</param>
/// <param name="Excerpt">The answer.</param>
public sealed record ElmMalformedAnswer(string Command, string Reason, string Excerpt);

/// <summary>Everything decoded from one capture.</summary>
/// <param name="Exchanges">Request/answer pairs found.</param>
/// <param name="Readings">Decoded values, in capture order.</param>
/// <param name="Malformed">Answers that did not decode.</param>
/// <param name="Unhandled">OBD requests without a decoder here (other PIDs and services), skipped.</param>
public sealed record ElmCaptureResult(
    IReadOnlyList<ElmExchange> Exchanges,
    IReadOnlyList<ElmDecodedReading> Readings,
    IReadOnlyList<ElmMalformedAnswer> Malformed,
    int Unhandled);

/// <summary>
/// Decodes an ELM327 capture offline (<c>fleet-agent decode elm327 &lt;file&gt;</c>), with no actor,
/// port or file access: the caller passes the text. Two forms are understood: a serial trace as
/// <see cref="RecordingChannel"/> writes it (<see cref="SerialTrace"/>: <c>ms &gt; command</c> and
/// <c>ms &lt; answer</c> chunks), and plain text in which a line starting with <c>&gt;</c> is a
/// request (as a terminal shows it after the prompt) and the lines up to the next request are its
/// answer (a leading <c>&lt;</c> on them is dropped; <c>#</c> lines are comments). Header and protocol
/// settings (<c>ATH1</c>, <c>ATSPn</c>, <c>ATDPN</c>, <c>ATDP</c>) are followed through the capture.
/// </summary>
public static class ElmCapture
{
    /// <summary>Decodes the text of a capture.</summary>
    public static ElmCaptureResult Decode(string text)
    {
        var exchanges = Split(text);
        var readings = new List<ElmDecodedReading>();
        var malformed = new List<ElmMalformedAnswer>();
        var unhandled = 0;
        // Unknown until the capture shows ATZ or ATH: the layout is then recognised from each answer.
        bool? headers = null;
        char? protocol = null;
        var protocolName = "";
        bool? mil = null;

        foreach (var exchange in exchanges)
        {
            var command = ElmResponse.Normalise(exchange.Command);
            var framing = headers is { } on ? ElmProtocols.FramingOf(on, protocol) : ElmFraming.Auto;
            var response = ElmResponse.Parse(exchange.Answer, command, framing);
            if (command.StartsWith("AT", StringComparison.Ordinal))
            {
                switch (command)
                {
                    case "ATZ" or "ATWS" or "ATD":
                        headers = false;
                        break;
                    case "ATH0" or "ATH1":
                        headers = command == "ATH1";
                        break;
                    case "ATDPN":
                        protocol = ElmProtocols.ParseNumber(response) ?? protocol;
                        if (protocol is { } number) protocolName = ElmProtocols.NameOf(number);
                        break;
                    case "ATDP" when response.Error is null && response.Lines.Count > 0:
                        protocolName = string.Join(" ", response.Lines);
                        break;
                    default:
                        if (command.StartsWith("ATSP", StringComparison.Ordinal) && command.Length == 5 && command[4] != ElmProtocols.Auto && ElmProtocols.IsValid(command[4]))
                            protocol = command[4];
                        break;
                }
                continue;
            }
            if (!ObdRequest.TryParse(command, out var request))
            {
                if (command.Length > 0) unhandled++;
                continue;
            }

            var decoded = DecodeRequest(request, response, protocol, protocolName, ref mil, out var problem);
            if (decoded is null && problem is null)
            {
                unhandled++;
                continue;
            }
            if (problem is not null) malformed.Add(new ElmMalformedAnswer(command, problem, response.Excerpt));
            foreach (var value in decoded ?? []) readings.Add(new ElmDecodedReading(command, value, exchange.OffsetMs));
        }
        return new ElmCaptureResult(exchanges, readings, malformed, unhandled);
    }

    /// <summary>
    /// Cuts a capture into request/answer pairs. A trace keeps the order of the bytes: each
    /// carriage return the agent wrote ends a request, each prompt from the adapter ends an answer.
    /// </summary>
    public static IReadOnlyList<ElmExchange> Split(string text)
    {
        // Any line ends: a raw adapter capture ends its lines with \r alone.
        var lines = text.ReplaceLineEndings("\n").Split('\n').ToList();
        return lines.Count > 0 && lines[0] == SerialTrace.Header ? SplitTrace(lines.Skip(1)) : SplitPlain(lines);
    }

    private static IReadOnlyList<ReadingValue>? DecodeRequest(ObdRequest request, ElmResponse response, char? protocol, string protocolName,
        ref bool? mil, out string? problem)
    {
        problem = null;
        string why;
        switch (request.Service, request.Pid)
        {
            case (0x01, 0x00 or 0x20 or 0x40 or 0x60 or 0x80 or 0xA0 or 0xC0 or 0xE0):
                // Bitmaps are not readings; only a broken one is worth reporting.
                if (!ObdDecoder.TrySupportedPids(request.Pid.Value, response, out _, out why)) problem = why;
                return [];
            case (0x01, { } number) when ObdPids.ByNumber(number) is { } pid:
                if (!ObdDecoder.TryDecodePid(pid, response, out var values, out why))
                {
                    problem = why;
                    return [];
                }
                if (pid.IsMonitorStatus && ObdDecoder.TryMonitorStatus(response, out var status, out _)) mil = status.Mil;
                return values;
            case (0x09, 0x02):
                if (ObdDecoder.TryVin(response, out var vin, out why)) return [new VehicleInfoValue(vin, protocolName)];
                problem = why;
                return [];
            case (0x03, null):
                if (ObdDecoder.TryTroubleCodes(response, protocol is { } p ? ElmProtocols.IsCan(p) : null, out var faults, out why))
                    return [new FaultCodesValue(ObdDecoder.FaultSource, faults, mil)];
                problem = why;
                return [];
            case (0x04, null):
                if (!ObdDecoder.TryClearConfirmed(response, out why)) problem = why;
                return [];
            default:
                return null;
        }
    }

    private static List<ElmExchange> SplitTrace(IEnumerable<string> lines)
    {
        var exchanges = new List<ElmExchange>();
        var commands = new Queue<string>();
        var command = new StringBuilder();
        var answer = new StringBuilder();
        foreach (var line in lines)
        {
            if (line.Length == 0 || line[0] == '#' || !SerialTrace.TryParseLine(line, out var chunk)) continue;
            foreach (var b in chunk.Data)
            {
                var c = (char)b;
                if (chunk.Direction == TraceDirection.ToDevice)
                {
                    if (c == '\r')
                    {
                        commands.Enqueue(command.ToString().Trim());
                        command.Clear();
                    }
                    else if (c != '\n') command.Append(c);
                }
                else if (c == '>')
                {
                    exchanges.Add(new ElmExchange(commands.TryDequeue(out var sent) ? sent : "", answer.ToString(), chunk.OffsetMs));
                    answer.Clear();
                }
                else answer.Append(c);
            }
        }
        return exchanges;
    }

    private static List<ElmExchange> SplitPlain(List<string> lines)
    {
        var exchanges = new List<ElmExchange>();
        string? command = null;
        var answer = new StringBuilder();

        void Flush()
        {
            if (command is not null) exchanges.Add(new ElmExchange(command, answer.ToString(), null));
            command = null;
            answer.Clear();
        }

        foreach (var line in lines)
        {
            if (line.StartsWith('#')) continue;
            if (line.StartsWith('>'))
            {
                // A bare prompt ends the answer without starting a request.
                Flush();
                var sent = line[1..].Trim();
                if (sent.Length > 0) command = sent;
                continue;
            }
            if (command is null) continue;
            answer.Append(line.StartsWith('<') ? line[1..].TrimStart() : line).Append('\r');
        }
        Flush();
        return exchanges;
    }
}
