using System.Text.Json;
using Akka.Configuration;
using Fleet.Actors.Host.Configuration;

namespace Fleet.Actors.Host.Tests.Configuration;

/// <summary>
/// <see cref="JsonQuoted"/> writes what <c>JsonSerializer.Serialize(string)</c> wrote before the agent
/// became native code (where the serializer's reflection is off), and HOCON reads it back unchanged.
/// </summary>
public sealed class JsonQuotedTests
{
    public static TheoryData<string> Values() => new()
    {
        "", "plain", "with space", "quote \" and backslash \\", "tab\tnew line\nreturn\r in the middle", "control \u0001\u001f",
        "non-ASCII é ü 東京", "HTML-sensitive < > & ' + `", "${FLEET_VEHICLE_ID}", "emoji 🚚", "a.b:c=d",
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void A_value_should_be_quoted_as_the_serializer_quotes_it(string value)
    {
        Assert.Equal(JsonSerializer.Serialize(value), JsonQuoted.Of(value));
    }

    [Theory]
    [MemberData(nameof(Values))]
    public void HOCON_should_read_a_quoted_value_back_unchanged(string value)
    {
        Assert.Equal(value, ConfigurationFactory.ParseString("key = " + JsonQuoted.Of(value)).GetString("key"));
    }
}
