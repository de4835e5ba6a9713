using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Fleet.Actors.Testing;

/// <summary>
/// The real receiver captures of ../shared/data/gps/gpsd-captures (from gpsd's regression suite)
/// and the fixes gpsd decoded from them (<c>NAME.log.chk</c>, TPV lines). Read in place, never copied.
/// </summary>
public static class GpsdCaptures
{
    private static readonly Lazy<string> Folder = new(FindFolder);

    /// <summary>The capture folder.</summary>
    public static string Directory => Folder.Value;

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

    private static string FindFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Fleet.Actors.sln"))) continue;
            var folder = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", "gps", "gpsd-captures"));
            if (System.IO.Directory.Exists(folder)) return folder;
            throw new DirectoryNotFoundException($"The gpsd captures are expected at {folder} (../shared beside the repository)");
        }
        throw new DirectoryNotFoundException($"No Fleet.Actors.sln above {AppContext.BaseDirectory}");
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
