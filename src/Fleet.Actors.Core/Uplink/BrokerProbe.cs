using System.Net.Sockets;

namespace Fleet.Actors.Core.Uplink;

/// <summary>
/// A TCP connect to the broker's port, nothing more: cheap enough to run every few seconds while
/// the uplink backs off, so that it notices a broker that came back without waiting out its backoff.
/// </summary>
internal static class BrokerProbe
{
    /// <summary>True when a TCP connection to <paramref name="host"/>:<paramref name="port"/> opens within <paramref name="timeout"/>; never throws.</summary>
    public static async Task<bool> IsReachableAsync(string host, int port, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(host, port, cancellation.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>True when a connect failed below MQTT: nothing accepted the TCP connection.</summary>
    public static bool IsUnreachable(Exception cause)
    {
        for (var ex = cause; ex is not null; ex = ex.InnerException)
            if (ex is SocketException) return true;
        return false;
    }
}
