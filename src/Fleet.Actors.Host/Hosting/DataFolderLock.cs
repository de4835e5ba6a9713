using System.Globalization;

namespace Fleet.Actors.Host.Hosting;

/// <summary>
/// One agent per data folder. Two agents on one journal fight over sequences and the broker's client
/// id, so the agent holds a POSIX record lock (<c>fcntl</c>, through <see cref="FileStream.Lock"/>) on
/// <c>agent.lock</c> in the data folder for as long as it runs, with its PID in the file. The kernel
/// drops the lock when the process ends, however it ends, so a kill -9 never leaves a stale lock.
/// </summary>
/// <remarks>
/// POSIX record locks belong to the process and are released when it closes any descriptor of the
/// file: nothing else in the process may open <c>agent.lock</c>.
/// </remarks>
public sealed class DataFolderLock : IDisposable
{
    /// <summary>The lock file's name in the data folder.</summary>
    public const string FileName = "agent.lock";

    private readonly FileStream _file;

    private DataFolderLock(FileStream file) => _file = file;

    /// <summary>
    /// Takes the lock of <paramref name="dataDirectory"/>; null, with a one-line reason naming the
    /// folder and the holder's PID where known, when another process holds it.
    /// </summary>
    public static DataFolderLock? TryAcquire(string dataDirectory, out string? problem)
    {
        var folder = Path.GetFullPath(dataDirectory);
        var file = new FileStream(Path.Combine(folder, FileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        try
        {
            // macOS has no FileStream.Lock; the agent targets Linux.
            if (!OperatingSystem.IsMacOS()) file.Lock(0, 1);
        }
        catch (IOException)
        {
            var holder = ReadHolder(file);
            file.Dispose();
            problem = $"the data folder {folder} is in use by another agent{(holder is null ? "" : $" (PID {holder})")}: " +
                "one agent per data folder; stop that one, or give this one another folder (fleet.data-dir, FLEET_DATA_DIR)";
            return null;
        }
        file.SetLength(0);
        var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
        file.Write(pid);
        file.Flush(flushToDisk: false);
        problem = null;
        return new DataFolderLock(file);
    }

    private static string? ReadHolder(FileStream file)
    {
        try
        {
            file.Position = 0;
            using var reader = new StreamReader(file, leaveOpen: true);
            var text = reader.ReadLine()?.Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? text : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Releases the lock (the file stays; the next agent takes it over).</summary>
    public void Dispose() => _file.Dispose();
}
