using System.Runtime.InteropServices;

namespace Fleet.Actors.Host.Chaos;

/// <summary>POSIX signals for the processes chaos runs start (Process.Kill only knows SIGKILL).</summary>
public static partial class Posix
{
    /// <summary>SIGKILL: no goodbye, no flush.</summary>
    public const int SigKill = 9;

    /// <summary>SIGTERM: orderly shutdown.</summary>
    public const int SigTerm = 15;

    /// <summary>SIGSTOP: freeze the process (a hung peer).</summary>
    public const int SigStop = 19;

    /// <summary>SIGCONT: unfreeze.</summary>
    public const int SigCont = 18;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when the process is gone.</summary>
    public static bool Signal(int pid, int signal) => kill(pid, signal) == 0;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
