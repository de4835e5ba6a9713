using System.Text.Json;
using System.Text.RegularExpressions;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Telemetry.Verification;
using Fleet.Actors.Host.Cli;
using Fleet.Actors.Host.Tests.Support;

namespace Fleet.Actors.Host.Tests.Cli;

/// <summary>
/// <c>fleet-agent verify</c>'s report: it says which mode it checked in, and its JSON has exactly
/// the fields docs/wire-format.md lists ("Checking a fleet: fleet-agent verify").
/// </summary>
public sealed partial class VerifyReportTests
{
    private static VerificationReport MidStreamReport(CheckFrom from)
    {
        var verifier = new FleetVerifier(from);
        verifier.Observe(new DecodedBatch("truck-7", "acme", 1,
            Enumerable.Range(500, 20).Select(s => new DecodedRecord(s, s, "obd", new MeasurementValue("rpm", s, "rpm"))).ToList()));
        verifier.ObserveStatus("""{"vehicle_id":"truck-7","state":"offline","last_sequence":519}"""u8);
        return verifier.Report();
    }

    [Fact]
    public void Json_report_should_have_exactly_the_fields_the_wire_format_document_lists()
    {
        var (topLevel, perVehicle) = DocumentedJsonFields();
        using var json = JsonDocument.Parse(VerifyCommand.ToJson(MidStreamReport(CheckFrom.FirstSeen)));

        Assert.Equal(topLevel.Order(StringComparer.Ordinal), json.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        var vehicle = json.RootElement.GetProperty("vehicles").EnumerateArray().Single();
        Assert.Equal(perVehicle.Order(StringComparer.Ordinal), vehicle.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Json_report_should_name_the_mode_and_where_each_vehicle_was_checked_from()
    {
        using var firstSeen = JsonDocument.Parse(VerifyCommand.ToJson(MidStreamReport(CheckFrom.FirstSeen)));
        Assert.Equal("from-first-seen", firstSeen.RootElement.GetProperty("mode").GetString());
        Assert.True(firstSeen.RootElement.GetProperty("complete").GetBoolean());
        Assert.Equal(500, firstSeen.RootElement.GetProperty("vehicles")[0].GetProperty("checked_from").GetInt64());
        Assert.Equal(519, firstSeen.RootElement.GetProperty("vehicles")[0].GetProperty("status_last_sequence").GetInt64());

        using var fromOne = JsonDocument.Parse(VerifyCommand.ToJson(MidStreamReport(CheckFrom.SequenceOne)));
        Assert.Equal("from-sequence-1", fromOne.RootElement.GetProperty("mode").GetString());
        Assert.False(fromOne.RootElement.GetProperty("complete").GetBoolean());
        Assert.Equal(1, fromOne.RootElement.GetProperty("vehicles")[0].GetProperty("checked_from").GetInt64());
        Assert.Equal(499, fromOne.RootElement.GetProperty("missing").GetInt64());
    }

    [Fact]
    public void Text_report_should_say_the_mode_on_its_first_and_last_lines()
    {
        var firstSeen = VerifyCommand.ToText(MidStreamReport(CheckFrom.FirstSeen)).Split(Environment.NewLine);
        Assert.StartsWith("Checked each vehicle from the first sequence received (--from-first-seen)", firstSeen[0], StringComparison.Ordinal);
        Assert.EndsWith("mode from-first-seen", firstSeen[^1], StringComparison.Ordinal);
        Assert.Matches(@"^truck-7\s+500\s+20\s+0\s+0\s", firstSeen[2]);

        var fromOne = VerifyCommand.ToText(MidStreamReport(CheckFrom.SequenceOne)).Split(Environment.NewLine);
        Assert.StartsWith("Checked each vehicle from sequence 1", fromOne[0], StringComparison.Ordinal);
        Assert.Contains("    missing 1..499", fromOne, StringComparer.Ordinal);
        Assert.EndsWith("mode from-sequence-1", fromOne[^1], StringComparison.Ordinal);
    }

    /// <summary>The first column of the two field tables under the verify heading of docs/wire-format.md.</summary>
    private static (List<string> TopLevel, List<string> PerVehicle) DocumentedJsonFields()
    {
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.RepositoryRoot, "docs", "wire-format.md"));
        var section = lines.SkipWhile(l => !l.StartsWith("## Checking a fleet: `fleet-agent verify`", StringComparison.Ordinal)).Skip(1)
            .TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal)).ToList();
        Assert.True(section.Count > 0, "docs/wire-format.md has no section '## Checking a fleet: `fleet-agent verify`'");
        var tables = new List<List<string>>();
        List<string>? current = null;
        foreach (var line in section)
        {
            if (!line.StartsWith('|'))
            {
                current = null;
                continue;
            }
            if (current is null)
            {
                tables.Add(current = []); // the header row
                continue;
            }
            var cell = line.Split('|')[1];
            if (cell.TrimStart().StartsWith("---", StringComparison.Ordinal)) continue;
            current.AddRange(FieldName().Matches(cell).Select(m => m.Groups[1].Value));
        }
        Assert.Equal(2, tables.Count);
        return (tables[0], tables[1]);
    }

    [GeneratedRegex("`([a-z_]+)`")]
    private static partial Regex FieldName();
}
