using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Can;

/// <summary>One result of decoding a capture: a value or a malformed frame, with where it came from.</summary>
/// <param name="Line">1-based line number (for a reassembled transfer, the line of its last packet).</param>
/// <param name="TimestampMs">
/// The adapter's millisecond time stamp of that line, unwrapped into a running count from the
/// capture's clock (SLCAN stamps wrap every 60 s); null when the line has none.
/// </param>
/// <param name="Value">A decoded value, or null.</param>
/// <param name="Malformed">A line or message that did not decode, or null.</param>
public sealed record J1939CaptureItem(int Line, long? TimestampMs, ReadingValue? Value, MalformedFrame? Malformed);

/// <summary>
/// Offline decoding of a recorded SLCAN capture (for <c>fleet-agent decode slcan &lt;file&gt;</c>):
/// the same decoder the drivers use, with every value kept (no thinning unless the options ask).
/// </summary>
public static class J1939Capture
{
    /// <summary>
    /// Decodes SLCAN lines (one frame per line; CR/LF, empty lines, adapter replies and lines
    /// starting with <c>#</c> are skipped). Transfer timeouts run on the lines' time stamps; a
    /// capture without time stamps never times out (missing packets are still found).
    /// </summary>
    public static IEnumerable<J1939CaptureItem> DecodeSlcan(IEnumerable<string> lines, J1939Options? options = null)
    {
        var decoder = new J1939Decoder(options);
        var clock = new AdapterClock();
        var values = new List<TimedValue>();
        var malformed = new List<MalformedFrame>();
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var text = raw.Trim('\r', '\n');
            if (text.Length == 0 || text[0] == '#') continue;
            var line = Slcan.Parse(text);
            long? timestamp = line.Timestamp is { } stamp ? clock.Unwrap(stamp) : null;
            switch (line.Kind)
            {
                case SlcanLineKind.Malformed:
                    yield return new J1939CaptureItem(number, timestamp, null, new MalformedFrame(line.Problem!, text));
                    continue;
                case SlcanLineKind.Reply:
                    continue;
            }
            values.Clear();
            malformed.Clear();
            decoder.Decode(line.Frame, timestamp ?? clock.Last, values, malformed);
            foreach (var bad in malformed) yield return new J1939CaptureItem(number, timestamp, null, bad);
            foreach (var value in values) yield return new J1939CaptureItem(number, timestamp, value.Value, null);
        }
    }

    /// <summary>
    /// Lawicel adapters count 0..59999 ms; others use all 16 bits. The modulus is 60000 until a
    /// stamp of 60000 or more shows otherwise.
    /// </summary>
    private sealed class AdapterClock
    {
        private int? _previous;
        private long _wraps;
        private int _modulus = 60_000;

        public long Last { get; private set; }

        public long Unwrap(int stamp)
        {
            if (stamp >= _modulus) _modulus = 0x1_0000;
            if (_previous is { } previous && stamp < previous) _wraps += _modulus;
            _previous = stamp;
            Last = _wraps + stamp;
            return Last;
        }
    }
}
