using System.Text.Json;
using Fleet.Actors.Host.Configuration;
using Fleet.Actors.Host.Hosting;

namespace Fleet.Actors.Host.Tests.Hosting;

/// <summary>The agent's log file: JSON lines on request, and bounded in size as well as in count.</summary>
public sealed class LogsTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "fleet-logs-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory)) Directory.Delete(_dataDirectory, recursive: true);
    }

    private string[] LogFiles() => Directory.GetFiles(Path.Combine(_dataDirectory, "logs"));

    /// <summary>
    /// With <c>file-size-limit</c> a file is closed at the limit and a new one begun; with
    /// <c>retained-files</c> the oldest go. Before: only the count was bounded, and Serilog's own
    /// 1 GB cap stopped the day's logging instead of starting a new file.
    /// </summary>
    [Fact]
    public void File_should_roll_at_its_size_limit_and_keep_only_the_retained_files()
    {
        const long limit = 4096;
        using (var logger = Logs.Create(new LoggingSettings("information", "logs/agent-.log", 3, limit, LogFormat.Text), _dataDirectory))
        {
            for (var i = 0; i < 500; i++) logger.Information("Reading {Index} of the size test, padded to about a hundred bytes", i);
        }

        var files = LogFiles();
        Assert.Equal(3, files.Length);
        // Serilog closes a file once it has reached the limit: the event that crosses it is its last.
        Assert.All(files, f => Assert.InRange(new FileInfo(f).Length, 1, limit + 200));
        // The newest events are kept: the last one is in the last file.
        Assert.Contains(files, f => File.ReadAllText(f).Contains("Reading 499 ", StringComparison.Ordinal));
    }

    [Fact]
    public void Json_format_should_write_one_compact_json_object_per_event_to_the_file()
    {
        using (var logger = Logs.Create(new LoggingSettings("information", "logs/agent-.log", 7, 1024 * 1024, LogFormat.Json), _dataDirectory))
        {
            logger.Information("Sensor {DeviceId} opened", "gps");
            logger.Warning("Sensor {DeviceId} failed: {Reason}", "obd", "no such device");
        }

        var lines = File.ReadAllLines(Assert.Single(LogFiles()));
        Assert.Equal(2, lines.Length);
        using var warning = JsonDocument.Parse(lines[1]);
        Assert.Equal("Sensor {DeviceId} failed: {Reason}", warning.RootElement.GetProperty("@mt").GetString());
        Assert.Equal("Warning", warning.RootElement.GetProperty("@l").GetString());
        Assert.Equal("obd", warning.RootElement.GetProperty("DeviceId").GetString());
        Assert.True(DateTimeOffset.TryParse(warning.RootElement.GetProperty("@t").GetString(), out _));
    }
}
