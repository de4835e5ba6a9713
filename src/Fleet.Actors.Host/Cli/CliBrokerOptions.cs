using System.CommandLine;
using Fleet.Actors.Core.Uplink;

namespace Fleet.Actors.Host.Cli;

/// <summary>
/// How the fleet-side tools (<c>command send</c>, <c>verify</c>) reach a broker: its URL and, like
/// the agent's <c>fleet.uplink.broker</c>, a CA file for <c>mqtts://</c>, a client certificate and
/// key for mutual TLS, and a password file; each with the agent's environment variable as default.
/// </summary>
internal sealed class CliBrokerOptions
{
    private readonly Option<string> _broker = new("--broker")
    {
        Description = "Broker address, mqtt:// or mqtts://, user:password@ allowed (default: $MQTT_BROKER, else mqtt://127.0.0.1:18830)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MQTT_BROKER") ?? "mqtt://127.0.0.1:18830",
    };

    private readonly Option<string?> _caFile = new("--ca-file")
    {
        Description = "With mqtts://: the CA certificate (PEM) to verify the broker with (default: $MQTT_CA_FILE, else the system store)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MQTT_CA_FILE"),
    };

    private readonly Option<string?> _clientCertificate = new("--client-cert-file")
    {
        Description = "With mqtts://: a client certificate (PEM) for mutual TLS (default: $MQTT_CLIENT_CERT_FILE)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MQTT_CLIENT_CERT_FILE"),
    };

    private readonly Option<string?> _clientKey = new("--client-key-file")
    {
        Description = "Its unencrypted private key (PEM) (default: $MQTT_CLIENT_KEY_FILE)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MQTT_CLIENT_KEY_FILE"),
    };

    private readonly Option<string?> _passwordFile = new("--password-file")
    {
        Description = "A file whose first line is the password of the URL's user (default: $MQTT_PASSWORD_FILE)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MQTT_PASSWORD_FILE"),
    };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _broker, _caFile, _clientCertificate, _clientKey, _passwordFile }) command.Options.Add(option);
    }

    /// <summary>The URL as given (for messages).</summary>
    public string Url(ParseResult parse) => parse.GetValue(_broker)!;

    /// <summary>The broker settings, or null with the problem naming the option.</summary>
    public BrokerSettings? Resolve(ParseResult parse, out string problem)
    {
        var broker = BrokerSettings.TryParseUrl(Url(parse), new BrokerSettings(), out var urlProblem);
        if (broker is null)
        {
            problem = $"--broker: {urlProblem}";
            return null;
        }
        var (ca, certificate, key, password) = (parse.GetValue(_caFile), parse.GetValue(_clientCertificate), parse.GetValue(_clientKey), parse.GetValue(_passwordFile));
        foreach (var (name, file) in new[] { ("--ca-file", ca), ("--client-cert-file", certificate), ("--client-key-file", key), ("--password-file", password) })
        {
            if (string.IsNullOrEmpty(file)) continue;
            if (name != "--password-file" && broker.Tls is null)
            {
                problem = $"{name}: the broker URL is not mqtts://";
                return null;
            }
            if (!File.Exists(file))
            {
                problem = $"{name}: {file} not found";
                return null;
            }
        }
        if (string.IsNullOrEmpty(certificate) != string.IsNullOrEmpty(key))
        {
            problem = string.IsNullOrEmpty(key) ? "--client-cert-file needs --client-key-file" : "--client-key-file needs --client-cert-file";
            return null;
        }
        if (!string.IsNullOrEmpty(password))
        {
            if (broker.Username is null)
            {
                problem = "--password-file: the broker URL names no user (mqtt://user@host)";
                return null;
            }
            broker = broker with { PasswordFile = password, Password = null };
        }
        if (broker.Tls is { } tls)
        {
            broker = broker with
            {
                Tls = tls with
                {
                    CaFile = string.IsNullOrEmpty(ca) ? tls.CaFile : ca,
                    ClientCertificateFile = string.IsNullOrEmpty(certificate) ? tls.ClientCertificateFile : certificate,
                    ClientKeyFile = string.IsNullOrEmpty(key) ? tls.ClientKeyFile : key,
                },
            };
        }
        problem = "";
        return broker;
    }
}
