using System.Globalization;
using Akka.Configuration;

namespace Fleet.Actors.Host.Configuration;

/// <summary>
/// A file holding a secret is readable by group or others: the agent refuses to start, as ssh
/// refuses a private key that others can read. <see cref="Problems"/> has one line per file,
/// naming it and its mode.
/// </summary>
public sealed class InsecureFileException(IReadOnlyList<string> problems) : Exception(string.Join("\n", problems))
{
    /// <summary>One line per file: "path: permissions 0644 are too open: ...".</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>Checks that the files holding secrets (password file, client key, configuration files with a password) are private to their owner.</summary>
public static class SecretFiles
{
    /// <summary>The permission bits that make a secret readable by someone else than its owner.</summary>
    public const UnixFileMode Exposing = UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>The problem line for <paramref name="file"/>, or null when it is private (or does not exist, or on Windows).</summary>
    public static string? Check(string file, string holds)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(file)) return null;
        var mode = File.GetUnixFileMode(file);
        if ((mode & Exposing) == 0) return null;
        return $"{Path.GetFullPath(file)}: permissions {Octal(mode)} are too open: it holds {holds} and must not be readable by group or others (chmod 600 {file})";
    }

    /// <summary>
    /// Every problem of the settings' secret files and of the configuration files that hold a secret
    /// in their own text (<paramref name="rawTexts"/>: each file's text with environment variables not
    /// substituted, so a password that comes from the environment does not make the file a secret).
    /// </summary>
    internal static IReadOnlyList<string> Check(AgentSettings settings, IReadOnlyList<(string File, string RawText)> rawTexts)
    {
        var problems = new List<string>();
        var broker = settings.Vehicle.Uplink.Broker;
        if (broker.PasswordFile is { } passwordFile && Check(passwordFile, "the broker password (fleet.uplink.broker.password-file)") is { } p1) problems.Add(p1);
        if (broker.Tls?.ClientKeyFile is { } keyFile && Check(keyFile, "the client's private key (fleet.uplink.broker.tls.client-key-file)") is { } p2) problems.Add(p2);
        foreach (var (file, text) in rawTexts)
        {
            if (SecretIn(text) is { } key && Check(file, $"a secret ({key})") is { } p3) problems.Add(p3);
        }
        return problems;
    }

    /// <summary>The key of a secret written literally in a configuration text, or null.</summary>
    private static string? SecretIn(string text)
    {
        Config config;
        try
        {
            config = ConfigurationFactory.ParseString(text);
        }
        catch (Exception ex) when (ex is FormatException or Akka.Configuration.ConfigurationException or ArgumentException)
        {
            return null;
        }
        const string password = "fleet.uplink.broker.password", url = "fleet.uplink.broker.url";
        if (Literal(config, password) is { Length: > 0 }) return password;
        if (Literal(config, url) is { } value && EffectiveConfiguration.MaskEmbeddedSecrets(value) != value) return url + " (its password)";
        return null;
    }

    /// <summary>The value at <paramref name="path"/> unless it came from an environment variable.</summary>
    private static string? Literal(Config config, string path)
    {
        try
        {
            if (!config.HasPath(path)) return null;
            var value = config.GetString(path);
            return value is null || value.Contains("@@env:", StringComparison.Ordinal) ? null : value;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0b111_111_111, 8).PadLeft(3, '0').ToString(CultureInfo.InvariantCulture);
}
