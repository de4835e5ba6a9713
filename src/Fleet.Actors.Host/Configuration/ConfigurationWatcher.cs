namespace Fleet.Actors.Host.Configuration;

/// <summary>
/// Watches the configuration files the agent read and reports a change once it has settled (editors
/// write a file in several steps: a change is reported half a second after the last event).
/// </summary>
public sealed class ConfigurationWatcher(IReadOnlyList<string> files, Serilog.ILogger logger) : IDisposable
{
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(500);
    private readonly List<FileSystemWatcher> _watchers = new();
    private readonly HashSet<string> _files = new(files.Select(Path.GetFullPath), StringComparer.Ordinal);
    private Timer? _timer;
    private string? _changed;

    /// <summary>Starts watching; <paramref name="changed"/> is called with the file's name, on a timer thread.</summary>
    public void Start(Action<string> changed)
    {
        _timer = new Timer(_ =>
        {
            var file = Interlocked.Exchange(ref _changed, null);
            if (file is null) return;
            logger.Information("Configuration file {File} changed: reloading", file);
            changed($"{file} changed");
        });
        foreach (var folder in _files.Select(Path.GetDirectoryName).Distinct())
        {
            if (folder is null || !Directory.Exists(folder)) continue;
            var watcher = new FileSystemWatcher(folder) { NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size };
            watcher.Changed += (_, e) => OnEvent(e.FullPath);
            watcher.Created += (_, e) => OnEvent(e.FullPath);
            watcher.Renamed += (_, e) => OnEvent(e.FullPath);
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
    }

    private void OnEvent(string path)
    {
        if (!_files.Contains(Path.GetFullPath(path))) return;
        _changed = path;
        _timer?.Change(Settle, Timeout.InfiniteTimeSpan);
    }

    public void Dispose()
    {
        foreach (var watcher in _watchers) watcher.Dispose();
        _timer?.Dispose();
    }
}
