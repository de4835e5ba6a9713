using System.Runtime.Versioning;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Host.Configuration;
using Fleet.Actors.Host.Tests.Support;

namespace Fleet.Actors.Host.Tests.Configuration;

/// <summary>
/// <c>fleet.uplink.broker</c> for a secure link: mqtts:// URLs, TLS files, the password file, and the
/// refusal of files holding a secret that group or others can read.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class SecureLinkConfigurationTests : IDisposable
{
    private readonly ConfigFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Secret(string name, string text, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var path = Path.Combine(_folder.Root, name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    [Theory]
    [InlineData("mqtts://broker.example.com", "broker.example.com", 8883)]
    [InlineData("mqtts://broker.example.com:8884", "broker.example.com", 8884)]
    [InlineData("ssl://10.0.0.5", "10.0.0.5", 8883)]
    public void Mqtts_url_should_mean_TLS_with_8883_as_the_default_port(string url, string host, int port)
    {
        var settings = BrokerSettings.TryParseUrl(url, new BrokerSettings(), out var problem);
        Assert.Null(problem);
        Assert.Equal((host, port), (settings!.Host, settings.Port));
        Assert.NotNull(settings.Tls);
        Assert.Null(BrokerSettings.TryParseUrl("mqtt://broker.example.com", new BrokerSettings(), out _)!.Tls);
    }

    [Fact]
    public void Tls_files_and_password_file_should_reach_the_settings()
    {
        var ca = Secret("ca.crt", "-----BEGIN CERTIFICATE-----\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var certificate = Secret("agent.crt", "cert");
        var key = Secret("agent.key", "key");
        var password = Secret("password", "p\n");
        var overlay = _folder.Overlay($$"""
            fleet.uplink.broker {
              url = "mqtts://broker.example.com"
              username = agent
              password-file = "{{password}}"
              tls { ca-file = "{{ca}}", client-cert-file = "{{certificate}}", client-key-file = "{{key}}", server-name = fleet-broker, check-interval = 5m }
            }
            """);

        var broker = _folder.Load(overlay).Vehicle.Uplink.Broker;

        Assert.Equal(("broker.example.com", 8883, "agent", password), (broker.Host, broker.Port, broker.Username, broker.PasswordFile));
        Assert.Equal(new BrokerTls { CaFile = ca, ClientCertificateFile = certificate, ClientKeyFile = key, ServerName = "fleet-broker", CheckInterval = TimeSpan.FromMinutes(5) },
            broker.Tls);
    }

    [Fact]
    public void Tls_settings_without_mqtts_and_missing_files_should_be_reported()
    {
        var key = Secret("agent.key", "key");
        var overlay = _folder.Overlay($$"""
            fleet.uplink.broker {
              url = "mqtt://broker.example.com"
              tls.ca-file = "/nonexistent/ca.crt"
              tls.client-key-file = "{{key}}"
              tls.check-interval = 10s
            }
            """);

        var problems = _folder.LoadFails(overlay).Problems;

        Assert.Contains($"{overlay}: fleet.uplink.broker.tls.ca-file: file not found: /nonexistent/ca.crt", problems);
        Assert.Contains($"{overlay}: fleet.uplink.broker.tls.ca-file: is set but the broker URL is not mqtts:// (TLS)", problems);
        Assert.Contains($"{overlay}: fleet.uplink.broker.tls.client-key-file: is set but the broker URL is not mqtts:// (TLS)", problems);
        Assert.Contains($"{overlay}: fleet.uplink.broker.tls.check-interval: is set but the broker URL is not mqtts:// (TLS)", problems);
    }

    [Fact]
    public void Client_certificate_without_its_key_should_be_reported()
    {
        var certificate = Secret("agent.crt", "cert");
        var overlay = _folder.Overlay($"fleet.uplink.broker {{ url = \"mqtts://b\", tls.client-cert-file = \"{certificate}\" }}");
        var problem = Assert.Single(_folder.LoadFails(overlay).Problems);
        Assert.Equal($"{overlay}: fleet.uplink.broker.tls.client-cert-file: is set but client-key-file is not (mutual TLS needs both)", problem);
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead, "0640")]
    [InlineData(UnixFileMode.OtherRead, "0604")]
    public void Password_file_readable_by_group_or_others_should_be_refused_naming_file_and_mode(UnixFileMode extra, string mode)
    {
        var password = Secret("password", "p\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);
        var overlay = _folder.Overlay($"fleet.uplink.broker {{ username = agent, password-file = \"{password}\" }}");
        File.SetUnixFileMode(overlay, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var ex = Assert.Throws<InsecureFileException>(() => _folder.Load(overlay));

        var line = Assert.Single(ex.Problems);
        Assert.Equal($"{password}: permissions {mode} are too open: it holds the broker password (fleet.uplink.broker.password-file) and must not be readable by group or others (chmod 600 {password})", line);
    }

    [Fact]
    public void Client_key_readable_by_others_should_be_refused()
    {
        var certificate = Secret("agent.crt", "cert", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var key = Secret("agent.key", "key", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var overlay = _folder.Overlay($"fleet.uplink.broker {{ url = \"mqtts://b\", tls {{ client-cert-file = \"{certificate}\", client-key-file = \"{key}\" }} }}");

        var line = Assert.Single(Assert.Throws<InsecureFileException>(() => _folder.Load(overlay)).Problems);

        Assert.StartsWith($"{key}: permissions 0644 are too open: it holds the client's private key (fleet.uplink.broker.tls.client-key-file)", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Configuration_file_with_a_password_should_be_refused_when_others_can_read_it_and_accepted_at_0600()
    {
        var overlay = _folder.Overlay("fleet.uplink.broker { username = agent, password = \"in-the-file\" }");
        File.SetUnixFileMode(overlay, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var line = Assert.Single(Assert.Throws<InsecureFileException>(() => _folder.Load(overlay)).Problems);
        Assert.Equal($"{overlay}: permissions 0644 are too open: it holds a secret (fleet.uplink.broker.password) and must not be readable by group or others (chmod 600 {overlay})", line);
        Assert.DoesNotContain("in-the-file", line, StringComparison.Ordinal);

        File.SetUnixFileMode(overlay, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal("in-the-file", _folder.Load(overlay).Vehicle.Uplink.Broker.Password);
    }

    /// <summary>A settings object that ends up in a log line by accident still does not show the password.</summary>
    [Fact]
    public void Printed_settings_should_not_show_the_password()
    {
        var uplink = new UplinkSettings { Broker = new BrokerSettings { Username = "agent", Password = "pw-secret-6" } };
        Assert.DoesNotContain("pw-secret-6", uplink.ToString(), StringComparison.Ordinal);
        Assert.Contains("Password = ********", uplink.ToString(), StringComparison.Ordinal);
    }

    /// <summary>agent.conf reads the password from MQTT_PASSWORD: the file itself holds no secret and may stay 0644.</summary>
    [Fact]
    public void Password_from_the_environment_should_not_make_the_configuration_file_a_secret()
    {
        File.SetUnixFileMode(_folder.AgentConf, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var settings = _folder.Load(name => name switch { "MQTT_USERNAME" => "agent", "MQTT_PASSWORD" => "from-env", _ => null });
        Assert.Equal("from-env", settings.Vehicle.Uplink.Broker.Password);
    }
}
