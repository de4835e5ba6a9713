using Akka.Configuration;
using Fleet.Actors.Host.Configuration;
using Fleet.Actors.Host.Tests.Support;
using FsCheck;
using FsCheck.Fluent;

namespace Fleet.Actors.Host.Tests.Configuration;

/// <summary>
/// <see cref="HoconText.Check"/>: the structural lint that stands in for Akka.NET 1.5's parser, which
/// accepts broken files silently. Each broken text is checked for the problem and the line it names.
/// </summary>
public sealed class HoconTextCheckTests
{
    private static HoconProblem SingleProblem(string text) => Assert.Single(HoconText.Check(text));

    [Fact]
    public void Check_should_report_a_brace_that_is_never_closed_at_the_line_that_opens_it()
    {
        var problem = SingleProblem("""
            fleet {
              vehicle {
                id = truck-001
              }
            """);
        Assert.Equal(1, problem.Line);
        Assert.Equal(7, problem.Column);
        Assert.Contains("'{' is never closed", problem.Message);
    }

    [Theory]
    [InlineData("fleet.summary-interval =", "'fleet.summary-interval' has no value after '='")]
    [InlineData("  max-unsent-bytes =   # to be decided", "'max-unsent-bytes' has no value after '='")]
    [InlineData("port:", "'port' has no value after ':'")]
    public void Check_should_report_a_key_and_separator_with_nothing_after_them(string line, string message)
    {
        var problem = SingleProblem("fleet {\n  wal {\n" + line + "\n  }\n}\n");
        Assert.Equal(3, problem.Line);
        Assert.Contains(message, problem.Message);
    }

    [Fact]
    public void Check_should_accept_values_objects_and_lists_that_begin_on_the_line_of_their_key()
    {
        Assert.Empty(HoconText.Check("""
            a = 1
            b = { c = 2 }
            d {
              e = "x = "
            }
            f = [
              1, 2
            ]
            g += 3
            h = ${?HOME}
            """));
    }

    [Fact]
    public void Check_should_report_a_closing_brace_without_an_opening_one()
    {
        var problem = SingleProblem("""
            a = 1
            }
            b = 2
            """);
        Assert.Equal(2, problem.Line);
        Assert.Contains("'}' without a matching '{'", problem.Message);
    }

    [Fact]
    public void Check_should_report_a_bracket_that_is_never_closed()
    {
        var problems = HoconText.Check("""
            fleet {
              sensors = [
                { id = gps, type = sim-gps }
            }
            """);
        // The '}' on line 4 closes the '[' of line 2, which leaves the '{' of line 1 open.
        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, p => p.Line == 4 && p.Column == 1 && p.Message == "'}' closes the '[' opened at line 2");
        Assert.Contains(problems, p => p.Line == 1 && p.Column == 7 && p.Message == "'{' is never closed");
    }

    [Fact]
    public void Check_should_report_a_closing_bracket_without_an_opening_one()
    {
        var problem = SingleProblem("a = 1\nb = 2 ]\n");
        Assert.Equal(2, problem.Line);
        Assert.Equal(7, problem.Column);
        Assert.Contains("']' without a matching '['", problem.Message);
    }

    [Fact]
    public void Check_should_report_a_bracket_closed_by_a_brace_with_both_lines()
    {
        var problems = HoconText.Check("""
            fleet {
              list = [ 1, 2 }
            }
            """);
        var mismatch = Assert.Single(problems, p => p.Message.Contains("closes the '[' opened at line 2", StringComparison.Ordinal));
        Assert.Equal(2, mismatch.Line);
        Assert.Equal(17, mismatch.Column);
    }

    [Fact]
    public void Check_should_report_an_unterminated_string_at_its_opening_quote()
    {
        var problem = SingleProblem("""
            fleet {
              vehicle.id = "truck-001
            }
            """);
        Assert.Equal(2, problem.Line);
        Assert.Equal(16, problem.Column);
        Assert.Equal("unterminated string", problem.Message);
    }

    [Fact]
    public void Check_should_treat_an_escaped_quote_as_part_of_the_string()
    {
        var problem = SingleProblem("a = \"ends with an escaped quote\\\"\n");
        Assert.Equal(1, problem.Line);
        Assert.Equal("unterminated string", problem.Message);
        Assert.Empty(HoconText.Check("a = \"say \\\"hi\\\" {\"\nb = \"back\\\\slash\"\n"));
    }

    [Fact]
    public void Check_should_report_an_unterminated_triple_quoted_string_at_its_start()
    {
        var problem = SingleProblem("a = 1\nscript = \"\"\"never\nends {\n");
        Assert.Equal(2, problem.Line);
        Assert.Equal(10, problem.Column);
        Assert.Contains("unterminated \"\"\" string", problem.Message);
    }

    [Fact]
    public void Check_should_report_a_key_without_a_value()
    {
        var problem = SingleProblem("""
            fleet {
              vehicle {
                id
              }
            }
            """);
        Assert.Equal(3, problem.Line);
        Assert.Contains("'id' is a key without a value", problem.Message);
    }

    [Fact]
    public void Check_should_report_a_key_without_a_value_at_the_top_level()
    {
        var problem = SingleProblem("a = 1\nforgotten-key\n");
        Assert.Equal(2, problem.Line);
        Assert.Contains("'forgotten-key'", problem.Message);
    }

    [Fact]
    public void Check_should_report_every_problem_of_a_file_not_only_the_first()
    {
        var problems = HoconText.Check("""
            a = "open
            b
            c = [ 1, 2
            """);
        Assert.Contains(problems, p => p.Line == 1 && p.Message == "unterminated string");
        Assert.Contains(problems, p => p.Line == 2 && p.Message.Contains("key without a value", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Line == 3 && p.Message.Contains("'[' is never closed", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_should_count_lines_of_files_with_windows_line_endings()
    {
        var problem = SingleProblem("a = 1\r\nb = 2\r\nc {\r\n");
        Assert.Equal(3, problem.Line);
        Assert.Contains("never closed", problem.Message);
    }

    [Theory]
    [InlineData(AgentConfiguration.AgentFile)]
    [InlineData(AgentConfiguration.AkkaFile)]
    public void Check_should_accept_the_shipped_files(string file)
    {
        var text = File.ReadAllText(Path.Combine(RepoPaths.ShippedHocon, file));
        Assert.Empty(HoconText.Check(text));
    }

    [Fact]
    public void Check_should_accept_arrays_of_objects_over_several_lines()
    {
        const string text = """
            fleet {
              sensors = [
                {
                  id = gps
                  type = sim-gps
                  reconnect {
                    min-backoff = 5s
                  }
                },
                { id = obd, type = sim-obd }
                {
                  id = imu
                  type = sim-imu
                }
              ]
              numbers = [
                1,
                2
              ]
            }
            """;
        Assert.Empty(HoconText.Check(text));
        Assert.Equal(3, ConfigurationFactory.ParseString(text).GetValue("fleet.sensors").GetArray().Count);
    }

    [Fact]
    public void Check_should_ignore_brackets_and_quotes_in_comments()
    {
        const string text = """
            # a comment with { and [ and "
            // another one with } and ]
            fleet { # trailing { comment
              a = 1 // trailing ] comment
              b = "not a comment # {"
            }
            """;
        Assert.Empty(HoconText.Check(text));
    }

    [Fact]
    public void Check_should_ignore_braces_inside_strings()
    {
        const string text = """"
            topics {
              telemetry = "fleet/{tenant}/{vehicle_id}/telemetry"
              odd = "}}]][[{{"
              script = """if (x) { y } ]"""
            }
            """";
        Assert.Empty(HoconText.Check(text));
        Assert.Equal("}}]][[{{", ConfigurationFactory.ParseString(text).GetString("topics.odd"));
    }

    [Fact]
    public void Check_should_accept_the_syntax_forms_of_keys_and_values()
    {
        const string text = """
            include "other.conf"
            a = 1
            b : 2
            c { d = 3 }
            e.f.g = "h"
            list = [ 1, 2 ]
            list += 3
            empty { }
            path = ${a}
            """;
        Assert.Empty(HoconText.Check(text));
    }

    /// <summary>
    /// The closing line of a multi-line """ string holds only the end of a value, never a key. Fails
    /// today: the line is reported as "'S' is a key without a value" (see the report).
    /// </summary>
    [Fact]
    public void Check_should_accept_a_triple_quoted_string_over_several_lines()
    {
        const string text = "fleet {\n  script = \"\"\"\n    if (x) { y }\n    \"\"\"\n  after = 1\n}\n";
        Assert.Empty(HoconText.Check(text));
        Assert.Equal(1, ConfigurationFactory.ParseString(text).GetInt("fleet.after"));
    }

    [Fact]
    public void Check_should_accept_an_empty_text() => Assert.Empty(HoconText.Check(""));

    [Fact]
    public void Check_should_never_throw_and_should_name_real_positions_for_any_text()
    {
        // Random text made of the characters that matter to the lint, plus arbitrary strings.
        var token = Gen.Elements("{", "}", "[", "]", "\"", "\"\"\"", "\\", "#", "//", "/", "=", ":", "+=", ",",
            "\n", "\r\n", " ", "\t", "a", "key", "include", "${", "${?", "VAR", "a.b", "1", "é");
        var tokens = token.ListOf().Select(t => string.Concat(t));
        var anything = ArbMap.Default.GeneratorFor<NonNull<string>>().Select(s => s.Get);
        var text = Gen.Frequency((4, tokens), (1, anything)).ToArbitrary();

        Prop.ForAll(text, t =>
        {
            var lines = t.Split('\n');
            foreach (var problem in HoconText.Check(t))
            {
                Assert.InRange(problem.Line, 1, lines.Length);
                Assert.InRange(problem.Column, 1, Math.Max(1, lines[problem.Line - 1].Length));
                Assert.False(string.IsNullOrWhiteSpace(problem.Message));
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Check_should_find_no_problem_in_any_generated_well_formed_document()
    {
        Prop.ForAll(ValidHocon.Document.ToArbitrary(), text =>
        {
            Assert.Empty(HoconText.Check(text));
            // The generator is only useful if Akka agrees the documents are valid.
            Assert.False(ConfigurationFactory.ParseString(text).IsEmpty);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Check_should_find_the_problem_when_any_closing_bracket_is_removed_from_a_well_formed_document()
    {
        var cases = from text in ValidHocon.Document
                    from pick in Gen.Choose(0, 1000)
                    select (Text: text, Pick: pick);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var text = c.Text;
            // The generator starts every structural closer on a line of its own; braces inside strings never start a line.
            var closers = Enumerable.Range(0, text.Length).Where(i => text[i] is '}' or ']' && (i == 0 || text[i - 1] == '\n')).ToList();
            Assert.NotEmpty(closers);
            var removed = closers[c.Pick % closers.Count];
            var broken = text.Remove(removed, 1);
            Assert.NotEmpty(HoconText.Check(broken));
        }).QuickCheckThrowOnFailure();
    }

    /// <summary>Generates well-formed HOCON: nested objects, lists of objects over several lines, comments.</summary>
    private static class ValidHocon
    {
        private static readonly Gen<string> Key = Gen.Elements("id", "rate-hz", "url", "max-records", "a", "b.c", "\"quoted key\"");

        private static readonly Gen<string> Scalar = Gen.Elements(
            "1", "-5", "2.5", "on", "off", "500ms", "256KiB", "truck-001", "\"mqtt://127.0.0.1:1883\"",
            "\"fleet/{tenant}/{vehicle_id}\"", "\"quote \\\" inside\"", "\"\"\"one line\"\"\"", "\"hash # and // inside\"");

        private static readonly Gen<string> Comment = Gen.Elements("", " # note", " // note");

        public static Gen<string> Document => Object(3).Select(body => "root {\n" + body + "}\n");

        private static Gen<string> Object(int depth) =>
            Field(depth).NonEmptyListOf().Select(fields => string.Concat(fields));

        private static Gen<string> Field(int depth)
        {
            var scalar = from key in Key
                         from value in Scalar
                         from comment in Comment
                         from sep in Gen.Elements(" = ", " : ", "=")
                         select $"{key}{sep}{value}{comment}\n";
            if (depth <= 0) return scalar;
            var nested = from key in Key
                         from body in Object(depth - 1)
                         select $"{key} {{\n{body}}}\n";
            var list = from key in Key
                       from items in Object(depth - 1).ListOf()
                       from sep in Gen.Elements("\n", ",\n")
                       select $"{key} = [\n" + string.Concat(items.Select(i => "{\n" + i + "}" + sep)) + "]\n";
            var scalars = from key in Key
                          from values in Scalar.NonEmptyListOf()
                          select $"{key} = [ {string.Join(", ", values)} ]\n";
            return Gen.Frequency((4, scalar), (2, nested), (1, list), (1, scalars));
        }
    }
}
