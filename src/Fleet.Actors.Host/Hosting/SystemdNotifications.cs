using System.Globalization;
using System.Net.Sockets;
using Fleet.Actors.Host.Health;
using Microsoft.Extensions.Hosting.Systemd;

namespace Fleet.Actors.Host.Hosting;

/// <summary>
/// What the agent tells systemd when it runs as a <c>Type=notify</c> service (deploy/fleet-agent.service,
/// ADR 0016), through Microsoft.Extensions.Hosting.Systemd's <see cref="ISystemdNotifier"/> on the
/// socket systemd names in <c>NOTIFY_SOCKET</c>:
/// <list type="bullet">
/// <item><c>READY=1</c> once the actor system answers and the write-ahead log answers its status (it
/// has recovered), not merely once the host has started;</item>
/// <item><c>WATCHDOG=1</c> every third of <c>WATCHDOG_USEC</c>, and only while the actor system and
/// the log still answer: a stuck actor system or a log that stopped answering stops the petting, and
/// systemd ends and restarts the agent. Devices that are down and a broker that is away do not count:
/// a truck in a tunnel must not be restarted over and over;</item>
/// <item><c>STATUS=</c> lines for <c>systemctl status</c> when that changes, and <c>STOPPING=1</c>
/// when the shutdown begins.</item>
/// </list>
/// </summary>
internal sealed class SystemdNotifications : IAsyncDisposable
{
    /// <summary>How often the agent is asked before it is ready when there is no watchdog to set the pace.</summary>
    private static readonly TimeSpan StartPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>The longest a health check may take when no watchdog bounds it (the probe's own asks take 2 s each).</summary>
    private static readonly TimeSpan DefaultCheckTimeout = TimeSpan.FromSeconds(5);

    private readonly ISystemdNotifier _notifier;
    private readonly TimeSpan? _watchdog;
    private readonly Serilog.ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private Task _running = Task.CompletedTask;
    private int _stopped;
    private bool _sendFailed;

    /// <param name="notifier">systemd's notification socket.</param>
    /// <param name="watchdog">systemd's watchdog timeout (<c>WATCHDOG_USEC</c>), or null when the watchdog is off.</param>
    /// <param name="logger">Where transitions are reported.</param>
    /// <param name="time">The clock (tests may pass their own).</param>
    public SystemdNotifications(ISystemdNotifier notifier, TimeSpan? watchdog, Serilog.ILogger logger, TimeProvider? time = null)
    {
        _notifier = notifier;
        _watchdog = watchdog;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// How often the watchdog is petted: a third of its timeout. sd_watchdog_enabled(3) asks for at
    /// least half; with a check that may take a quarter, half left a busy machine 1.12 s of a 2 s
    /// timeout for a late timer (a CI run saw a gap of 2.12 s), a third leaves it 0.83 s of 2.
    /// </summary>
    public TimeSpan? PetInterval => _watchdog / 3;

    /// <summary>
    /// The longest one health check may take: a quarter of the watchdog timeout, so that a check that
    /// runs long still leaves the next pet inside the timeout (interval plus check below the timeout).
    /// </summary>
    private TimeSpan CheckTimeout => _watchdog is { } watchdog ? watchdog / 4 : DefaultCheckTimeout;

    /// <summary>
    /// The notifications for this process when systemd started it as a notify service (<c>NOTIFY_SOCKET</c>
    /// is set), else null. The variables are removed from the environment afterwards, as sd_notify(3)
    /// does on request, so that programs the agent starts (ffmpeg, the REBOOT program) do not take them
    /// for theirs.
    /// </summary>
    public static SystemdNotifications? FromEnvironment(Serilog.ILogger logger)
    {
        var notifier = new SystemdNotifier();
        if (!notifier.IsEnabled) return null;
        var watchdog = WatchdogTimeout(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), Environment.GetEnvironmentVariable("WATCHDOG_PID"),
            Environment.ProcessId, out var problem);
        if (problem is not null) logger.Warning("systemd watchdog off: {Problem}", problem);
        foreach (var name in new[] { "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID" }) Environment.SetEnvironmentVariable(name, null);
        return new SystemdNotifications(notifier, watchdog, logger);
    }

    /// <summary>
    /// The watchdog timeout systemd asks this process to honour, by the rules of sd_watchdog_enabled(3):
    /// <c>WATCHDOG_USEC</c> in microseconds, for this process only if <c>WATCHDOG_PID</c> is unset or is
    /// this process. Null when there is no watchdog; a value that is not a positive number is null with
    /// a one-line <paramref name="problem"/>.
    /// </summary>
    public static TimeSpan? WatchdogTimeout(string? usec, string? pid, int ownPid, out string? problem)
    {
        problem = null;
        if (string.IsNullOrEmpty(usec)) return null;
        if (!string.IsNullOrEmpty(pid) && pid != ownPid.ToString(CultureInfo.InvariantCulture)) return null;
        if (!long.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out var microseconds) || microseconds <= 0)
        {
            problem = $"WATCHDOG_USEC={usec} is not a positive number of microseconds";
            return null;
        }
        return TimeSpan.FromMicroseconds(microseconds);
    }

    /// <summary>
    /// Starts asking <paramref name="probe"/>: <c>READY=1</c> once the actor system and the log answer,
    /// then, with a watchdog, a check and a pet every <see cref="PetInterval"/>.
    /// </summary>
    public void Start(IAgentProbe probe)
    {
        if (_watchdog is { } watchdog)
            _logger.Information("systemd watchdog on: {Timeout:0.###}s, petted every {Interval:0.###}s while the actor system and the log answer",
                watchdog.TotalSeconds, PetInterval!.Value.TotalSeconds);
        _running = RunAsync(probe, _stopping.Token);
    }

    /// <summary>The shutdown has begun: <c>STOPPING=1</c>, and no more checks.</summary>
    public void Stopping()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        _stopping.Cancel();
        Send("STOPPING=1\nSTATUS=stopping: draining the uplink and flushing the log");
    }

    private async Task RunAsync(IAgentProbe probe, CancellationToken cancellationToken)
    {
        try
        {
            var interval = PetInterval ?? StartPollInterval;
            using var timer = new PeriodicTimer(interval, _time);
            // systemd arms the watchdog with READY=1 and no sooner; until then TimeoutStartSec= applies.
            string? problem;
            while ((problem = await ProblemAsync(probe, cancellationToken).ConfigureAwait(false)) is not null)
            {
                _logger.Debug("Not ready for systemd yet: {Problem}", problem);
                await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
            }
            Send("READY=1\nSTATUS=running" + (_watchdog is null ? "" : "\nWATCHDOG=1"));
            if (_watchdog is not { } watchdog) return;

            string? reported = null;
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                problem = await ProblemAsync(probe, cancellationToken).ConfigureAwait(false);
                if (problem is null)
                {
                    if (reported is not null)
                    {
                        _logger.Information("systemd watchdog petted again: the actor system and the log answer");
                        Send("STATUS=running\nWATCHDOG=1");
                    }
                    else Send("WATCHDOG=1");
                }
                else if (problem != reported)
                {
                    _logger.Warning("systemd watchdog not petted: {Problem}; systemd restarts the agent if this lasts {Timeout:0.###}s",
                        problem, watchdog.TotalSeconds);
                    Send("STATUS=watchdog not petted: " + problem);
                }
                reported = problem;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// Why the agent must not be taken for healthy, or null: the actor system answers (what <c>/healthz</c>
    /// asks) and the log answers its status, within <see cref="CheckTimeout"/> in all. The uplink and
    /// the devices are not asked about: their being down is normal life on a vehicle.
    /// </summary>
    private async Task<string?> ProblemAsync(IAgentProbe probe, CancellationToken cancellationToken)
    {
        var timeout = CheckTimeout;
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        try
        {
            // WaitAsync bounds a probe that does not honour its token (a starved thread pool, say).
            return await AskAsync(linked.Token).WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is TimeoutException or OperationCanceledException)
        {
            return string.Create(CultureInfo.InvariantCulture, $"the actor system and the log did not answer within {timeout.TotalSeconds:0.###}s");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.Debug(ex, "The health check for systemd failed");
            return $"the health check failed: {ex.GetBaseException().Message}";
        }

        async Task<string?> AskAsync(CancellationToken token)
        {
            if (!await probe.AliveAsync(token).ConfigureAwait(false)) return "the actor system does not answer";
            var status = await probe.StatusAsync(token).ConfigureAwait(false);
            return status.Log is null ? "the write-ahead log does not answer its status" : null;
        }
    }

    private void Send(string state)
    {
        try
        {
            _notifier.Notify(new ServiceState(state));
            _sendFailed = false;
        }
        catch (SocketException ex)
        {
            // systemd went away or was restarted: nothing to do but try again at the next message.
            if (_sendFailed) return;
            _sendFailed = true;
            _logger.Warning("Cannot notify systemd ({State}): {Problem}", state.Split('\n')[0], ex.Message);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
