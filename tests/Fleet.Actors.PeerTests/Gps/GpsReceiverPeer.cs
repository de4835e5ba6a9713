using System.Collections.Concurrent;
using Fleet.Actors.Testing;

namespace Fleet.Actors.PeerTests.Gps;

/// <summary>
/// Plays a GPS receiver on the device end of a pty: an epoch (RMC, VTG, GGA, GSA) every interval,
/// stamped with the current UTC time, moving north-east. Remembers what it sent; stops by itself
/// when the line goes away (the pty was unplugged).
/// </summary>
internal sealed class GpsReceiverPeer : IAsyncDisposable
{
    private readonly PtyPeer _peer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public GpsReceiverPeer(SocatPty pty, TimeSpan interval, int startIndex = 0)
    {
        _peer = pty.OpenPeer();
        _loop = Task.Run(() => RunAsync(interval, startIndex));
    }

    /// <summary>Epochs written: receiver time (ms) → (lat, lon).</summary>
    public ConcurrentDictionary<long, (double Lat, double Lon)> Sent { get; } = new();

    /// <summary>Index of the next epoch (positions continue across peers when passed on).</summary>
    public int NextIndex { get; private set; }

    /// <summary>Extra text written before the next epoch (garbage, broken sentences).</summary>
    public ConcurrentQueue<string> Inject { get; } = new();

    private async Task RunAsync(TimeSpan interval, int index)
    {
        NextIndex = index;
        var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                // Whole hundredths of a second, as receivers report them.
                var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 10 * 10);
                var lat = 53.5 + NextIndex * 1e-5;
                var lon = 9.9 + NextIndex * 2e-5;
                while (Inject.TryDequeue(out var extra)) _peer.Write(extra);
                _peer.Write(NmeaText.Epoch(now, lat, lon, 12.5, 8.3, 45.0));
                Sent[now.ToUnixTimeMilliseconds()] = (lat, lon);
                NextIndex++;
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped by the test.
        }
        catch (IOException)
        {
            // Unplugged: the receiver is gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _peer.Dispose();
        _stop.Dispose();
    }
}
