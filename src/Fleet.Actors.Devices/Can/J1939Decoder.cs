using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Can;

/// <summary>
/// Turns the CAN frames of a J1939 bus into readings: decodes the known parameter groups
/// (<see cref="J1939Parameters"/>), reassembles BAM transfers, emits DM1 fault lists (and the VIN)
/// only when they change per source address, and thins fast signals to
/// <see cref="J1939Options.MinInterval"/>. Frames it has no use for (unknown PGNs, 11-bit or remote
/// frames, filtered sources, RTS/CTS transfers) are counted, never reported as errors. No I/O and
/// no actor: the drivers and the capture decoder share it; one instance per bus, one thread at a time.
/// </summary>
public sealed class J1939Decoder
{
    private readonly J1939Options _options;
    private readonly J1939Transport _transport;
    private readonly long _minIntervalMs;
    private readonly Dictionary<(int Source, int Pgn), ReadingValue> _lastState = new();
    private readonly Dictionary<(string Signal, int Source, int Location), long> _lastEmitted = new();
    private readonly List<ReadingValue> _decoded = new();
    private readonly List<string> _problems = new();

    /// <summary>Creates a decoder with its own state.</summary>
    public J1939Decoder(J1939Options? options = null)
    {
        _options = options ?? new J1939Options();
        _transport = new J1939Transport(_options);
        _minIntervalMs = (long)_options.MinInterval.TotalMilliseconds;
    }

    /// <summary>Frames given to <see cref="Decode"/>.</summary>
    public long Frames { get; private set; }

    /// <summary>Messages (single frames or reassembled) with a PGN this decoder does not know.</summary>
    public long UnknownPgns { get; private set; }

    /// <summary>11-bit or remote frames, which are not J1939.</summary>
    public long NotJ1939 { get; private set; }

    /// <summary>Frames from source addresses outside <see cref="J1939Options.SourceAddresses"/>.</summary>
    public long IgnoredSources { get; private set; }

    /// <summary>Values left out because the same signal was emitted less than <see cref="J1939Options.MinInterval"/> before.</summary>
    public long Thinned { get; private set; }

    /// <summary>DM1 or VIN messages that repeated the last one from their source.</summary>
    public long Unchanged { get; private set; }

    /// <summary>BAM transfers reassembled.</summary>
    public long TransportCompleted => _transport.Completed;

    /// <summary>BAM transfers given up (each also reported as a malformed frame).</summary>
    public long TransportAborted => _transport.Aborted;

    /// <summary>Of <see cref="TransportAborted"/>, those that timed out.</summary>
    public long TransportTimedOut => _transport.TimedOut;

    /// <summary>RTS/CTS transport frames, which a listener cannot take part in.</summary>
    public long UnsupportedTransport => _transport.Unsupported;

    /// <summary>Transport data packets of no transfer in progress.</summary>
    public long OrphanPackets => _transport.Orphans;

    /// <summary>
    /// Decodes one frame observed at <paramref name="timestampMs"/> (which also drives the transport
    /// timeouts), appending values and malformed frames. Never throws on bus data.
    /// </summary>
    public void Decode(CanFrame frame, long timestampMs, List<TimedValue> values, List<MalformedFrame> malformed)
    {
        Frames++;
        _transport.Expire(timestampMs, malformed);
        if (!frame.IsExtended || frame.IsRemote)
        {
            NotJ1939++;
            return;
        }
        var id = J1939Id.FromCanId(frame.Id);
        if (_options.SourceAddresses is { } sources && !sources.Contains(id.SourceAddress))
        {
            IgnoredSources++;
            return;
        }
        Span<byte> data = stackalloc byte[CanFrame.MaxLength];
        data = data[..frame.CopyTo(data)];
        switch (id.Pgn)
        {
            case J1939Pgns.TpCm:
                _transport.OnConnectionManagement(id, data, timestampMs, malformed);
                break;
            case J1939Pgns.TpDt:
                if (_transport.OnData(id, data, timestampMs, malformed) is { } message)
                    Dispatch(message.Pgn, message.Source, message.Payload, timestampMs, values, malformed);
                break;
            default:
                Dispatch(id.Pgn, id.SourceAddress, data, timestampMs, values, malformed);
                break;
        }
    }

    private void Dispatch(int pgn, byte source, ReadOnlySpan<byte> data, long timestampMs, List<TimedValue> values, List<MalformedFrame> malformed)
    {
        _decoded.Clear();
        _problems.Clear();
        if (!J1939Parameters.Decode(pgn, source, data, _decoded, _problems))
        {
            UnknownPgns++;
            return;
        }
        foreach (var problem in _problems)
            malformed.Add(new MalformedFrame(problem, $"PGN {pgn} from SA 0x{source:X2}: {Convert.ToHexString(data)}"));
        foreach (var value in _decoded)
            if (ShouldEmit(value, pgn, source, timestampMs)) values.Add(new TimedValue(timestampMs, value));
    }

    private bool ShouldEmit(ReadingValue value, int pgn, byte source, long timestampMs)
    {
        switch (value)
        {
            case FaultCodesValue or VehicleInfoValue:
                // State, not samples: only a change is news.
                if (_lastState.TryGetValue((source, pgn), out var last) && last.Equals(value))
                {
                    Unchanged++;
                    return false;
                }
                _lastState[(source, pgn)] = value;
                return true;
            case MeasurementValue m:
                return Due((m.Name, source, -1), timestampMs);
            case TyreValue t:
                return Due(("tyre", source, t.Location), timestampMs);
            default:
                return true;
        }
    }

    private bool Due((string Signal, int Source, int Location) key, long timestampMs)
    {
        if (_minIntervalMs <= 0) return true;
        // A clock that went backwards emits rather than going silent until it catches up.
        if (_lastEmitted.TryGetValue(key, out var last) && timestampMs >= last && timestampMs - last < _minIntervalMs)
        {
            Thinned++;
            return false;
        }
        _lastEmitted[key] = timestampMs;
        return true;
    }
}
