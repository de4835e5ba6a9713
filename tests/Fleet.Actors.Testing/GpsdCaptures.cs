using System.Globalization;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Fleet.Actors.Testing;

/// <summary>
/// The real receiver captures of ../shared/data/gps/gpsd-captures (from gpsd's regression suite)
/// and the fixes gpsd decoded from them (<c>NAME.log.chk</c>, TPV lines). Read in place, never copied.
/// They live beside the repository, not in it: on a bare clone they are missing, and the tests that
/// read them are skipped with <see cref="MissingReason"/> (<see cref="GpsdCapturesFactAttribute"/>);
/// CI (.ci/run) refuses to run without them.
/// </summary>
public static class GpsdCaptures
{
    private static readonly Lazy<(string? Folder, string? Missing)> Located = new(() => Locate(AppContext.BaseDirectory));

    /// <summary>The capture folder; throws <see cref="DirectoryNotFoundException"/> with <see cref="MissingReason"/> when it is missing.</summary>
    public static string Directory => Located.Value.Folder ?? throw new DirectoryNotFoundException(Located.Value.Missing);

    /// <summary>Why the captures cannot be read (the folder that was looked for), or null when they are there.</summary>
    public static string? MissingReason => Located.Value.Missing;

    /// <summary>
    /// Looks for the captures beside the repository that holds <paramref name="startDirectory"/>:
    /// the folder, or why there is none.
    /// </summary>
    public static (string? Folder, string? Missing) Locate(string startDirectory)
    {
        for (var dir = new DirectoryInfo(startDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Fleet.Actors.sln"))) continue;
            var folder = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", "gps", "gpsd-captures"));
            return System.IO.Directory.Exists(folder)
                ? (folder, null)
                : (null, $"the gpsd captures are not at {folder} (../shared beside the repository; a bare clone has no ../shared, CI has it)");
        }
        return (null, $"no Fleet.Actors.sln above {startDirectory}, so no ../shared/data/gps/gpsd-captures beside it");
    }

    /// <summary>Every capture's name (<c>NAME.log</c>).</summary>
    public static IEnumerable<string> Names =>
        System.IO.Directory.EnumerateFiles(Directory, "*.log").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    /// <summary>
    /// The receiver's lines of a capture: comments dropped, and the capture's delay cookie (a
    /// character gpsd's test harness inserts to split writes, declared in a <c># Delay-Cookie:</c>
    /// header) removed, since the receiver never sent it.
    /// </summary>
    public static IReadOnlyList<string> Lines(string name)
    {
        var text = File.ReadAllText(Path.Combine(Directory, name), Encoding.Latin1);
        var lines = text.Split('\n');
        var cookie = lines.Where(l => l.StartsWith("# Delay-Cookie:", StringComparison.Ordinal))
            .Select(l => l["# Delay-Cookie:".Length..].Trim().Split(' ')[0])
            .FirstOrDefault(c => c.Length == 1);
        return lines.Where(l => !l.StartsWith('#'))
            .Select(l => cookie is null ? l : l.Replace(cookie, "", StringComparison.Ordinal))
            .ToList();
    }

    /// <summary>gpsd's TPV reports for a capture.</summary>
    public static IReadOnlyList<GpsdTpv> Reference(string name) =>
        File.ReadLines(Path.Combine(Directory, name + ".chk"))
            .Where(l => l.Contains("\"class\":\"TPV\"", StringComparison.Ordinal))
            .Select(GpsdTpv.Parse)
            .ToList();
}

/// <summary>
/// A fact that reads the gpsd captures: skipped, with the reason, where they are missing (xunit 2
/// has no dynamic skip, so the attribute sets <see cref="FactAttribute.Skip"/> when it is built, at discovery).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class GpsdCapturesFactAttribute : FactAttribute
{
    /// <summary>Skips the test when <see cref="GpsdCaptures.MissingReason"/> says the captures are missing.</summary>
    public GpsdCapturesFactAttribute()
    {
        if (GpsdCaptures.MissingReason is { } reason) Skip = reason;
    }
}

/// <summary>
/// A theory over the gpsd captures: skipped, with the reason, where they are missing. A skipped theory's
/// data is never enumerated, so a <c>MemberData</c> that lists the captures does not fail discovery.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class GpsdCapturesTheoryAttribute : TheoryAttribute
{
    /// <summary>Skips the theory when <see cref="GpsdCaptures.MissingReason"/> says the captures are missing.</summary>
    public GpsdCapturesTheoryAttribute()
    {
        if (GpsdCaptures.MissingReason is { } reason) Skip = reason;
    }
}

/// <summary>One gpsd TPV report (only the fields the tests compare).</summary>
public sealed record GpsdTpv(int Mode, DateTimeOffset? Time, double? Lat, double? Lon, double? AltMsl, double? Speed, double? Track)
{
    /// <summary>Parses a TPV JSON line.</summary>
    public static GpsdTpv Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        double? Number(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        DateTimeOffset? time = root.TryGetProperty("time", out var t)
            ? DateTimeOffset.Parse(t.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
            : null;
        return new GpsdTpv(
            root.TryGetProperty("mode", out var m) ? m.GetInt32() : 0,
            time,
            Number("lat"),
            Number("lon"),
            Number("altMSL") ?? Number("alt"),
            Number("speed"),
            Number("track"));
    }
}
