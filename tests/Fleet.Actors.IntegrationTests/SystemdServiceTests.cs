using System.Globalization;
using Fleet.Actors.Host.Chaos;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests;

/// <summary>
/// The agent process as systemd runs it (deploy/fleet-agent.service, Type=notify, WatchdogSec=):
/// the test plays systemd's side of sd_notify with a real datagram socket, handed to the agent as
/// NOTIFY_SOCKET with WATCHDOG_USEC, as systemd does (systemd itself cannot run here).
/// </summary>
public sealed class SystemdServiceTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "fleet-systemd-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// READY=1 after start, WATCHDOG=1 every third of WATCHDOG_USEC (never a gap as long as the timeout)
    /// while the broker is unreachable and a sensor is down (a truck in a tunnel must not be restarted),
    /// and STOPPING=1 on SIGTERM, with exit code 0.
    /// </summary>
    [Fact]
    public async Task Under_systemd_the_agent_should_say_ready_pet_the_watchdog_while_offline_with_a_device_down_and_say_stopping()
    {
        var watchdog = TimeSpan.FromSeconds(2);
        using var systemd = new NotifySocket();
        var environment = new Dictionary<string, string>
        {
            ["NOTIFY_SOCKET"] = systemd.Path,
            ["WATCHDOG_USEC"] = ((long)watchdog.TotalMicroseconds).ToString(CultureInfo.InvariantCulture),
            ["INVOCATION_ID"] = Guid.NewGuid().ToString("N"),
        };
        await using var agent = AgentProcess.Start(Overlay(), _work, output.WriteLine, environment);

        await systemd.WaitForAsync("READY=1");
        Assert.True(await agent.WaitForOutputAsync("systemd watchdog on: 2s, petted every 0.667s while the actor system and the log answer", TimeSpan.FromSeconds(5)));
        Assert.True(await agent.WaitForOutputAsync("Sensor gps down", TimeSpan.FromSeconds(20)), "the missing serial port was not reported down");
        Assert.True(await agent.WaitForOutputAsync("Cannot reach broker 127.0.0.1:", TimeSpan.FromSeconds(20)), "the unreachable broker was not reported");
        var petted = systemd.With("WATCHDOG=1").Count;
        await systemd.WaitForAsync("WATCHDOG=1", count: petted + 5);

        var received = await systemd.ReceivedBeforeMarkAsync();
        output.WriteLine("received: " + systemd.Describe());
        Assert.True(received[0].Has("READY=1"), $"the first datagram was not READY=1: {systemd.Describe()}");
        Assert.DoesNotContain(received, n => n.Has("STATUS=watchdog not petted: "));
        var pets = received.Where(n => n.Has("WATCHDOG=1")).Select(n => n.At).ToArray();
        var gaps = pets.Zip(pets.Skip(1), (a, b) => b - a).ToArray();
        Assert.True(gaps.Max() < watchdog, $"a gap of {gaps.Max().TotalSeconds:0.00}s between pets, the watchdog timeout is {watchdog.TotalSeconds}s");

        Posix.Signal(agent.Id, Posix.SigTerm);
        await systemd.WaitForAsync("STOPPING=1");
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    /// <summary>
    /// With its output on the journal, as systemd connects a service (a socket whose device and inode
    /// are in JOURNAL_STREAM; here socat's socket pair, the variable set the way systemd sets it), the
    /// agent writes one line per event with the syslog priority journald reads (&lt;6&gt; info,
    /// &lt;4&gt; warning), without timestamps or colours.
    /// </summary>
    [Fact]
    public async Task With_its_output_on_the_journal_the_agent_should_write_syslog_priorities_one_line_per_event()
    {
        var overlay = Path.Combine(_work, "overlay.conf");
        Directory.CreateDirectory(_work);
        await File.WriteAllTextAsync(overlay, Overlay());
        var (program, arguments) = AgentProcess.Command(AgentProcess.Program, "run", "--config-dir", AgentProcess.ConfigDirectory, "--config", overlay);
        var command = $"JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/1) exec {program} {string.Join(' ', arguments)}";
        var start = new System.Diagnostics.ProcessStartInfo("socat", ["-u", "SYSTEM:" + command, "STDOUT"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var socat = System.Diagnostics.Process.Start(start)!;
        socat.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lines.Enqueue(e.Data);
            output.WriteLine(e.Data);
        };
        socat.ErrorDataReceived += (_, e) => output.WriteLine("stderr: " + e.Data);
        socat.BeginOutputReadLine();
        socat.BeginErrorReadLine();
        try
        {
            await Poll.UntilAsync(() => lines.Any(l => l.StartsWith("<4>Sensor gps down", StringComparison.Ordinal)), "the sensor-down warning came with priority 4",
                TimeSpan.FromSeconds(30));
            Assert.Contains(lines, l => l.StartsWith("<6>Fleet agent sd-", StringComparison.Ordinal) && l.Contains(" starting: data in ", StringComparison.Ordinal));
            Assert.All(lines, l => Assert.Matches("^<[2-7]>", l));
            Assert.DoesNotContain(lines, l => l.Contains('\u001b', StringComparison.Ordinal) || System.Text.RegularExpressions.Regex.IsMatch(l, @"\d\d:\d\d:\d\d (INF|WRN)"));
        }
        finally
        {
            // The agent is socat's child: its PID is in the data folder's lock file.
            var lockFile = Path.Combine(_work, "data", "agent.lock");
            if (File.Exists(lockFile) && int.TryParse(File.ReadAllText(lockFile).Trim(), CultureInfo.InvariantCulture, out var pid)) Posix.Signal(pid, Posix.SigTerm);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await socat.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                socat.Kill(entireProcessTree: true);
                throw;
            }
        }
        Assert.Contains(lines, l => l.StartsWith("<6>SIGTERM received: shutting down", StringComparison.Ordinal));
    }

    /// <summary>Nothing listens on the broker's port and the GPS's serial port does not exist.</summary>
    private string Overlay()
    {
        int deadPort;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            deadPort = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        return string.Create(CultureInfo.InvariantCulture, $$"""
            fleet {
              vehicle { id = "sd-{{Guid.NewGuid().ToString("N")[..6]}}", tenant = "chaos" }
              data-dir = "{{Path.Combine(_work, "data")}}"
              embedded-broker.enabled = off
              http.enabled = off
              uplink.broker.url = "mqtt://127.0.0.1:{{deadPort}}"
              summary-interval = 1s
              logging.file = ""
              shutdown { drain-timeout = 2s, timeout = 20s }
              sensors = [
                { id = gps, type = gps-nmea, port = "/dev/ttyFLEETNONE" }
                { id = obd, type = sim-obd, rate-hz = 10 }
              ]
            }
            """);
    }
}
