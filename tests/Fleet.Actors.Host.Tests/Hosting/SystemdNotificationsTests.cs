using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Host.Health;
using Fleet.Actors.Host.Hosting;
using Fleet.Actors.Testing;
using Microsoft.Extensions.Hosting.Systemd;

namespace Fleet.Actors.Host.Tests.Hosting;

/// <summary>
/// What the agent tells systemd, received on a real notification socket (systemd's side of
/// sd_notify), with an agent probe the test controls: READY=1 only once the log answers, the
/// watchdog petted while the actor system and the log answer and not while either does not (or
/// hangs), whatever the uplink says. The agent-process test (IntegrationTests) drives the real probe.
/// </summary>
public sealed class SystemdNotificationsTests : IDisposable
{
    /// <summary>Small, so that the test runs fast: petted every 133 ms, a check may take 100 ms.</summary>
    private static readonly TimeSpan Watchdog = TimeSpan.FromMilliseconds(400);

    private static readonly Lock EnvironmentLock = new();
    private readonly NotifySocket _systemd = new();
    private readonly ControlledProbe _probe = new();

    public void Dispose() => _systemd.Dispose();

    /// <summary>The package's notifier on our socket: it reads NOTIFY_SOCKET when made, as it does in the agent.</summary>
    private ISystemdNotifier Notifier()
    {
        lock (EnvironmentLock)
        {
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", _systemd.Path);
            try
            {
                return new SystemdNotifier();
            }
            finally
            {
                Environment.SetEnvironmentVariable("NOTIFY_SOCKET", null);
            }
        }
    }

    private SystemdNotifications Start(TimeSpan? watchdog)
    {
        var notifications = new SystemdNotifications(Notifier(), watchdog, Serilog.Core.Logger.None);
        notifications.Start(_probe);
        return notifications;
    }

    /// <summary>Waits until the probe has been asked <paramref name="more"/> more times: the checks before the last one have been decided and sent.</summary>
    private Task ChecksAsync(int more)
    {
        var target = _probe.Calls + more;
        return Poll.UntilAsync(() => _probe.Calls >= target, $"the probe was asked {more} more times");
    }

    /// <summary>
    /// The probe turns unhealthy in one way: a STATUS naming <paramref name="problem"/> arrives, and over
    /// the next checks no WATCHDOG=1 is sent.
    /// </summary>
    private async Task AssertNotPettedAsync(string problem)
    {
        var status = "STATUS=watchdog not petted: " + problem;
        await _systemd.WaitForAsync(status);
        await ChecksAsync(3);
        var received = await _systemd.ReceivedBeforeMarkAsync();
        var since = received.SkipWhile(n => !n.Has(status)).Skip(1).ToArray();
        Assert.True(since.Length == 0, $"sent while {problem}: {string.Join(" | ", since.Select(n => n.Text))}");
    }

    [Fact]
    public async Task Ready_should_wait_for_the_log_and_the_watchdog_be_petted_only_while_the_actor_system_and_the_log_answer()
    {
        _probe.LogAnswers = false; // still recovering
        await using var notifications = Start(Watchdog);
        Assert.Equal(TimeSpan.FromMilliseconds(400) / 3, notifications.PetInterval);

        await ChecksAsync(3);
        Assert.Empty(await _systemd.ReceivedBeforeMarkAsync());

        _probe.LogAnswers = true;
        await _systemd.WaitForAsync("READY=1");
        await _systemd.WaitForAsync("WATCHDOG=1", count: 4);
        var pets = _systemd.With("WATCHDOG=1");
        Assert.True(pets[0].Has("READY=1"), "the first pet did not come with READY=1");
        Assert.Equal("running", pets[0].Value("STATUS"));

        _probe.Alive = false;
        await AssertNotPettedAsync("the actor system does not answer");

        _probe.Alive = true;
        _probe.LogAnswers = false;
        await AssertNotPettedAsync("the write-ahead log does not answer its status");

        // A probe that never returns (ignoring its token, as a starved thread pool would) is bounded by the check's own timeout.
        _probe.LogAnswers = true;
        _probe.Hangs = true;
        await AssertNotPettedAsync("the actor system and the log did not answer within 0.1s");

        var before = _systemd.With("WATCHDOG=1").Count;
        _probe.Hangs = false;
        await _systemd.WaitForAsync("STATUS=running", count: 2);
        await _systemd.WaitForAsync("WATCHDOG=1", count: before + 3);

        notifications.Stopping();
        await _systemd.WaitForAsync("STOPPING=1");
    }

    [Fact]
    public async Task A_broker_away_for_hours_should_not_stop_the_petting()
    {
        _probe.Status = _probe.Status with
        {
            Link = new UplinkProtocol.UplinkStatus(false, 0, 0, "backoff", DateTimeOffset.UtcNow.AddHours(-3)),
            NotReady = ["the uplink has been offline for 3h00m (backoff), longer than fleet.http.ready-offline-tolerance (5m)"],
        };
        await using var notifications = Start(Watchdog);

        await _systemd.WaitForAsync("READY=1");
        await _systemd.WaitForAsync("WATCHDOG=1", count: 5);
        var received = await _systemd.ReceivedBeforeMarkAsync();
        Assert.DoesNotContain(received, n => n.Has("STATUS=watchdog not petted: "));
    }

    [Fact]
    public async Task Without_a_watchdog_ready_should_come_alone_once_the_log_answers()
    {
        await using var notifications = Start(watchdog: null);
        Assert.Null(notifications.PetInterval);

        await _systemd.WaitForAsync("READY=1");
        var received = await _systemd.ReceivedBeforeMarkAsync();
        Assert.Equal("READY=1\nSTATUS=running", Assert.Single(received).Text);
    }

    [Theory]
    [InlineData("2000000", null, 2000.0, null)]
    [InlineData("2000000", "4242", 2000.0, null)] // WATCHDOG_PID is this process
    [InlineData("2000000", "77", null, null)] // the watchdog is another process's (we were started by it)
    [InlineData(null, null, null, null)]
    [InlineData("", "4242", null, null)]
    [InlineData("0", null, null, "WATCHDOG_USEC=0 is not a positive number of microseconds")]
    [InlineData("30s", null, null, "WATCHDOG_USEC=30s is not a positive number of microseconds")]
    public void WatchdogTimeout_should_follow_the_rules_of_sd_watchdog_enabled(string? usec, string? pid, double? expectedMs, string? expectedProblem)
    {
        var timeout = SystemdNotifications.WatchdogTimeout(usec, pid, 4242, out var problem);

        Assert.Equal(expectedMs is null ? null : TimeSpan.FromMilliseconds(expectedMs.Value), timeout);
        Assert.Equal(expectedProblem, problem);
    }

    /// <summary>The agent as the test wants it: alive or not, the log answering or not, or hanging altogether.</summary>
    private sealed class ControlledProbe : IAgentProbe
    {
        private int _calls;

        public volatile bool Alive = true;
        public volatile bool LogAnswers = true;
        public volatile bool Hangs;

        public AgentStatus Status { get; set; } = new("truck-9", "acme", TimeSpan.FromMinutes(1),
            new WalProtocol.WalStatus(120, 100, 20, 2048, 0, 0, 0, null), new UplinkProtocol.UplinkStatus(true, 100, 7, "online"), null, null, []);

        /// <summary>How often the probe was asked (each check starts by asking whether the actor system is alive).</summary>
        public int Calls => Volatile.Read(ref _calls);

        public Task<bool> AliveAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return Hangs ? new TaskCompletionSource<bool>().Task : Task.FromResult(Alive);
        }

        public Task<AgentStatus> StatusAsync(CancellationToken cancellationToken) =>
            Task.FromResult(LogAnswers ? Status : Status with { Log = null, NotReady = ["the log does not answer (still recovering?)"] });
    }
}
