using System.Net;
using System.Text;
using Fleet.Actors.Core.Observability;
using Prometheus;

namespace Fleet.Actors.Host.Health;

/// <summary>Settings of the agent's HTTP endpoint (HOCON <c>fleet.http</c>).</summary>
/// <param name="Enabled">Serve it at all.</param>
/// <param name="Host">The address to listen on (an IP address; 127.0.0.1 by default: only this machine).</param>
/// <param name="Port">The TCP port.</param>
public sealed record HttpEndpointSettings(bool Enabled, string Host, int Port)
{
    /// <summary>The default port.</summary>
    public const int DefaultPort = 9480;
}

/// <summary>
/// The agent's HTTP endpoint (ADR 0014): <c>/metrics</c> in the Prometheus text format (every
/// collector of <see cref="AgentMetrics"/>) and <c>/healthz</c> (the process and its actor system
/// answer). It runs on <see cref="HttpListener"/>, which the runtime has anyway: no web framework,
/// one thread waiting for requests, and a request served at a time (a scraper, an operator, a probe).
/// </summary>
public sealed class HttpEndpoint : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly AgentMetrics _metrics;
    private readonly Func<CancellationToken, Task<bool>> _alive;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _serving;

    private HttpEndpoint(HttpListener listener, AgentMetrics metrics, Func<CancellationToken, Task<bool>> alive)
    {
        _listener = listener;
        _metrics = metrics;
        _alive = alive;
        _serving = Task.Run(ServeAsync);
    }

    /// <summary>Where it listens, e.g. <c>http://127.0.0.1:9480/</c>.</summary>
    public string Url => _listener.Prefixes.Single();

    /// <summary>
    /// Starts listening; throws <see cref="HttpEndpointException"/> with one line naming the address
    /// when it cannot (the port is in use, the address is not this machine's).
    /// <paramref name="alive"/> answers whether the actor system responds.
    /// </summary>
    public static HttpEndpoint Start(HttpEndpointSettings settings, AgentMetrics metrics, Func<CancellationToken, Task<bool>> alive)
    {
        var host = settings.Host is "0.0.0.0" or "::" ? "+" : settings.Host.Contains(':') ? $"[{settings.Host}]" : settings.Host;
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://{host}:{settings.Port}/");
        try
        {
            listener.Start();
        }
        catch (HttpListenerException ex)
        {
            listener.Close();
            throw new HttpEndpointException($"The HTTP endpoint cannot listen on {settings.Host}:{settings.Port}: {ex.Message} " +
                                            "(another agent or program uses the port? set fleet.http.port, or fleet.http.enabled = off)", ex);
        }
        return new HttpEndpoint(listener, metrics, alive);
    }

    private async Task ServeAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return; // stopped
            }
            try
            {
                await HandleAsync(context).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The client went away mid-answer.
            }
            finally
            {
                context.Response.Close();
            }
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (request.HttpMethod != "GET")
        {
            await WriteAsync(response, 405, "text/plain; charset=utf-8", "only GET\n");
            return;
        }
        switch (request.Url?.AbsolutePath)
        {
            case "/metrics":
                response.StatusCode = 200;
                response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                using (var buffer = new MemoryStream())
                {
                    await _metrics.Registry.CollectAndExportAsTextAsync(buffer, _stopping.Token).ConfigureAwait(false);
                    response.ContentLength64 = buffer.Length;
                    buffer.WriteTo(response.OutputStream);
                }
                break;
            case "/healthz":
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
                {
                    timeout.CancelAfter(TimeSpan.FromSeconds(2));
                    var alive = await _alive(timeout.Token).ConfigureAwait(false);
                    await WriteAsync(response, alive ? 200 : 503, "text/plain; charset=utf-8", alive ? "alive\n" : "the actor system does not answer\n");
                }
                break;
            default:
                await WriteAsync(response, 404, "text/plain; charset=utf-8", "not found: try /metrics or /healthz\n");
                break;
        }
    }

    private static async Task WriteAsync(HttpListenerResponse response, int status, string contentType, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        _listener.Close();
        await _serving.ConfigureAwait(false);
        _stopping.Dispose();
    }
}

/// <summary>The endpoint could not start; the message is one line for the operator.</summary>
public sealed class HttpEndpointException(string message, Exception inner) : Exception(message, inner);
