using Fleet.Actors.Host.Configuration;

namespace Fleet.Actors.Host.Tests.Configuration;

/// <summary>What <c>fleet-agent check</c> masks when it prints the configuration.</summary>
public sealed class EffectiveConfigurationTests
{
    [Theory]
    [InlineData("password", true)]
    [InlineData("MQTT_PASSWORD", true)]
    [InlineData("api-token", true)]
    [InlineData("client-secret", true)]
    [InlineData("private-key", true)]
    [InlineData("key", true)]
    [InlineData("apikey", true)]
    [InlineData("max-entry-bytes", false)]
    [InlineData("keep-alive", false)]
    [InlineData("username", false)]
    public void Secret_keys_should_be_recognised_by_name(string key, bool secret) =>
        Assert.Equal(secret, EffectiveConfiguration.IsSecretKey(key));

    [Theory]
    [InlineData("mqtt://agent:pw@host:1883", "mqtt://agent:********@host:1883")]
    [InlineData("mqtts://agent@host:8883", "mqtts://agent@host:8883")]
    [InlineData("Data Source=j.db;Password=pw;Pooling=true", "Data Source=j.db;Password=********;Pooling=true")]
    [InlineData("Server=x;pwd = pw", "Server=x;pwd=********")]
    [InlineData("fleet/{tenant}/{vehicle_id}/telemetry", "fleet/{tenant}/{vehicle_id}/telemetry")]
    public void Passwords_inside_values_should_be_masked(string value, string shown) =>
        Assert.Equal(shown, EffectiveConfiguration.MaskEmbeddedSecrets(value));
}
