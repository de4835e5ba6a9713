using Fleet.Actors.Devices.Serial;

namespace Fleet.Actors.Devices.Plc;

/// <summary>
/// Modbus RTU over a serial line (<see cref="ISerialChannel"/>). Before each request it waits for
/// the line to be silent for 3.5 character times (at least 1.75 ms above 19200 baud), discarding
/// and counting whatever arrives meanwhile (such as the late answer to a timed-out request); it then
/// reads the answer until its length is known from the function code and byte count, and checks
/// its CRC and slave id. RTU has no transaction id: an answer later than that silence cannot be
/// told from a fresh one, which is why the silence comes first. The channel is opened on first use;
/// a failed line throws <see cref="IOException"/> and the owner makes a new transport.
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
        _exchange = new ModbusExchange(ModbusFraming.Rtu, Counters);
        _link = new SerialLink(channel);
        InterFrameSilence = SilenceFor(baudRate);
    }

    /// <inheritdoc />
    public string Description => $"modbus-rtu:{_channel.Description}";

    /// <inheritdoc />
    public ModbusCounters Counters { get; } = new();

    /// <summary>The silence awaited before each request.</summary>
    public TimeSpan InterFrameSilence { get; }

    /// <summary>3.5 characters of 11 bits at <paramref name="baudRate"/>; a fixed 1.75 ms above 19200 baud.</summary>
    public static TimeSpan SilenceFor(int baudRate) =>
        baudRate > 19_200 ? TimeSpan.FromMicroseconds(1750) : TimeSpan.FromSeconds(3.5 * 11 / baudRate);

    /// <inheritdoc />
    public async Task<byte[]> SendAsync(byte unitId, ModbusRequest request, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_opened)
            {
                await _channel.OpenAsync(cancellationToken).ConfigureAwait(false);
                _opened = true;
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeouts.Operation);
            try
            {
                await WaitForSilenceAsync(timeout.Token).ConfigureAwait(false);
                return await _exchange.ExchangeAsync(_link, 0, unitId, request, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Counters.Timeout();
                throw new TimeoutException($"{Description}: no answer to {request} within {_timeouts.Operation.TotalSeconds:0.###} s");
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

    private async Task WaitForSilenceAsync(CancellationToken cancellationToken)
    {
        _exchange.Discard();
        while (true)
        {
            using var silence = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            silence.CancelAfter(InterFrameSilence);
            try
            {
                var stray = await _channel.ReadAsync(silence.Token).ConfigureAwait(false);
                _exchange.Discard(stray.Length);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private sealed class SerialLink(ISerialChannel channel) : IModbusLink
    {
        public ValueTask<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken) => channel.ReadAsync(cancellationToken);

        public ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) => channel.WriteAsync(frame, cancellationToken);
    }
}
