using System.CommandLine;
using System.Globalization;

namespace Fleet.Actors.Host.Cli;

/// <summary>Whole numbers on the command line in decimal or, with a <c>0x</c> prefix, in hexadecimal (register maps are usually written in hex).</summary>
public static class CliNumbers
{
    /// <summary>The decimal text of a <c>0x</c> hexadecimal number; any other text unchanged (including a malformed hex one).</summary>
    public static string Decimal(string text)
    {
        var trimmed = text.Trim();
        return trimmed.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && ulong.TryParse(trimmed.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
            ? value.ToString(CultureInfo.InvariantCulture)
            : text;
    }

    /// <summary>An option taking a whole number in decimal or hex.</summary>
    public static Option<int> Option(string name, string alias, string description, int? defaultValue = null)
    {
        var option = new Option<int>(name, alias)
        {
            Description = description + " (decimal, or hex as 0x...)",
            CustomParser = result =>
            {
                var token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (int.TryParse(Decimal(token), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)) return value;
                result.AddError($"'{token}' is not a whole number (decimal, or hex as 0x...) for {name}");
                return default;
            },
        };
        if (defaultValue is { } fallback) option.DefaultValueFactory = _ => fallback;
        return option;
    }
}
