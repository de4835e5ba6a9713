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

    /// <summary>Creates the process logger from the settings.</summary>
    public static Serilog.Core.Logger Create(LoggingSettings settings, string dataDirectory)
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
