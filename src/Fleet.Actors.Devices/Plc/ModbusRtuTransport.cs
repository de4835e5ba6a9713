using Fleet.Actors.Devices.Serial;

namespace Fleet.Actors.Devices.Plc;

/// <summary>
/// Modbus RTU over a serial line (<see cref="ISerialChannel"/>). Before each request it waits for
/// the line to be silent for 3.5 character times (at least 1.75 ms above 19200 baud), discarding
/// and counting whatever arrives meanwhile; it then reads the answer until its length is known from
/// the function code and byte count, and checks its CRC and slave id. RTU has no transaction id, so
/// a late answer to a timed-out request cannot be told from a fresh one by its contents (function,
/// unit and byte count may all match): after a timeout the line must stay quiet for the guard time
/// (<see cref="ModbusTimeouts.Guard"/>) before the next request is sent, and what arrives meanwhile
/// is discarded. The silence is checked just before sending, so no frame that began before the
/// request is taken for its answer. A write to unit 0 is a broadcast: sent, not answered, followed
/// by the turnaround delay. The channel is opened on first use; a failed line throws
/// <see cref="IOException"/> and the owner makes a new transport.
/// </summary>
public sealed class ModbusRtuTransport : IModbusTransport
{
    private readonly ISerialChannel _channel;
    private readonly ModbusTimeouts _timeouts;
    private readonly ModbusExchange _exchange;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SerialLink _link;
    private bool _opened;

    /// <summary>Creates the transport over <paramref name="channel"/>, which it owns and disposes.</summary>
    public ModbusRtuTransport(ISerialChannel channel, int baudRate, ModbusTimeouts? timeouts = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(baudRate, 1);
        _channel = channel;
        _timeouts = timeouts ?? ModbusTimeouts.Default;
        _exchange = new ModbusExchange(ModbusFraming.Rtu, Counters, broadcastUnitZero: true);
        _link = new SerialLink(channel);
        InterFrameSilence = SilenceFor(baudRate);
    }

    /// <inheritdoc />
    public string Description => $"modbus-rtu:{_channel.Description}";

    /// <inheritdoc />
    public ModbusCounters Counters { get; } = new();

    /// <summary>The silence awaited before each request (after a timeout: the guard time, if longer).</summary>
    public TimeSpan InterFrameSilence { get; }

    /// <summary>3.5 characters of 11 bits at <paramref name="baudRate"/>; a fixed 1.75 ms above 19200 baud.</summary>
    public static TimeSpan SilenceFor(int baudRate) =>
        baudRate > 19_200 ? TimeSpan.FromMicroseconds(1750) : TimeSpan.FromSeconds(3.5 * 11 / baudRate);

    /// <inheritdoc />
    public bool IsBroadcast(byte unitId) => _exchange.IsBroadcast(unitId);

    /// <inheritdoc />
    public async Task<byte[]> SendAsync(byte unitId, ModbusRequest request, CancellationToken cancellationToken)
    {
        _exchange.CheckBroadcast(unitId, request);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_opened)
            {
                await _channel.OpenAsync(cancellationToken).ConfigureAwait(false);
                _opened = true;
            }
            await _exchange.SettleAsync(_link, InterFrameSilence, _timeouts.Operation, Description, cancellationToken).ConfigureAwait(false);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeouts.Operation);
            try
            {
                var data = await _exchange.ExchangeAsync(_link, 0, unitId, request, timeout.Token).ConfigureAwait(false);
                if (_exchange.IsBroadcast(unitId)) _exchange.QuietFor(_timeouts.Turnaround);
                return data;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw _exchange.TimedOut(Description, request, _timeouts.Operation, _timeouts.GuardOrDefault);
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
        await _channel.DisposeAsync().ConfigureAwait(false);
        _gate.Release();
        _gate.Dispose();
    }

    private sealed class SerialLink(ISerialChannel channel) : IModbusLink
    {
        public ValueTask<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken) => channel.ReadAsync(cancellationToken);

        public ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) => channel.WriteAsync(frame, cancellationToken);
    }
}
