using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Fleet.Actors.Host.Cli;

/// <summary>
/// <c>fleet-agent status [--url URL] [--json]</c>: reads a running agent's <c>/status</c> (its HTTP
/// endpoint, ADR 0014) and prints it as a table, or as the JSON itself. Without <c>--url</c> it finds
/// the agent of the configuration it is given (default: the shipped one) at its <c>fleet.http</c>
/// address. Exit code 0 when the agent is ready, 2 when it answers but is not ready, 3 when it cannot
/// be reached, 1 for a bad configuration or option.
/// </summary>
public static class StatusCommand
{
    /// <summary>The agent answers but is not ready.</summary>
    public const int NotReady = 2;

    /// <summary>The agent cannot be reached.</summary>
    public const int Unreachable = 3;

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("status", "Show a running agent's status (its HTTP endpoint's /status) as a table");
        var options = ConfigOptions.AddTo(command);
        var url = new Option<string?>("--url") { Description = "The agent's HTTP endpoint, e.g. http://127.0.0.1:9480 (default: fleet.http of the configuration)" };
        var json = new Option<bool>("--json") { Description = "Print the status document as JSON" };
        command.Options.Add(url);
        command.Options.Add(json);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var endpoint = parse.GetValue(url);
            if (endpoint is null)
            {
                var settings = await RunCommand.LoadWithRemoteOverlayOrReportAsync(parse.GetValue(options.Directory), parse.GetValue(options.Overlays) ?? []);
                if (settings is null) return RunCommand.ConfigurationError;
                if (!settings.Http.Enabled)
                {
                    await Console.Error.WriteLineAsync("fleet-agent status: the configuration turns the HTTP endpoint off (fleet.http.enabled); give --url of an agent that serves it");
                    return RunCommand.ConfigurationError;
                }
                var host = settings.Http.Host is "0.0.0.0" or "::" ? "127.0.0.1" : settings.Http.Host;
                endpoint = $"http://{(host.Contains(':') ? $"[{host}]" : host)}:{settings.Http.Port}";
            }
            if (!Uri.TryCreate(endpoint.TrimEnd('/') + "/status", UriKind.Absolute, out var statusUri) || statusUri.Scheme is not ("http" or "https"))
            {
                await Console.Error.WriteLineAsync($"fleet-agent status: --url: '{endpoint}' is not an http:// address");
                return RunCommand.ConfigurationError;
            }
            string body;
            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
                body = await http.GetStringAsync(statusUri, cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                await Console.Error.WriteLineAsync($"fleet-agent status: no agent answers at {statusUri}: {ex.GetBaseException().Message} (is it running? is fleet.http on?)");
                return Unreachable;
            }
            try
            {
                using var document = JsonDocument.Parse(body);
                var root = document.RootElement;
                var ready = root.GetProperty("ready").GetBoolean();
                await Console.Out.WriteAsync(parse.GetValue(json) ? body : Table(root));
                return ready ? 0 : NotReady;
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                await Console.Error.WriteLineAsync($"fleet-agent status: {statusUri} did not answer with an agent's status document ({ex.Message}); is that address a fleet agent's HTTP endpoint?");
                return Unreachable;
            }
        });
        return command;
    }

    /// <summary>The status document as lines an operator reads.</summary>
    public static string Table(JsonElement status)
    {
        var inv = CultureInfo.InvariantCulture;
        var lines = new List<(string, string)>
        {
            ("vehicle", $"{Text(status, "vehicle_id")} (tenant {Text(status, "tenant")})"),
            ("ready", status.GetProperty("ready").GetBoolean() ? "yes" : "NO: " + string.Join("; ", status.GetProperty("not_ready").EnumerateArray().Select(r => r.GetString()))),
            ("uptime", TimeSpan.FromSeconds(status.GetProperty("uptime_seconds").GetDouble()).ToString(@"d\.hh\:mm\:ss", inv)),
            ("operational state", Text(status, "operational_state") + (status.TryGetProperty("mission_id", out var m) && m.GetString() is { Length: > 0 } mission ? $" (mission {mission})" : "")),
        };
        if (status.GetProperty("configuration") is { ValueKind: JsonValueKind.Object } c)
            lines.Add(("configuration", $"version {c.GetProperty("version").GetString()}, {c.GetProperty("reloads").GetInt64()} changes applied, {c.GetProperty("errors").GetInt64()} refused"));
        if (status.GetProperty("log") is { ValueKind: JsonValueKind.Object } log)
        {
            lines.Add(("log", string.Create(inv, $"last sequence {log.GetProperty("last_sequence").GetInt64():N0}, delivered {log.GetProperty("delivered_sequence").GetInt64():N0}")));
            lines.Add(("backlog", string.Create(inv, $"{log.GetProperty("unsent_count").GetInt64():N0} unsent ({log.GetProperty("unsent_bytes").GetInt64():N0} bytes)") +
                (log.GetProperty("oldest_unsent").GetString() is { } oldest ? $", oldest from {oldest}" : "") +
                string.Create(inv, $", {log.GetProperty("evicted_total").GetInt64():N0} evicted in total")));
        }
        else lines.Add(("log", "does not answer"));
        if (status.GetProperty("link") is { ValueKind: JsonValueKind.Object } link)
            lines.Add(("link", $"{link.GetProperty("state").GetString()}" + string.Create(inv, $", acknowledged up to {link.GetProperty("acknowledged_sequence").GetInt64():N0}") +
                (link.GetProperty("offline_since").GetString() is { } since ? $", offline since {since}" : "")));
        else lines.Add(("link", "does not answer"));
        if (status.TryGetProperty("buffer", out var buffer) && buffer.ValueKind == JsonValueKind.Object)
            lines.Add(("buffer left", string.Create(inv, $"{(buffer.GetProperty("max_unsent_bytes").GetInt64() - buffer.GetProperty("unsent_bytes").GetInt64()) / 1048576.0:N1} MiB of {buffer.GetProperty("max_unsent_bytes").GetInt64() / 1048576.0:N0} MiB")
                + (buffer.GetProperty("hours_left") is { ValueKind: JsonValueKind.Number } hours
                    ? string.Create(inv, $", {hours.GetDouble():N1} h offline at {buffer.GetProperty("fill_bytes_per_second").GetDouble():N0} B/s") : ", nothing arriving")));
        if (status.TryGetProperty("health", out var health) && health.ValueKind == JsonValueKind.Object)
            lines.Add(("machine", HealthLine(health)));
        if (status.TryGetProperty("restarts", out var restarts) && restarts.ValueKind == JsonValueKind.Object && restarts.EnumerateObject().Any(r => r.Value.GetInt64() > 0))
            lines.Add(("restarts", string.Join(", ", restarts.EnumerateObject().Where(r => r.Value.GetInt64() > 0).Select(r => $"{r.Name} {r.Value.GetInt64()}"))));
        var devices = status.TryGetProperty("devices", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray().ToList() : [];
        var width = Math.Max(lines.Max(l => l.Item1.Length), devices.Count == 0 ? 0 : devices.Max(d => Text(d, "id").Length + 2));
        var table = string.Concat(lines.Select(l => $"{l.Item1.PadRight(width)}  {l.Item2}\n"));
        if (devices.Count == 0) return table;
        table += $"{"devices".PadRight(width)}  {devices.Count(d => Text(d, "state") == "up")} up, {devices.Count(d => Text(d, "state") != "up")} down\n";
        foreach (var device in devices)
        {
            var rate = device.GetProperty("rate_per_second") is { ValueKind: JsonValueKind.Number } r ? string.Create(inv, $"{r.GetDouble():0.#}/s") : "-";
            var seen = device.GetProperty("last_seen").GetString() is { } lastSeen ? $", last seen {lastSeen}" : "";
            var why = device.TryGetProperty("reason", out var reason) ? $": {reason.GetString()}" : "";
            table += $"  {Text(device, "id").PadRight(width - 2)}  {Text(device, "state")}{why} ({Text(device, "domain")}, {Text(device, "type")}), {rate}{seen}\n";
        }
        return table;
    }

    private static string HealthLine(JsonElement health)
    {
        var inv = CultureInfo.InvariantCulture;
        var parts = new List<string>();
        void Add(string field, string format)
        {
            if (health.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.Number) parts.Add(string.Format(inv, format, v.GetDouble()));
        }
        Add("cpu_usage", "CPU {0:0.#} %");
        Add("process_cpu_usage", "agent {0:0.#} % of a core");
        Add("memory_usage", "memory {0:0.#} %");
        Add("process_resident_bytes", "agent {0:0,,} MB resident");
        Add("disk_usage", "disk {0:0.#} %");
        Add("temperature", "{0:0.#} °C");
        Add("load_average_1m", "load {0:0.##}");
        if (health.TryGetProperty("unavailable", out var unavailable) && unavailable.TryGetProperty("temperature", out _)) parts.Add("temperature not available");
        return string.Join(", ", parts);
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "unknown";
}
