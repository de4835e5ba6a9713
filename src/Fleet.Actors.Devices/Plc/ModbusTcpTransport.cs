using System.Net.Sockets;

namespace Fleet.Actors.Devices.Plc;

/// <summary>
/// Modbus over a TCP connection, with MBAP framing (Modbus TCP) or RTU framing (RTU over TCP, as
/// serial gateways speak it). Connects on first use and again on the next call after the
/// connection broke; one request is outstanding at a time. With MBAP framing an answer to an
/// earlier, timed-out transaction is skipped by its transaction id; RTU framing has no
/// transaction id, so a timeout closes the connection and the next request first waits out the
/// guard time (<see cref="ModbusTimeouts.Guard"/>) on the new one, for a gateway that passes the
/// late answer on. Unit 0 is a broadcast (sent, not answered) with RTU framing, and with MBAP
/// framing only when <c>broadcastUnitZero</c> says the device is a gateway that treats it so.
/// </summary>
public sealed class ModbusTcpTransport : IModbusTransport
{
    private readonly string _host;
    private readonly int _port;
    private readonly ModbusTimeouts _timeouts;
    private readonly ModbusExchange _exchange;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SocketLink? _link;
    private ushort _transactionId;

    /// <summary>
    /// Creates the transport (not yet connected). <paramref name="broadcastUnitZero"/>: with MBAP
    /// framing, the device is a gateway that passes unit 0 on as a broadcast and does not answer it
    /// (RTU framing always treats unit 0 so).
    /// </summary>
    public ModbusTcpTransport(string host, int port, ModbusFraming framing = ModbusFraming.Tcp, ModbusTimeouts? timeouts = null, bool broadcastUnitZero = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65_535);
        _host = host;
        _port = port;
        _timeouts = timeouts ?? ModbusTimeouts.Default;
        _exchange = new ModbusExchange(framing, Counters, broadcastUnitZero || framing == ModbusFraming.Rtu);
    }

    /// <inheritdoc />
    public string Description => $"modbus-{(_exchange.Framing == ModbusFraming.Tcp ? "tcp" : "rtu-over-tcp")}://{_host}:{_port}";

    /// <inheritdoc />
    public ModbusCounters Counters { get; } = new();

    /// <summary>True while a connection is open.</summary>
    public bool IsConnected => _link is not null;

    /// <inheritdoc />
    public bool IsBroadcast(byte unitId) => _exchange.IsBroadcast(unitId);

    /// <inheritdoc />
    public async Task<byte[]> SendAsync(byte unitId, ModbusRequest request, CancellationToken cancellationToken)
    {
        _exchange.CheckBroadcast(unitId, request);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var link = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            var rtu = _exchange.Framing == ModbusFraming.Rtu;
            if (rtu) await _exchange.SettleAsync(link, TimeSpan.Zero, _timeouts.Operation, Description, cancellationToken).ConfigureAwait(false);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeouts.Operation);
            try
            {
                var data = await _exchange.ExchangeAsync(link, unchecked(++_transactionId), unitId, request, timeout.Token).ConfigureAwait(false);
                if (rtu && _exchange.IsBroadcast(unitId)) _exchange.QuietFor(_timeouts.Turnaround);
                return data;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (rtu) Disconnect();
                throw _exchange.TimedOut(Description, request, _timeouts.Operation, _timeouts.GuardOrDefault);
            }
            catch (OperationCanceledException) when (_exchange.Framing == ModbusFraming.Rtu)
            {
                // The caller gave up: without transaction ids its answer could be taken for the next one's.
                Disconnect();
                throw;
            }
            catch (ModbusFrameException)
            {
                // The byte stream can no longer be trusted to be in step with the frames.
                Disconnect();
                throw;
            }
            catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
            {
                Disconnect();
                throw new IOException($"{Description}: {ex.Message}", ex);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        Disconnect();
        _gate.Release();
        _gate.Dispose();
    }

    private async Task<SocketLink> ConnectAsync(CancellationToken cancellationToken)
    {
        // A device that restarted has closed our end: notice before sending, so the call reconnects.
        if (_link is { } open && !open.PeerClosed) return open;
        Disconnect();
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeouts.Connect);
        try
        {
            await socket.ConnectAsync(_host, _port, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"{Description}: connect did not finish within {_timeouts.Connect.TotalSeconds:0.###} s");
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new IOException($"{Description}: cannot connect: {ex.Message}", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        _exchange.Discard();
        _link = new SocketLink(socket);
        return _link;
    }

    private void Disconnect()
    {
        _link?.Dispose();
        _link = null;
    }

    private sealed class SocketLink(Socket socket) : IModbusLink, IDisposable
    {
        private readonly byte[] _received = new byte[1024];

        public bool PeerClosed
        {
            get
            {
                try
                {
                    return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return true;
                }
            }
        }

        public async ValueTask<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken)
        {
            var count = await socket.ReceiveAsync(_received, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (count == 0) throw new IOException("the device closed the connection");
            return _received.AsMemory(0, count);
        }

        public async ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
        {
            while (!frame.IsEmpty)
            {
                var sent = await socket.SendAsync(frame, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                frame = frame[sent..];
            }
        }

        public void Dispose() => socket.Dispose();
    }
}
