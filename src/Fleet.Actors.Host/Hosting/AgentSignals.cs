using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;

namespace Fleet.Actors.Host.Hosting;

/// <summary>
/// The signals an operator sends the agent. The first SIGINT or SIGTERM stops the host (an orderly
/// shutdown: CoordinatedShutdown with the vehicle's drain) instead of letting the runtime exit; a
/// second one ends the drain at once (the log is still flushed; what the broker has not
/// acknowledged stays in it for the next start); SIGHUP, whose default action would end the
/// process on the spot (closing an SSH session sends it), reloads the configuration.
/// </summary>
/// <remarks>
/// It replaces the host's console lifetime, whose handler stops the host on the signal-handling
/// thread and so holds that thread for the whole shutdown: no later signal would be seen until the
/// shutdown was over. Here the stop runs on the thread pool and the signal thread stays free.
/// <c>run</c> creates it as its very first step, before the configuration is read, so that a SIGHUP
/// right after the start (an SSH session closed at once) never ends the process.
/// </remarks>
internal sealed class AgentSignals : IHostLifetime, IDisposable
{
    private Serilog.ILogger? _logger;
    private readonly CancellationTokenSource _stopDraining = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _stopSignals;
    private Action? _stop;
    private Action? _reload;

    public AgentSignals(Serilog.ILogger? logger = null)
    {
        _logger = logger;
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStop),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStop),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnHangUp),
        ];
    }

    /// <summary>Where signals are logged from now on; until it is set, the SIGHUP line goes to stderr.</summary>
    public void LogTo(Serilog.ILogger logger) => _logger = logger;

    /// <summary>Cancelled by the second SIGINT or SIGTERM.</summary>
    public CancellationToken StopDraining => _stopDraining.Token;

    /// <summary>
    /// What the first SIGINT or SIGTERM does once the host exists (stop it). Before, the signal keeps
    /// its default action: nothing has started that needs an orderly end.
    /// </summary>
    public void StopWith(Action stop) => _stop = stop;

    private void OnStop(PosixSignalContext context)
    {
        var name = context.Signal == PosixSignal.SIGINT ? "SIGINT" : "SIGTERM";
        if (Interlocked.Increment(ref _stopSignals) == 1)
        {
            if (_stop is not { } stop) return;
            context.Cancel = true;
            _logger?.Information("{Signal} received: shutting down (a second SIGINT or SIGTERM ends the drain at once)", name);
            ThreadPool.QueueUserWorkItem(_ => stop());
            return;
        }
        context.Cancel = true;
        if (_stopDraining.IsCancellationRequested) return;
        _logger?.Warning("Second {Signal}: ending the drain now; what the broker has not acknowledged stays in the log for the next start", name);
        _stopDraining.Cancel();
    }

    /// <summary>What SIGHUP does once the agent runs (reload the configuration); before, it is ignored.</summary>
    public void ReloadWith(Action reload) => _reload = reload;

    private void OnHangUp(PosixSignalContext context)
    {
        context.Cancel = true;
        if (_reload is { } reload)
        {
            _logger?.Information("SIGHUP received: reloading the configuration");
            ThreadPool.QueueUserWorkItem(_ => reload());
        }
        else if (_logger is { } logger) logger.Warning("SIGHUP received while starting: ignored");
        else Console.Error.WriteLine("fleet-agent: SIGHUP received while starting: ignored");
    }

    /// <inheritdoc />
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _stopDraining.Dispose();
    }
}
