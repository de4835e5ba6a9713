using System.Text;
using System.Text.Json;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;
using Fleet.Actors.Host.Cli;
using Fleet.Actors.Host.Commands;
using Fleet.Actors.Testing;
using MQTTnet;
using MQTTnet.Protocol;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests;

/// <summary>
/// The Python example of docs/commands.md (<c>docs/examples/send_command.py</c>, the file the document
/// shows) run with Debian's python3-cryptography, python3-protobuf and python3-paho-mqtt, on code
/// protoc generates from the shipped schema, against a real agent process and a real mosquitto: an
/// issuer key from <c>fleet-agent keys generate</c>, trusted by the agent through an overlay. Each
/// run's exit code and printed responses are checked, and the same responses are read from the
/// responses topic by a second subscriber, and the vehicle's state from its retained status topic,
/// so that nothing is taken from the example's word alone. Installs nothing: a missing peer fails with
/// a message that says how to get it (<c>./build.sh --target=Peers</c> does).
/// </summary>
public sealed class CommandExampleTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Tenant = "chaos"; // the tenant of ChaosScenarios.Overlay
    private readonly MosquittoProcess _broker = new();
    private readonly string _work = Directory.CreateTempSubdirectory("fleet-cmd-doc-").FullName;
    private readonly string _vehicle = "cmd-" + Guid.NewGuid().ToString("N")[..6];
    private AgentProcess? _agent;
    private CommandClient? _observer;

    private string Python => Path.Combine(_work, "py");

    public async Task InitializeAsync()
    {
        await _broker.StartAsync();
        Directory.CreateDirectory(Python);
        // The document shows the file in full: what runs here is both.
        var example = await File.ReadAllTextAsync(Path.Combine(DocumentedExamples.RepositoryRoot, "docs", "examples", "send_command.py"));
        Assert.Equal(example, DocumentedExamples.CodeBlock("docs/commands.md", "## Worked example (Python)", "python"));
        await File.WriteAllTextAsync(Path.Combine(Python, "send_command.py"), example);
        var schema = Path.Combine(DocumentedExamples.RepositoryRoot, "src", "Fleet.Actors.Core", "Commands");
        Assert.Equal(0, (await RunAsync("protoc", $"--proto_path={schema}", $"--python_out={Python}", Path.Combine(schema, "commands.proto"))).ExitCode);

        // The trusted issuer, a second key under the same name (a forger), a key nobody trusts, and an
        // issuer trusted for DIAGNOSTICS only.
        await GenerateKeyAsync("fleet-ops", "keys");
        await GenerateKeyAsync("fleet-ops", "forged");
        await GenerateKeyAsync("intruder", "keys");
        await GenerateKeyAsync("observer", "keys");
        _agent = await StartAgentAsync();

        _observer = await CommandClient.ConnectAsync(Broker());
        await _observer.ListenAsync(new VehicleIdentity(_vehicle, Tenant));
    }

    public async Task DisposeAsync()
    {
        if (_observer is not null) await _observer.DisposeAsync();
        if (_agent is not null) await _agent.DisposeAsync();
        await _broker.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task Python_example_should_drive_a_real_agent_and_a_resend_of_the_same_bytes_should_get_the_recorded_answer_without_running_again()
    {
        await using var status = await StatusWatcher.StartAsync(Broker(), $"fleet/{Tenant}/{_vehicle}/status");
        Assert.Equal("READY", await status.WaitForStateAsync(s => s is not null, TimeSpan.FromSeconds(10)));

        var assignBytes = Path.Combine(_work, "assign.bin");
        var assign = await SendAsync("assign-1", "--type", "ASSIGN_MISSION", "--payload", """{"mission_id": "m-42", "route_id": "r-9"}""", "--save", assignBytes);
        Assert.Equal(0, assign.ExitCode);
        Assert.Equal([("ACK", ""), ("SUCCEEDED", "")], Printed(assign));
        Assert.Contains("READY -> ON_MISSION [state ON_MISSION]", assign.Stdout);
        await AssertOnTheWireAsync("assign-1", (ResponseStatus.Ack, ""), (ResponseStatus.Succeeded, ""));

        var pause = await SendAsync("pause-1", "--type", "PAUSE");
        Assert.Equal(0, pause.ExitCode);
        Assert.Equal([("ACK", ""), ("SUCCEEDED", "")], Printed(pause));
        var paused = await AssertOnTheWireAsync("pause-1", (ResponseStatus.Ack, ""), (ResponseStatus.Succeeded, ""));
        Assert.Equal("PAUSED", paused[^1].OperationalState);
        Assert.Equal("PAUSED", await status.WaitForStateAsync(s => s == "PAUSED", TimeSpan.FromSeconds(10)));

        // A retry: the very same signed bytes. Run again, ASSIGN_MISSION would now be refused (the
        // vehicle is PAUSED); instead the recorded answer comes back, marked as a repeat.
        var again = await RunAsync(DocumentedExamples.Python, "send_command.py", "--broker", _broker.Url, "--resend", assignBytes, "--timeout", "20");
        Assert.Equal(0, again.ExitCode);
        Assert.Equal([("ACK", ""), ("SUCCEEDED", "")], Printed(again));
        Assert.Equal(2, CountOccurrences(again.Stdout, "(repeated: the command was seen before)"));
        var repeated = await AssertOnTheWireAsync("assign-1", (ResponseStatus.Ack, ""), (ResponseStatus.Succeeded, ""));
        Assert.All(repeated, r => Assert.True(r.Duplicate));

        // The command built again under the same id (a new issued_at) is another command: a replay.
        var resigned = await SendAsync("assign-1", "--type", "ASSIGN_MISSION", "--payload", """{"mission_id": "m-42", "route_id": "r-9"}""");
        Assert.Equal(CommandSendCommand.Refused, resigned.ExitCode);
        Assert.Equal([("NACK", "replayed")], Printed(resigned));
        await AssertOnTheWireAsync("assign-1", (ResponseStatus.Nack, "replayed"));

        // Nothing ran twice: the state machine is where PAUSE left it, and the agent accepted the command once.
        var diagnostics = await SendAsync("diag-1", "--type", "DIAGNOSTICS");
        Assert.Equal(0, diagnostics.ExitCode);
        Assert.Contains("operational_state = PAUSED", diagnostics.Stdout);
        Assert.Contains("mission_id = m-42", diagnostics.Stdout);
        Assert.Single(_agent!.Output, l => l.Contains("Command assign-1 (ASSIGN_MISSION) from fleet-ops accepted", StringComparison.Ordinal));
        Assert.Equal("PAUSED", status.State);
    }

    [Fact]
    public async Task Python_example_should_exit_2_with_the_reason_when_the_agent_refuses_and_nothing_should_change()
    {
        // Not PAUSED: RESUME is not a legal move from READY.
        var resume = await SendAsync("resume-1", "--type", "RESUME");
        Assert.Equal(CommandSendCommand.Refused, resume.ExitCode);
        Assert.Equal([("NACK", "illegal-transition")], Printed(resume));
        Assert.Contains("RESUME is not allowed in state READY", resume.Stdout);
        Assert.Equal("READY", (await AssertOnTheWireAsync("resume-1", (ResponseStatus.Nack, "illegal-transition")))[0].OperationalState);

        // Signed by another key under the trusted issuer's name.
        var forged = await SendAsync("forged-1", "--type", "EMERGENCY_STOP", "--key", Key("forged", "fleet-ops.key"));
        Assert.Equal(CommandSendCommand.Refused, forged.ExitCode);
        Assert.Equal([("NACK", "bad-signature")], Printed(forged));
        await AssertOnTheWireAsync("forged-1", (ResponseStatus.Nack, "bad-signature"));

        // Signed by an issuer the vehicle does not know.
        var intruder = await SendAsync("intruder-1", "--type", "EMERGENCY_STOP", "--key", Key("keys", "intruder.key"));
        Assert.Equal(CommandSendCommand.Refused, intruder.ExitCode);
        Assert.Equal([("NACK", "untrusted-issuer")], Printed(intruder));
        await AssertOnTheWireAsync("intruder-1", (ResponseStatus.Nack, "untrusted-issuer"));

        // A trusted issuer, but not for this type.
        var observer = await SendAsync("observer-1", "--type", "EMERGENCY_STOP", "--key", Key("keys", "observer.key"));
        Assert.Equal(CommandSendCommand.Refused, observer.ExitCode);
        Assert.Equal([("NACK", "type-not-allowed")], Printed(observer));
        await AssertOnTheWireAsync("observer-1", (ResponseStatus.Nack, "type-not-allowed"));

        // The refused emergency stops stopped nothing; the issuer allowed DIAGNOSTICS gets it.
        var diagnostics = await SendAsync("diag-2", "--type", "DIAGNOSTICS", "--key", Key("keys", "observer.key"));
        Assert.Equal(0, diagnostics.ExitCode);
        Assert.Contains("operational_state = READY", diagnostics.Stdout);
        Assert.DoesNotContain(_agent!.Output, l => l.Contains("EMERGENCY_STOPPED", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_emergency_stop_sent_by_the_Python_example_should_hold_its_output_against_writes_across_a_restart_until_a_signed_reset()
    {
        await using var status = await StatusWatcher.StartAsync(Broker(), $"fleet/{Tenant}/{_vehicle}/status");
        var stop = await SendAsync("estop-1", "--type", "EMERGENCY_STOP", "--payload", """{"reason": "doc test"}""");
        Assert.Equal(0, stop.ExitCode);
        Assert.Contains("pump=0 held at emergency priority until RESET_EMERGENCY_STOP [state EMERGENCY_STOPPED]", stop.Stdout);
        Assert.Equal("EMERGENCY_STOPPED", await status.WaitForStateAsync(s => s == "EMERGENCY_STOPPED", TimeSpan.FromSeconds(10)));

        Assert.Equal(0, await _agent!.StopAsync(TimeSpan.FromSeconds(60)));
        await _agent.DisposeAsync();
        _agent = await StartAgentAsync();
        Assert.True(await _agent.WaitForOutputAsync("emergency-stopped (since before the restart)", TimeSpan.FromSeconds(10)), "the stop was not put in force again");

        // Held at 255: a write of critical priority (200) loses, and the state machine moves only on a reset.
        var write = await SendAsync("write-1", "--type", "GPIO_WRITE", "--payload", """{"line": "pump", "value": true}""", "--priority", "CRITICAL");
        Assert.Equal(CommandSendCommand.Refused, write.ExitCode);
        Assert.Equal([("NACK", "rejected")], Printed(write));
        Assert.Contains("lost against a write of higher priority", write.Stdout);
        var ready = await SendAsync("ready-1", "--type", "CHANGE_OPERATIONAL_MODE", "--payload", """{"mode": "READY"}""");
        Assert.Equal([("NACK", "illegal-transition")], Printed(ready));
        Assert.Equal("EMERGENCY_STOPPED", status.State);

        var reset = await SendAsync("reset-1", "--type", "RESET_EMERGENCY_STOP", "--payload", "{}");
        Assert.Equal(0, reset.ExitCode);
        Assert.Contains("[state SAFE_STOPPED]", reset.Stdout);
        Assert.Equal("SAFE_STOPPED", await status.WaitForStateAsync(s => s == "SAFE_STOPPED", TimeSpan.FromSeconds(10)));
        var released = await SendAsync("write-2", "--type", "GPIO_WRITE", "--payload", """{"line": "pump", "value": true}""");
        Assert.Equal(0, released.ExitCode);
        Assert.Contains("GPIO line pump := 1 (write)", released.Stdout);
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>
    /// The agent under test: trusts fleet-ops for everything and observer for DIAGNOSTICS, has one
    /// GPIO output (simulated chip) that an emergency stop sets to 0.
    /// </summary>
    private async Task<AgentProcess> StartAgentAsync()
    {
        var extra = $$"""
            commands.issuers = [
              { id = "fleet-ops", public-key-file = "{{Key("keys", "fleet-ops.pub")}}", types = ["*"] }
              { id = "observer", public-key-file = "{{Key("keys", "observer.pub")}}", types = [DIAGNOSTICS] }
            ]
            gpio.lines = [ { id = pump, pin = 27, direction = output, initial = 1 } ]
            operations.emergency-stop.outputs = [ { line = pump, value = off } ]
            """;
        var agent = AgentProcess.Start(ChaosScenarios.Overlay(_broker, _vehicle, Path.Combine(_work, "data"), obdRateHz: 1, extra), _work, output.WriteLine);
        // Online means subscribed to the commands topic: the link subscribes before it announces itself.
        Assert.True(await agent.WaitForOutputAsync("Uplink online", TimeSpan.FromSeconds(30)), "the agent did not come online");
        return agent;
    }

    private BrokerSettings Broker() => new() { Host = "127.0.0.1", Port = _broker.Port };

    private string Key(string folder, string file) => Path.Combine(_work, folder, file);

    private async Task GenerateKeyAsync(string name, string folder)
    {
        var (program, arguments) = AgentProcess.Command(AgentProcess.Program, "keys", "generate", "--name", name, "--out", Path.Combine(_work, folder));
        var generated = await RunAsync(program, arguments);
        Assert.Equal(0, generated.ExitCode);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Key(folder, name + ".key")));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", await File.ReadAllTextAsync(Key(folder, name + ".key")), StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", await File.ReadAllTextAsync(Key(folder, name + ".pub")), StringComparison.Ordinal);
    }

    /// <summary>
    /// The example over mutual TLS (mosquitto requiring client certificates, checked against its CA):
    /// with the CA file and a client certificate it connects, subscribes and publishes (no vehicle
    /// answers on this broker, so it ends without an answer); without the certificate the handshake fails.
    /// </summary>
    [Fact]
    public async Task Python_example_should_reach_a_broker_over_mutual_TLS_with_its_CA_file_and_client_certificate()
    {
        // The ACL lets this user write and read under the vehicle's prefix (commands and responses).
        var user = MosquittoUser.Vehicle(Tenant, _vehicle);
        await using var secure = new MosquittoProcess(new MosquittoSecurity { Tls = true, RequireCertificate = true, Devices = [user] });
        await secure.StartAsync();
        var certificate = secure.IssueClientCertificate(user.UserName, _work);
        string[] common = ["send_command.py", "--broker", secure.Url, "--ca-file", secure.CaFile, "--tenant", Tenant, "--vehicle", _vehicle,
            "--key", Key("keys", "fleet-ops.key"), "--type", "DIAGNOSTICS", "--timeout", "3"];

        var connected = await RunAsync(DocumentedExamples.Python, [.. common, "--client-cert", certificate.CertificateFile, "--client-key", certificate.KeyFile]);
        Assert.True(connected.ExitCode == 3, connected.ToString());
        Assert.Contains("no final response", connected.Stderr, StringComparison.Ordinal);
        Assert.Contains("(command published;", connected.Stderr, StringComparison.Ordinal);

        var refused = await RunAsync(DocumentedExamples.Python, common);
        Assert.True(refused.ExitCode == 3, refused.ToString());
        Assert.DoesNotContain("command published", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains($"send_command: {secure.Url}", refused.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Traceback", refused.Stderr + connected.Stderr, StringComparison.Ordinal);
    }

    /// <summary>Runs the example for one command of this test's vehicle, signed by fleet-ops unless <c>--key</c> says otherwise.</summary>
    private Task<ProgramResult> SendAsync(string id, params string[] args)
    {
        string[] key = args.Contains("--key") ? [] : ["--key", Key("keys", "fleet-ops.key")];
        return RunAsync(DocumentedExamples.Python, ["send_command.py", "--broker", _broker.Url, "--tenant", Tenant, "--vehicle", _vehicle, "--id", id,
            "--timeout", "20", .. key, .. args]);
    }

    /// <summary>The status and reason of each response line the example printed (detail lines start with a space).</summary>
    private static List<(string Status, string Reason)> Printed(ProgramResult result) =>
        result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith(' ')).Select(l =>
        {
            var words = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var reason = words.Length > 2 && words[2].EndsWith(':') ? words[2].TrimEnd(':') : "";
            return (words[0], reason);
        }).ToList();

    /// <summary>The responses to <paramref name="commandId"/> as a second subscriber read them from the responses topic.</summary>
    private async Task<List<CommandResponse>> AssertOnTheWireAsync(string commandId, params (ResponseStatus Status, string Reason)[] expected)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var responses = new List<CommandResponse>();
        foreach (var _ in expected) responses.Add(await _observer!.NextResponseAsync(commandId, timeout.Token));
        Assert.Equal(expected, responses.Select(r => (r.Status, r.Reason)));
        Assert.All(responses, r => Assert.Equal((_vehicle, Tenant), (r.VehicleId, r.Tenant)));
        return responses;
    }

    private static int CountOccurrences(string text, string what)
    {
        var count = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    private async Task<ProgramResult> RunAsync(string program, params string[] args)
    {
        var result = await DocumentedExamples.RunAsync(Python, "apt-get install protobuf-compiler python3-protobuf python3-cryptography python3-paho-mqtt",
            output.WriteLine, program, args);
        Assert.False(result.Stderr.Contains("ModuleNotFoundError", StringComparison.Ordinal),
            $"{result.Stderr} (install python3-protobuf, python3-cryptography and python3-paho-mqtt: ./build.sh --target=Peers)");
        return result;
    }

    /// <summary>A subscriber to the retained status topic that keeps the latest <c>operational_state</c>.</summary>
    private sealed class StatusWatcher : IAsyncDisposable
    {
        private readonly IMqttClient _client;
        private volatile string? _state;

        private StatusWatcher(IMqttClient client)
        {
            _client = client;
            _client.ApplicationMessageReceivedAsync += args =>
            {
                using var json = JsonDocument.Parse(Encoding.UTF8.GetString(args.ApplicationMessage.Payload));
                if (json.RootElement.TryGetProperty("operational_state", out var state)) _state = state.GetString();
                return Task.CompletedTask;
            };
        }

        public string? State => _state;

        public static async Task<StatusWatcher> StartAsync(BrokerSettings broker, string topic)
        {
            var client = new MqttClientFactory().CreateMqttClient();
            var watcher = new StatusWatcher(client);
            await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("status-" + Guid.NewGuid().ToString("N")[..8]).Build());
            await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce).Build());
            return watcher;
        }

        public async Task<string?> WaitForStateAsync(Func<string?, bool> condition, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (!condition(_state) && DateTime.UtcNow < deadline) await Task.Delay(20);
            return _state;
        }

        public async ValueTask DisposeAsync()
        {
            await _client.DisconnectAsync();
            _client.Dispose();
        }
    }
}
