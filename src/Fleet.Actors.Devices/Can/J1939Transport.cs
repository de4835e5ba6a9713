using System.Buffers.Binary;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Can;

/// <summary>A message of more than 8 bytes, reassembled from a BAM transfer.</summary>
/// <param name="Pgn">The PGN the transfer carried.</param>
/// <param name="Source">The sender.</param>
/// <param name="Payload">Exactly the announced number of bytes.</param>
public sealed record TransportMessage(int Pgn, byte Source, byte[] Payload);

/// <summary>
/// Reassembles J1939-21 broadcast transfers (BAM): a TP.CM announcement (control byte 32: size,
/// packet count, PGN) then TP.DT packets numbered 1..n with 7 bytes each. One transfer per source
/// at a time (a new announcement abandons the previous one), at most
/// <see cref="J1939Options.MaxTransportSessions"/> in all, at most 1785 bytes. A missing, repeated or
/// out-of-order packet aborts the transfer, and so does a gap of more than
/// <see cref="J1939Options.TransportTimeout"/> (T1, 750 ms) between packets; each abort is reported
/// as a malformed frame and counted. Destination-specific transfers (RTS/CTS) need a reply from us,
/// and a listener does not reply: they are only counted.
/// </summary>
internal sealed class J1939Transport(J1939Options options)
{
    /// <summary>Largest message the transport protocol carries (255 packets of 7 bytes).</summary>
    public const int MaxMessageSize = 1785;

    private const byte Bam = 32;
    private const int BytesPerPacket = 7;

    private readonly Dictionary<byte, Session> _sessions = new();
    private readonly List<byte> _expired = new();
    private readonly long _timeoutMs = (long)options.TransportTimeout.TotalMilliseconds;

    /// <summary>Transfers reassembled.</summary>
    public long Completed { get; private set; }

    /// <summary>Transfers given up: packet missing or out of order, timed out, abandoned, refused or badly announced.</summary>
    public long Aborted { get; private set; }

    /// <summary>Of <see cref="Aborted"/>, those that timed out.</summary>
    public long TimedOut { get; private set; }

    /// <summary>RTS/CTS (destination-specific) frames, which a listener cannot take part in.</summary>
    public long Unsupported { get; private set; }

    /// <summary>Data packets of no transfer in progress (joined mid-transfer, or after an abort).</summary>
    public long Orphans { get; private set; }

    /// <summary>Aborts every transfer whose last packet is older than the timeout.</summary>
    public void Expire(long nowMs, List<MalformedFrame> malformed)
    {
        if (_sessions.Count == 0) return;
        _expired.Clear();
        foreach (var (source, session) in _sessions)
            if (nowMs - session.LastPacketMs > _timeoutMs) _expired.Add(source);
        foreach (var source in _expired)
        {
            var session = _sessions[source];
            TimedOut++;
            Abort(source, $"no packet for {nowMs - session.LastPacketMs} ms (timeout {_timeoutMs} ms), {session.NextSequence - 1} of {session.Packets} received", malformed);
        }
    }

    /// <summary>Handles a TP.CM frame (8 data bytes expected).</summary>
    public void OnConnectionManagement(J1939Id id, ReadOnlySpan<byte> data, long nowMs, List<MalformedFrame> malformed)
    {
        if (data.Length < 8)
        {
            Aborted++;
            malformed.Add(new MalformedFrame($"J1939 TP.CM from SA 0x{id.SourceAddress:X2} has {data.Length} data bytes, needs 8", Convert.ToHexString(data)));
            return;
        }
        if (data[0] != Bam || id.DestinationAddress != J1939Id.GlobalAddress)
        {
            // RTS (16), CTS (17), end of message (19), abort (255): a conversation between two ECUs.
            Unsupported++;
            return;
        }
        var size = BinaryPrimitives.ReadUInt16LittleEndian(data[1..]);
        var packets = data[3];
        var pgn = data[5] | (data[6] << 8) | (data[7] << 16);
        var source = id.SourceAddress;
        if (_sessions.ContainsKey(source))
            Abort(source, "abandoned: a new BAM announcement came first", malformed);

        string? problem = null;
        if (size is <= CanFrame.MaxLength or > MaxMessageSize) problem = $"announces {size} bytes (9..{MaxMessageSize})";
        else if (packets != (size + BytesPerPacket - 1) / BytesPerPacket) problem = $"announces {size} bytes in {packets} packets (needs {(size + BytesPerPacket - 1) / BytesPerPacket})";
        else if (pgn > 0x3FFFF) problem = $"announces PGN 0x{pgn:X} (more than 18 bits)";
        else if (_sessions.Count >= options.MaxTransportSessions) problem = $"refused: {_sessions.Count} transfers already in progress";
        if (problem is not null)
        {
            Aborted++;
            malformed.Add(new MalformedFrame($"J1939 BAM from SA 0x{source:X2} (PGN {pgn}) {problem}", Convert.ToHexString(data)));
            return;
        }
        _sessions[source] = new Session(pgn, new byte[size], packets, nowMs);
    }

    /// <summary>
    /// Handles a TP.DT frame; returns the message when this packet completed a transfer.
    /// </summary>
    public TransportMessage? OnData(J1939Id id, ReadOnlySpan<byte> data, long nowMs, List<MalformedFrame> malformed)
    {
        if (id.DestinationAddress != J1939Id.GlobalAddress)
        {
            Unsupported++;
            return null;
        }
        var source = id.SourceAddress;
        if (!_sessions.TryGetValue(source, out var session))
        {
            Orphans++;
            return null;
        }
        if (data.Length < 8)
        {
            Abort(source, $"packet with {data.Length} data bytes (needs 8)", malformed);
            return null;
        }
        var sequence = data[0];
        if (sequence != session.NextSequence)
        {
            Abort(source, sequence < session.NextSequence
                ? $"packet {sequence} repeated or out of order (expected {session.NextSequence})"
                : $"packet {session.NextSequence} missing (got {sequence})", malformed);
            return null;
        }
        var offset = (sequence - 1) * BytesPerPacket;
        var count = Math.Min(BytesPerPacket, session.Buffer.Length - offset);
        data.Slice(1, count).CopyTo(session.Buffer.AsSpan(offset));
        session.NextSequence++;
        session.LastPacketMs = nowMs;
        if (sequence < session.Packets) return null;

        _sessions.Remove(source);
        Completed++;
        return new TransportMessage(session.Pgn, source, session.Buffer);
    }

    private void Abort(byte source, string reason, List<MalformedFrame> malformed)
    {
        var session = _sessions[source];
        _sessions.Remove(source);
        Aborted++;
        malformed.Add(new MalformedFrame($"J1939 BAM from SA 0x{source:X2} (PGN {session.Pgn}) aborted: {reason}",
            $"{session.Buffer.Length} bytes announced"));
    }

    private sealed class Session(int pgn, byte[] buffer, int packets, long startedMs)
    {
        public int Pgn { get; } = pgn;
        public byte[] Buffer { get; } = buffer;
        public int Packets { get; } = packets;
        public int NextSequence { get; set; } = 1;
        public long LastPacketMs { get; set; } = startedMs;
    }
}
