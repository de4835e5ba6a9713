using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using Fleet.Actors.Core.Configuration;

namespace Fleet.Actors.Host.Configuration;

/// <summary>
/// Finds keys under <c>akka</c> in the agent's files that Akka does not know, the way
/// <see cref="ConfigReader.ReportUnknownKeys"/> finds them under <c>fleet</c>: Akka reads its settings
/// by path and silently ignores a misspelt one. The keys are checked against the reference
/// configuration that the Akka assemblies of the agent embed (Akka, Akka.Streams, Akka.Persistence,
/// the log's SQLite plugins). Sections whose children the user names are allowed where Akka allows
/// them: serializers and their bindings, deployments (checked against <c>deployment.default</c>),
/// persistence plugins (a known plugin is checked against its reference and the plugin fallback; a
/// new one must name its <c>class</c>), dispatchers (checked against Akka's dispatchers), mailboxes
/// and shutdown phases.
/// </summary>
public static partial class AkkaSettingsCheck
{
    private static readonly Lazy<Config> LazyReference = new(LoadReference);

    /// <summary>The reference configuration the agent's Akka assemblies embed.</summary>
    public static Config Reference => LazyReference.Value;

    /// <summary>Every unknown key under <c>akka</c> in <paramref name="merged"/>, with its full key.</summary>
    public static IReadOnlyList<SettingsProblem> Check(Config merged)
    {
        var problems = new List<SettingsProblem>();
        if (!merged.HasPath("akka")) return problems;
        var user = merged.GetValue("akka");
        if (!user.IsObject())
        {
            problems.Add(new SettingsProblem("akka", "must be an object { ... }"));
            return problems;
        }
        Walk(user, Reference.GetValue("akka"), "akka", problems);
        return problems;
    }

    private static Config LoadReference() =>
        ConfigurationFactory.Default()
            .WithFallback(Akka.Streams.ActorMaterializer.DefaultConfig())
            .WithFallback(Akka.Persistence.Persistence.DefaultConfig())
            .WithFallback(Fleet.Actors.Core.Wal.SqliteWal.Hocon("journal.db", "snapshots.db", Fleet.Actors.Core.Wal.SqliteSynchronous.Full));

    /// <summary>Checks the children of <paramref name="user"/> against those of <paramref name="reference"/>.</summary>
    private static void Walk(HoconValue user, HoconValue? reference, string path, List<SettingsProblem> problems)
    {
        var known = reference is not null && reference.IsObject() ? reference.GetObject().Items : null;
        foreach (var (name, child) in user.GetObject().Items)
        {
            var childPath = $"{path}.{Quote(name)}";
            if (known is not null && known.TryGetValue(name, out var referenceChild))
            {
                var template = PluginTemplate(path, referenceChild);
                if (child.IsObject() && template.IsObject()) Walk(child, template, childPath, problems);
                else if (ValueProblem(name, child, template) is { } problem) problems.Add(new SettingsProblem(childPath, problem));
                continue;
            }
            CheckUserNamed(path, name, child, childPath, problems);
        }
    }

    /// <summary>
    /// A value Akka would fail to read (with a stack trace, at start) or silently misread: checked
    /// against the kind of the reference value (on/off, number, duration, list, log level).
    /// </summary>
    private static string? ValueProblem(string name, HoconValue user, HoconValue reference)
    {
        if (user.IsObject() || reference.IsObject()) return null;
        if (reference.IsArray()) return user.IsArray() ? null : "must be a list [ ... ]";
        if (user.IsArray()) return "must be a single value, not a list";
        string? expected, actual;
        try
        {
            (expected, actual) = (reference.GetString(), user.GetString());
        }
        catch (Exception ex) when (ex is ConfigurationException or InvalidOperationException)
        {
            return null;
        }
        if (expected is null || actual is null) return null;
        if (name.EndsWith("loglevel", StringComparison.Ordinal))
            return LogLevels.Contains(actual) ? null : $"must be one of {string.Join(", ", LogLevels)} (got \"{actual}\")";
        if (Booleans.Contains(expected))
            return Booleans.Contains(actual) ? null : $"must be on or off (got \"{actual}\")";
        if (double.TryParse(expected, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _))
            return double.TryParse(actual, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)
                ? null : $"must be a number (got \"{actual}\")";
        if (DurationValue().IsMatch(expected) && !DurationValue().IsMatch(actual) && !NoDuration.Contains(actual))
            return $"must be a duration such as 500ms, 5s or 2m (got \"{actual}\")";
        return null;
    }

    private static readonly HashSet<string> Booleans = new(StringComparer.OrdinalIgnoreCase) { "on", "off", "true", "false", "yes", "no" };

    private static readonly HashSet<string> NoDuration = new(StringComparer.OrdinalIgnoreCase) { "off", "infinite", "inf" };

    private static readonly SortedSet<string> LogLevels = new(StringComparer.OrdinalIgnoreCase) { "DEBUG", "INFO", "WARNING", "ERROR", "OFF" };

    [GeneratedRegex(@"^\s*\d+(\.\d+)?\s*(ns|nano|nanos|nanosecond|nanoseconds|us|micro|micros|microsecond|microseconds|ms|milli|millis|millisecond|milliseconds|s|second|seconds|m|minute|minutes|h|hour|hours|d|day|days)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex DurationValue();

    /// <summary>A key Akka's reference does not have: allowed only where the user names children.</summary>
    private static void CheckUserNamed(string parent, string name, HoconValue child, string childPath, List<SettingsProblem> problems)
    {
        switch (parent)
        {
            case "akka.actor.serializers" or "akka.actor.serialization-bindings" or "akka.actor.serialization-identifiers"
                or "akka.actor.serialization-settings" or "akka.actor.mailbox.requirements" or "akka.actor.router.type-mapping":
                return;
            case "akka.actor.deployment":
                if (!name.StartsWith('/')) problems.Add(new SettingsProblem(childPath, "is not an actor path (deployments are named /user/...)"));
                else if (child.IsObject()) Walk(child, Reference.GetValue("akka.actor.deployment.default"), childPath, problems);
                return;
            case "akka.persistence.journal" or "akka.persistence.snapshot-store" or "akka.persistence.query.journal":
                if (child.IsObject() && child.GetObject().Items.ContainsKey("class")) return;
                var plugins = Reference.GetValue(parent).GetObject().Items.Where(p => p.Value.IsObject()).Select(p => p.Key);
                problems.Add(new SettingsProblem(childPath, $"is not a plugin Akka knows ({string.Join(", ", plugins)}) and names no class (misspelt?)"));
                return;
            case "akka.coordinated-shutdown.phases":
                if (child.IsObject())
                {
                    foreach (var key in child.GetObject().Items.Keys.Where(k => k is not ("timeout" or "recover" or "depends-on" or "enabled")))
                        problems.Add(new SettingsProblem($"{childPath}.{Quote(key)}", "is not a known setting (misspelt?)"));
                }
                return;
        }
        if (child.IsObject() && child.GetObject().Items is var items)
        {
            if (items.ContainsKey("mailbox-type")) return;
            if (items.ContainsKey("type") || items.ContainsKey("executor"))
            {
                Walk(child, DispatcherTemplate.Value, childPath, problems);
                return;
            }
        }
        problems.Add(new SettingsProblem(childPath, "is not a known setting (misspelt?)"));
    }

    /// <summary>
    /// A persistence plugin reads its own section with the plugin fallback behind it
    /// (<c>journal-plugin-fallback</c>, <c>snapshot-store-plugin-fallback</c>).
    /// </summary>
    private static HoconValue PluginTemplate(string parent, HoconValue referenceChild)
    {
        var fallback = parent switch
        {
            "akka.persistence.journal" => "akka.persistence.journal-plugin-fallback",
            "akka.persistence.snapshot-store" => "akka.persistence.snapshot-store-plugin-fallback",
            _ => null,
        };
        if (fallback is null || !referenceChild.IsObject()) return referenceChild;
        return new Config(new HoconRoot(referenceChild)).WithFallback(Reference.GetConfig(fallback)).Root;
    }

    /// <summary>Every key a dispatcher section of Akka's reference uses.</summary>
    private static readonly Lazy<HoconValue> DispatcherTemplate = new(() =>
    {
        var template = Config.Empty;
        foreach (var path in new[]
        {
            "akka.actor.default-dispatcher", "akka.actor.internal-dispatcher", "akka.actor.default-fork-join-dispatcher",
            "akka.actor.default-blocking-io-dispatcher", "akka.actor.synchronized-dispatcher", "akka.actor.task-dispatcher",
            "akka.persistence.dispatchers.default-replay-dispatcher", "akka.io.pinned-dispatcher",
        })
        {
            template = template.WithFallback(Reference.GetConfig(path));
        }
        // A dispatcher may ask for a mailbox (Akka.Dispatch.Mailboxes reads these from the dispatcher's section).
        return template.WithFallback(ConfigurationFactory.ParseString("mailbox-type = \"\"\nmailbox-requirement = \"\"")).Root;
    });

    /// <summary>A key as HOCON writes it: quoted when it holds anything but letters, digits, '-' and '_'.</summary>
    internal static string Quote(string name) => PlainKey().IsMatch(name) ? name : JsonQuoted.Of(name);

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex PlainKey();
}
