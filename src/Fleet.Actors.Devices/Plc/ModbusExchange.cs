using System.Diagnostics;

namespace Fleet.Actors.Devices.Plc;

/// <summary>A byte link a transport sends frames over and receives chunks from.</summary>
internal interface IModbusLink
{
    ValueTask<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken);

    ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken);
}

/// <summary>
/// The request/response loop both transports share: frames a request, then reads chunks into a
/// bounded buffer until a frame answers it. Late (other transaction) and foreign (other unit)
/// frames are skipped and counted, and a timeout says what was skipped; garbled ones are counted
/// and fail the request; an exception response becomes a <see cref="ModbusException"/>. Partial
/// frames stay buffered across calls. With <paramref name="broadcastUnitZero"/> a write to unit 0
/// is sent and not answered, and a read from it is refused. For RTU framing it also keeps the line
/// quiet: after a timeout for the guard time, after a broadcast for the turnaround.
/// </summary>
internal sealed class ModbusExchange(ModbusFraming framing, ModbusCounters counters, bool broadcastUnitZero = false)
{
    private const int BufferLength = 4 * 1024;
    private readonly byte[] _buffer = new byte[BufferLength];
    private readonly byte[] _request = new byte[ModbusFrame.MaxRequestLength];
    private int _count;
    private int _skipped;
    private string? _firstSkipped;
    private TimeSpan _quiet;
    private long _quietFrom;

    public ModbusFraming Framing => framing;

    /// <summary>True for the broadcast unit 0 where this link has one (see <see cref="IModbusTransport.IsBroadcast"/>).</summary>
    public bool IsBroadcast(byte unitId) => broadcastUnitZero && unitId == 0;

    /// <summary>Refuses a read from the broadcast unit, before anything is sent: no device would answer it.</summary>
    public void CheckBroadcast(byte unitId, in ModbusRequest request)
    {
        if (IsBroadcast(unitId) && request.IsRead)
            throw new ArgumentException($"{request}: unit 0 is the broadcast address, which no device answers: only writes can go to it", nameof(unitId));
    }

    /// <summary>Drops whatever is buffered (counted), e.g. after a reconnect or before an RTU request.</summary>
    public void Discard(int extra = 0)
    {
        if (_count + extra > 0) counters.Discarded(_count + extra);
        _count = 0;
    }

    /// <summary>From now on the line must be quiet for <paramref name="quiet"/> before the next request.</summary>
    public void QuietFor(TimeSpan quiet)
    {
        _quiet = quiet;
        _quietFrom = Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// Before an RTU request: waits until nothing has arrived for <paramref name="silence"/> (the
    /// 3.5-character silence) or, after a timeout or broadcast, for the rest of the time
    /// <see cref="QuietFor"/> asked, discarding and counting what arrives meanwhile; anything that
    /// arrives restarts the wait. A line that keeps talking for <paramref name="budget"/> more than
    /// that fails with a <see cref="TimeoutException"/>.
    /// </summary>
    public async Task SettleAsync(IModbusLink link, TimeSpan silence, TimeSpan budget, string description, CancellationToken cancellationToken)
    {
        Discard();
        var quiet = Max(_quiet, silence);
        var wait = Max(silence, quiet - Stopwatch.GetElapsedTime(_quietFrom));
        if (wait <= TimeSpan.Zero) return;
        var start = Stopwatch.GetTimestamp();
        while (true)
        {
            using var silent = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            silent.CancelAfter(wait);
            try
            {
                Discard((await link.ReceiveAsync(silent.Token).ConfigureAwait(false)).Length);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                _quiet = TimeSpan.Zero;
                return;
            }
            // Judged only when something arrived, so that a late timer never passes for a busy line.
            if (Stopwatch.GetElapsedTime(start) > quiet + budget)
            {
                counters.Timeout();
                throw new TimeoutException($"{description}: the line did not stay quiet for {Seconds(quiet)} within {Seconds(quiet + budget)}");
            }
            wait = quiet;
        }
    }

    public async Task<byte[]> ExchangeAsync(IModbusLink link, ushort transactionId, byte unitId, ModbusRequest request, CancellationToken cancellationToken)
    {
        CheckBroadcast(unitId, request);
        var length = ModbusFrame.WriteRequest(framing, transactionId, unitId, request, _request);
        counters.Request();
        _skipped = 0;
        await link.SendAsync(_request.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        if (IsBroadcast(unitId)) return [];
        while (true)
        {
            if (TryAnswer(transactionId, unitId, request) is { } data) return data;
            var chunk = await link.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            if (_count + chunk.Length > BufferLength)
            {
                // Far more than any frame without one being complete: the stream is garbage.
                counters.Garbled();
                Discard(chunk.Length);
                throw new ModbusFrameException($"{BufferLength} bytes received without a complete frame");
            }
            chunk.Span.CopyTo(_buffer.AsSpan(_count));
            _count += chunk.Length;
        }
    }

    /// <summary>
    /// The last request got no answer within <paramref name="timeout"/>: counts it, has an RTU line
    /// waited out for <paramref name="guard"/>, and says what, if anything, was skipped meanwhile.
    /// </summary>
    public TimeoutException TimedOut(string description, in ModbusRequest request, TimeSpan timeout, TimeSpan guard)
    {
        counters.Timeout();
        if (framing == ModbusFraming.Rtu) QuietFor(guard);
        var skipped = _skipped switch
        {
            0 => "",
            1 => $"; 1 frame discarded: {_firstSkipped}",
            _ => $"; {_skipped} frames discarded, the first: {_firstSkipped}",
        };
        return new TimeoutException($"{description}: no answer to {request} within {Seconds(timeout)}{skipped}");
    }

    private byte[]? TryAnswer(ushort transactionId, byte unitId, in ModbusRequest request)
    {
        while (_count > 0)
        {
            var buffered = _buffer.AsSpan(0, _count);
            var status = ModbusFrame.TryTake(framing, buffered, out var length, out var problem);
            if (status == ModbusFrameStatus.NeedMore) return null;
            if (status == ModbusFrameStatus.Garbled)
            {
                // Without a trustworthy length the frame boundary is lost: drop everything buffered.
                counters.Garbled();
                _count = 0;
                throw new ModbusFrameException($"{request}: {problem}; discarded");
            }
            var frame = buffered[..length];
            var frameTransaction = ModbusFrame.TransactionId(framing, frame);
            var frameUnit = ModbusFrame.UnitId(framing, frame);
            var late = framing == ModbusFraming.Tcp && frameTransaction != transactionId;
            var foreign = frameUnit != unitId;
            var pdu = ModbusFrame.Pdu(framing, frame);
            var check = late || foreign ? default : ModbusPdu.Check(request, pdu);
            var data = !late && !foreign && check.Status == ModbusPduStatus.Valid && request.IsRead ? pdu[2..].ToArray() : [];
            Consume(length);
            if (late)
            {
                counters.Late();
                Skipped($"transaction id {frameTransaction}, expected {transactionId}");
            }
            else if (foreign)
            {
                counters.Foreign();
                Skipped($"unit {frameUnit}, expected {unitId}");
            }
            else
            {
                switch (check.Status)
                {
                    case ModbusPduStatus.Valid:
                        return data;
                    case ModbusPduStatus.Exception:
                        throw new ModbusException(request.Function, check.ExceptionCode);
                    default:
                        counters.Garbled();
                        throw new ModbusFrameException($"{request}: {check.Problem}; discarded");
                }
            }
        }
        return null;
    }

    private void Skipped(string why)
    {
        if (_skipped++ == 0) _firstSkipped = why;
    }

    private void Consume(int length)
    {
        _buffer.AsSpan(length, _count - length).CopyTo(_buffer);
        _count -= length;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s";
}
