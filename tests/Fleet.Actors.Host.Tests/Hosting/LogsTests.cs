using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Fleet.Actors.Host.Configuration;
using Fleet.Actors.Host.Hosting;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Fleet.Actors.Host.Tests.Hosting;

/// <summary>
/// The agent's log file: JSON lines on request, and bounded in size as well as in count; on systemd's
/// journal, one line per event with its syslog priority.
/// </summary>
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

    /// <summary>
    /// journald reads a leading &lt;N&gt; as the entry's priority and makes every line an entry: each
    /// event is one line with its priority, a stack trace included; the journal stamps the time.
    /// </summary>
    [Fact]
    public void Journal_format_should_be_one_line_per_event_with_its_syslog_priority_and_no_timestamp_or_colours()
    {
        var events = new List<LogEvent>();
        using (var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(new Collect(events)).CreateLogger())
        {
            logger.Debug("Polling {DeviceId}", "plc-1");
            logger.Information("Sensor {DeviceId} opened on {Port}", "gps", "/dev/ttyUSB0");
            logger.Warning("Sensor {DeviceId} down (open failed): {Reason}", "obd", "No such file or directory");
            logger.Error(Thrown(), "Cannot write {File}", "journal.db");
            logger.Fatal("The agent failed: {Problem}", "first line\nsecond line");
        }

        var output = new StringWriter();
        var formatter = new JournalFormatter();
        foreach (var logEvent in events) formatter.Format(logEvent, output);
        var lines = output.ToString().Split('\n')[..^1];

        Assert.Equal(5, lines.Length);
        Assert.Equal("<7>Polling plc-1", lines[0]);
        Assert.Equal("<6>Sensor gps opened on /dev/ttyUSB0", lines[1]);
        Assert.Equal("<4>Sensor obd down (open failed): No such file or directory", lines[2]);
        Assert.StartsWith("<3>Cannot write journal.db\\nSystem.IO.IOException: the disk is gone\\n   at ", lines[3], StringComparison.Ordinal);
        Assert.Equal("<2>The agent failed: first line\\nsecond line", lines[4]);
        Assert.DoesNotContain('\u001b', output.ToString());
    }

    private static IOException Thrown()
    {
        try
        {
            throw new IOException("the disk is gone");
        }
        catch (IOException ex)
        {
            return ex;
        }
    }

    /// <summary>
    /// systemd puts the device and inode of the journal socket it connects to the service's output in
    /// JOURNAL_STREAM; the agent compares it with what its standard output is. Here a real socket, its
    /// numbers read with stat(1) as systemd's fstat reads them, and descriptors that are not it.
    /// </summary>
    [Fact]
    public void Journal_stream_should_be_recognised_only_on_the_socket_systemd_names()
    {
        using var journal = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var other = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var journalFd = $"/proc/self/fd/{journal.SafeHandle.DangerousGetHandle()}";
        var otherFd = $"/proc/self/fd/{other.SafeHandle.DangerousGetHandle()}";
        var stat = Process.Start(new ProcessStartInfo("stat", ["-L", "-c", "%d:%i", $"/proc/{Environment.ProcessId}/fd/{journal.SafeHandle.DangerousGetHandle()}"])
            { RedirectStandardOutput = true })!;
        var journalStream = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        Assert.Matches("^[0-9]+:[0-9]+$", journalStream);

        Assert.True(Logs.IsJournalStream(journalStream, journalFd));
        Assert.False(Logs.IsJournalStream(journalStream, otherFd));
        Assert.False(Logs.IsJournalStream(null, journalFd));
        Assert.False(Logs.IsJournalStream("garbage", journalFd));
        using var file = File.Create(Path.Combine(Directory.CreateDirectory(_dataDirectory).FullName, "not-a-socket"));
        Assert.False(Logs.IsJournalStream(journalStream, $"/proc/self/fd/{file.SafeFileHandle.DangerousGetHandle()}"));
        // The test runner's own output is no journal.
        Assert.False(Logs.ConsoleIsJournal());
    }

    private sealed class Collect(List<LogEvent> events) : ILogEventSink
    {
        public void Emit(LogEvent logEvent) => events.Add(logEvent);
    }
}
