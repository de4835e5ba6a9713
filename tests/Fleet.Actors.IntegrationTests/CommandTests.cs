using System.Text.Json;
using System.Threading.Channels;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;
using Fleet.Actors.Host.Commands;
using Fleet.Actors.Testing;
using MQTTnet;
using MQTTnet.Formatter;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests;

/// <summary>
/// Signed commands through a real mosquitto to the agent process: sent while it is offline, sent
/// twice, and interrupted by a kill -9; checked by the responses and the retained status topic.
/// </summary>
public sealed class CommandTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly MosquittoProcess _broker = new();
    private readonly string _work = Path.Combine(Path.GetTempPath(), "fleet-commands-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly System.Security.Cryptography.ECDsa _key = CommandKeys.Generate();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_work);
        await File.WriteAllTextAsync(Path.Combine(_work, "ops.pub"), _key.ExportSubjectPublicKeyInfoPem());
        await _broker.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private BrokerSettings Broker => new() { Host = "127.0.0.1", Port = _broker.Port };

    private AgentProcess StartAgent(string vehicle, double obdRateHz = 20, string extra = "") => AgentProcess.Start(ChaosScenarios.Overlay(_broker, vehicle, Path.Combine(_work, vehicle, "data"), obdRateHz, $$"""
        commands.issuers = [ { id = ops, public-key-file = "{{Path.Combine(_work, "ops.pub")}}", types = ["*"] } ]
        operations.safe-stop.settle = 3s
        {{extra}}
        """), Path.Combine(_work, vehicle), output.WriteLine);

    private Command Make(string vehicle, CommandType type, TimeSpan? validFor = null)
    {
        var now = DateTimeOffset.UtcNow;
        return new Command
        {
            CommandId = Guid.NewGuid().ToString(), VehicleId = vehicle, Tenant = "chaos", IssuedAt = now.ToUnixTimeMilliseconds(),
            ExpiresAt = now.Add(validFor ?? TimeSpan.FromMinutes(5)).ToUnixTimeMilliseconds(), Type = type, Issuer = "ops",
        };
    }

    private async Task<List<CommandResponse>> Final(CommandClient client, string commandId)
    {
        using var timeout = new CancellationTokenSource(Wait);
        var responses = (await client.AwaitFinalAsync(commandId, timeout.Token)).ToList();
        foreach (var r in responses) output.WriteLine($"response {r.Status} {r.CommandId} {r.Reason} {r.Message} duplicate={r.Duplicate}");
        return responses;
    }

    [Fact]
    public async Task A_command_sent_while_the_vehicle_is_offline_should_run_when_it_reconnects_once_even_when_delivered_twice()
    {
        const string vehicle = "cmd-offline";
        var identity = new VehicleIdentity(vehicle, "chaos");
        // A first run makes the broker keep the vehicle's session and its subscription to the commands topic.
        await using (var first = StartAgent(vehicle))
        {
            Assert.True(await first.WaitForOutputAsync("First batch acknowledged", Wait));
            Assert.Equal(0, await first.StopAsync(Wait));
        }

        await using var client = await CommandClient.ConnectAsync(Broker);
        var mission = Make(vehicle, CommandType.AssignMission);
        mission.AssignMission = new AssignMission { MissionId = "m-17", RouteId = "r-3" };
        var missionBytes = CommandClient.Sign(mission, _key);
        var shortLived = Make(vehicle, CommandType.Diagnostics, TimeSpan.FromSeconds(1));
        await client.PublishAsync(identity, missionBytes);
        await client.PublishAsync(identity, CommandClient.Sign(shortLived, _key));
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // the short-lived one expires while the vehicle is away

        await using var agent = StartAgent(vehicle);
        var missionAnswers = await Final(client, mission.CommandId);
        Assert.Equal([ResponseStatus.Ack, ResponseStatus.Succeeded], missionAnswers.Select(r => r.Status));
        Assert.Equal("ON_MISSION", missionAnswers[^1].OperationalState);
        var expired = await Final(client, shortLived.CommandId);
        Assert.Equal((ResponseStatus.Nack, CommandRefusals.Expired), (expired.Single().Status, expired.Single().Reason));

        // The same bytes again (a duplicate delivery): the recorded answer, marked, and nothing runs.
        await client.PublishAsync(identity, missionBytes);
        var again = await Final(client, mission.CommandId);
        Assert.All(again, r => Assert.True(r.Duplicate));
        Assert.Equal(ResponseStatus.Succeeded, again[^1].Status);
        Assert.Single(agent.Output, line => line.Contains("Operational state READY -> ON_MISSION", StringComparison.Ordinal));
        Assert.Equal("ON_MISSION", await RetainedOperationalStateAsync(identity, "ON_MISSION"));
        Assert.Equal(0, await agent.StopAsync(Wait));
    }

    [Fact]
    public async Task A_command_interrupted_by_kill_9_should_be_reported_failed_after_the_restart_and_never_run_twice()
    {
        const string vehicle = "cmd-kill";
        var identity = new VehicleIdentity(vehicle, "chaos");
        await using var client = await CommandClient.ConnectAsync(Broker);
        await using (var agent = StartAgent(vehicle))
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", Wait));
            var stop = Make(vehicle, CommandType.SafeStop);
            await client.PublishAsync(identity, CommandClient.Sign(stop, _key));
            using var timeout = new CancellationTokenSource(Wait);
            Assert.Equal(ResponseStatus.Ack, (await client.NextResponseAsync(stop.CommandId, timeout.Token)).Status);
            Assert.Equal(ResponseStatus.Progress, (await client.NextResponseAsync(stop.CommandId, timeout.Token)).Status);
            // Started and journaled, not finished (the settle time is 3 s): the agent dies now.
            agent.KillHard();
            await agent.WaitForExitAsync(Wait);

            await using var restarted = StartAgent(vehicle);
            var final = await client.NextResponseAsync(stop.CommandId, timeout.Token);
            Assert.Equal((ResponseStatus.Failed, CommandRefusals.Interrupted), (final.Status, final.Reason));
            // The stop itself was journaled by the state machine: the vehicle still comes to rest.
            Assert.Equal("SAFE_STOPPED", await RetainedOperationalStateAsync(identity, "SAFE_STOPPED"));

            // Signed anew (another signature over the same command): still the same command, answered again.
            await client.PublishAsync(identity, CommandClient.Sign(stop, _key));
            var again = await Final(client, stop.CommandId);
            Assert.Equal((ResponseStatus.Failed, true), (again[^1].Status, again[^1].Duplicate));
            Assert.Single(restarted.Output, line => line.Contains("Operational state SAFE_STOPPING -> SAFE_STOPPED", StringComparison.Ordinal));
            Assert.Equal(0, await restarted.StopAsync(Wait));
        }
    }

    /// <summary>
    /// The attacker's view of "runs at most once, never forgotten": GPIO writes (each leaves one
    /// arbitration record in the telemetry, journaled before the write is made) are sent in bursts, the
    /// earlier ones again as duplicates, and the agent is killed with SIGKILL at a random moment of
    /// each burst, five times. From outside (the responses topic and a telemetry subscriber): every
    /// command gets a final answer; no command has two write records; one that SUCCEEDED has
    /// exactly one; every answer to the same command id says the same; and no accepted reading is lost.
    /// </summary>
    [Fact]
    public async Task Commands_under_repeated_kill_9_should_each_run_at_most_once_and_always_be_answered()
    {
        const string vehicle = "cmd-kill-loop";
        var identity = new VehicleIdentity(vehicle, "chaos");
        var random = new Random(20261207);
        var writes = new System.Collections.Concurrent.ConcurrentDictionary<string, System.Collections.Concurrent.ConcurrentDictionary<long, bool>>();
        var decisions = new System.Collections.Concurrent.ConcurrentDictionary<string, System.Collections.Concurrent.ConcurrentDictionary<long, string>>();
        await using var verifier = await Fleet.Actors.Host.Verification.MqttVerifier.StartAsync(Broker, $"fleet/chaos/{vehicle}/telemetry",
            $"fleet/chaos/{vehicle}/status", "kill-loop-verifier", persistentSession: true);
        verifier.BatchDecoded += batch =>
        {
            // Every arbitration decision about a command's write is a record (one that lost, or was overridden later in its cycle, too).
            foreach (var record in batch.Records)
            {
                if (record.Value is not Fleet.Actors.Core.Telemetry.ScriptWriteValue { ScriptId: var by } write || !by.StartsWith("command:", StringComparison.Ordinal)) continue;
                decisions.GetOrAdd(by["command:".Length..], _ => new())[record.Sequence] = $"{write.Outcome} {write.Target}={write.Value} vs {write.OtherScriptId}";
                // A decision that the command's value stands: written, won, or the same value another write of the cycle makes.
                if (write.Outcome is "write" or "won" or "duplicate") writes.GetOrAdd(by["command:".Length..], _ => new()).TryAdd(record.Sequence, true);
            }
        };
        await using var client = await CommandClient.ConnectAsync(Broker);
        var answers = new System.Collections.Concurrent.ConcurrentDictionary<string, System.Collections.Concurrent.ConcurrentQueue<CommandResponse>>();
        client.ResponseReceived += r => answers.GetOrAdd(r.CommandId, _ => new()).Enqueue(r);
        const string gpio = "gpio.lines = [ { id = pump, pin = 27, direction = output }, { id = horn, pin = 22, direction = output } ]";
        var sent = new List<(string Id, byte[] Signed)>();
        int FinalCount(string id) => answers.GetValueOrDefault(id)?.Count(IsFinal) ?? 0;
        List<(string Id, byte[] Signed)> Burst(int round) => Enumerable.Range(0, 12).Select(i =>
        {
            var command = Make(vehicle, CommandType.GpioWrite);
            command.GpioWrite = new GpioWrite { Line = i % 2 == 0 ? "pump" : "horn", Value = (round + i) % 2 == 0 };
            return (command.CommandId, CommandClient.Sign(command, _key));
        }).ToList();

        for (var round = 0; round < 5; round++)
        {
            await using var agent = StartAgent(vehicle, obdRateHz: 5, gpio);
            Assert.True(await agent.WaitForOutputAsync("Uplink online", Wait), "the agent did not come online");
            var burst = Burst(round);
            sent.AddRange(burst);
            var killAfter = TimeSpan.FromMilliseconds(random.Next(20, 600));
            var publishing = Task.Run(async () =>
            {
                foreach (var (_, signed) in burst) await client.PublishAsync(identity, signed);
                // Duplicates of earlier rounds' commands, re-signed bytes as a retrying backend sends them.
                foreach (var (_, signed) in sent.Take(sent.Count - burst.Count).OrderBy(_ => random.Next()).Take(6)) await client.PublishAsync(identity, signed);
            });
            await Task.Delay(killAfter);
            agent.KillHard();
            await agent.WaitForExitAsync(Wait);
            await publishing;
            output.WriteLine($"round {round}: killed after {killAfter.TotalMilliseconds:F0} ms; {answers.Count} commands answered so far");
        }

        // A last run: everything again; each must now be answered (the same as before, if it was).
        List<(string Id, byte[] Signed)> fresh;
        await using (var last = StartAgent(vehicle, obdRateHz: 5, gpio))
        {
            Assert.True(await last.WaitForOutputAsync("Uplink online", Wait), "the agent did not come online");
            var before = sent.ToDictionary(c => c.Id, c => FinalCount(c.Id));
            foreach (var (_, signed) in sent) await client.PublishAsync(identity, signed);
            await AwaitConditionAsync(() => sent.All(c => FinalCount(c.Id) > before[c.Id]), TimeSpan.FromSeconds(60));
            // And it still works: a burst without a kill is carried out whole.
            fresh = Burst(5);
            foreach (var (_, signed) in fresh) await client.PublishAsync(identity, signed);
            await AwaitConditionAsync(() => fresh.All(c => FinalCount(c.Id) > 0), TimeSpan.FromSeconds(30));
            Assert.Equal(0, await last.StopAsync(Wait));
        }

        Assert.True(await verifier.WaitUntilAsync(v => v.AllOfflineVehiclesComplete(1), TimeSpan.FromSeconds(20)));
        var succeeded = 0;
        foreach (var (id, _) in sent.Concat(fresh))
        {
            var finals = answers.GetValueOrDefault(id)?.Where(IsFinal).ToList() ?? [];
            Assert.True(finals.Count > 0, $"command {id} was never answered");
            // Every answer to the same command says the same thing.
            Assert.Single(finals.Select(f => (f.Status, f.Reason)).Distinct());
            var records = writes.GetValueOrDefault(id)?.Count ?? 0;
            Assert.True(records <= 1, $"command {id} ran {records} times");
            if (finals[0].Status == ResponseStatus.Succeeded)
            {
                succeeded++;
                Assert.True(records == 1, $"command {id} SUCCEEDED but left {records} write records ({finals[0].Message}; " +
                    $"decisions: {string.Join(", ", decisions.GetValueOrDefault(id)?.Select(d => $"{d.Key}: {d.Value}") ?? [])})");
            }
            else if (finals[0].Reason == CommandRefusals.Rejected && finals[0].Message.Contains("lost against", StringComparison.Ordinal))
                Assert.True(records == 0, $"command {id} lost its arbitration but left {records} write records");
            else Assert.True(finals[0].Reason == CommandRefusals.Interrupted, $"command {id}: {finals[0].Status} {finals[0].Reason} {finals[0].Message}");
        }
        output.WriteLine($"{sent.Count} commands under kills and {fresh.Count} after them, {succeeded} succeeded, the others interrupted or lost");
        Assert.All(fresh, c => Assert.NotEqual(CommandRefusals.Interrupted, answers[c.Id].First(IsFinal).Reason));
        var report = verifier.Verifier.Report();
        Assert.Equal(0, report.Missing);
        Assert.Equal(0, report.Conflicts);
    }

    /// <summary>
    /// The journal is damaged while the agent is stopped (a power cut on a cheap SD card) and
    /// quarantined at the next start: the command ids and the operational state it held must not
    /// be forgotten silently. The emergency stop survives (its snapshot is in the other file); an
    /// old command sent again is refused (history-lost), not run a second time; and when both files
    /// are lost, the vehicle comes up emergency-stopped, since nothing says it was not.
    /// </summary>
    [Fact]
    public async Task A_damaged_journal_should_neither_run_an_old_command_again_nor_forget_an_emergency_stop()
    {
        const string vehicle = "cmd-damage";
        var identity = new VehicleIdentity(vehicle, "chaos");
        var data = Path.Combine(_work, vehicle, "data");
        await using var client = await CommandClient.ConnectAsync(Broker);
        var diagnostics = Make(vehicle, CommandType.Diagnostics);
        var diagnosticsBytes = CommandClient.Sign(diagnostics, _key);
        await using (var agent = StartAgent(vehicle))
        {
            Assert.True(await agent.WaitForOutputAsync("Uplink online", Wait));
            var stop = Make(vehicle, CommandType.EmergencyStop);
            stop.Stop = new StopRequest { Reason = "test" };
            await client.PublishAsync(identity, CommandClient.Sign(stop, _key));
            Assert.Equal(ResponseStatus.Succeeded, (await Final(client, stop.CommandId))[^1].Status);
            await client.PublishAsync(identity, diagnosticsBytes);
            Assert.Equal(ResponseStatus.Succeeded, (await Final(client, diagnostics.CommandId))[^1].Status);
            Assert.Equal(0, await agent.StopAsync(Wait));
        }

        WalFiles.DamagePages(Path.Combine(data, "journal.db"));
        await using (var agent = StartAgent(vehicle))
        {
            Assert.True(await agent.WaitForOutputAsync("Uplink online", Wait));
            Assert.Contains(agent.Output, line => line.Contains("journal.db is damaged", StringComparison.Ordinal));
            Assert.Equal("EMERGENCY_STOPPED", await RetainedOperationalStateAsync(identity, "EMERGENCY_STOPPED"));

            await client.PublishAsync(identity, diagnosticsBytes);
            var again = (await Final(client, diagnostics.CommandId))[^1];
            Assert.Equal((ResponseStatus.Nack, CommandRefusals.HistoryLost), (again.Status, again.Reason));
            Assert.Contains("send it again under a new command id", again.Message);

            var reset = Make(vehicle, CommandType.ResetEmergencyStop);
            await client.PublishAsync(identity, CommandClient.Sign(reset, _key));
            Assert.Equal(ResponseStatus.Succeeded, (await Final(client, reset.CommandId))[^1].Status);
            Assert.Equal("SAFE_STOPPED", await RetainedOperationalStateAsync(identity, "SAFE_STOPPED"));
            Assert.Equal(0, await agent.StopAsync(Wait));
        }

        // Both files lost: the state is unknown, and unknown must not mean READY.
        WalFiles.DamagePages(Path.Combine(data, "journal.db"));
        WalFiles.DamagePages(Path.Combine(data, "snapshots.db"));
        await using (var agent = StartAgent(vehicle))
        {
            Assert.True(await agent.WaitForOutputAsync("Uplink online", Wait));
            Assert.Equal("EMERGENCY_STOPPED", await RetainedOperationalStateAsync(identity, "EMERGENCY_STOPPED"));
            Assert.Contains(agent.Output, line => line.Contains("was lost", StringComparison.Ordinal) && line.Contains("emergency-stopped until a signed RESET_EMERGENCY_STOP", StringComparison.Ordinal));
            Assert.Equal(0, await agent.StopAsync(Wait));
        }
    }

    /// <summary>
    /// Found by a new user: with the journal pages that hold the command ledger and the operational
    /// state damaged (a power cut on an SD card), both failed their replay at the next start with a
    /// stack trace and stayed dead until the process restarted: signed commands got no answer at all,
    /// /readyz said ready and the operational state was unknown. Now the damage is quarantined, both
    /// start again on the fresh files, a new command gets its final answer, the state is known and
    /// /readyz says ready once they run.
    /// </summary>
    [Fact]
    public async Task Damage_met_by_the_command_ledger_and_the_operational_state_in_their_replay_should_not_leave_them_dead()
    {
        const string vehicle = "cmd-replay-damage";
        var identity = new VehicleIdentity(vehicle, "chaos");
        var data = Path.Combine(_work, vehicle, "data");
        var port = RecordingBroker.FreePort();
        var http = $"http {{ enabled = on, host = \"127.0.0.1\", port = {port} }}";
        await using var client = await CommandClient.ConnectAsync(Broker);
        await using (var agent = StartAgent(vehicle, extra: http))
        {
            Assert.True(await agent.WaitForOutputAsync("Uplink online", Wait));
            var assign = Make(vehicle, CommandType.AssignMission);
            assign.AssignMission = new AssignMission { MissionId = "m-1" };
            await client.PublishAsync(identity, CommandClient.Sign(assign, _key));
            Assert.Equal(ResponseStatus.Succeeded, (await Final(client, assign.CommandId))[^1].Status);
            Assert.Equal(0, await agent.StopAsync(Wait));
        }

        // The ledger has no snapshot yet: it replays its rows. The state's newest row is also its snapshot: it loads that.
        var damaged = WalFiles.DamageRowPagesHolding(Path.Combine(data, "journal.db"), "commands-" + vehicle)
            + WalFiles.DamageRowPagesHolding(Path.Combine(data, "snapshots.db"), "operations-" + vehicle);
        Assert.True(damaged > 0, "no page holds the ledger's rows or the state's snapshot");
        using var httpClient = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await using (var agent = StartAgent(vehicle, extra: http))
        {
            Assert.True(await agent.WaitForOutputAsync("Uplink online", Wait));
            // Both come back on fresh files (ADR 0011): the ledger has lost its history, and the state,
            // lost from both files, comes up emergency-stopped, since nothing says it was not.
            Assert.True(await agent.WaitForOutputAsync($"Command history of commands-{vehicle} lost", Wait), "the command ledger did not start again");
            Assert.Equal("EMERGENCY_STOPPED", await RetainedOperationalStateAsync(identity, "EMERGENCY_STOPPED"));
            await Poll.UntilAsync(async () => (await httpClient.GetAsync($"http://127.0.0.1:{port}/readyz")).IsSuccessStatusCode, "/readyz says ready", Wait);
            Assert.Contains("\"operational_state\": \"EMERGENCY_STOPPED\"", await httpClient.GetStringAsync($"http://127.0.0.1:{port}/status"), StringComparison.Ordinal);

            var diagnostics = Make(vehicle, CommandType.Diagnostics);
            await client.PublishAsync(identity, CommandClient.Sign(diagnostics, _key));
            Assert.Equal(ResponseStatus.Succeeded, (await Final(client, diagnostics.CommandId))[^1].Status);
            var reset = Make(vehicle, CommandType.ResetEmergencyStop);
            await client.PublishAsync(identity, CommandClient.Sign(reset, _key));
            Assert.Equal(ResponseStatus.Succeeded, (await Final(client, reset.CommandId))[^1].Status);
            Assert.Equal("SAFE_STOPPED", await RetainedOperationalStateAsync(identity, "SAFE_STOPPED"));
            Assert.Equal(0, await agent.StopAsync(Wait));
            // Whichever of the log, the ledger and the state read the damaged pages first had the files replaced for all of them.
            Assert.Contains(agent.Output, line => line.Contains("met a damaged file", StringComparison.Ordinal));
            Assert.DoesNotContain(agent.Output, line => line.Contains("Persistence failure when replaying", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// Found by a new user: after a start, the retained online status had neither the operational
    /// state nor the configuration version until the next change (they reach the uplink while it
    /// connects). A backend reading the status topic must see both from the first moment online,
    /// also after a kill -9 in an emergency stop.
    /// </summary>
    [Fact]
    public async Task The_retained_status_should_carry_the_state_and_configuration_from_the_first_moment_online()
    {
        const string vehicle = "cmd-status";
        var identity = new VehicleIdentity(vehicle, "chaos");
        await using var client = await CommandClient.ConnectAsync(Broker);
        await using (var agent = StartAgent(vehicle))
        {
            Assert.True(await agent.WaitForOutputAsync("Uplink online", Wait));
            Assert.Equal("READY", await RetainedAsync(identity, "operational_state", "READY"));
            Assert.NotNull(await RetainedAsync(identity, "config_version", null));
            var stop = Make(vehicle, CommandType.EmergencyStop);
            await client.PublishAsync(identity, CommandClient.Sign(stop, _key));
            Assert.Equal(ResponseStatus.Succeeded, (await Final(client, stop.CommandId))[^1].Status);
            agent.KillHard();
            await agent.WaitForExitAsync(Wait);
        }
        await using (var agent = StartAgent(vehicle))
        {
            Assert.True(await agent.WaitForOutputAsync("Uplink online", Wait));
            Assert.Equal("online", await RetainedAsync(identity, "state", "online"));
            Assert.Equal("EMERGENCY_STOPPED", await RetainedAsync(identity, "operational_state", "EMERGENCY_STOPPED"));
            Assert.Equal(0, await agent.StopAsync(Wait));
        }
        // The goodbye carries them too.
        Assert.Equal("offline", await RetainedAsync(identity, "state", "offline"));
        Assert.Equal("EMERGENCY_STOPPED", await RetainedAsync(identity, "operational_state", "EMERGENCY_STOPPED"));
    }

    /// <summary>
    /// The CLI's retry (found by a new user: its help promised that the same --id repeats the answer,
    /// but a command built anew under a used id is refused as another command): `send --save` keeps
    /// the signed bytes and `resend` publishes exactly them; the vehicle answers as before, marked
    /// repeated, and the mission is assigned once.
    /// </summary>
    [Fact]
    public async Task Command_send_save_and_resend_should_retry_without_running_twice()
    {
        const string vehicle = "cmd-cli";
        var keyFile = Path.Combine(_work, "ops.key");
        await File.WriteAllTextAsync(keyFile, _key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var saved = Path.Combine(_work, "assign.bin");
        await using var agent = StartAgent(vehicle);
        Assert.True(await agent.WaitForOutputAsync("Uplink online", Wait));

        var first = await FleetAgentCli.RunAsync("command", "send", "--broker", _broker.Url, "--key", keyFile, "--tenant", "chaos", "--vehicle", vehicle,
            "--type", "ASSIGN_MISSION", "--mission-id", "m-7", "--save", saved);
        Assert.True(first.Exit == 0, first.ToString());
        Assert.Contains("SUCCEEDED", first.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("repeated", first.Out, StringComparison.Ordinal);

        var again = await FleetAgentCli.RunAsync("command", "resend", saved, "--broker", _broker.Url);
        Assert.True(again.Exit == 0, again.ToString());
        Assert.Contains("SUCCEEDED", again.Out, StringComparison.Ordinal);
        Assert.Contains("(repeated: the command was seen before)", again.Out, StringComparison.Ordinal);
        Assert.Single(agent.Output, line => line.Contains("Operational state READY -> ON_MISSION", StringComparison.Ordinal));

        var garbage = Path.Combine(_work, "garbage.bin");
        await File.WriteAllBytesAsync(garbage, [0xff, 0x01, 0x02]);
        var refused = await FleetAgentCli.RunAsync("command", "resend", garbage, "--broker", _broker.Url);
        Assert.Equal(1, refused.Exit);
        Assert.Contains("not the signed bytes of a command", refused.Err, StringComparison.Ordinal);
        Assert.Equal(0, await agent.StopAsync(Wait));
    }

    private static bool IsFinal(CommandResponse response) => response.Status is ResponseStatus.Nack or ResponseStatus.Succeeded or ResponseStatus.Failed;

    private static async Task AwaitConditionAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition was not met in time");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_configuration_update_should_change_a_sensor_rate_live_refuse_a_bad_overlay_and_survive_a_restart()
    {
        const string vehicle = "cmd-config";
        var identity = new VehicleIdentity(vehicle, "chaos");
        await using var verifier = await Fleet.Actors.Host.Verification.MqttVerifier.StartAsync(Broker, $"fleet/chaos/{vehicle}/telemetry",
            $"fleet/chaos/{vehicle}/status", "config-verifier", persistentSession: false);
        await using var client = await CommandClient.ConnectAsync(Broker);
        string acceptedVersion;
        double baseline;
        await using (var agent = StartAgent(vehicle, obdRateHz: 1))
        {
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", Wait));
            var slow = await RateAsync(verifier);
            var startVersion = await RetainedAsync(identity, "config_version", null);

            var bad = Make(vehicle, CommandType.ConfigurationUpdate);
            bad.ConfigurationUpdate = new ConfigurationUpdate { Hocon = "fleet.sensors = [ { id = obd, type = sim-obd, rate-hz = -5 } ]" };
            await client.PublishAsync(identity, CommandClient.Sign(bad, _key));
            var refused = (await Final(client, bad.CommandId)).Single();
            Assert.Equal((ResponseStatus.Nack, CommandRefusals.InvalidPayload), (refused.Status, refused.Reason));
            Assert.Contains("fleet.sensors[0].rate-hz", refused.Message);

            var startOnly = Make(vehicle, CommandType.ConfigurationUpdate);
            startOnly.ConfigurationUpdate = new ConfigurationUpdate { Hocon = "fleet.wal.synchronous = normal" };
            await client.PublishAsync(identity, CommandClient.Sign(startOnly, _key));
            var restartRequired = (await Final(client, startOnly.CommandId))[^1];
            Assert.Equal(CommandRefusals.RestartRequired, restartRequired.Reason);
            Assert.Contains("fleet.wal (synchronous, segment-bytes or cache-bytes) can change only with a restart", restartRequired.Message);

            var update = Make(vehicle, CommandType.ConfigurationUpdate);
            update.ConfigurationUpdate = new ConfigurationUpdate { Hocon = SensorsOverlay(obdRateHz: 40) };
            await client.PublishAsync(identity, CommandClient.Sign(update, _key));
            var applied = await Final(client, update.CommandId);
            Assert.Equal(ResponseStatus.Succeeded, applied[^1].Status);
            Assert.Equal("sensors/obd", applied[^1].Details["changed"]);
            acceptedVersion = applied[^1].Details["config_version"];
            Assert.NotEqual(startVersion, acceptedVersion);
            Assert.Equal(acceptedVersion, await RetainedAsync(identity, "config_version", acceptedVersion));
            // One change applied; two refused (a bad value, a part that applies only at start).
            Assert.Equal("1", await RetainedAsync(identity, "config_reload_count", "1"));
            Assert.Equal("2", await RetainedAsync(identity, "config_errors_total", "2"));
            var diagnostics = Make(vehicle, CommandType.Diagnostics);
            await client.PublishAsync(identity, CommandClient.Sign(diagnostics, _key));
            Assert.Equal(acceptedVersion, (await Final(client, diagnostics.CommandId))[^1].Details["config_version"]);

            var fast = await RateAsync(verifier);
            output.WriteLine($"readings/s before {slow:F0}, after {fast:F0}");
            // 39 more OBD polls a second, several PIDs each.
            Assert.True(fast - slow > 150, $"obd at 40 Hz instead of 1 Hz: {slow:F0}/s before, {fast:F0}/s after");
            // Only the changed sensor restarted.
            Assert.Contains(agent.Output, line => line.Contains("Sensor obd restarts with its new settings", StringComparison.Ordinal));
            Assert.DoesNotContain(agent.Output, line => line.Contains("Sensor gps restarts", StringComparison.Ordinal));
            Assert.Equal(0, await agent.StopAsync(Wait));
            await Task.Delay(TimeSpan.FromSeconds(1));
            var slowAgain = await RateAsync(verifier);
            Assert.True(slowAgain < 20, $"the agent stopped, yet {slowAgain:F0} readings/s arrived");
            baseline = slow;
        }

        // The next start reads the accepted overlay (its configuration still says 1 Hz).
        await using var restarted = StartAgent(vehicle, obdRateHz: 1);
        Assert.True(await restarted.WaitForOutputAsync("First batch acknowledged", Wait));
        Assert.Equal(acceptedVersion, await RetainedAsync(identity, "config_version", acceptedVersion));
        var afterRestart = await RateAsync(verifier);
        Assert.True(afterRestart - baseline > 150, $"after the restart {afterRestart:F0} readings/s, {baseline:F0}/s at 1 Hz: the accepted overlay was not read");
        Assert.Equal(0, await restarted.StopAsync(Wait));
        Assert.Equal(0, verifier.Verifier.Report().Missing);
    }

    /// <summary>The shipped sensors of the test overlay with the OBD adapter at another rate.</summary>
    private static string SensorsOverlay(double obdRateHz) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $$"""
        fleet.sensors = [
          { id = gps, type = sim-gps, rate-hz = 10 }
          { id = obd, type = sim-obd, rate-hz = {{obdRateHz}} }
          { id = imu, type = sim-imu, rate-hz = 100 }
        ]
        """);

    /// <summary>Readings per second arriving at the subscriber over three seconds.</summary>
    private static async Task<double> RateAsync(Fleet.Actors.Host.Verification.MqttVerifier verifier)
    {
        var before = verifier.Verifier.Report().Received;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(3));
        return (verifier.Verifier.Report().Received - before) / watch.Elapsed.TotalSeconds;
    }

    private Task<string?> RetainedOperationalStateAsync(VehicleIdentity vehicle, string expected) => RetainedAsync(vehicle, "operational_state", expected);

    /// <summary>Reads the retained status topic until its <paramref name="field"/> is <paramref name="expected"/> (or the wait ends); returns the last seen.</summary>
    private async Task<string?> RetainedAsync(VehicleIdentity vehicle, string field, string? expected)
    {
        var states = Channel.CreateUnbounded<string?>();
        using var mqtt = new MqttClientFactory().CreateMqttClient();
        mqtt.ApplicationMessageReceivedAsync += args =>
        {
            using var json = JsonDocument.Parse(args.ApplicationMessage.ConvertPayloadToString());
            states.Writer.TryWrite(json.RootElement.TryGetProperty(field, out var s) ? (s.ValueKind == JsonValueKind.String ? s.GetString() : s.GetRawText()) : null);
            return Task.CompletedTask;
        };
        await mqtt.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", _broker.Port).WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId("status-" + Guid.NewGuid().ToString("N")[..8]).Build());
        await mqtt.SubscribeAsync(TopicTemplate.Expand(new UplinkSettings().StatusTopic, vehicle));
        using var timeout = new CancellationTokenSource(Wait);
        string? last = null;
        try
        {
            // Without an expected value: the first status that has the field.
            do last = await states.Reader.ReadAsync(timeout.Token);
            while (expected is null ? last is null : last != expected);
        }
        catch (OperationCanceledException)
        {
        }
        await mqtt.DisconnectAsync();
        return last;
    }
}
