using Fleet.Actors.Host.Configuration;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Fleet.Actors.Host.Hosting;

/// <summary>
/// Serilog for the whole process: console plus a rolling file (a new one each day and whenever one
/// reaches its size limit), as text or as JSON lines; Akka logs through it too.
/// </summary>
public static class Logs
{
    private const string ConsoleTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}";
    private const string FileTemplate = "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {SourceContext} {Message:lj}{NewLine}{Exception}";

    /// <summary>
    /// Creates the process logger from the settings. When standard output is systemd's journal
    /// (<paramref name="journal"/>, by default <see cref="ConsoleIsJournal"/>), text goes to the console
    /// as <see cref="JournalFormatter"/> writes it; JSON stays JSON.
    /// </summary>
    public static Serilog.Core.Logger Create(LoggingSettings settings, string dataDirectory, bool? journal = null)
    {
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(ParseLevel(settings.Level))
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("MQTTnet", LogEventLevel.Warning)
            .Enrich.FromLogContext();
        // Compact JSON (CLEF) carries the timestamp, level, template and properties in full; shippers parse it as is.
        configuration = settings.Format == LogFormat.Json
            ? configuration.WriteTo.Console(new CompactJsonFormatter())
            : journal ?? ConsoleIsJournal()
                ? configuration.WriteTo.Console(new JournalFormatter())
                : configuration.WriteTo.Console(outputTemplate: ConsoleTemplate, formatProvider: invariant);
        if (settings.File is { } file)
        {
            var path = Path.IsPathRooted(file) ? file : Path.Combine(dataDirectory, file);
            configuration = settings.Format == LogFormat.Json
                ? configuration.WriteTo.File(new CompactJsonFormatter(), path, rollingInterval: RollingInterval.Day,
                    fileSizeLimitBytes: settings.FileSizeLimitBytes, rollOnFileSizeLimit: true, retainedFileCountLimit: settings.RetainedFiles)
                : configuration.WriteTo.File(path, rollingInterval: RollingInterval.Day,
                    fileSizeLimitBytes: settings.FileSizeLimitBytes, rollOnFileSizeLimit: true, retainedFileCountLimit: settings.RetainedFiles,
                    outputTemplate: FileTemplate, formatProvider: invariant);
        }
        return configuration.CreateLogger();
    }

    /// <summary>
    /// True when standard output is systemd's journal: systemd sets <c>JOURNAL_STREAM</c> to the
    /// device and inode of the journal socket it gives a service as its output (systemd.exec(5)), and
    /// that socket is still our standard output (a program started by the service with its output
    /// elsewhere inherits the variable but not the socket).
    /// </summary>
    public static bool ConsoleIsJournal() => IsJournalStream(Environment.GetEnvironmentVariable("JOURNAL_STREAM"), "/proc/self/fd/1");

    /// <summary>
    /// Whether <paramref name="journalStream"/> (<c>device:inode</c>) names the socket open at
    /// <paramref name="descriptorPath"/> (a <c>/proc/PID/fd/N</c> link, which reads <c>socket:[inode]</c>
    /// for a socket). The journal's streams are always sockets, so the inode decides.
    /// </summary>
    public static bool IsJournalStream(string? journalStream, string descriptorPath)
    {
        var colon = journalStream?.IndexOf(':') ?? -1;
        if (colon < 0) return false;
        try
        {
            return new FileInfo(descriptorPath).LinkTarget == $"socket:[{journalStream![(colon + 1)..]}]";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>A console-only logger for commands other than run.</summary>
    public static Serilog.Core.Logger Console(LogEventLevel level = LogEventLevel.Information) => new LoggerConfiguration()
        .MinimumLevel.Is(level)
        .MinimumLevel.Override("MQTTnet", LogEventLevel.Warning)
        .WriteTo.Console(outputTemplate: ConsoleTemplate, standardErrorFromLevel: LogEventLevel.Verbose,
            formatProvider: System.Globalization.CultureInfo.InvariantCulture)
        .CreateLogger();

    /// <summary>Akka's log level for a Serilog level name.</summary>
    public static Akka.Event.LogLevel AkkaLevel(string level) => ParseLevel(level) switch
    {
        LogEventLevel.Verbose or LogEventLevel.Debug => Akka.Event.LogLevel.DebugLevel,
        LogEventLevel.Information => Akka.Event.LogLevel.InfoLevel,
        LogEventLevel.Warning => Akka.Event.LogLevel.WarningLevel,
        _ => Akka.Event.LogLevel.ErrorLevel,
    };

    private static LogEventLevel ParseLevel(string level) => level.ToLowerInvariant() switch
    {
        "verbose" => LogEventLevel.Verbose,
        "debug" => LogEventLevel.Debug,
        "warning" => LogEventLevel.Warning,
        "error" => LogEventLevel.Error,
        _ => LogEventLevel.Information,
    };
}

/// <summary>
/// One line per event for the systemd journal (ADR 0016): a syslog priority prefix, which journald
/// takes as the entry's priority (<c>SyslogLevelPrefix=</c>, on by default: <c>journalctl -p warning</c>
/// filters on it), then the message as the console shows it. No timestamp (the journal stamps every
/// entry), no colours, and the line breaks of a message or an exception's stack trace written as
/// <c>\n</c>, so that an event stays one entry.
/// </summary>
public sealed class JournalFormatter : Serilog.Formatting.ITextFormatter
{
    private readonly Serilog.Formatting.Display.MessageTemplateTextFormatter _message =
        new("{Message:lj}{NewLine}{Exception}", System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public void Format(LogEvent logEvent, TextWriter output)
    {
        using var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        _message.Format(logEvent, text);
        output.Write(Priority(logEvent.Level));
        output.Write(text.ToString().TrimEnd('\r', '\n').ReplaceLineEndings("\\n"));
        output.Write('\n');
    }

    /// <summary>The sd-daemon(3) prefix of a level: &lt;2&gt; critical for fatal, &lt;3&gt; error, &lt;4&gt; warning, &lt;6&gt; info, &lt;7&gt; debug.</summary>
    public static string Priority(LogEventLevel level) => level switch
    {
        LogEventLevel.Fatal => "<2>",
        LogEventLevel.Error => "<3>",
        LogEventLevel.Warning => "<4>",
        LogEventLevel.Information => "<6>",
        _ => "<7>",
    };
}
