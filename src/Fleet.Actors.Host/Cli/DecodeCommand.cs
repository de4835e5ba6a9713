using System.CommandLine;
using System.Text;
using System.Text.Json;
using Fleet.Actors.Devices.Can;
using Fleet.Actors.Devices.Gps;
using Fleet.Actors.Devices.Obd;
using Fleet.Actors.Devices.Serial;

namespace Fleet.Actors.Host.Cli;

/// <summary>
/// <c>fleet-agent decode &lt;format&gt; &lt;file&gt;</c>: decodes a capture (a plain log or a recorded
/// trace) and prints one JSON object per line for every reading, so that anyone can compare our
/// decoding with another decoder's. Refused input goes to standard error with its line number.
/// </summary>
public static class DecodeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var format = new Argument<string>("format") { Description = "What the capture holds: nmea (GPS), elm327 (OBD-II), slcan (J1939 over CAN)" };
        format.AcceptOnlyFromAmong("nmea", "elm327", "slcan");
        var file = new Argument<FileInfo>("file") { Description = "A plain capture (one sentence or frame per line) or a trace written by record / record-to" };
        var command = new Command("decode", "Decode a capture file and print one JSON object per reading");
        command.Arguments.Add(format);
        command.Arguments.Add(file);
        command.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            if (!path.Exists)
            {
                Console.Error.WriteLine($"decode: {path.FullName} does not exist");
                return 1;
            }
            using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
            var lines = CaptureLines(path.FullName);
            var summary = parse.GetValue(format) switch
            {
                "nmea" => DecodeNmea(lines, stdout, Console.Error),
                "slcan" => DecodeSlcan(lines, stdout, Console.Error),
                "elm327" => DecodeElm327(File.ReadAllText(path.FullName, Encoding.Latin1), stdout, Console.Error),
                var other => throw new InvalidOperationException($"no decoder for {other}"),
            };
            stdout.Flush();
            Console.Error.WriteLine(summary);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Decodes NMEA lines, writing one JSON object per fix: time (ISO 8601 UTC, absent without a
    /// date), mode (1 no fix, 2 2D, 3 3D), lat, lon (degrees), alt (m above MSL), speed (m/s),
    /// track (degrees), and what else the receiver said. Returns the summary line.
    /// </summary>
    public static string DecodeNmea(IEnumerable<(int LineNumber, string Text)> lines, TextWriter output, TextWriter errors)
    {
        var decoder = new NmeaDecoder();
        var fixes = new List<GpsFix>();
        var count = 0;
        foreach (var (number, text) in lines)
        {
            if (decoder.Decode(text, fixes, out var problem) == NmeaOutcome.Malformed)
                errors.WriteLine($"line {number}: {problem}: {text.Trim()}");
            count += WriteFixes(fixes, output);
        }
        decoder.Flush(fixes);
        count += WriteFixes(fixes, output);
        return $"{count} fixes; {decoder.Decoded} sentences decoded, {decoder.Ignored} ignored, {decoder.Malformed} refused";
    }

    /// <summary>
    /// Decodes SLCAN frame lines as J1939, writing one JSON object per reading: line, the adapter's
    /// time stamp in ms when the capture has them (<c>t</c>), then the reading (see <see cref="ReadingJson"/>).
    /// Every value is kept (no thinning). Returns the summary line.
    /// </summary>
    public static string DecodeSlcan(IEnumerable<(int LineNumber, string Text)> lines, TextWriter output, TextWriter errors)
    {
        var numbered = lines.ToList();
        int readings = 0, refused = 0;
        foreach (var item in J1939Capture.DecodeSlcan(numbered.Select(l => l.Text)))
        {
            var lineNumber = numbered[item.Line - 1].LineNumber;
            if (item.Malformed is { } bad)
            {
                refused++;
                errors.WriteLine($"line {lineNumber}: {bad.Reason}: {bad.Excerpt}");
                continue;
            }
            readings++;
            output.WriteLine(ReadingJson.Format(item.Value!, json =>
            {
                json.WriteNumber("line", lineNumber);
                if (item.TimestampMs is { } t) json.WriteNumber("t", t);
            }));
        }
        return $"{readings} readings from {numbered.Count} lines; {refused} refused";
    }

    /// <summary>
    /// Decodes an ELM327 conversation (a trace from <c>record-to</c>, or plain text with requests on
    /// lines starting with <c>&gt;</c>), writing one JSON object per reading: the request, its offset
    /// in ms when the capture is timed (<c>t</c>), then the reading. Returns the summary line.
    /// </summary>
    public static string DecodeElm327(string text, TextWriter output, TextWriter errors)
    {
        var result = ElmCapture.Decode(text);
        foreach (var reading in result.Readings)
        {
            output.WriteLine(ReadingJson.Format(reading.Value, json =>
            {
                json.WriteString("command", reading.Command);
                if (reading.OffsetMs is { } t) json.WriteNumber("t", t);
            }));
        }
        foreach (var bad in result.Malformed) errors.WriteLine($"{bad.Command}: {bad.Reason}: {bad.Excerpt}");
        return $"{result.Readings.Count} readings from {result.Exchanges.Count} exchanges; {result.Malformed.Count} refused, {result.Unhandled} requests without a decoder";
    }

    /// <summary>
    /// The device's lines of a capture, with their line numbers in the file: a plain capture line by
    /// line (comments skipped), a trace by what the device sent (numbered by received line).
    /// </summary>
    public static IEnumerable<(int LineNumber, string Text)> CaptureLines(string path)
    {
        using (var reader = new StreamReader(path, Encoding.Latin1))
        {
            if (reader.ReadLine() != SerialTrace.Header)
                return File.ReadLines(path, Encoding.Latin1)
                    .Select((text, index) => (LineNumber: index + 1, Text: text))
                    .Where(line => !line.Text.StartsWith('#') && line.Text.Trim().Length > 0);
        }
        return TraceLines(path);
    }

    private static IEnumerable<(int LineNumber, string Text)> TraceLines(string path)
    {
        var framer = new LineFramer(4096, (byte)'\n', (byte)'\r');
        var lines = new List<LineFramer.Line>();
        var number = 0;
        foreach (var chunk in SerialTrace.Load(path, 1, out _))
        {
            if (chunk.Direction != TraceDirection.FromDevice) continue;
            lines.Clear();
            framer.Feed(chunk.Data, lines);
            foreach (var line in lines) yield return (++number, line.Text);
        }
    }

    private static int WriteFixes(List<GpsFix> fixes, TextWriter output)
    {
        foreach (var fix in fixes) output.WriteLine(ToJson(fix));
        var written = fixes.Count;
        fixes.Clear();
        return written;
    }

    /// <summary>One fix as a JSON object on one line (gpsd's TPV field names where they exist).</summary>
    public static string ToJson(GpsFix fix)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (fix.Time is { } time) json.WriteString("time", time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            else if (fix.TimeOfDay is { } tod) json.WriteString("time_of_day", tod.ToString(@"hh\:mm\:ss\.fff", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteNumber("mode", (int)fix.Mode);
            if (fix.Latitude is { } lat) json.WriteNumber("lat", Math.Round(lat, 9));
            if (fix.Longitude is { } lon) json.WriteNumber("lon", Math.Round(lon, 9));
            if (fix.Altitude is { } alt) json.WriteNumber("alt", alt);
            if (fix.Speed is { } speed) json.WriteNumber("speed", Math.Round(speed, 4));
            if (fix.Track is { } track) json.WriteNumber("track", track);
            if (fix.Quality is { } quality) json.WriteNumber("quality", quality);
            if (fix.SatellitesUsed is { } used) json.WriteNumber("satellites_used", used);
            if (fix.SatellitesInView is { } inView) json.WriteNumber("satellites_in_view", inView);
            if (fix.Hdop is { } hdop) json.WriteNumber("hdop", hdop);
            if (fix.Talker.Length > 0) json.WriteString("talker", fix.Talker);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
