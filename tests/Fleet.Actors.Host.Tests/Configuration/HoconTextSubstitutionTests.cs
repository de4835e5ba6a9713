using Akka.Configuration;
using Fleet.Actors.Host.Configuration;
using FsCheck;
using FsCheck.Fluent;
using Config = Akka.Configuration.Config;

namespace Fleet.Actors.Host.Tests.Configuration;

/// <summary>
/// <see cref="HoconText.SubstituteEnvironment"/>: HOCON's environment substitution rules, which
/// Akka.NET 1.5's parser does not implement, checked by parsing the result with Akka's own parser.
/// </summary>
public sealed class HoconTextSubstitutionTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        return name => map.GetValueOrDefault(name);
    }

    private static (Config Config, List<HoconProblem> Problems, string Text) Substitute(string text, Func<string, string?> environment)
    {
        var problems = new List<HoconProblem>();
        var substituted = HoconText.SubstituteEnvironment(text, environment, problems);
        return (ConfigurationFactory.ParseString(substituted), problems, substituted);
    }

    [Fact]
    public void Optional_override_should_keep_the_earlier_value_when_the_variable_is_not_set()
    {
        var (config, problems, text) = Substitute("""
            broker {
              url = "mqtt://127.0.0.1:18830"
              url = ${?MQTT_BROKER}
            }
            """, Env());
        Assert.Empty(problems);
        Assert.Equal("mqtt://127.0.0.1:18830", config.GetString("broker.url"));
        Assert.DoesNotContain("${", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Dropped_override_should_keep_the_line_numbers_of_the_rest_of_the_file()
    {
        const string text = "a = 1\na = ${?UNSET}\nb = 2\n";
        var (_, _, substituted) = Substitute(text, Env());
        Assert.Equal(text.Split('\n').Length, substituted.Split('\n').Length);
        Assert.Equal("b = 2", substituted.Split('\n')[2]);
    }

    [Fact]
    public void Optional_override_of_a_key_that_is_nowhere_else_should_leave_the_key_absent()
    {
        var (config, problems, _) = Substitute("broker {\n  username = ${?MQTT_USERNAME}\n  port = 1\n}\n", Env());
        Assert.Empty(problems);
        Assert.False(config.HasPath("broker.username"));
        Assert.Equal(1, config.GetInt("broker.port"));
    }

    [Fact]
    public void Optional_override_should_replace_the_value_when_the_variable_is_set()
    {
        var (config, problems, _) = Substitute("""
            broker {
              url = "mqtt://127.0.0.1:18830"
              url = ${?MQTT_BROKER}  # the fleet's broker
            }
            """, Env(("MQTT_BROKER", "mqtt://10.1.2.3:1884")));
        Assert.Empty(problems);
        Assert.Equal("mqtt://10.1.2.3:1884", config.GetString("broker.url"));
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("with \"double quotes\" inside")]
    [InlineData(@"C:\temp\new\file")]
    [InlineData(@"trailing backslash\")]
    [InlineData("p@ss'w<o>rd&+=:#{}[],$")]
    [InlineData("${NOT_A_SUBSTITUTION}")]
    [InlineData("ünïcødé € 漢字")]
    [InlineData("inner  spaces\tand a tab")]
    [InlineData("")]
    public void Set_variable_should_arrive_intact_after_parsing(string value)
    {
        var (config, problems, _) = Substitute("a {\n  secret = \"default\"\n  secret = ${?SECRET}\n}\n", Env(("SECRET", value)));
        Assert.Empty(problems);
        Assert.Equal(value, config.GetString("a.secret"));
    }

    [Fact]
    public void Any_set_value_should_arrive_intact_after_parsing()
    {
        // Akka's parser trims whitespace around even a quoted value and drops control characters,
        // whatever the substitution does; those values cannot arrive intact through any HOCON file.
        var values = ArbMap.Default.GeneratorFor<NonNull<string>>()
            .Select(s => s.Get)
            .Where(s => s == s.Trim() && !s.Any(c => char.IsControl(c) || char.IsSurrogate(c)))
            .ToArbitrary();
        Prop.ForAll(values, value =>
        {
            var (config, problems, _) = Substitute("a = \"default\"\na = ${?VALUE}\nb = ${REQUIRED}\n",
                Env(("VALUE", value), ("REQUIRED", value)));
            Assert.Empty(problems);
            Assert.Equal(value, config.GetString("a"));
            Assert.Equal(value, config.GetString("b"));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Required_variable_that_is_not_set_should_be_reported_with_its_line()
    {
        var problems = new List<HoconProblem>();
        HoconText.SubstituteEnvironment("a = 1\nbroker.url = ${MQTT_BROKER}\n", Env(), problems);
        var problem = Assert.Single(problems);
        Assert.Equal(2, problem.Line);
        Assert.Equal(14, problem.Column);
        Assert.Equal("environment variable MQTT_BROKER is not set", problem.Message);
    }

    [Fact]
    public void Required_variable_that_is_set_should_be_substituted()
    {
        var (config, problems, _) = Substitute("broker.url = ${MQTT_BROKER}\n", Env(("MQTT_BROKER", "mqtt://h:1")));
        Assert.Empty(problems);
        Assert.Equal("mqtt://h:1", config.GetString("broker.url"));
    }

    [Fact]
    public void Optional_variable_inside_a_concatenation_should_be_empty_when_not_set()
    {
        var (config, problems, _) = Substitute("path = \"/var/fleet/\"${?FLEET_SUFFIX}\n", Env());
        Assert.Empty(problems);
        Assert.Equal("/var/fleet/", config.GetString("path"));
    }

    [Fact]
    public void Optional_variable_inside_a_concatenation_should_be_inserted_when_set()
    {
        var (config, problems, _) = Substitute("path = \"/var/fleet/\"${?FLEET_SUFFIX}\n", Env(("FLEET_SUFFIX", "truck 7")));
        Assert.Empty(problems);
        Assert.Equal("/var/fleet/truck 7", config.GetString("path"));
    }

    /// <summary>
    /// The brief and the code's own message say <c>${?some.path}</c> is reported as unsupported. Fails
    /// today for the whole-line form <c>key = ${?some.path}</c>: the optional-assignment shortcut looks
    /// the path up as an environment variable and drops the line silently (see the report).
    /// </summary>
    [Fact]
    public void Optional_substitution_of_a_configuration_path_should_be_reported_as_unsupported()
    {
        var problems = new List<HoconProblem>();
        HoconText.SubstituteEnvironment("defaults { url = \"x\" }\nurl = ${?defaults.url}\n", Env(), problems);
        var problem = Assert.Single(problems);
        Assert.Equal(2, problem.Line);
        Assert.Contains("${?defaults.url}", problem.Message, StringComparison.Ordinal);
        Assert.Contains("not supported", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Optional_substitution_of_a_configuration_path_inside_a_value_should_be_reported_as_unsupported()
    {
        var problems = new List<HoconProblem>();
        HoconText.SubstituteEnvironment("url = \"mqtt://\"${?defaults.host}\n", Env(), problems);
        var problem = Assert.Single(problems);
        Assert.Equal(1, problem.Line);
        Assert.Contains("not supported", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Substitution_of_a_configuration_path_should_be_left_for_akka_to_resolve()
    {
        const string text = "defaults { port = 1884 }\nbroker.port = ${defaults.port}\n";
        var (config, problems, substituted) = Substitute(text, Env(("defaults.port", "from the environment")));
        Assert.Empty(problems);
        Assert.Equal(text, substituted);
        Assert.Equal(1884, config.GetInt("broker.port"));
    }

    [Fact]
    public void Lowercase_substitution_without_a_dot_is_a_configuration_path_and_is_not_reported()
    {
        const string text = "port = 1884\nbroker.port = ${port}\n";
        var (config, problems, substituted) = Substitute(text, Env());
        Assert.Empty(problems);
        Assert.Equal(text, substituted);
        Assert.Equal(1884, config.GetInt("broker.port"));
    }

    /// <summary>
    /// HOCON does not substitute inside comments or quoted strings. Fails today: the substitution
    /// regex runs over whole lines, so a comment that mentions <c>${MQTT_BROKER}</c> stops the agent
    /// with "environment variable MQTT_BROKER is not set" (see the report).
    /// </summary>
    [Theory]
    [InlineData("# point it elsewhere with url = ${MQTT_BROKER}\na = 1\n")]
    [InlineData("a = 1 // or ${MQTT_BROKER}\n")]
    [InlineData("a = \"literal ${MQTT_BROKER} text\"\n")]
    public void Substitutions_in_comments_and_quoted_strings_should_be_left_alone(string text)
    {
        var problems = new List<HoconProblem>();
        var substituted = HoconText.SubstituteEnvironment(text, Env(), problems);
        Assert.Empty(problems);
        Assert.Equal(text, substituted);
    }

    [Fact]
    public void Text_without_substitutions_should_come_back_unchanged()
    {
        var text = File.ReadAllText(Path.Combine(Support.RepoPaths.ShippedHocon, AgentConfiguration.AkkaFile));
        var problems = new List<HoconProblem>();
        Assert.Equal(text, HoconText.SubstituteEnvironment(text, Env(("X", "y")), problems));
        Assert.Empty(problems);
    }

    [Fact]
    public void Substitution_should_never_throw_for_any_text_and_environment()
    {
        var token = Gen.Elements("${", "${?", "}", "{", "VAR", "a.b", "a-b", " = ", ":", "#", "//", "\"", "\n", "\r\n", " ", "x");
        var text = token.ListOf().Select(t => string.Concat(t)).ToArbitrary();
        Prop.ForAll(text, t =>
        {
            var problems = new List<HoconProblem>();
            var set = HoconText.SubstituteEnvironment(t, _ => "value \" \\ }", problems);
            var unset = HoconText.SubstituteEnvironment(t, _ => null, problems);
            // Lines are replaced in place, so later problems (and Akka's errors) keep their line numbers.
            Assert.Equal(t.Split('\n').Length, set.Split('\n').Length);
            Assert.Equal(t.Split('\n').Length, unset.Split('\n').Length);
            Assert.All(problems, p => Assert.True(p.Line >= 1));
        }).QuickCheckThrowOnFailure();
    }
}
