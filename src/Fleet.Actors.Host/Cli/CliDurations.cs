using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Fleet.Actors.Host.Cli;

/// <summary>Durations on the command line written as in HOCON: <c>500ms</c>, <c>30s</c>, <c>2m</c>, <c>1h</c>.</summary>
public static partial class CliDurations
{
    /// <summary>Parses a duration; null when it is not one.</summary>
    public static TimeSpan? Parse(string text)
    {
        var match = Pattern().Match(text.Trim());
        if (!match.Success)
            return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span >= TimeSpan.Zero ? span : null;
        var value = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
        try
        {
            return match.Groups["unit"].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(value),
                "s" or "" => TimeSpan.FromSeconds(value),
                "m" => TimeSpan.FromMinutes(value),
                _ => TimeSpan.FromHours(value),
            };
        }
        catch (OverflowException)
        {
            // Longer than TimeSpan can hold: not a duration this program can use.
            return null;
        }
    }

    /// <summary>An option taking a duration.</summary>
    public static Option<TimeSpan> Option(string name, string description, TimeSpan defaultValue) => new(name)
    {
        Description = description + " (e.g. 500ms, 30s, 2m)",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (Parse(token) is { } span) return span;
            result.AddError($"'{token}' is not a duration (e.g. 500ms, 30s, 2m)");
            return default;
        },
    };

    [GeneratedRegex(@"^(?<value>\d+(\.\d+)?)\s*(?<unit>ms|s|m|h|)$")]
    private static partial Regex Pattern();
}
