using System.Runtime.InteropServices;

namespace Fleet.Actors.Host.Chaos;

/// <summary>POSIX signals for the processes chaos runs start (Process.Kill only knows SIGKILL).</summary>
public static partial class Posix
{
    /// <summary>SIGHUP: the terminal went away (an SSH session closed).</summary>
    public const int SigHup = 1;

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

    /// <summary>
    /// Ends this process at once with <paramref name="exitCode"/>: no exit handlers (Akka's would wait
    /// for the very shutdown that hangs), no finalizers; like a kill, but with an exit code.
    /// </summary>
    public static void ExitNow(int exitCode) => _exit(exitCode);

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void _exit(int status);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
