using Fleet.Actors.Host.Chaos;
using Serilog;

namespace Fleet.Actors.Host.Hosting;

/// <summary>
/// If shutdown hangs past its budget (<c>fleet.shutdown.timeout</c>), ends the process with exit
/// code 1 rather than hang: at once, without exit handlers, which would wait for the very shutdown
/// that hangs. The log is crash-safe; what it holds is sent after the next start.
/// </summary>
internal sealed class ShutdownWatchdog(TimeSpan budget, Serilog.ILogger logger)
{
    private int _started;

    /// <summary>Starts the countdown; later calls do nothing.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 1) return;
        var thread = new Thread(() =>
        {
            Thread.Sleep(budget);
            Expired();
            Log.CloseAndFlush();
            Posix.ExitNow(1);
        })
        {
            IsBackground = true,
            Name = "shutdown-watchdog",
        };
        thread.Start();
    }

    /// <summary>Says that shutdown ran out of its budget (the process then ends with exit code 1).</summary>
    public void Expired() =>
        logger.Fatal("Shutdown did not finish within {Budget:0.#}s (fleet.shutdown.timeout); ending the process, exit code 1", budget.TotalSeconds);
}
