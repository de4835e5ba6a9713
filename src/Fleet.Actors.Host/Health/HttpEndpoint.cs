using Fleet.Actors.Core.Health;
using Fleet.Actors.Devices.Health;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Fleet.Actors.Core.Observability;
using Prometheus;

namespace Fleet.Actors.Host.Health;

/// <summary>Settings of the agent's HTTP endpoint (HOCON <c>fleet.http</c>).</summary>
/// <param name="Enabled">Serve it at all.</param>
/// <param name="Host">The address to listen on (an IP address; 127.0.0.1 by default: only this machine).</param>
/// <param name="Port">The TCP port.</param>
/// <param name="ReadyOfflineTolerance">How long the uplink may be offline before <c>/readyz</c> says not ready (a tunnel is not a failure).</param>
public sealed record HttpEndpointSettings(bool Enabled, string Host, int Port, TimeSpan ReadyOfflineTolerance = default)
{
    /// <summary>The default port.</summary>
    public const int DefaultPort = 9480;
}

/// <summary>
/// The agent's HTTP endpoint (ADR 0014): <c>/metrics</c> in the Prometheus text format (every
/// collector of <see cref="AgentMetrics"/>), <c>/healthz</c> (the actor system answers),
/// <c>/readyz</c> (the log has recovered and the uplink is online or within its offline tolerance)
/// and <c>/status</c> (JSON: log, link, operational state, configuration, uptime). It runs on <see cref="HttpListener"/>, which the runtime has anyway: no web framework,
/// one thread waiting for requests, and a request served at a time (a scraper, an operator, a probe).
/// </summary>
public sealed class HttpEndpoint : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly AgentMetrics _metrics;
    private readonly IAgentProbe _probe;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _serving;

    private HttpEndpoint(HttpListener listener, AgentMetrics metrics, IAgentProbe probe)
    {
        _listener = listener;
        _metrics = metrics;
        _probe = probe;
        _serving = Task.Run(ServeAsync);
    }

    /// <summary>Where it listens, e.g. <c>http://127.0.0.1:9480/</c>.</summary>
    public string Url => _listener.Prefixes.First(p => !p.Contains("//localhost:", StringComparison.Ordinal));

    /// <summary>
    /// Starts listening; throws <see cref="HttpEndpointException"/> with one line naming the address
    /// when it cannot (the port is in use, the address is not this machine's).
    /// <paramref name="probe"/> asks the running agent.
    /// </summary>
    public static HttpEndpoint Start(HttpEndpointSettings settings, AgentMetrics metrics, IAgentProbe probe)
    {
        var host = settings.Host is "0.0.0.0" or "::" ? "+" : settings.Host.Contains(':') ? $"[{settings.Host}]" : settings.Host;
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://{host}:{settings.Port}/");
        // HttpListener matches the Host header against its prefixes: on the loopback address, answer
        // http://localhost:PORT/ too (a 404 for the name a newcomer types first).
        if (settings.Host is "127.0.0.1") listener.Prefixes.Add($"http://localhost:{settings.Port}/");
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
        return new HttpEndpoint(listener, metrics, probe);
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
            catch (Exception ex)
            {
                // A bug in answering one request must not end the endpoint: this request gets a 500, the next is served.
                try
                {
                    await WriteAsync(context.Response, 500, "text/plain; charset=utf-8", $"internal error: {ex.GetBaseException().Message}\n").ConfigureAwait(false);
                }
                catch (Exception ignored) when (ignored is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
                {
                    // Headers were already sent.
                }
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
        // One request per connection: HttpListener drops an idle kept-alive connection after about
        // 15 s without a word, so a client reusing it (a scraper every 15 s) would get a reset.
        response.KeepAlive = false;
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
                using (var timeout = Timeout())
                {
                    var alive = await _probe.AliveAsync(timeout.Token).ConfigureAwait(false);
                    await WriteAsync(response, alive ? 200 : 503, "text/plain; charset=utf-8", alive ? "alive\n" : "the actor system does not answer\n");
                }
                break;
            case "/readyz":
                using (var timeout = Timeout())
                {
                    var status = await _probe.StatusAsync(timeout.Token).ConfigureAwait(false);
                    await WriteAsync(response, status.Ready ? 200 : 503, "text/plain; charset=utf-8",
                        status.Ready ? "ready\n" : "not ready: " + string.Join("; ", status.NotReady) + "\n");
                }
                break;
            case "/status":
                using (var timeout = Timeout())
                {
                    var status = await _probe.StatusAsync(timeout.Token).ConfigureAwait(false);
                    await WriteAsync(response, 200, "application/json; charset=utf-8", StatusJson(status));
                }
                break;
            default:
                await WriteAsync(response, 404, "text/plain; charset=utf-8", "not found: try /metrics, /healthz, /readyz or /status\n");
                break;
        }
    }

    private CancellationTokenSource Timeout()
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        return timeout;
    }

    /// <summary>The <c>/status</c> document (docs/configuration.md, "HTTP endpoint"); a part that did not answer is null.</summary>
    public static string StatusJson(AgentStatus status)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("vehicle_id", status.VehicleId);
            json.WriteString("tenant", status.Tenant);
            json.WriteBoolean("ready", status.Ready);
            json.WriteStartArray("not_ready");
            foreach (var reason in status.NotReady) json.WriteStringValue(reason);
            json.WriteEndArray();
            json.WriteNumber("uptime_seconds", Math.Round(status.Uptime.TotalSeconds, 1));
            if (status.Operations is { } operations)
            {
                json.WriteString("operational_state", operations.StateName);
                json.WriteString("mission_id", operations.MissionId);
            }
            else json.WriteNull("operational_state");
            if (status.Configuration is { } configuration)
            {
                json.WriteStartObject("configuration");
                json.WriteString("version", configuration.Value);
                json.WriteNumber("reloads", configuration.Reloads);
                json.WriteNumber("errors", configuration.Errors);
                json.WriteEndObject();
            }
            else json.WriteNull("configuration");
            if (status.Log is { } log)
            {
                json.WriteStartObject("log");
                json.WriteNumber("last_sequence", log.LastSequence);
                json.WriteNumber("delivered_sequence", log.DeliveredSequence);
                json.WriteNumber("unsent_count", log.UnsentCount);
                json.WriteNumber("unsent_bytes", log.UnsentBytes);
                Time(json, "oldest_unsent", log.OldestUnsentTimestampMs);
                json.WriteNumber("evicted_total", log.EvictedTotal);
                json.WriteNumber("gap_records", log.GapRecords);
                json.WriteEndObject();
            }
            else json.WriteNull("log");
            if (status.Link is { } link)
            {
                json.WriteStartObject("link");
                json.WriteString("state", link.State);
                json.WriteBoolean("connected", link.Connected);
                json.WriteNumber("acknowledged_sequence", link.AcknowledgedSequence);
                json.WriteNumber("batches", link.Batches);
                if (link.OfflineSince is { } since) json.WriteString("offline_since", since.ToString("O", CultureInfo.InvariantCulture));
                else json.WriteNull("offline_since");
                json.WriteEndObject();
            }
            else json.WriteNull("link");
            WriteHealth(json, status.Health);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    // Devices, the buffer left, restarts, stalls and the latest health sample; null members when the monitor is off or silent.
    private static void WriteHealth(Utf8JsonWriter json, HealthProtocol.HealthReport? report)
    {
        if (report is null)
        {
            json.WriteNull("devices");
            json.WriteNull("buffer");
            json.WriteNull("health");
            return;
        }
        json.WriteStartArray("devices");
        foreach (var device in report.Devices)
        {
            json.WriteStartObject();
            json.WriteString("domain", device.Domain);
            json.WriteString("id", device.Id);
            json.WriteString("type", device.Type);
            json.WriteString("state", device.Up ? "up" : "down");
            if (device.Reason.Length > 0) json.WriteString("reason", device.Reason);
            Number(json, "rate_per_second", device.RatePerSecond);
            json.WriteNumber("count", device.Count);
            Time(json, "last_seen", device.LastSeenMs);
            Time(json, "changed", device.ChangedMs);
            json.WriteNumber("downs", device.Downs);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        if (report.Buffer is { } buffer)
        {
            json.WriteStartObject("buffer");
            json.WriteNumber("unsent_bytes", buffer.UnsentBytes);
            json.WriteNumber("max_unsent_bytes", buffer.MaxUnsentBytes);
            json.WriteNumber("fill_bytes_per_second", buffer.FillBytesPerSecond);
            Number(json, "hours_left", buffer.HoursLeft);
            json.WriteEndObject();
        }
        else json.WriteNull("buffer");
        json.WriteStartObject("restarts");
        foreach (var (supervisor, count) in report.Restarts.OrderBy(r => r.Key, StringComparer.Ordinal)) json.WriteNumber(supervisor, count);
        json.WriteEndObject();
        json.WriteStartObject("stalls");
        foreach (var (part, what) in report.Stalls) json.WriteString(part, what);
        json.WriteEndObject();
        json.WriteStartObject("domains");
        foreach (var (domain, state) in report.Domains ?? new Dictionary<string, string>()) json.WriteString(domain, state);
        json.WriteEndObject();
        if (report.Latest is { } sample)
        {
            json.WriteStartObject("health");
            Time(json, "sampled", sample.TimestampMs);
            foreach (var field in HealthFields.All)
                if (sample[field] is { } value) json.WriteNumber(field, value);
            json.WriteStartObject("unavailable");
            foreach (var (field, why) in sample.Unavailable.OrderBy(u => u.Key, StringComparer.Ordinal)) json.WriteString(field, why);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        else json.WriteNull("health");
    }

    private static void Number(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v) json.WriteNumber(name, v);
        else json.WriteNull(name);
    }

    private static void Time(Utf8JsonWriter json, string name, long? unixMs)
    {
        if (unixMs is { } ms) json.WriteString(name, DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("O", CultureInfo.InvariantCulture));
        else json.WriteNull(name);
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
