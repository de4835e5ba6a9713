using System.Text.Json;

namespace Fleet.Actors.Core.Telemetry.Verification;

/// <summary>Where the verifier starts judging each vehicle's stream.</summary>
public enum CheckFrom
{
    /// <summary>
    /// From sequence 1: every sequence the vehicle ever accepted must arrive or be covered by a gap
    /// record. Right for a subscriber that was there before the vehicle's first record (its
    /// persistent session holds what it missed while away).
    /// </summary>
    SequenceOne,

    /// <summary>
    /// From the lowest sequence received from each vehicle: what went by before the verifier
    /// subscribed is not judged. Right for joining a fleet that is already sending.
    /// </summary>
    FirstSeen,
}

/// <summary>What the verifier concluded about one vehicle.</summary>
/// <param name="VehicleId">The vehicle.</param>
/// <param name="Received">Distinct sequences received.</param>
/// <param name="Duplicates">Records received more than once.</param>
/// <param name="Missing">Sequences from <paramref name="CheckedFrom"/> up to <paramref name="ExpectedLast"/> neither received nor covered by a gap record.</param>
/// <param name="MissingRanges">The first few missing ranges.</param>
/// <param name="GapRecords">Gap records received.</param>
/// <param name="GapSequences">Sequences the agent reported as given up (evicted or corrupt).</param>
/// <param name="HighestReceived">Highest sequence received.</param>
/// <param name="ExpectedLast">Highest sequence the vehicle is known to have accepted.</param>
/// <param name="Status">Last retained status state ("online"/"offline") or null.</param>
/// <param name="StatusLastSequence">last_sequence of the last offline status, if any.</param>
/// <param name="Conflicts">
/// Sequences received twice with different contents: a sequence number used for two records
/// (only counted when <see cref="FleetVerifier.CheckConflicts"/> is on).
/// </param>
/// <param name="CheckedFrom">
/// The first sequence judged: 1, or with <see cref="CheckFrom.FirstSeen"/> the lowest sequence
/// received (null while none was).
/// </param>
public sealed record VehicleVerification(
    string VehicleId,
    long Received,
    long Duplicates,
    long Missing,
    IReadOnlyList<(long Start, long End)> MissingRanges,
    long GapRecords,
    long GapSequences,
    long HighestReceived,
    long ExpectedLast,
    string? Status,
    long? StatusLastSequence,
    long Conflicts = 0,
    long? CheckedFrom = 1);

/// <summary>The verifier's report.</summary>
/// <param name="Vehicles">One entry per vehicle seen (a record or a status), by id.</param>
/// <param name="Batches">Batches decoded.</param>
/// <param name="DecodeErrors">Payloads that were not a valid batch.</param>
/// <param name="From">Where each vehicle's stream was judged from.</param>
public sealed record VerificationReport(IReadOnlyList<VehicleVerification> Vehicles, long Batches, long DecodeErrors, CheckFrom From = CheckFrom.SequenceOne)
{
    /// <summary>Sum over vehicles.</summary>
    public long Received => Vehicles.Sum(v => v.Received);

    /// <summary>Sum over vehicles.</summary>
    public long Duplicates => Vehicles.Sum(v => v.Duplicates);

    /// <summary>Sum over vehicles.</summary>
    public long Missing => Vehicles.Sum(v => v.Missing);

    /// <summary>Sum over vehicles.</summary>
    public long GapRecords => Vehicles.Sum(v => v.GapRecords);

    /// <summary>Sum over vehicles.</summary>
    public long Conflicts => Vehicles.Sum(v => v.Conflicts);

    /// <summary>
    /// True when records arrived, none is missing, every payload decoded and (where conflicts are
    /// checked) no sequence came with two contents: the proof of zero loss holds.
    /// </summary>
    public bool Complete => Received > 0 && Missing == 0 && DecodeErrors == 0 && Conflicts == 0;
}

/// <summary>
/// The fleet-side proof of zero loss: takes every decoded batch (and every retained status) and
/// checks each vehicle's sequence continuity. A sequence is accounted for when it was received
/// or a gap record covers it; everything else from where checking starts (<see cref="CheckFrom"/>)
/// up to the highest sequence known is missing. Thread-safe.
/// </summary>
/// <param name="from">Where each vehicle's stream is judged from.</param>
public sealed class FleetVerifier(CheckFrom from = CheckFrom.SequenceOne)
{
    private const int MaxRangesReported = 10;
    private readonly Dictionary<string, Ledger> _vehicles = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private long _batches;
    private long _decodeErrors;

    /// <summary>
    /// Remember a fingerprint of every record (timestamp, device, value) so that a sequence received
    /// again with other contents is counted as a conflict: the agent used a sequence number twice.
    /// Costs memory per sequence; for bounded runs (chaos, tests), not for long benchmarks.
    /// </summary>
    public bool CheckConflicts { get; init; }

    /// <summary>Records one decoded batch.</summary>
    public void Observe(DecodedBatch batch)
    {
        lock (_gate)
        {
            _batches++;
            var ledger = LedgerFor(batch.VehicleId);
            foreach (var record in batch.Records)
            {
                if (!ledger.Received.Add(record.Sequence))
                {
                    ledger.Duplicates++;
                    if (CheckConflicts && ledger.Fingerprints.TryGetValue(record.Sequence, out var first) && first != Fingerprint(record)) ledger.Conflicts++;
                    continue;
                }
                if (CheckConflicts) ledger.Fingerprints[record.Sequence] = Fingerprint(record);
                if (record.Value is GapValue gap)
                {
                    ledger.GapRecords++;
                    ledger.Gaps.AddRange(gap.FromSequence, gap.ToSequence);
                }
            }
        }
    }

    /// <summary>Records a payload that could not be decoded.</summary>
    public void ObserveDecodeError()
    {
        lock (_gate) _decodeErrors++;
    }

    /// <summary>Records a status document (see docs/wire-format.md). Returns false when it is not one.</summary>
    public bool ObserveStatus(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (!root.TryGetProperty("vehicle_id", out var id) || id.ValueKind != JsonValueKind.String) return false;
            var state = root.TryGetProperty("state", out var s) ? s.GetString() : null;
            long? last = root.TryGetProperty("last_sequence", out var l) && l.TryGetInt64(out var lv) ? lv : null;
            lock (_gate)
            {
                var ledger = LedgerFor(id.GetString()!);
                ledger.Status = state;
                if (last is { } value) ledger.StatusLastSequence = value;
            }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>True when every vehicle that published an offline status with last_sequence is fully accounted for.</summary>
    public bool AllOfflineVehiclesComplete(int expectedVehicles)
    {
        var report = Report();
        var done = report.Vehicles.Where(v => v.Status == "offline" && v.StatusLastSequence is not null).ToList();
        return done.Count >= expectedVehicles && done.All(v => v.Missing == 0 && v.HighestReceived >= v.StatusLastSequence);
    }

    /// <summary>The current conclusions.</summary>
    public VerificationReport Report()
    {
        lock (_gate)
        {
            var vehicles = _vehicles.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv =>
            {
                var ledger = kv.Value;
                var expected = Math.Max(Math.Max(ledger.Received.Max, ledger.Gaps.Max), ledger.StatusLastSequence ?? 0);
                // Joined mid-stream: judge from the lowest sequence received (records arrive in order
                // per vehicle, and a resend after a reconnect may bring older ones later: take the lowest).
                long? checkedFrom = from == CheckFrom.SequenceOne ? 1 : ledger.Received.Count > 0 ? ledger.Received.Min : null;
                var missing = checkedFrom is { } start ? ledger.Received.MissingBetween(start, expected, ledger.Gaps) : [];
                return new VehicleVerification(
                    kv.Key,
                    ledger.Received.Count,
                    ledger.Duplicates,
                    missing.Sum(r => r.End - r.Start + 1),
                    missing.Take(MaxRangesReported).ToList(),
                    ledger.GapRecords,
                    ledger.Gaps.Count,
                    ledger.Received.Max,
                    expected,
                    ledger.Status,
                    ledger.StatusLastSequence,
                    ledger.Conflicts,
                    checkedFrom);
            }).ToList();
            return new VerificationReport(vehicles, _batches, _decodeErrors, from);
        }
    }

    private static int Fingerprint(DecodedRecord record) => HashCode.Combine(record.TimestampMs, record.DeviceId, record.Value);

    private Ledger LedgerFor(string vehicleId)
    {
        if (!_vehicles.TryGetValue(vehicleId, out var ledger)) _vehicles[vehicleId] = ledger = new Ledger();
        return ledger;
    }

    private sealed class Ledger
    {
        public SequenceSet Received { get; } = new();
        public SequenceSet Gaps { get; } = new();
        public Dictionary<long, int> Fingerprints { get; } = new();
        public long Duplicates { get; set; }
        public long Conflicts { get; set; }
        public long GapRecords { get; set; }
        public string? Status { get; set; }
        public long? StatusLastSequence { get; set; }
    }
}
