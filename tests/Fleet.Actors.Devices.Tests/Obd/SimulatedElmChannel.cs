using System.Text;
using System.Threading.Channels;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.Testing;

namespace Fleet.Actors.Devices.Tests.Obd;

/// <summary>
/// A serial channel with an <see cref="Elm327Simulator"/> on the other end, in memory: every
/// carriage return the driver writes is a command, and the answer pieces arrive after their delays.
/// <see cref="Unplug"/> makes the next read fail as a vanished port does.
/// </summary>
public sealed class SimulatedElmChannel(Elm327Simulator adapter) : ISerialChannel
{
    private readonly Channel<byte[]> _fromAdapter = Channel.CreateUnbounded<byte[]>();
    private readonly StringBuilder _line = new();
    private Task _answering = Task.CompletedTask;

    public string Description => "simulated ELM327";

    public long DroppedBytes => 0;

    public int Opens { get; private set; }

    public bool Disposed { get; private set; }

    public Task OpenAsync(CancellationToken cancellationToken)
    {
        Opens++;
        return Task.CompletedTask;
    }

    public ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken) =>
        ReadCoreAsync(cancellationToken);

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_fromAdapter.Reader.Completion.IsCompleted) throw new IOException("simulated ELM327 unplugged");
        foreach (var b in data.Span)
        {
            if (b != (byte)'\r')
            {
                _line.Append((char)b);
                continue;
            }
            var pieces = adapter.Respond(_line.ToString());
            _line.Clear();
            // Answers leave in order, each after its delay, as a real adapter's would.
            var previous = _answering;
            _answering = Task.Run(async () =>
            {
                await previous;
                foreach (var (delay, text) in pieces)
                {
                    if (delay > TimeSpan.Zero) await Task.Delay(delay);
                    _fromAdapter.Writer.TryWrite(Encoding.Latin1.GetBytes(text));
                }
            });
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Sends text as if the adapter had said it unasked.</summary>
    public void Inject(string text) => _fromAdapter.Writer.TryWrite(Encoding.Latin1.GetBytes(text));

    public void Unplug() => _fromAdapter.Writer.TryComplete(new IOException("simulated ELM327 unplugged"));

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        _fromAdapter.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    private async ValueTask<ReadOnlyMemory<byte>> ReadCoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _fromAdapter.Reader.ReadAsync(cancellationToken);
        }
        catch (ChannelClosedException closed)
        {
            throw closed.InnerException as IOException ?? new IOException("simulated ELM327 closed");
        }
    }
}
