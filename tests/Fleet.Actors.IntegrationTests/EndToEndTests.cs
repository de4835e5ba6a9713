using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;
using Fleet.Actors.Host.Verification;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests;

/// <summary>The agent process against a real mosquitto, checked by the fleet-side verifier.</summary>
public sealed class EndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly MosquittoProcess _broker = new();
    private readonly string _work = Path.Combine(Path.GetTempPath(), "fleet-e2e-" + Guid.NewGuid().ToString("N")[..8]);

    public Task InitializeAsync() => _broker.StartAsync();

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

    [Fact]
    public async Task Agent_should_deliver_every_accepted_reading_and_say_goodbye_on_SIGTERM()
    {
        await using var verifier = await MqttVerifier.StartAsync(new BrokerSettings { Host = "127.0.0.1", Port = _broker.Port },
            "fleet/+/+/telemetry", "fleet/+/+/status", "e2e-verifier", persistentSession: false);
        var overlay = ChaosScenarios.Overlay(_broker, "e2e-truck", Path.Combine(_work, "data"), obdRateHz: 50);
        await using var agent = AgentProcess.Start(overlay, _work, output.WriteLine);

        Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", TimeSpan.FromSeconds(30)), "no batch was acknowledged");
        Assert.True(await agent.WaitForOutputAsync("sensors 3/3", TimeSpan.FromSeconds(10)), "the console summary did not show three sensors");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));

        Assert.True(await verifier.WaitUntilAsync(v => v.AllOfflineVehiclesComplete(1), TimeSpan.FromSeconds(20)));
        var vehicle = verifier.Verifier.Report().Vehicles.Single();
        output.WriteLine($"received {vehicle.Received}, duplicates {vehicle.Duplicates}, last {vehicle.StatusLastSequence}");
        Assert.Equal("e2e-truck", vehicle.VehicleId);
        Assert.Equal(0, vehicle.Missing);
        Assert.Equal(vehicle.StatusLastSequence, vehicle.HighestReceived);
        Assert.True(vehicle.Received > 500, $"only {vehicle.Received} readings in several seconds at ~470/s");
        Assert.Contains(agent.Output, line => line.Contains("fully drained", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Restarted_agent_should_continue_the_sequence_where_it_stopped()
    {
        await using var verifier = await MqttVerifier.StartAsync(new BrokerSettings { Host = "127.0.0.1", Port = _broker.Port },
            "fleet/+/+/telemetry", "fleet/+/+/status", "e2e-restart", persistentSession: false);
        var overlay = ChaosScenarios.Overlay(_broker, "e2e-restart", Path.Combine(_work, "data"), obdRateHz: 20);
        for (var run = 0; run < 2; run++)
        {
            await using var agent = AgentProcess.Start(overlay, _work, output.WriteLine);
            Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", TimeSpan.FromSeconds(30)));
            Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));
        }

        Assert.True(await verifier.WaitUntilAsync(v => v.AllOfflineVehiclesComplete(1), TimeSpan.FromSeconds(20)));
        var vehicle = verifier.Verifier.Report().Vehicles.Single();
        Assert.Equal(0, vehicle.Missing);
        Assert.Equal(0, vehicle.Duplicates);
    }

    /// <summary>
    /// <c>fleet-agent verify</c> started while the agent is already sending: from sequence 1 it must
    /// call everything before it subscribed missing (exit 2); with --from-first-seen it judges only
    /// from the first sequence it received, finds nothing missing up to the offline status's
    /// last_sequence (exit 0), and both reports name their mode.
    /// </summary>
    [Fact]
    public async Task Verify_joining_mid_stream_should_judge_from_the_first_sequence_seen_only_when_told_to()
    {
        var overlay = ChaosScenarios.Overlay(_broker, "e2e-midstream", Path.Combine(_work, "data"), obdRateHz: 50);
        await using var agent = AgentProcess.Start(overlay, _work, output.WriteLine);
        Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", TimeSpan.FromSeconds(30)), "no batch was acknowledged");
        // Records that no verifier sees.
        await Task.Delay(TimeSpan.FromSeconds(2));

        string[] common = ["--broker", _broker.Url, "--until-offline", "1", "--idle-timeout", "3s", "--duration", "90s", "--json"];
        using var fromOne = VerifyProcess.Start([.. common, "--client-id", "e2e-from-one"]);
        using var firstSeen = VerifyProcess.Start([.. common, "--from-first-seen", "--client-id", "e2e-first-seen"]);
        Assert.True(await fromOne.WaitForErrorLineAsync("Listening on", TimeSpan.FromSeconds(20)), fromOne.ToString());
        Assert.True(await firstSeen.WaitForErrorLineAsync("Listening on", TimeSpan.FromSeconds(20)), firstSeen.ToString());
        Assert.Contains(firstSeen.Errors, l => l.Contains("checking each vehicle from the first sequence received (--from-first-seen)", StringComparison.Ordinal));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));

        Assert.Equal(0, await firstSeen.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(2, await fromOne.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        output.WriteLine(firstSeen.ToString());
        output.WriteLine(fromOne.ToString());

        using var seen = JsonDocument.Parse(firstSeen.Output);
        var seenVehicle = seen.RootElement.GetProperty("vehicles").EnumerateArray().Single();
        Assert.Equal("from-first-seen", seen.RootElement.GetProperty("mode").GetString());
        Assert.True(seen.RootElement.GetProperty("complete").GetBoolean());
        var start = seenVehicle.GetProperty("checked_from").GetInt64();
        Assert.True(start > 1, $"the verifier joined mid-stream but saw sequence {start} first");
        Assert.Equal(0, seenVehicle.GetProperty("missing").GetInt64());
        Assert.Equal(seenVehicle.GetProperty("status_last_sequence").GetInt64(), seenVehicle.GetProperty("highest_received").GetInt64());

        using var one = JsonDocument.Parse(fromOne.Output);
        var oneVehicle = one.RootElement.GetProperty("vehicles").EnumerateArray().Single();
        Assert.Equal("from-sequence-1", one.RootElement.GetProperty("mode").GetString());
        Assert.False(one.RootElement.GetProperty("complete").GetBoolean());
        Assert.Equal(1, oneVehicle.GetProperty("checked_from").GetInt64());
        // What it calls missing is exactly what went by before it subscribed: 1 up to just before its first record.
        var missing = Assert.Single(oneVehicle.GetProperty("missing_ranges").EnumerateArray());
        Assert.Equal(1, missing[0].GetInt64());
        Assert.True(missing[1].GetInt64() > 1, one.RootElement.ToString());
        Assert.Equal(missing[1].GetInt64(), oneVehicle.GetProperty("missing").GetInt64());
        Assert.Equal(oneVehicle.GetProperty("status_last_sequence").GetInt64(), oneVehicle.GetProperty("highest_received").GetInt64());
    }

    /// <summary>
    /// <c>verify --client-id</c> keeps a persistent session: what the agent sends while no verifier
    /// runs waits at the broker, and the next run under the same id starts where the last one ended.
    /// </summary>
    [Fact]
    public async Task Verify_with_a_client_id_should_pick_up_where_its_last_run_ended()
    {
        var overlay = ChaosScenarios.Overlay(_broker, "e2e-session", Path.Combine(_work, "data"), obdRateHz: 20);
        await using var agent = AgentProcess.Start(overlay, _work, output.WriteLine);
        Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", TimeSpan.FromSeconds(30)), "no batch was acknowledged");
        string[] run = ["--broker", _broker.Url, "--duration", "3s", "--from-first-seen", "--json", "--client-id", "e2e-session-verifier"];

        long Highest(string json, string field) =>
            JsonDocument.Parse(json).RootElement.GetProperty("vehicles").EnumerateArray().Single().GetProperty(field).GetInt64();
        using var first = VerifyProcess.Start(run);
        await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var lastSeen = Highest(first.Output, "highest_received");
        // The agent goes on sending while nobody listens under that id.
        await Task.Delay(TimeSpan.FromSeconds(3));
        using var second = VerifyProcess.Start(run);
        await second.WaitForExitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine(first.ToString());
        output.WriteLine(second.ToString());

        var resumedAt = Highest(second.Output, "checked_from");
        Assert.True(resumedAt <= lastSeen + 1, $"the second run started at {resumedAt}; the first had seen up to {lastSeen}: the broker kept nothing for the session");
        Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));
    }

    /// <summary>
    /// An operator stops a verify that runs without a time limit: SIGTERM (or Ctrl-C) ends the
    /// listening and prints the report of what arrived. Before, the process died without one.
    /// </summary>
    [Fact]
    public async Task Verify_stopped_by_SIGTERM_should_print_its_report()
    {
        var overlay = ChaosScenarios.Overlay(_broker, "e2e-sigterm", Path.Combine(_work, "data"), obdRateHz: 20);
        await using var agent = AgentProcess.Start(overlay, _work, output.WriteLine);
        Assert.True(await agent.WaitForOutputAsync("First batch acknowledged", TimeSpan.FromSeconds(30)), "no batch was acknowledged");
        using var verify = VerifyProcess.Start(["--broker", _broker.Url, "--from-first-seen", "--duration", "0", "--idle-timeout", "10m", "--json"]);
        Assert.True(await verify.WaitForErrorLineAsync("Listening on", TimeSpan.FromSeconds(20)), verify.ToString());
        await Task.Delay(TimeSpan.FromSeconds(2));

        verify.Terminate();
        var exitCode = await verify.WaitForExitAsync(TimeSpan.FromSeconds(20));
        output.WriteLine(verify.ToString());
        Assert.True(exitCode is 0 or 2, $"exit code {exitCode}");
        var vehicle = JsonDocument.Parse(verify.Output).RootElement.GetProperty("vehicles").EnumerateArray().Single();
        Assert.Equal("e2e-sigterm", vehicle.GetProperty("vehicle_id").GetString());
        Assert.True(vehicle.GetProperty("received").GetInt64() > 0, verify.Output);
        Assert.Equal(0, await agent.StopAsync(TimeSpan.FromSeconds(60)));
    }

    /// <summary>A <c>fleet-agent verify</c> child process; its standard error is read line by line as it comes.</summary>
    private sealed class VerifyProcess : IDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _errors = new();
        private readonly Task<string> _output;

        private VerifyProcess(Process process)
        {
            _process = process;
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null) _errors.Enqueue(e.Data);
            };
            process.BeginErrorReadLine();
            _output = process.StandardOutput.ReadToEndAsync();
        }

        public IReadOnlyCollection<string> Errors => _errors;

        /// <summary>SIGTERM, as an operator's <c>kill</c> or a service manager sends it.</summary>
        public void Terminate() => Posix.Signal(_process.Id, Posix.SigTerm);

        public string Output => _output.Result;

        public static VerifyProcess Start(string[] args)
        {
            var info = AgentProcess.StartInfo(AgentProcess.Program, ["verify", .. args]);
            info.RedirectStandardOutput = true;
            info.RedirectStandardError = true;
            info.UseShellExecute = false;
            return new VerifyProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start fleet-agent verify"));
        }

        public async Task<bool> WaitForErrorLineAsync(string text, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                if (_errors.Any(l => l.Contains(text, StringComparison.Ordinal))) return true;
                await Task.Delay(20);
            }
            return _errors.Any(l => l.Contains(text, StringComparison.Ordinal));
        }

        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            using var cancellation = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(cancellation.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
                return -1;
            }
            await _output;
            return _process.ExitCode;
        }

        public override string ToString() =>
            $"verify {(_process.HasExited ? "exit code " + _process.ExitCode : "running")}\nstderr:\n{string.Join("\n", _errors)}\nstdout:\n{(_output.IsCompleted ? _output.Result : "")}";

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill();
            _process.Dispose();
        }
    }
}
