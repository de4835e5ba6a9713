using System.Globalization;
using Fleet.Actors.Devices.Gps;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.Devices.Tests.Gps;

/// <summary>
/// Our NMEA decoder against gpsd on 31 real receivers' captures: every line goes through without
/// an exception, and every fix gpsd reports is one we report too, with the same mode, time,
/// latitude and longitude (1e-6°), and altitude, speed and track where gpsd has them.
/// </summary>
public sealed class GpsdCaptureTests(ITestOutputHelper output)
{
    private const double DegreeTolerance = 1e-6;

    // gpsd's regression run resolves two-digit years and GPS week rollovers against its build
    // date, which moves some captures' dates forward by whole 1024-week cycles: the same instant
    // to a receiver. Times must agree to the millisecond and dates modulo 1024 weeks.
    private static readonly TimeSpan RolloverCycle = TimeSpan.FromDays(1024 * 7);

    // Where gpsd's report depends on when its reporting cycle ended rather than on the sentences:
    // sl869 sends RMC, GGA (with altitude), then GSA "2D" at 10:21:43.000 and again at 43.990;
    // gpsd reports mode 2 for the first and 3 for the second. We report 3 for both.
    private static readonly Dictionary<(string Capture, string Time), string> GpsdCycleArtifacts = new()
    {
        [("sl869.log", "2032-07-11T10:21:43.0000000+00:00")] = "mode",
    };

    public static TheoryData<string> Captures => new(GpsdCaptures.Names);

    [GpsdCapturesFact]
    public void All_31_receivers_should_be_there()
    {
        Assert.Equal(31, GpsdCaptures.Names.Count());
    }

    [Fact]
    public void Captures_beside_a_bare_clone_should_be_reported_missing_with_the_folder_looked_for()
    {
        var parent = Directory.CreateTempSubdirectory("fleet-bare-");
        try
        {
            var clone = parent.CreateSubdirectory("fleet-actors");
            File.WriteAllText(Path.Combine(clone.FullName, "Fleet.Actors.sln"), "");
            var bin = clone.CreateSubdirectory(Path.Combine("tests", "bin"));
            var expected = Path.Combine(parent.FullName, "shared", "data", "gps", "gpsd-captures");

            var (folder, missing) = GpsdCaptures.Locate(bin.FullName);
            Assert.Null(folder);
            Assert.StartsWith($"the gpsd captures are not at {expected} ", missing, StringComparison.Ordinal);

            Directory.CreateDirectory(expected);
            Assert.Equal((expected, (string?)null), GpsdCaptures.Locate(bin.FullName));
        }
        finally
        {
            parent.Delete(recursive: true);
        }
    }

    [GpsdCapturesTheory]
    [MemberData(nameof(Captures))]
    public void Every_line_should_decode_without_an_exception_and_every_gpsd_fix_should_match(string capture)
    {
        var decoder = new NmeaDecoder();
        var fixes = new List<GpsFix>();
        var lines = GpsdCaptures.Lines(capture);
        var refused = new List<string>();
        foreach (var line in lines)
            if (decoder.Decode(line, fixes, out var problem) == NmeaOutcome.Malformed && line.Trim().Length > 0) refused.Add($"{problem}: {line.Trim()}");
        decoder.Flush(fixes);
        var reference = GpsdCaptures.Reference(capture);

        var problems = new List<string>();
        var timed = reference.Where(t => t.Time is not null && t.Lat is not null).GroupBy(t => t.Time!.Value);
        var matchedTimed = 0;
        foreach (var group in timed)
        {
            var expected = group.Last();
            var ours = fixes.Where(f => SameInstant(f, expected.Time!.Value)).ToList();
            if (ours.Count == 0)
            {
                problems.Add($"{expected.Time:O}: gpsd has a fix, we have none at that time");
                continue;
            }
            var fix = ours[^1];
            foreach (var tpv in group) Compare(tpv, fix, problems);
            var artifact = GpsdCycleArtifacts.GetValueOrDefault((capture, expected.Time!.Value.ToString("O", CultureInfo.InvariantCulture)));
            if (fix.Mode != (GpsMode)expected.Mode && artifact != "mode") problems.Add($"{expected.Time:O}: mode {(int)fix.Mode}, gpsd {expected.Mode}");
            matchedTimed++;
        }

        // gpsd also reports fixes it cannot date (no date seen yet, or the receiver calls its
        // time invalid): those positions must be among ours.
        var untimed = reference.Where(t => t.Time is null && t.Lat is not null).ToList();
        foreach (var tpv in untimed)
        {
            if (!fixes.Any(f => Near(f.Latitude, tpv.Lat) && Near(f.Longitude, tpv.Lon)))
                problems.Add($"(no time) gpsd position {tpv.Lat}, {tpv.Lon} is not among ours");
        }

        output.WriteLine($"{capture}: {lines.Count} lines, {decoder.Decoded} decoded, {decoder.Ignored} ignored, {decoder.Malformed} malformed; " +
                         $"{fixes.Count} fixes; gpsd: {reference.Count} TPV, {matchedTimed} timed fixes matched, {untimed.Count} untimed positions");
        foreach (var line in refused) output.WriteLine("  refused " + line);
        foreach (var problem in problems.Take(20)) output.WriteLine("  " + problem);
        Assert.True(problems.Count == 0, $"{capture}: {problems.Count} differences from gpsd, first: {problems.FirstOrDefault()}");
    }

    private static void Compare(GpsdTpv tpv, GpsFix fix, List<string> problems)
    {
        var at = tpv.Time!.Value.ToString("O", CultureInfo.InvariantCulture);
        if (!Near(fix.Latitude, tpv.Lat) || !Near(fix.Longitude, tpv.Lon))
            problems.Add($"{at}: position {fix.Latitude:F9}, {fix.Longitude:F9}; gpsd {tpv.Lat:F9}, {tpv.Lon:F9}");
        if (tpv.AltMsl is { } alt && tpv.Mode == 3 && (fix.Altitude is not { } a || Math.Abs(a - alt) > 0.0015))
            problems.Add($"{at}: altitude {fix.Altitude}; gpsd {alt}");
        // Where the receiver sent no speed in a cycle, gpsd computes one from successive
        // positions (such reports have no track): only the receiver's own speed is compared.
        if (tpv.Track is not { } track) return;
        if (tpv.Speed is { } speed && (fix.Speed is not { } s || Math.Abs(s - speed) > 0.0015))
            problems.Add($"{at}: speed {fix.Speed}; gpsd {speed}");
        if (fix.Track is not { } tr || Math.Abs(tr - track) > 0.00015)
            problems.Add($"{at}: track {fix.Track}; gpsd {track}");
    }

    private static bool SameInstant(GpsFix fix, DateTimeOffset gpsd)
    {
        if (fix.Time is not { } ours) return false;
        var difference = gpsd - ours;
        return difference.Ticks % RolloverCycle.Ticks == 0 && difference >= TimeSpan.Zero && difference <= RolloverCycle * 2;
    }

    private static bool Near(double? ours, double? gpsd) =>
        ours is { } a && gpsd is { } b && Math.Abs(a - b) <= DegreeTolerance;
}
