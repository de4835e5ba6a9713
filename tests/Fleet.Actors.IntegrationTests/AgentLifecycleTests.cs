using System.Diagnostics;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;
using Fleet.Actors.Host.Verification;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests;

/// <summary>
/// How the agent process starts and ends as an operator drives it: one agent per data folder,
/// SIGHUP, a second SIGTERM, a shutdown that hangs. Every test ends by checking from a subscriber
/// that no accepted reading was lost on the way.
/// </summary>
public sealed class AgentLifecycleTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan FirstBatchTimeout = TimeSpan.FromSeconds(30);
    private readonly MosquittoProcess _broker = new();
    private readonly string _work = Path.Combine(Path.GetTempPath(), "fleet-life-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _vehicle = "life-" + Guid.NewGuid().ToString("N")[..6];
    private MqttVerifier? _verifier;

    private string DataDirectory => Path.Combine(_work, "data");

    public async Task InitializeAsync()
    {
        await _broker.StartAsync();
        _verifier = await MqttVerifier.StartAsync(new BrokerSettings { Host = "127.0.0.1", Port = _broker.Port },
            $"fleet/chaos/{_vehicle}/telemetry", $"fleet/chaos/{_vehicle}/status", "verify-" + _vehicle, persistentSession: true,
            checkConflicts: true);
    }

    public async Task DisposeAsync()
    {
        if (_verifier is not null) await _verifier.DisposeAsync();
        await _broker.DisposeAsync();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private AgentProcess StartAgent(string extra = "") =>
        AgentProcess.Start(ChaosScenarios.Overlay(_broker, _vehicle, DataDirectory, obdRateHz: 50, extra), _work, output.WriteLine);

    /// <summary>
    /// A last clean run delivers what the log still holds; the subscriber must then have every
    /// sequence (or a gap record for it, when <paramref name="gapsExpected"/>), and no sequence
    /// with two different contents.
    /// </summary>
    private async Task AssertNothingLostAsync(bool gapsExpected = false, string extra = "")
    {
        await using (var agent = StartAgent(extra))
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout), "the final run delivered nothing");
            Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));
        }
        Assert.True(await _verifier!.WaitUntilAsync(v => v.AllOfflineVehiclesComplete(1), TimeSpan.FromSeconds(20)));
        var vehicle = _verifier.Verifier.Report().Vehicles.Single();
        Assert.True(vehicle.Missing == 0, $"missing {string.Join(", ", vehicle.MissingRanges.Select(r => $"{r.Start}..{r.End}"))}");
        Assert.Equal(0, vehicle.Conflicts);
        if (gapsExpected) Assert.True(vehicle.GapRecords > 0, "no gap record announced what the damaged journal held");
        else Assert.Equal(0, vehicle.GapRecords);
    }

    [Fact]
    public async Task A_journal_damaged_under_a_running_agent_and_a_kill_9_should_be_quarantined_without_reusing_a_sequence()
    {
        var journal = Path.Combine(DataDirectory, "journal.db");
        for (var round = 0; round < 2; round++)
        {
            await using var agent = StartAgent();
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            // The broker goes away, so that the journal holds unsent readings when it is damaged.
            await _broker.StopAsync();
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            // Damaged while the agent runs (round 0: it keeps running on pages it has cached), then power lost.
            DamageJournal(journal);
            await Task.Delay(TimeSpan.FromSeconds(0.5));
            agent.KillHard();
            await agent.WaitForExitAsync(TimeSpan.FromSeconds(10));
            if (round == 1) DamageJournal(journal);
            await _broker.StartAsync();
        }
        await using (var recovering = StartAgent())
        {
            Assert.True(await recovering.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            Assert.True(await recovering.WaitForOutputAsync("sequences go on at", TimeSpan.FromSeconds(10)), "the replaced journal was not noticed");
            Assert.Equal(0, await recovering.StopAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains(recovering.Output, line => line.Contains("journal.db is damaged", StringComparison.Ordinal));
        }
        Assert.NotEmpty(Directory.GetDirectories(Path.Combine(DataDirectory, "quarantine")));
        await AssertNothingLostAsync(gapsExpected: true);
    }

    /// <summary>
    /// The snapshot file damaged under a running agent, then a kill -9 (issue 7). The running log
    /// meets the damage at its next snapshot: it must have the file quarantined and save its state in
    /// the fresh one at once, not warn at every snapshot until a restart. After the kill and a
    /// restart, the journal still holds the truth: nothing accepted is lost, no sequence repeats, and
    /// nothing needs announcing.
    /// </summary>
    [Fact]
    public async Task A_snapshot_file_damaged_under_a_running_agent_and_a_kill_9_should_be_quarantined_without_losing_or_reusing_a_sequence()
    {
        // Snapshots every 20 events, a few a second at this rate, so that the damage is met soon.
        const string often = "wal.snapshot-every = 20";
        var snapshots = Path.Combine(DataDirectory, "snapshots.db");
        var mark = Path.Combine(DataDirectory, $"wal-{_vehicle}.seq");
        await using (var agent = StartAgent(often))
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            var before = agent.Output.Count;
            Testing.WalFiles.DamagePages(snapshots);
            Assert.True(await WaitForNewOutputAsync(agent, before, "snapshots.db is damaged", TimeSpan.FromSeconds(15)),
                "the running agent did not quarantine the damaged snapshot file");
            // The log saved its state in the fresh file and its mark names that file.
            await Testing.Poll.UntilAsync(() => SequenceMark.Read(mark)?.SnapshotId == JournalFiles.Identity(snapshots)
                    && Testing.WalFiles.Scalar(snapshots, $"SELECT COUNT(*) FROM snapshot WHERE persistence_id = 'wal-{_vehicle}'") > 0,
                "the log's snapshot and mark in the fresh snapshot file");
            Assert.DoesNotContain(agent.Output.Skip(before), line => line.Contains("Snapshot of the log failed", StringComparison.Ordinal));
            agent.KillHard();
            await agent.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        Assert.Single(Directory.GetDirectories(Path.Combine(DataDirectory, "quarantine")));
        await AssertNothingLostAsync(gapsExpected: false, often);
    }

    /// <summary>Overwrites the page headers of the journal's main file and its SQLite log, as a power cut on a cheap SD card does.</summary>
    private static void DamageJournal(string journal)
    {
        var garbage = new byte[64];
        new Random(11).NextBytes(garbage);
        foreach (var path in new[] { journal, journal + "-wal" })
        {
            if (!File.Exists(path)) continue;
            using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            for (long offset = 4096; offset < file.Length; offset += 4096)
            {
                file.Position = offset;
                file.Write(garbage);
            }
            file.Flush(flushToDisk: true);
        }
    }

    [Fact]
    public async Task A_second_agent_on_the_same_data_folder_should_exit_1_at_once_naming_the_folder_and_the_holder()
    {
        await using (var first = StartAgent())
        {
            Assert.True(await first.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            var started = Stopwatch.StartNew();
            await using (var second = StartAgent())
            {
                Assert.Equal(1, await second.WaitForExitAsync(TimeSpan.FromSeconds(20)));
                var refusal = string.Join("\n", second.Output);
                Assert.Contains(Path.GetFullPath(DataDirectory), refusal);
                Assert.Contains($"PID {first.Id}", refusal);
                Assert.DoesNotContain(second.Output, line => line.Contains("First batch", StringComparison.Ordinal) || line.Contains("Exception", StringComparison.Ordinal));
            }
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"the second agent took {started.Elapsed} to give up");

            // The first one goes on undisturbed; a kill -9 leaves no stale lock behind.
            Assert.True(await WaitForNewOutputAsync(first, first.Output.Count, "broker online", TimeSpan.FromSeconds(10)), "the first agent stopped working");
            first.KillHard();
            await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        await AssertNothingLostAsync();
    }

    /// <summary>
    /// Found by a new user: a SIGHUP within about 0.3 s of the start ended the agent (exit code 129,
    /// nothing logged): the handler came only after the configuration, the logger and the journal
    /// files. It is now the first thing <c>run</c> does. The SIGHUP goes out at the first sign of
    /// the agent, whichever comes first: the process catches SIGHUP (SigCgt in /proc), or it prints
    /// a line (the old code printed the configuration line before it caught SIGHUP).
    /// </summary>
    [Fact]
    public async Task SIGHUP_right_after_the_start_should_be_ignored_and_never_end_the_agent()
    {
        await using var agent = StartAgent();
        // Polled every millisecond: the whole start takes under a second.
        var patience = Stopwatch.StartNew();
        while (!agent.HasExited && agent.Output.Count == 0 && !CatchesSigHup(agent.Id) && patience.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(1);
        Posix.Signal(agent.Id, Posix.SigHup);
        Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout),
            agent.HasExited ? $"the agent ended after SIGHUP (exit code {agent.ExitCode})" : "no batch acknowledged");
        Assert.True(agent.Output.Any(line => line.Contains("SIGHUP received while starting: ignored", StringComparison.Ordinal)),
            "no line says the SIGHUP was ignored:\n" + string.Join("\n", agent.Output.Take(12)));
        Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));
    }

    private static bool CatchesSigHup(int pid)
    {
        try
        {
            var caught = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("SigCgt:", StringComparison.Ordinal));
            return caught is not null && (Convert.ToUInt64(caught["SigCgt:".Length..].Trim(), 16) & 1UL) != 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

    [Fact]
    public async Task SIGHUP_and_an_edited_file_should_reload_the_configuration_and_a_bad_edit_should_change_nothing()
    {
        await using (var agent = StartAgent())
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            Posix.Signal(agent.Id, Posix.SigHup);
            Assert.True(await agent.WaitForOutputAsync("Configuration reload (SIGHUP): no change", TimeSpan.FromSeconds(10)), "no reload on SIGHUP");

            var overlay = await File.ReadAllTextAsync(agent.OverlayPath);
            await File.WriteAllTextAsync(agent.OverlayPath, overlay + "\nfleet.uplink.batch.min-records = 64\n");
            Assert.True(await agent.WaitForOutputAsync("changed) applied: uplink changed", TimeSpan.FromSeconds(10)), "an edited file was not applied");
            await File.WriteAllTextAsync(agent.OverlayPath, overlay + "\nfleet.uplink.batch.min-records = -1\n");
            Assert.True(await agent.WaitForOutputAsync("refused; the running configuration stays", TimeSpan.FromSeconds(10)), "a bad edit was not refused");
            // An edit that applies only at the next start is a warning, not a refusal.
            await File.WriteAllTextAsync(agent.OverlayPath, overlay + "\nfleet.uplink.batch.min-records = 64\nfleet.wal.synchronous = normal\n");
            Assert.True(await agent.WaitForOutputAsync("fleet.wal (synchronous, segment-bytes or cache-bytes) changed, which applies only at the next start; nothing applied now", TimeSpan.FromSeconds(10)));
            var lines = agent.Output.Count;
            // Still reading and delivering: more summary lines come.
            Assert.True(await WaitForNewOutputAsync(agent, lines, "broker online", TimeSpan.FromSeconds(10)), "the agent stopped working after SIGHUP");
            Assert.False(agent.HasExited);
            Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains(agent.Output, line => line.Contains("fully drained", StringComparison.Ordinal));
        }
        await AssertNothingLostAsync();
    }

    /// <summary>
    /// An operator lowers the disk budget in the configuration file while the vehicle is offline with
    /// more unsent data than the new budget: the running log evicts at once, and every evicted
    /// sequence is announced by a gap record the fleet receives once the broker is back.
    /// </summary>
    [Fact]
    public async Task A_smaller_disk_budget_set_while_offline_should_evict_at_once_and_announce_every_eviction()
    {
        const string storage = "wal { segment-bytes = 16KiB, max-entry-bytes = 8KiB, cache-bytes = 64KiB }";
        await using (var agent = StartAgent(storage))
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            await _broker.StopAsync();
            Assert.True(await agent.WaitForOutputAsync("Broker link lost", TimeSpan.FromSeconds(20)));
            // Offline long enough to hold several times the new budget (a few hundred readings a second).
            await Task.Delay(TimeSpan.FromSeconds(8));
            Assert.DoesNotContain(agent.Output, line => line.Contains("Disk budget exceeded", StringComparison.Ordinal));

            var overlay = await File.ReadAllTextAsync(agent.OverlayPath);
            await File.WriteAllTextAsync(agent.OverlayPath, overlay + "\nfleet.wal.max-unsent-bytes = 64KiB\n");
            Assert.True(await agent.WaitForOutputAsync("changed) applied: wal changed", TimeSpan.FromSeconds(10)), "the new budget was not applied");
            Assert.True(await agent.WaitForOutputAsync("Log limits changed: max-unsent-bytes 268435456 -> 65536", TimeSpan.FromSeconds(10)));
            Assert.True(await agent.WaitForOutputAsync("Disk budget exceeded", TimeSpan.FromSeconds(10)), "the smaller budget evicted nothing");

            await _broker.StartAsync();
            Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));
        }
        await AssertNothingLostAsync(gapsExpected: true, storage);
    }

    /// <summary>The agent process serves its HTTP endpoint while it runs and closes it when it stops.</summary>
    /// <summary>
    /// The heartbeat as the fleet sees it: health records in the telemetry stream (a subscriber on
    /// mosquitto decodes them), the retained status carrying the latest sample, and /status and
    /// `fleet-agent status` showing every device with its rate and the buffer left.
    /// </summary>
    [Fact]
    public async Task The_heartbeat_should_reach_a_subscriber_and_the_status_should_show_devices_and_health()
    {
        var port = FreePort();
        var heartbeats = new System.Collections.Concurrent.ConcurrentQueue<Fleet.Actors.Core.Telemetry.DiagnosticsValue>();
        _verifier!.BatchDecoded += batch =>
        {
            foreach (var record in batch.Records)
                if (record is { DeviceId: "health", Value: Fleet.Actors.Core.Telemetry.DiagnosticsValue health }) heartbeats.Enqueue(health);
        };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await using (var agent = StartAgent($"http {{ enabled = on, port = {port} }}\nhealth {{ sample-interval = 250ms, heartbeat-interval = 1s }}"))
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            await Testing.Poll.UntilAsync(() => heartbeats.Any(h => h.Health?.DevicesUp == 3), "a heartbeat with the three sensors up reached the subscriber",
                TimeSpan.FromSeconds(20));
            var heartbeat = heartbeats.Last(h => h.Health?.DevicesUp == 3);
            Assert.InRange(heartbeat.CpuUsage!.Value, 0, 100);
            Assert.InRange(heartbeat.MemoryUsage!.Value, 0, 100);
            Assert.InRange(heartbeat.DiskUsage!.Value, 0, 100);
            Assert.True(heartbeat.Health!.ProcessMemoryBytes > 10_000_000);
            Assert.True(heartbeat.Health.ProcessUptimeSeconds >= 0);
            Assert.Equal(0, heartbeat.Health.DevicesDown);
            Assert.True(heartbeat.Temperature is not null || heartbeat.Health.Unavailable.Contains("temperature"));

            // The retained status carries the latest sample.
            var retained = await RetainedStatusAsync($"fleet/chaos/{_vehicle}/status");
            Assert.Equal("online", retained.GetProperty("state").GetString());
            Assert.Equal(3, retained.GetProperty("health").GetProperty("devices_up").GetInt32());

            // A device's rate needs two of the monitor's samples (null after its first): a fast start
            // (the native agent's) can bring the first heartbeat with all three up before that.
            string statusJson = "";
            await Testing.Poll.UntilAsync(async () =>
            {
                statusJson = await http.GetStringAsync($"http://127.0.0.1:{port}/status");
                using var document = System.Text.Json.JsonDocument.Parse(statusJson);
                return document.RootElement.GetProperty("devices").EnumerateArray()
                    .All(d => d.GetProperty("rate_per_second").ValueKind == System.Text.Json.JsonValueKind.Number);
            }, "every device's rate in /status", TimeSpan.FromSeconds(10));
            using (var status = System.Text.Json.JsonDocument.Parse(statusJson))
            {
                var root = status.RootElement;
                var devices = root.GetProperty("devices").EnumerateArray().ToList();
                Assert.Equal(["gps", "imu", "obd"], devices.Select(d => d.GetProperty("id").GetString()).Order());
                Assert.All(devices, d => Assert.Equal("up", d.GetProperty("state").GetString()));
                // imu at 100 Hz, give or take the simulation's pacing.
                Assert.InRange(devices.Single(d => d.GetProperty("id").GetString() == "imu").GetProperty("rate_per_second").GetDouble(), 50, 150);
                Assert.True(root.GetProperty("buffer").GetProperty("hours_left").GetDouble() > 1);
                Assert.True(root.GetProperty("health").GetProperty("log_response_ms").GetDouble() >= 0);
                var domains = root.GetProperty("domains");
                Assert.Equal(("up", "online", "3/3 up"), (domains.GetProperty("log").GetString(), domains.GetProperty("uplink").GetString(), domains.GetProperty("sensors").GetString()));
            }
            var table = await FleetAgentCli.RunAsync("status", "--url", $"http://127.0.0.1:{port}");
            Assert.True(table.Exit == 0, table.ToString());
            Assert.Contains("devices            3 up, 0 down", table.Out, StringComparison.Ordinal);
            Assert.Contains("  imu              up (sensors, sim-imu), ", table.Out, StringComparison.Ordinal);
            Assert.Contains("buffer left        ", table.Out, StringComparison.Ordinal);
            var metrics = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            Assert.Contains($"health_devices_up{{vehicle_id=\"{_vehicle}\"}} 3", metrics, StringComparison.Ordinal);
            Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));
        }
        Assert.True(await _verifier.WaitUntilAsync(v => v.AllOfflineVehiclesComplete(1), TimeSpan.FromSeconds(20)));
        Assert.Equal(0, _verifier.Verifier.Report().Vehicles.Single().Missing);
    }

    private async Task<System.Text.Json.JsonElement> RetainedStatusAsync(string topic)
    {
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var client = new MQTTnet.MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += args =>
        {
            var payload = System.Buffers.BuffersExtensions.ToArray(args.ApplicationMessage.Payload);
            if (System.Text.Encoding.UTF8.GetString(payload).Contains("\"health\"", StringComparison.Ordinal)) received.TrySetResult(payload);
            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MQTTnet.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", _broker.Port).WithClientId("status-" + _vehicle).Build());
        await client.SubscribeAsync(new MQTTnet.MqttClientSubscribeOptionsBuilder().WithTopicFilter(topic).Build());
        var payload = await received.Task.WaitAsync(TimeSpan.FromSeconds(20));
        return System.Text.Json.JsonDocument.Parse(payload).RootElement.Clone();
    }

    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    [Fact]
    public async Task The_HTTP_endpoint_should_serve_metrics_and_health_while_the_agent_runs_and_close_with_it()
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await using (var agent = StartAgent($"http {{ enabled = on, port = {port}, ready-offline-tolerance = 2s }}"))
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            Assert.Contains(agent.Output, line => line.Contains($"HTTP endpoint on http://127.0.0.1:{port}/: /metrics, /healthz, /readyz, /status", StringComparison.Ordinal));
            Assert.Equal("alive\n", await http.GetStringAsync($"http://127.0.0.1:{port}/healthz"));
            Assert.Equal("ready\n", await http.GetStringAsync($"http://127.0.0.1:{port}/readyz"));
            var metrics = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            Assert.Contains($"vehicle_id=\"{_vehicle}\"", metrics, StringComparison.Ordinal);
            Assert.Contains("uplink_", metrics, StringComparison.Ordinal);
            var table = await FleetAgentCli.RunAsync("status", "--url", $"http://127.0.0.1:{port}");
            Assert.True(table.Exit == 0, table.ToString());
            Assert.Contains($"vehicle            {_vehicle} (tenant chaos)", table.Out, StringComparison.Ordinal);
            Assert.Contains("ready              yes", table.Out, StringComparison.Ordinal);
            Assert.Contains("operational state  READY", table.Out, StringComparison.Ordinal);
            // Without --url: the agent of the configuration given (its fleet.http address).
            var found = await FleetAgentCli.RunAsync("status", "--config-dir", AgentProcess.ConfigDirectory, "--config", agent.OverlayPath);
            Assert.True(found.Exit == 0, found.ToString());
            Assert.Contains($"vehicle            {_vehicle} (tenant chaos)", found.Out, StringComparison.Ordinal);
            var asJson = await FleetAgentCli.RunAsync("status", "--url", $"http://127.0.0.1:{port}", "--json");
            using (System.Text.Json.JsonDocument.Parse(asJson.Out)) Assert.Equal(0, asJson.Exit);
            using (var status = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/status")))
            {
                var root = status.RootElement;
                Assert.Equal(_vehicle, root.GetProperty("vehicle_id").GetString());
                Assert.Equal("READY", root.GetProperty("operational_state").GetString());
                Assert.True(root.GetProperty("log").GetProperty("last_sequence").GetInt64() > 0);
                Assert.True(root.GetProperty("link").GetProperty("connected").GetBoolean());
                Assert.False(string.IsNullOrEmpty(root.GetProperty("configuration").GetProperty("version").GetString()));
            }

            // The broker goes away: ready within the tolerance (2 s), then not, saying why; ready again once back.
            await _broker.StopAsync();
            Assert.True(await agent.WaitForOutputAsync("Broker link lost", TimeSpan.FromSeconds(20)));
            using (var within = await http.GetAsync($"http://127.0.0.1:{port}/readyz"))
                Assert.Equal(System.Net.HttpStatusCode.OK, within.StatusCode);
            await Testing.Poll.UntilAsync(async () => (await http.GetAsync($"http://127.0.0.1:{port}/readyz")).StatusCode == System.Net.HttpStatusCode.ServiceUnavailable,
                "/readyz says not ready after the tolerance", TimeSpan.FromSeconds(15));
            var reason = await (await http.GetAsync($"http://127.0.0.1:{port}/readyz")).Content.ReadAsStringAsync();
            Assert.StartsWith("not ready: the uplink has been offline for ", reason, StringComparison.Ordinal);
            Assert.Contains("longer than fleet.http.ready-offline-tolerance (2s)", reason, StringComparison.Ordinal);
            var notReady = await FleetAgentCli.RunAsync("status", "--url", $"http://127.0.0.1:{port}");
            Assert.True(notReady.Exit == Fleet.Actors.Host.Cli.StatusCommand.NotReady, notReady.ToString());
            Assert.Contains("ready              NO: the uplink has been offline for", notReady.Out, StringComparison.Ordinal);
            await _broker.StartAsync();
            await Testing.Poll.UntilAsync(async () => (await http.GetAsync($"http://127.0.0.1:{port}/readyz")).StatusCode == System.Net.HttpStatusCode.OK,
                "/readyz ready again once the broker is back", TimeSpan.FromSeconds(30));
            Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));
        }
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync($"http://127.0.0.1:{port}/healthz"));
        var gone = await FleetAgentCli.RunAsync("status", "--url", $"http://127.0.0.1:{port}");
        Assert.True(gone.Exit == Fleet.Actors.Host.Cli.StatusCommand.Unreachable, gone.ToString());
        Assert.StartsWith($"fleet-agent status: no agent answers at http://127.0.0.1:{port}/status", gone.Err, StringComparison.Ordinal);
        await AssertNothingLostAsync();
    }

    [Fact]
    public async Task A_second_SIGTERM_should_end_the_drain_at_once_and_keep_the_backlog_in_the_log()
    {
        await using (var agent = StartAgent("shutdown { drain-timeout = 120s, timeout = 150s }"))
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            // The broker goes away: the drain cannot finish and would wait its whole timeout.
            await _broker.StopAsync();
            Assert.True(await agent.WaitForOutputAsync("Broker link lost", TimeSpan.FromSeconds(20)));
            // A backlog to drain: a fast (native) agent may have had everything acknowledged when the
            // link went; a second of readings (OBD at 50 Hz, IMU at 100 Hz) is then left unsent.
            await Task.Delay(TimeSpan.FromSeconds(1));
            var stopping = Stopwatch.StartNew();
            Posix.Signal(agent.Id, Posix.SigTerm);
            Assert.True(await agent.WaitForOutputAsync("draining the uplink", TimeSpan.FromSeconds(10)));
            Posix.Signal(agent.Id, Posix.SigTerm);
            Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(20), $"stopping took {stopping.Elapsed} with a drain timeout of 120 s");
            Assert.Contains(agent.Output, line => line.Contains("Second SIGTERM", StringComparison.Ordinal));
            Assert.Contains(agent.Output, line => line.Contains("left in the log", StringComparison.Ordinal));
        }
        await _broker.StartAsync();
        await AssertNothingLostAsync();
    }

    /// <summary>
    /// A broker that hangs (accepts TCP, answers nothing): batches in flight never get their PUBACK
    /// and no goodbye gets through. The second SIGTERM must still end the shutdown at once, cleanly.
    /// </summary>
    [Fact]
    public async Task A_second_SIGTERM_should_end_the_shutdown_at_once_even_when_the_broker_hangs()
    {
        await using (var agent = StartAgent("shutdown { drain-timeout = 120s, timeout = 150s }"))
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            var broker = _broker.ProcessId!.Value;
            Posix.Signal(broker, Posix.SigStop);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                var stopping = Stopwatch.StartNew();
                Posix.Signal(agent.Id, Posix.SigTerm);
                Assert.True(await agent.WaitForOutputAsync("draining the uplink", TimeSpan.FromSeconds(10)));
                Posix.Signal(agent.Id, Posix.SigTerm);
                Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
                Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {stopping.Elapsed} with a hung broker");
                Assert.Contains(agent.Output, line => line.Contains("left in the log", StringComparison.Ordinal));
            }
            finally
            {
                Posix.Signal(broker, Posix.SigCont);
            }
        }
        await AssertNothingLostAsync();
    }

    /// <summary>
    /// With the JSON log format every line is a JSON object, the shutdown's last lines included: Akka
    /// prints what its logger actor has not yet written when the actor system ends in its own format,
    /// which a fast (native) shutdown hit in 5 of 6 runs before the log was flushed first.
    /// </summary>
    [Fact]
    public async Task With_the_json_log_format_every_line_to_the_end_of_a_shutdown_should_be_json()
    {
        for (var run = 0; run < 3; run++)
        {
            await using var agent = StartAgent("logging.format = json");
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));
            var lines = agent.Output.Where(l => l.Length > 0).ToList();
            Assert.Contains(lines, l => l.Contains("fully drained", StringComparison.Ordinal));
            foreach (var line in lines)
            {
                Assert.True(line.StartsWith('{'), $"run {run + 1}: not JSON: {line}");
                using var json = System.Text.Json.JsonDocument.Parse(line);
                Assert.True(json.RootElement.TryGetProperty("@t", out _), line);
            }
        }
        await AssertNothingLostAsync();
    }

    [Fact]
    public async Task A_shutdown_that_hangs_should_be_ended_at_the_shutdown_timeout_with_exit_code_1()
    {
        await using (var agent = StartAgent("shutdown { drain-timeout = 3s, timeout = 6s }"))
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", FirstBatchTimeout));
            // Another process holds the journal's write lock, as a disk that stopped answering would:
            // the log's flush at shutdown cannot finish.
            await using var blocker = new SqliteConnection(SqliteWal.ConnectionString(Path.Combine(DataDirectory, "journal.db")));
            await blocker.OpenAsync();
            await using (var begin = blocker.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE";
                await begin.ExecuteNonQueryAsync();
            }
            var stopping = Stopwatch.StartNew();
            Posix.Signal(agent.Id, Posix.SigTerm);
            Assert.Equal(1, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            output.WriteLine($"ended after {stopping.Elapsed}");
            Assert.InRange(stopping.Elapsed, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));
            Assert.Contains(agent.Output, line => line.Contains("Shutdown did not finish within 6s", StringComparison.Ordinal));
            await using var rollback = blocker.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync();
        }
        await AssertNothingLostAsync();
    }

    private static async Task<bool> WaitForNewOutputAsync(AgentProcess agent, int after, string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !agent.HasExited)
        {
            if (agent.Output.Skip(after).Any(l => l.Contains(text, StringComparison.Ordinal))) return true;
            await Task.Delay(50);
        }
        return false;
    }
}
