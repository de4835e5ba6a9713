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
/// frames are skipped and counted; garbled ones are counted and fail the request; an exception
/// response becomes a <see cref="ModbusException"/>. Partial frames stay buffered across calls.
/// </summary>
internal sealed class ModbusExchange(ModbusFraming framing, ModbusCounters counters)
{
    private const int BufferLength = 4 * 1024;
    private readonly byte[] _buffer = new byte[BufferLength];
    private readonly byte[] _request = new byte[ModbusFrame.MaxRequestLength];
    private int _count;

    public ModbusFraming Framing => framing;

    /// <summary>Drops whatever is buffered (counted), e.g. after a reconnect or before an RTU request.</summary>
    public void Discard(int extra = 0)
    {
        if (_count + extra > 0) counters.Discarded(_count + extra);
        _count = 0;
    }

    public async Task<byte[]> ExchangeAsync(IModbusLink link, ushort transactionId, byte unitId, ModbusRequest request, CancellationToken cancellationToken)
    {
        var length = ModbusFrame.WriteRequest(framing, transactionId, unitId, request, _request);
        counters.Request();
        await link.SendAsync(_request.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
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
            var late = framing == ModbusFraming.Tcp && ModbusFrame.TransactionId(framing, frame) != transactionId;
            var foreign = ModbusFrame.UnitId(framing, frame) != unitId;
            var pdu = ModbusFrame.Pdu(framing, frame);
            var check = late || foreign ? default : ModbusPdu.Check(request, pdu);
            var data = !late && !foreign && check.Status == ModbusPduStatus.Valid && request.IsRead ? pdu[2..].ToArray() : [];
            Consume(length);
            if (late) counters.Late();
            else if (foreign) counters.Foreign();
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

    private void Consume(int length)
    {
        _buffer.AsSpan(length, _count - length).CopyTo(_buffer);
        _count -= length;
    }
}
