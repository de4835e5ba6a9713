using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Fleet.Actors.Host.Configuration;

/// <summary>
/// The files and devices a configuration points the agent at: every value under <c>fleet</c> of a
/// key that names one (<c>file</c>, <c>*-file</c>, <c>*-dir</c>, <c>record-to</c>, <c>rtu</c>,
/// <c>program</c>, <c>path</c>, and <c>port</c> when it is not a number). A CONFIGURATION_UPDATE
/// may change how the agent uses what it already uses, not point it at new files or devices: the
/// agent runs with the rights of a system service, and a replay file or a recording path from a
/// command would read or write any file on the vehicle.
/// </summary>
public static class ConfigurationPaths
{
    /// <summary>Each such value with its full key (<c>fleet.sensors[2].replay.file</c>).</summary>
    public static IReadOnlyList<(string Key, string Value)> Collect(Config merged)
    {
        var found = new List<(string, string)>();
        if (merged.HasPath("fleet")) Walk("fleet", null, merged.GetValue("fleet"), found);
        return found;
    }

    /// <summary>The paths of <paramref name="candidate"/> that <paramref name="running"/> does not use, as problems.</summary>
    public static IReadOnlyList<string> NewPaths(Config running, Config candidate, string source)
    {
        var known = Collect(running).Select(p => p.Value).ToHashSet(StringComparer.Ordinal);
        return Collect(candidate).Where(p => !known.Contains(p.Value))
            .Select(p => $"{source}: {p.Key}: a command may not point the agent at a file or device it does not already use (\"{p.Value}\"); set it in the vehicle's own configuration files")
            .ToList();
    }

    private static void Walk(string key, string? name, HoconValue value, List<(string, string)> found)
    {
        if (value.IsObject())
        {
            foreach (var (child, childValue) in value.GetObject().Items) Walk($"{key}.{child}", child, childValue, found);
            return;
        }
        if (value.IsArray())
        {
            var items = value.GetArray();
            for (var i = 0; i < items.Count; i++) Walk($"{key}[{i}]", name, items[i], found);
            return;
        }
        if (name is null || !value.IsString()) return;
        var text = value.GetString();
        if (string.IsNullOrEmpty(text) || !NamesAPath(name, text)) return;
        found.Add((key, text));
    }

    private static bool NamesAPath(string name, string value) =>
        name is "file" or "record-to" or "rtu" or "program" or "path" or "data-dir"
        || name.EndsWith("-file", StringComparison.Ordinal) || name.EndsWith("-dir", StringComparison.Ordinal)
        || (name == "port" && !value.All(char.IsAsciiDigit));
}
