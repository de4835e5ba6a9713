using System.Text;
using System.Text.RegularExpressions;

namespace Fleet.Actors.Host.Configuration;

/// <summary>A problem found in a configuration file, with its position when known.</summary>
public sealed record HoconProblem(int Line, int Column, string Message)
{
    /// <inheritdoc />
    public override string ToString() => Line > 0 ? $"line {Line}, column {Column}: {Message}" : Message;
}

/// <summary>
/// What Akka.NET 1.5's HOCON parser does not do for us (docs/adr/0004-hocon-preprocessing.md):
/// it accepts structurally broken files silently and does not resolve <c>${?VAR}</c> environment
/// overrides. <see cref="Check"/> finds unbalanced braces and brackets, unterminated strings and
/// keys without a value; <see cref="SubstituteEnvironment"/> applies HOCON's environment rules.
/// </summary>
public static partial class HoconText
{
    /// <summary>Structural problems of a HOCON text (empty when none found).</summary>
    public static List<HoconProblem> Check(string text)
    {
        var problems = new List<HoconProblem>();
        var stack = new Stack<(char Open, int Line, int Column)>();
        var lines = text.Split('\n');
        var inTripleQuote = false;
        var tripleStart = (Line: 0, Column: 0);

        for (var l = 0; l < lines.Length; l++)
        {
            var line = lines[l].TrimEnd('\r');
            var i = 0;
            // Tokens of this line outside strings and comments, to check "key without value".
            var significant = new StringBuilder();
            var lineStartsInObject = stack.Count == 0 || stack.Peek().Open == '{';
            // A line that starts inside a """ string continues a value; it holds no key to check.
            var lineStartsInString = inTripleQuote;
            while (i < line.Length)
            {
                if (inTripleQuote)
                {
                    var end = line.IndexOf("\"\"\"", i, StringComparison.Ordinal);
                    if (end < 0) { i = line.Length; break; }
                    inTripleQuote = false;
                    i = end + 3;
                    significant.Append('S');
                    continue;
                }
                var c = line[i];
                if (c == '#' || (c == '/' && i + 1 < line.Length && line[i + 1] == '/')) break;
                if (c == '"')
                {
                    if (line.AsSpan(i).StartsWith("\"\"\""))
                    {
                        inTripleQuote = true;
                        tripleStart = (l + 1, i + 1);
                        i += 3;
                        continue;
                    }
                    var j = i + 1;
                    while (j < line.Length && line[j] != '"')
                    {
                        if (line[j] == '\\') j++;
                        j++;
                    }
                    if (j >= line.Length)
                    {
                        problems.Add(new HoconProblem(l + 1, i + 1, "unterminated string"));
                        significant.Append('S');
                        i = line.Length;
                        break;
                    }
                    significant.Append('S');
                    i = j + 1;
                    continue;
                }
                switch (c)
                {
                    case '{' or '[':
                        stack.Push((c, l + 1, i + 1));
                        break;
                    case '}' or ']':
                        var expected = c == '}' ? '{' : '[';
                        if (stack.Count == 0)
                            problems.Add(new HoconProblem(l + 1, i + 1, $"'{c}' without a matching '{expected}'"));
                        else if (stack.Peek().Open != expected)
                        {
                            var open = stack.Pop();
                            problems.Add(new HoconProblem(l + 1, i + 1, $"'{c}' closes the '{open.Open}' opened at line {open.Line}"));
                        }
                        else stack.Pop();
                        break;
                }
                significant.Append(c);
                i++;
            }

            if (lineStartsInObject && !lineStartsInString && !inTripleQuote && MissingValue(significant.ToString()) is { } message)
                problems.Add(new HoconProblem(l + 1, 1, message));
        }

        if (inTripleQuote) problems.Add(new HoconProblem(tripleStart.Line, tripleStart.Column, "unterminated \"\"\" string"));
        foreach (var open in stack)
            problems.Add(new HoconProblem(open.Line, open.Column, $"'{open.Open}' is never closed"));
        return problems;
    }

    /// <summary>
    /// Resolves environment substitutions the way HOCON specifies them: <c>${?NAME}</c> is the
    /// variable's value when set, and when not set an assignment <c>key = ${?NAME}</c> is dropped;
    /// <c>${NAME}</c> (all capitals, no dots) is the variable's value and an error when unset.
    /// Values are inserted as quoted strings. Substitutions of configuration paths are left to Akka.
    /// </summary>
    public static string SubstituteEnvironment(string text, Func<string, string?> environment, List<HoconProblem> problems)
    {
        var lines = text.Split('\n');
        for (var l = 0; l < lines.Length; l++)
        {
            var line = lines[l];
            if (!line.Contains("${", StringComparison.Ordinal)) continue;

            var whole = OptionalAssignment().Match(line);
            if (whole.Success && environment(whole.Groups["name"].Value) is null)
            {
                // HOCON: an optional substitution that is not set leaves the key as it was.
                lines[l] = "";
                continue;
            }

            var code = CodeMask(line);
            lines[l] = Substitution().Replace(line, match =>
            {
                // HOCON substitutes neither inside quoted strings nor in comments.
                if (!code[match.Index]) return match.Value;
                var name = match.Groups["name"].Value;
                var optional = match.Groups["optional"].Success;
                if (name.Contains('.'))
                {
                    if (optional) problems.Add(new HoconProblem(l + 1, match.Index + 1, $"optional substitution of a configuration path (${{?{name}}}) is not supported"));
                    return match.Value;
                }
                var value = environment(name);
                if (value is not null) return JsonQuoted.Of(value);
                if (optional) return "\"\"";
                if (IsEnvironmentName(name))
                    problems.Add(new HoconProblem(l + 1, match.Index + 1, $"environment variable {name} is not set"));
                return match.Value;
            });
        }
        return string.Join('\n', lines);
    }

    /// <summary>For each character of a line: true when it is outside quoted strings and comments.</summary>
    private static bool[] CodeMask(string line)
    {
        var mask = new bool[line.Length];
        var i = 0;
        while (i < line.Length)
        {
            var c = line[i];
            if (c == '#' || (c == '/' && i + 1 < line.Length && line[i + 1] == '/')) break;
            if (c == '"')
            {
                var j = i + 1;
                while (j < line.Length && line[j] != '"')
                {
                    if (line[j] == '\\') j++;
                    j++;
                }
                i = j + 1;
                continue;
            }
            mask[i] = true;
            i++;
        }
        return mask;
    }

    private static bool IsEnvironmentName(string name) => EnvironmentName().IsMatch(name);

    /// <summary>A line in object context that is only a key (no =, :, {, +=), or a key and '=' with nothing after it, is an error.</summary>
    private static string? MissingValue(string significant)
    {
        var trimmed = significant.Trim().TrimEnd(',');
        if (trimmed.Length == 0) return null;
        if (trimmed.StartsWith('}') || trimmed.StartsWith(']')) return null;
        if (trimmed.StartsWith("include", StringComparison.Ordinal)) return null;
        // "key =" and nothing after it: Akka.NET reads the next line as the value, or no value at all
        // (and the key then silently keeps its default).
        if (trimmed.EndsWith('=') || trimmed.EndsWith(':'))
            return $"'{trimmed.TrimEnd('=', ':', '+').TrimEnd()}' has no value after '{trimmed[^1]}' (write the value on the same line)";
        if (trimmed.IndexOfAny(['=', ':', '{', '[']) >= 0) return null;
        return $"'{trimmed}' is a key without a value (expected '=', ':' or '{{')";
    }

    [GeneratedRegex(@"^\s*[^=:#]+?\s*[=:]\s*\$\{\?(?<name>[A-Za-z_][A-Za-z0-9_]*)\}\s*(#.*|//.*)?\r?$")]
    private static partial Regex OptionalAssignment();

    [GeneratedRegex(@"\$\{(?<optional>\?)?(?<name>[A-Za-z_][A-Za-z0-9_.-]*)\}")]
    private static partial Regex Substitution();

    [GeneratedRegex(@"^[A-Z_][A-Z0-9_]*$")]
    private static partial Regex EnvironmentName();
}
