using System.Text.Json;

namespace Fleet.Actors.Host.Configuration;

/// <summary>A string as a quoted JSON (and so HOCON) string literal.</summary>
internal static class JsonQuoted
{
    /// <summary>
    /// <paramref name="value"/> quoted and escaped as <c>JsonSerializer.Serialize(value)</c> writes it
    /// (the default encoder), without the serializer's reflection, which the native agent does not have.
    /// </summary>
    public static string Of(string value) => "\"" + JsonEncodedText.Encode(value).Value + "\"";
}
