using System.Text;
using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using Fleet.Actors.Core.Configuration;

namespace Fleet.Actors.Host.Configuration;

/// <summary>
/// The merged configuration of an agent as HOCON text, for <c>fleet-agent check</c>: what the files
/// and the environment set, after overlays, with secrets masked (passwords, tokens, keys, and the
/// password of a URL or a connection string).
/// </summary>
public static partial class EffectiveConfiguration
{
    /// <summary>What a masked secret is shown as.</summary>
    public const string Mask = "********";

    /// <summary>The header (as HOCON comments) and the merged tree of <paramref name="settings"/>.</summary>
    public static string Describe(AgentSettings settings)
    {
        var text = new StringBuilder();
        text.AppendLine("# fleet-agent check: the configuration is valid.");
        text.AppendLine($"# Files (later ones win): {string.Join(", ", settings.Files.Select(Path.GetFullPath))}");
        text.AppendLine(settings.EnvironmentKeys.Count == 0
            ? "# From the environment: nothing"
            : $"# From the environment: {string.Join(", ", settings.EnvironmentKeys.Select(k => $"{k.Value} ({k.Key})"))}");
        text.AppendLine($"# Embedded broker: {EmbeddedBrokerDecision(settings)}");
        text.AppendLine("# Keys not shown take their defaults (docs/configuration.md). Secrets are masked.");
        Write(settings.Hocon.Root, text, 0);
        return text.ToString();
    }

    /// <summary>Whether the embedded broker runs, and why.</summary>
    public static string EmbeddedBrokerDecision(AgentSettings settings)
    {
        var embedded = settings.EmbeddedBroker;
        var broker = settings.Vehicle.Uplink.Broker;
        var where = $"{embedded.Host}:{embedded.Port}";
        return embedded.Mode switch
        {
            EmbeddedBrokerMode.On => $"on, listening on {where}",
            EmbeddedBrokerMode.Off => "off",
            _ when embedded.Enabled => $"on, listening on {where} (enabled = auto and the uplink goes to it)",
            _ => $"off (enabled = auto and the uplink goes to {broker.Host}:{broker.Port})",
        };
    }

    /// <summary>True for a key whose value is a secret.</summary>
    /// <remarks>A key ending in <c>-file</c> (password-file, client-key-file) names where a secret is, not the secret, and is shown.</remarks>
    public static bool IsSecretKey(string key) => SecretKey().IsMatch(key) && !key.EndsWith("-file", StringComparison.OrdinalIgnoreCase);

    /// <summary>A value with any embedded password masked (mqtt://user:password@host, Password=... in a connection string).</summary>
    public static string MaskEmbeddedSecrets(string value) =>
        ConnectionStringPassword().Replace(UrlPassword().Replace(value, $"://$1:{Mask}@"), $"$1={Mask}");

    private static void Write(HoconValue value, StringBuilder text, int depth)
    {
        foreach (var (name, child) in value.GetObject().Items)
        {
            Indent(text, depth).Append(AkkaSettingsCheck.Quote(name));
            if (child.IsObject())
            {
                text.AppendLine(" {");
                Write(child, text, depth + 1);
                Indent(text, depth).AppendLine("}");
            }
            else
            {
                text.Append(" = ");
                WriteValue(child, IsSecretKey(name), text, depth);
                text.AppendLine();
            }
        }
    }

    private static void WriteValue(HoconValue value, bool secret, StringBuilder text, int depth)
    {
        if (ConfigReader.ListOf(value) is { } items)
        {
            if (items.Count == 0)
            {
                text.Append("[]");
                return;
            }
            text.AppendLine("[");
            foreach (var item in items)
            {
                Indent(text, depth + 1);
                if (item.IsObject())
                {
                    text.AppendLine("{");
                    Write(item, text, depth + 2);
                    Indent(text, depth + 1).AppendLine("}");
                }
                else
                {
                    WriteValue(item, secret, text, depth + 1);
                    text.AppendLine();
                }
            }
            Indent(text, depth).Append(']');
            return;
        }
        var literal = value.GetString() ?? "";
        if (secret && literal.Length > 0) literal = Mask;
        else literal = MaskEmbeddedSecrets(literal);
        text.Append(PlainValue().IsMatch(literal) ? literal : JsonQuoted.Of(literal));
    }

    private static StringBuilder Indent(StringBuilder text, int depth) => text.Append(' ', depth * 2);

    [GeneratedRegex(@"(password|passwd|secret|token|credential|apikey|(^|[-_])key$)", RegexOptions.IgnoreCase)]
    private static partial Regex SecretKey();

    [GeneratedRegex(@"://([^:/@\s]+):[^@/\s]+@")]
    private static partial Regex UrlPassword();

    [GeneratedRegex(@"((?:password|pwd))\s*=[^;]*", RegexOptions.IgnoreCase)]
    private static partial Regex ConnectionStringPassword();

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex PlainValue();
}
