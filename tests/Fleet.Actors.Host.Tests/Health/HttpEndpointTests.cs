using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Host.Health;

namespace Fleet.Actors.Host.Tests.Health;

/// <summary>
/// The agent's HTTP endpoint over real HTTP: /metrics read by promtool's strict parser and scraped
/// by a real Prometheus (Debian's package, started by the test on a loopback port), /healthz
/// answering from the actor system's liveness, and a port in use reported in one line.
/// </summary>
public sealed class HttpEndpointTests : IAsyncLifetime
{
    private readonly string _work = Directory.CreateTempSubdirectory("fleet-http-").FullName;
    private readonly AgentMetrics _metrics = new();
    private readonly int _port = FreePort();
    private readonly ScriptedProbe _probe = new();
    private HttpEndpoint _endpoint = null!;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public Task InitializeAsync()
    {
        _metrics.Counter("wal_accepted_events_total", "Readings the log accepted.", "truck-9").Inc(42);
        _metrics.Factory.CreateGauge("uplink_connected", "1 while the uplink is connected.", [AgentMetrics.VehicleLabel]).WithLabels("truck-9").Set(1);
        _endpoint = HttpEndpoint.Start(new HttpEndpointSettings(true, "127.0.0.1", _port), _metrics, _probe);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _endpoint.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task Metrics_should_be_the_Prometheus_text_format_that_promtool_accepts()
    {
        using var response = await _http.GetAsync($"http://127.0.0.1:{_port}/metrics");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("wal_accepted_events_total{vehicle_id=\"truck-9\"} 42", body, StringComparison.Ordinal);
        var (exit, output) = await RunAsync("promtool", ["check", "metrics"], body);
        Assert.True(exit == 0, $"promtool check metrics: exit {exit}: {output}");
    }

    [Fact]
    public async Task A_real_Prometheus_should_scrape_the_endpoint_and_read_the_agents_metrics()
    {
        var prometheusPort = FreePort();
        var config = Path.Combine(_work, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: fleet-agent
                static_configs:
                  - targets: ['127.0.0.1:{_port}']
            """);
        var start = new ProcessStartInfo("prometheus") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(_work, "tsdb")}", $"--web.listen-address=127.0.0.1:{prometheusPort}" })
            start.ArgumentList.Add(argument);
        using var prometheus = Process.Start(start)!;
        prometheus.OutputDataReceived += (_, _) => { };
        prometheus.ErrorDataReceived += (_, _) => { };
        prometheus.BeginOutputReadLine();
        prometheus.BeginErrorReadLine();
        try
        {
            string? value = null;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (value is null && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
                try
                {
                    using var answer = JsonDocument.Parse(await _http.GetStringAsync(
                        $"http://127.0.0.1:{prometheusPort}/api/v1/query?query=wal_accepted_events_total%7Bvehicle_id%3D%22truck-9%22%7D"));
                    var result = answer.RootElement.GetProperty("data").GetProperty("result");
                    if (result.GetArrayLength() > 0) value = result[0].GetProperty("value")[1].GetString();
                }
                catch (HttpRequestException)
                {
                    // Prometheus is still starting.
                }
            }
            Assert.Equal("42", value);
            using var targets = JsonDocument.Parse(await _http.GetStringAsync($"http://127.0.0.1:{prometheusPort}/api/v1/targets"));
            var target = targets.RootElement.GetProperty("data").GetProperty("activeTargets")[0];
            Assert.Equal("up", target.GetProperty("health").GetString());
            Assert.Equal("", target.GetProperty("lastError").GetString());
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Healthz_should_answer_200_while_the_actor_system_responds_and_503_when_it_does_not()
    {
        using (var alive = await _http.GetAsync($"http://127.0.0.1:{_port}/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
            Assert.Equal("alive\n", await alive.Content.ReadAsStringAsync());
        }
        _probe.Alive = false;
        using (var stuck = await _http.GetAsync($"http://127.0.0.1:{_port}/healthz"))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, stuck.StatusCode);
        using var unknown = await _http.GetAsync($"http://127.0.0.1:{_port}/nothing");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var post = await _http.PostAsync($"http://127.0.0.1:{_port}/metrics", new StringContent(""));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
    }

    [Fact]
    public async Task Readyz_should_be_200_when_ready_and_503_with_every_reason_otherwise()
    {
        _probe.Status = Status([]);
        using (var ready = await _http.GetAsync($"http://127.0.0.1:{_port}/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("ready\n", await ready.Content.ReadAsStringAsync());
        }
        _probe.Status = Status(["the log does not answer (still recovering?)", "the uplink has been offline for 6m00s"]);
        using var notReady = await _http.GetAsync($"http://127.0.0.1:{_port}/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Equal("not ready: the log does not answer (still recovering?); the uplink has been offline for 6m00s\n", await notReady.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Status_should_be_JSON_with_the_log_the_link_the_state_and_the_configuration()
    {
        _probe.Status = Status([]);
        using var response = await _http.GetAsync($"http://127.0.0.1:{_port}/status");
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Equal(("truck-9", "acme", true), (root.GetProperty("vehicle_id").GetString(), root.GetProperty("tenant").GetString(), root.GetProperty("ready").GetBoolean()));
        Assert.Equal("ON_MISSION", root.GetProperty("operational_state").GetString());
        Assert.Equal("m-1", root.GetProperty("mission_id").GetString());
        Assert.Equal(("abc", 2, 1), (root.GetProperty("configuration").GetProperty("version").GetString(),
            root.GetProperty("configuration").GetProperty("reloads").GetInt32(), root.GetProperty("configuration").GetProperty("errors").GetInt32()));
        var log = root.GetProperty("log");
        Assert.Equal((120L, 100L, 20L, 2048L), (log.GetProperty("last_sequence").GetInt64(), log.GetProperty("delivered_sequence").GetInt64(),
            log.GetProperty("unsent_count").GetInt64(), log.GetProperty("unsent_bytes").GetInt64()));
        Assert.Equal("2023-11-14T22:13:20.0000000+00:00", log.GetProperty("oldest_unsent").GetString());
        var link = root.GetProperty("link");
        Assert.Equal(("online", true, 100L), (link.GetProperty("state").GetString(), link.GetProperty("connected").GetBoolean(), link.GetProperty("acknowledged_sequence").GetInt64()));
        Assert.Equal(JsonValueKind.Null, link.GetProperty("offline_since").ValueKind);
        Assert.Equal(61.5, root.GetProperty("uptime_seconds").GetDouble());
    }

    [Fact]
    public async Task Status_should_carry_the_devices_the_buffer_left_the_restarts_and_the_latest_health_sample_and_the_table_should_show_them()
    {
        var sample = new Fleet.Actors.Core.Health.HealthSample(1_700_000_030_000,
            new Dictionary<string, double> { ["cpu_usage"] = 12.5, ["process_cpu_usage"] = 0.8, ["memory_usage"] = 40, ["process_resident_bytes"] = 95_000_000, ["disk_usage"] = 55 },
            new Dictionary<string, string> { ["temperature"] = "not available (this machine has no thermal zones)" },
            new Dictionary<string, bool> { ["sensors/gps"] = true, ["sensors/obd"] = false });
        var health = new Fleet.Actors.Devices.Health.HealthProtocol.HealthReport(sample,
            [
                new("sensors", "gps", "sim-gps", true, 1.0, 600, 1_700_000_029_500, 1_700_000_000_000, "", 0),
                new("sensors", "obd", "elm327", false, 0, 42, 1_700_000_010_000, 1_700_000_011_000, "open failed: /dev/ttyUSB0: No such file or directory", 3),
            ],
            new Fleet.Actors.Devices.Health.HealthProtocol.BufferView(2048, 268_435_456, 600, 124.27),
            new Dictionary<string, string>(), new Dictionary<string, long> { ["sensors"] = 3, ["plcs"] = 0 });
        _probe.Status = Status([]) with { Health = health };

        using var json = JsonDocument.Parse(await _http.GetStringAsync($"http://127.0.0.1:{_port}/status"));
        var root = json.RootElement;
        var devices = root.GetProperty("devices").EnumerateArray().ToList();
        Assert.Equal(["gps", "obd"], devices.Select(d => d.GetProperty("id").GetString()));
        var obd = devices[1];
        Assert.Equal(("down", "open failed: /dev/ttyUSB0: No such file or directory", 3), (obd.GetProperty("state").GetString(), obd.GetProperty("reason").GetString(), obd.GetProperty("downs").GetInt32()));
        Assert.Equal("2023-11-14T22:13:49.5000000+00:00", devices[0].GetProperty("last_seen").GetString());
        Assert.Equal(1.0, devices[0].GetProperty("rate_per_second").GetDouble());
        Assert.Equal(124.27, root.GetProperty("buffer").GetProperty("hours_left").GetDouble());
        Assert.Equal(3, root.GetProperty("restarts").GetProperty("sensors").GetInt64());
        Assert.Equal(12.5, root.GetProperty("health").GetProperty("cpu_usage").GetDouble());
        Assert.Equal("not available (this machine has no thermal zones)", root.GetProperty("health").GetProperty("unavailable").GetProperty("temperature").GetString());

        var table = Fleet.Actors.Host.Cli.StatusCommand.Table(root);
        Assert.Contains("buffer left        256.0 MiB of 256 MiB, 124.3 h offline at 600 B/s\n", table, StringComparison.Ordinal);
        Assert.Contains("machine            CPU 12.5 %, agent 0.8 % of a core, memory 40 %, agent 95 MB resident, disk 55 %, temperature not available\n", table, StringComparison.Ordinal);
        Assert.Contains("restarts           sensors 3\n", table, StringComparison.Ordinal);
        Assert.Contains("devices            1 up, 1 down\n", table, StringComparison.Ordinal);
        Assert.Contains("  obd              down: open failed: /dev/ttyUSB0: No such file or directory (sensors, elm327), 0/s, last seen 2023-11-14T22:13:30.0000000+00:00\n", table, StringComparison.Ordinal);
    }

    /// <summary>
    /// HttpListener drops idle kept-alive connections after about 15 s without a word: a scraper
    /// that reused one every 15 s got "connection reset". Every answer says the connection closes.
    /// </summary>
    [Fact]
    public async Task Every_answer_should_close_its_connection_so_that_no_client_reuses_one_the_listener_drops()
    {
        foreach (var path in new[] { "/metrics", "/healthz", "/readyz", "/status", "/nothing" })
        {
            using var response = await _http.GetAsync($"http://127.0.0.1:{_port}{path}");
            Assert.True(response.Headers.ConnectionClose, $"{path}: no Connection: close");
        }
    }

    [Fact]
    public async Task On_the_loopback_address_it_should_answer_to_localhost_as_well()
    {
        using var response = await _http.GetAsync($"http://localhost:{_port}/healthz");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"http://127.0.0.1:{_port}/", _endpoint.Url);
    }

    [Fact]
    public async Task A_request_that_fails_inside_should_be_a_500_and_the_endpoint_should_serve_the_next()
    {
        _probe.Broken = true;
        using (var broken = await _http.GetAsync($"http://127.0.0.1:{_port}/status"))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, broken.StatusCode);
            Assert.Equal("internal error: the probe broke\n", await broken.Content.ReadAsStringAsync());
        }
        _probe.Broken = false;
        using var next = await _http.GetAsync($"http://127.0.0.1:{_port}/readyz");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    /// <summary>`fleet-agent status` pointed at something that is not an agent: one clear line and exit 3, not a stack trace.</summary>
    [Fact]
    public async Task Status_command_should_refuse_an_answer_that_is_not_an_agents_status_document()
    {
        var port = FreePort();
        using var other = new HttpListener();
        other.Prefixes.Add($"http://127.0.0.1:{port}/");
        other.Start();
        var serving = Task.Run(async () =>
        {
            var context = await other.GetContextAsync();
            var bytes = "<html>a router's login page</html>"u8.ToArray();
            context.Response.ContentType = "text/html";
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        });

        var result = await Support.AgentProcess.RunAsync(_work, null, "status", "--url", $"http://127.0.0.1:{port}");
        await serving;

        Assert.True(result.ExitCode == Fleet.Actors.Host.Cli.StatusCommand.Unreachable, result.ToString());
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"fleet-agent status: http://127.0.0.1:{port}/status did not answer with an agent's status document", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StandardError, StringComparison.Ordinal);
    }

    private static AgentStatus Status(IReadOnlyList<string> notReady) => new("truck-9", "acme", TimeSpan.FromSeconds(61.5),
        new Fleet.Actors.Core.Wal.WalProtocol.WalStatus(120, 100, 20, 2048, 0, 0, 0, 1_700_000_000_000),
        new Fleet.Actors.Core.Uplink.UplinkProtocol.UplinkStatus(true, 100, 7, "online"),
        new Fleet.Actors.Devices.Commands.OperationalStateProtocol.Current(Fleet.Actors.Core.Telemetry.OperationalState.OnMission, "m-1", "r-1"),
        new Fleet.Actors.Devices.Configuration.ConfigurationProtocol.Version("abc", 2, 1), notReady);

    /// <summary>The endpoint's view of an agent, set by the test (the agent-process test uses the real probe).</summary>
    private sealed class ScriptedProbe : IAgentProbe
    {
        public bool Alive { get; set; } = true;

        public AgentStatus Status { get; set; } = HttpEndpointTests.Status([]);

        public Task<bool> AliveAsync(CancellationToken cancellationToken) => Task.FromResult(Alive);

        public bool Broken { get; set; }

        public Task<AgentStatus> StatusAsync(CancellationToken cancellationToken) =>
            Broken ? throw new InvalidOperationException("the probe broke") : Task.FromResult(Status);
    }

    [Fact]
    public void A_port_in_use_should_be_one_line_naming_the_address_and_the_way_out()
    {
        var ex = Assert.Throws<HttpEndpointException>(() => HttpEndpoint.Start(new HttpEndpointSettings(true, "127.0.0.1", _port), _metrics, _probe));
        Assert.StartsWith($"The HTTP endpoint cannot listen on 127.0.0.1:{_port}: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("fleet.http.port", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", ex.Message, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task<(int Exit, string Output)> RunAsync(string program, string[] arguments, string input)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }
}
