using Fleet.Actors.Testing;

namespace Fleet.Actors.PeerTests.Obd;

/// <summary>
/// The adapter's side of the pty: a thread that reads each command up to its carriage return and
/// writes the simulator's answer, piece by piece with its delays, until disposed or unplugged.
/// </summary>
internal sealed class Elm327Peer : IDisposable, IAsyncDisposable
{
    private readonly PtyPeer _port;
    private readonly Elm327Simulator _adapter;
    private readonly Thread _thread;
    private volatile bool _stopping;

    public Elm327Peer(SocatPty pty, Elm327Simulator adapter)
    {
        _port = pty.OpenPeer();
        _adapter = adapter;
        _thread = new Thread(Serve) { IsBackground = true, Name = "elm327 peer" };
        _thread.Start();
    }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join(TimeSpan.FromSeconds(5));
        _port.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private void Serve()
    {
        try
        {
            while (!_stopping)
            {
                var command = _port.ReadUntil('\r', TimeSpan.FromMilliseconds(200));
                if (command is null) continue;
                foreach (var (delay, text) in _adapter.Respond(command.TrimEnd('\r')))
                {
                    if (delay > TimeSpan.Zero) Thread.Sleep(delay);
                    if (_stopping) return;
                    _port.Write(text);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException or UnauthorizedAccessException)
        {
            // Unplugged: the pty is gone, and so is this adapter.
        }
    }
}
