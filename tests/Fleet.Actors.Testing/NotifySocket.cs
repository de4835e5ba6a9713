using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Fleet.Actors.Testing;

/// <summary>
/// systemd's side of sd_notify(3): a Unix datagram socket bound at <see cref="Path"/>, which a test
/// hands to the agent as <c>NOTIFY_SOCKET</c>. Every datagram that arrives is kept in order with the
/// time it arrived (systemd itself cannot run on these machines; the protocol is this socket).
/// </summary>
public sealed class NotifySocket : IDisposable
{
    private readonly string _directory;
    private readonly Socket _socket;
    private readonly ConcurrentQueue<Notification> _received = new();
    private readonly Thread _reader;
    private volatile bool _closing;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>Binds a fresh socket in a new folder under /tmp (a socket path has at most 107 bytes).</summary>
    public NotifySocket()
    {
        _directory = Directory.CreateTempSubdirectory("sd-").FullName;
        Path = System.IO.Path.Combine(_directory, "notify");
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
        _socket.ReceiveTimeout = 200; // so that the reader sees Dispose
        // A thread of its own, not the test host's thread pool: a datagram is stamped when it arrives,
        // and a pool busy with the tests that run in parallel stamped one 1.34 s late in CI (a watchdog
        // pet the agent sent on time counted as a gap of 2.01 s).
        _reader = new Thread(Read) { IsBackground = true, Priority = ThreadPriority.Highest, Name = "sd-notify-reader" };
        _reader.Start();
    }

    /// <summary>The socket's path: the value of <c>NOTIFY_SOCKET</c>.</summary>
    public string Path { get; }

    /// <summary>Every datagram so far, in the order it arrived.</summary>
    public IReadOnlyList<Notification> Received => _received.ToArray();

    /// <summary>The datagrams so far that carry <paramref name="assignment"/> (e.g. <c>WATCHDOG=1</c>) as one of their lines.</summary>
    public IReadOnlyList<Notification> With(string assignment) => Received.Where(n => n.Has(assignment)).ToArray();

    /// <summary>Waits until <paramref name="count"/> datagrams carry <paramref name="assignment"/>; fails naming it after <paramref name="patience"/>.</summary>
    public Task WaitForAsync(string assignment, int count = 1, TimeSpan? patience = null) =>
        Poll.UntilAsync(() => With(assignment).Count >= count, $"{count} datagram(s) with {assignment} arrived at {Path} (so far: {Describe()})",
            patience ?? TimeSpan.FromSeconds(30));

    /// <summary>
    /// Sends a marker datagram of the test's own and waits for it; returns what arrived before it. A
    /// datagram socket keeps the order in which datagrams reach it, so whatever another process sent
    /// before this call is in the answer: a check that something was NOT sent needs no waiting.
    /// </summary>
    public async Task<IReadOnlyList<Notification>> ReceivedBeforeMarkAsync()
    {
        var marker = $"TEST_MARK={Guid.NewGuid():N}";
        using (var sender = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified))
        {
            sender.Connect(new UnixDomainSocketEndPoint(Path));
            sender.Send(Encoding.UTF8.GetBytes(marker));
        }
        await WaitForAsync(marker, patience: TimeSpan.FromSeconds(10));
        return Received.TakeWhile(n => !n.Has(marker)).Where(n => !n.Text.StartsWith("TEST_MARK=", StringComparison.Ordinal)).ToArray();
    }

    /// <summary>What arrived so far, one datagram per item, for failure messages.</summary>
    public string Describe() => string.Join(" | ", Received.Select(n => $"{n.At.TotalSeconds:0.00}s {n.Text.Replace('\n', ' ')}"));

    private void Read()
    {
        var buffer = new byte[4096];
        while (!_closing)
        {
            int length;
            try
            {
                length = _socket.Receive(buffer);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                continue;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return; // closed
            }
            _received.Enqueue(new Notification(_clock.Elapsed, Encoding.UTF8.GetString(buffer, 0, length)));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _closing = true;
        _reader.Join(TimeSpan.FromSeconds(5));
        _socket.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>One datagram: when it arrived (since the socket was bound) and its text (newline-separated assignments).</summary>
public sealed record Notification(TimeSpan At, string Text)
{
    /// <summary>Its assignments, one per line.</summary>
    public IReadOnlyList<string> Lines => Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Whether one of its lines is <paramref name="assignment"/> (<c>READY=1</c>), or starts with it when it ends in '=' (<c>STATUS=</c>).</summary>
    public bool Has(string assignment) =>
        Lines.Any(l => assignment.EndsWith('=') ? l.StartsWith(assignment, StringComparison.Ordinal) : l == assignment);

    /// <summary>The value of <paramref name="name"/> in it (<c>STATUS</c>), or null.</summary>
    public string? Value(string name) => Lines.FirstOrDefault(l => l.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..];
}
