using System.Runtime.InteropServices;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Actors.Core.Telemetry.Verification;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Host.Verification;

namespace Fleet.Actors.Host.Cli;

/// <summary>
/// <c>fleet-agent verify</c>: the fleet-side proof of zero loss. Subscribes to a broker, decodes every
/// batch and checks each vehicle's sequence continuity, from sequence 1 or (joining a fleet that is
/// already sending, <c>--from-first-seen</c>) from the first sequence it receives of each vehicle;
/// exit code 0 only when records arrived and nothing is missing. The report (text or JSON, see
/// docs/wire-format.md) says which of the two it checked.
/// </summary>
public static class VerifyCommand
{
    /// <summary>Exit code when a sequence is missing or nothing arrived.</summary>
    public const int Incomplete = 2;

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var brokerOptions = new CliBrokerOptions();
        var topic = new Option<string>("--topic")
        {
            Description = "Telemetry topic filter",
            DefaultValueFactory = _ => TopicTemplate.ToFilter(new UplinkSettings().TelemetryTopic),
        };
        var statusTopic = new Option<string>("--status-topic")
        {
            Description = "Status topic filter",
            DefaultValueFactory = _ => TopicTemplate.ToFilter(new UplinkSettings().StatusTopic),
        };
        var idle = CliDurations.Option("--idle-timeout", "Stop after this long without a message (once something arrived)", TimeSpan.FromSeconds(10));
        var duration = CliDurations.Option("--duration", "Stop after this long in any case; 0 for no limit", TimeSpan.Zero);
        var waitOffline = new Option<int>("--until-offline")
        {
            Description = "Stop as soon as this many vehicles announced offline with all their sequences accounted for",
        };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var fromFirstSeen = new Option<bool>("--from-first-seen")
        {
            Description = "Check each vehicle from the first sequence received (joining a fleet that is already sending) instead of from sequence 1",
        };
        var clientId = new Option<string?>("--client-id")
        {
            Description = "MQTT client id; given, the session under it is persistent (the broker keeps messages for it between runs " +
                          "and across reconnects); without it, a clean session as fleet-verify-<pid>",
        };

        var command = new Command("verify", "Subscribe to a broker and check every vehicle's sequence continuity");
        brokerOptions.AddTo(command);
        foreach (var option in new Option[] { topic, statusTopic, idle, duration, waitOffline, json, fromFirstSeen, clientId }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) => await ExecuteAsync(
            brokerOptions.Url(parse), brokerOptions.Resolve(parse, out var problem), problem, parse.GetValue(topic)!, parse.GetValue(statusTopic)!, parse.GetValue(idle),
            parse.GetValue(duration), parse.GetValue(waitOffline), parse.GetValue(json),
            parse.GetValue(fromFirstSeen) ? CheckFrom.FirstSeen : CheckFrom.SequenceOne, parse.GetValue(clientId), cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(string brokerUrl, BrokerSettings? broker, string problem, string topic, string statusTopic, TimeSpan idle,
        TimeSpan duration, int untilOffline, bool json, CheckFrom from, string? clientId, CancellationToken cancellationToken)
    {
        if (broker is null)
        {
            await Console.Error.WriteLineAsync($"fleet-agent verify: {problem}");
            return 1;
        }

        MqttVerifier verifier;
        try
        {
            verifier = await MqttVerifier.StartAsync(broker, topic, statusTopic,
                clientId ?? "fleet-verify-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
                persistentSession: clientId is not null, cancellationToken, from: from);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"fleet-agent verify: cannot subscribe at {brokerUrl}: {(ex is MqttLinkException ? ex.Message : ex.GetBaseException().Message)}");
            return 1;
        }

        await using (verifier)
        {
            // Ctrl-C or SIGTERM ends the listening and prints the report (the command line leaves
            // signals to the commands; without this the process died without a word).
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, StopListening);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, StopListening);
            void StopListening(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.Cancel();
            }

            await Console.Error.WriteLineAsync($"Listening on {brokerUrl} for {topic} and {statusTopic}, checking {ModeText(from)}...");
            var started = DateTimeOffset.UtcNow;
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(200, stop.Token);
                    var now = DateTimeOffset.UtcNow;
                    if (duration > TimeSpan.Zero && now - started >= duration) break;
                    if (verifier.LastMessageAt is { } last && now - last >= idle) break;
                    if (untilOffline > 0 && verifier.Verifier.AllOfflineVehiclesComplete(untilOffline)) break;
                }
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C or SIGTERM: report what we have.
            }

            // Stop receiving first: what arrives after the report would be acknowledged but never counted.
            await verifier.StopAsync();
            var report = verifier.Verifier.Report();
            Console.WriteLine(json ? ToJson(report) : ToText(report));
            return report.Complete ? 0 : Incomplete;
        }
    }

    /// <summary>The mode's name in the JSON report.</summary>
    public static string ModeName(CheckFrom from) => from == CheckFrom.FirstSeen ? "from-first-seen" : "from-sequence-1";

    private static string ModeText(CheckFrom from) => from == CheckFrom.FirstSeen
        ? "each vehicle from the first sequence received (--from-first-seen): what it sent before is not judged"
        : "each vehicle from sequence 1 (joining a fleet that is already sending? use --from-first-seen)";

    /// <summary>The report as a table.</summary>
    public static string ToText(VerificationReport report)
    {
        var lines = new List<string>
        {
            "Checked " + ModeText(report.From) + ".",
            string.Format(CultureInfo.InvariantCulture, "{0,-24} {1,12} {2,12} {3,11} {4,9} {5,12} {6,12} {7,12} {8,8}",
                "vehicle", "from", "received", "duplicates", "missing", "gap records", "highest", "expected", "status"),
        };
        foreach (var v in report.Vehicles)
        {
            lines.Add(string.Format(CultureInfo.InvariantCulture, "{0,-24} {1,12} {2,12:N0} {3,11:N0} {4,9:N0} {5,12:N0} {6,12:N0} {7,12:N0} {8,8}",
                v.VehicleId, v.CheckedFrom is { } first ? first.ToString("N0", CultureInfo.InvariantCulture) : "-", v.Received, v.Duplicates,
                v.Missing, v.GapRecords, v.HighestReceived, v.ExpectedLast, v.Status ?? "-"));
            foreach (var (start, end) in v.MissingRanges)
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"    missing {start}..{end}"));
        }
        lines.Add(string.Create(CultureInfo.InvariantCulture,
            $"received {report.Received:N0}, duplicates {report.Duplicates:N0}, missing {report.Missing:N0}, gap records {report.GapRecords:N0}, decode errors {report.DecodeErrors:N0}, batches {report.Batches:N0}, vehicles {report.Vehicles.Count}, mode {ModeName(report.From)}"));
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>The report as JSON (its fields: docs/wire-format.md, "Checking a fleet: fleet-agent verify").</summary>
    public static string ToJson(VerificationReport report) => new JsonObject
    {
        ["mode"] = ModeName(report.From),
        ["complete"] = report.Complete,
        ["received"] = report.Received,
        ["duplicates"] = report.Duplicates,
        ["missing"] = report.Missing,
        ["gap_records"] = report.GapRecords,
        ["decode_errors"] = report.DecodeErrors,
        ["batches"] = report.Batches,
        ["vehicles"] = new JsonArray([.. report.Vehicles.Select(v => new JsonObject
        {
            ["vehicle_id"] = v.VehicleId,
            ["checked_from"] = v.CheckedFrom,
            ["received"] = v.Received,
            ["duplicates"] = v.Duplicates,
            ["missing"] = v.Missing,
            ["missing_ranges"] = new JsonArray([.. v.MissingRanges.Select(r => new JsonArray(r.Start, r.End))]),
            ["gap_records"] = v.GapRecords,
            ["gap_sequences"] = v.GapSequences,
            ["highest_received"] = v.HighestReceived,
            ["expected_last"] = v.ExpectedLast,
            ["status"] = v.Status,
            ["status_last_sequence"] = v.StatusLastSequence,
        })]),
    }.ToJsonString(Indented);

    // Written without the serializer's reflection, which the native agent does not have.
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
