using System.Text;
using Fleet.Actors.Devices.Serial;

namespace Fleet.Actors.Devices.Obd;

/// <summary>How an exchange with the adapter ended.</summary>
internal enum ElmAnswerStatus
{
    /// <summary>Text up to the prompt arrived.</summary>
    Answered,

    /// <summary>No prompt within the timeout.</summary>
    TimedOut,

    /// <summary>The answer exceeded the buffer; it was discarded up to the prompt.</summary>
    Overlong,
}

/// <summary>The raw text of one answer (without the prompt), or what happened instead.</summary>
internal readonly record struct ElmAnswer(ElmAnswerStatus Status, string Text);

/// <summary>
/// The request/answer conversation with an ELM327 over a serial channel: writes a command with its
/// carriage return and collects what comes back up to the <c>&gt;</c> prompt, in a bounded buffer,
/// within a timeout. One exchange at a time (a trouble-code clear may come in between polls).
/// Never blocks a thread: every wait is on the channel or a timer.
/// </summary>
internal sealed class ElmLink(ISerialChannel channel, TimeProvider time, int maxAnswerBytes) : IAsyncDisposable
{
    private const byte Prompt = (byte)'>';
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly byte[] _answer = new byte[maxAnswerBytes];
    private ReadOnlyMemory<byte> _unread;
    private int _length;
    private bool _overflowed;
    private long _staleBytes;

    /// <summary>What the channel is connected to.</summary>
    public string Description => channel.Description;

    /// <summary>Bytes the serial hand-off dropped.</summary>
    public long DroppedBytes => channel.DroppedBytes;

    /// <summary>Bytes that arrived after a prompt without being asked for, and were discarded.</summary>
    public long StaleBytes => Interlocked.Read(ref _staleBytes);

    /// <summary>Opens the channel.</summary>
    public Task OpenAsync(CancellationToken cancellationToken) => channel.OpenAsync(cancellationToken);

    /// <summary>
    /// Sends <paramref name="command"/> and returns the first answer for which
    /// <paramref name="accept"/> holds (any answer when null); answers it refuses (left over from an
    /// earlier command) are skipped. Throws <see cref="IOException"/> when the device is gone.
    /// </summary>
    public async Task<ElmAnswer> ExchangeAsync(string command, TimeSpan timeout, CancellationToken cancellationToken, Func<string, bool>? accept = null)
    {
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Whatever came after the last prompt was not asked for: it must not pass as this answer.
            Interlocked.Add(ref _staleBytes, _unread.Length);
            _unread = ReadOnlyMemory<byte>.Empty;
            _length = 0;
            _overflowed = false;
            await WriteAsync(command, timeout, cancellationToken).ConfigureAwait(false);

            using var timer = new CancellationTokenSource(timeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
            while (true)
            {
                ElmAnswer answer;
                try
                {
                    answer = await ReadAnswerAsync(linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return new ElmAnswer(ElmAnswerStatus.TimedOut, Encoding.Latin1.GetString(_answer, 0, _length));
                }
                if (accept is null || answer.Status != ElmAnswerStatus.Answered || accept(answer.Text)) return answer;
                Interlocked.Add(ref _staleBytes, answer.Text.Length + 1);
            }
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await channel.DisposeAsync().ConfigureAwait(false);
        _turn.Dispose();
    }

    private async Task WriteAsync(string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // A port whose device vanished can leave a write hanging (the serial layer drains the line
        // after each write): a write that does not finish in time means the adapter is gone.
        try
        {
            await channel.WriteAsync(Encoding.ASCII.GetBytes(command + "\r"), cancellationToken).AsTask()
                .WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new IOException($"{Description}: writing {command} did not finish within {timeout.TotalSeconds:0.###}s; the adapter is gone", ex);
        }
    }

    private async Task<ElmAnswer> ReadAnswerAsync(CancellationToken cancellationToken)
    {
        _length = 0;
        _overflowed = false;
        while (true)
        {
            if (_unread.IsEmpty) _unread = await channel.ReadAsync(cancellationToken).ConfigureAwait(false);
            var chunk = _unread.Span;
            var end = chunk.IndexOf(Prompt);
            var take = end >= 0 ? chunk[..end] : chunk;
            var room = Math.Min(take.Length, _answer.Length - _length);
            take[..room].CopyTo(_answer.AsSpan(_length));
            _length += room;
            if (room < take.Length) _overflowed = true;
            if (end < 0)
            {
                _unread = ReadOnlyMemory<byte>.Empty;
                continue;
            }
            _unread = _unread[(end + 1)..];
            var text = Encoding.Latin1.GetString(_answer, 0, _length);
            return _overflowed
                ? new ElmAnswer(ElmAnswerStatus.Overlong, text.Length > 40 ? text[..40] : text)
                : new ElmAnswer(ElmAnswerStatus.Answered, text);
        }
    }
}
