using System.Text;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Telemetry.Verification;
using FsCheck;
using FsCheck.Fluent;

namespace Fleet.Actors.Core.Tests.Telemetry;

public class FleetVerifierTests
{
    private static DecodedBatch Batch(string vehicle, params long[] sequences) => new(vehicle, "t", 1,
        sequences.Select(s => new DecodedRecord(s, s, "d", new MeasurementValue("x", s, "u"))).ToList());

    [Fact]
    public void Verifier_should_count_missing_duplicates_per_vehicle()
    {
        var verifier = new FleetVerifier();
        verifier.Observe(Batch("a", 1, 2, 3));
        verifier.Observe(Batch("a", 3, 4, 7));
        verifier.Observe(Batch("b", 1, 2));

        var report = verifier.Report();
        var a = report.Vehicles.Single(v => v.VehicleId == "a");
        Assert.Equal(5, a.Received);
        Assert.Equal(1, a.Duplicates);
        Assert.Equal(2, a.Missing);
        Assert.Equal([(5L, 6L)], a.MissingRanges);
        Assert.Equal(0, report.Vehicles.Single(v => v.VehicleId == "b").Missing);
    }

    [Fact]
    public void Gap_records_should_account_for_evicted_sequences()
    {
        var verifier = new FleetVerifier();
        verifier.Observe(Batch("a", 1, 2));
        verifier.Observe(new DecodedBatch("a", "t", 1, [new DecodedRecord(11, 0, "wal", new GapValue(3, 10, 8, "disk-budget"))]));
        verifier.Observe(Batch("a", 12, 13));

        var a = verifier.Report().Vehicles.Single();
        Assert.Equal(0, a.Missing);
        Assert.Equal(1, a.GapRecords);
        Assert.Equal(8, a.GapSequences);
    }

    [Fact]
    public void Offline_status_should_make_a_missing_tail_visible()
    {
        var verifier = new FleetVerifier();
        verifier.Observe(Batch("a", 1, 2, 3));
        Assert.True(verifier.ObserveStatus(Encoding.UTF8.GetBytes("""{"vehicle_id":"a","state":"offline","last_sequence":5}""")));

        var a = verifier.Report().Vehicles.Single();
        Assert.Equal(2, a.Missing);
        Assert.Equal(5, a.ExpectedLast);
        Assert.False(verifier.AllOfflineVehiclesComplete(1));
        verifier.Observe(Batch("a", 4, 5));
        Assert.True(verifier.AllOfflineVehiclesComplete(1));
    }

    private static long[] Range(long first, long last) => Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => (long)i).ToArray();

    [Fact]
    public void Joined_mid_stream_from_sequence_one_should_report_everything_before_as_missing()
    {
        var verifier = new FleetVerifier();
        verifier.Observe(Batch("a", Range(500, 520)));

        var report = verifier.Report();
        var a = report.Vehicles.Single();
        Assert.Equal(CheckFrom.SequenceOne, report.From);
        Assert.Equal(1, a.CheckedFrom);
        Assert.Equal(499, a.Missing);
        Assert.False(report.Complete);
    }

    [Fact]
    public void Joined_mid_stream_from_first_seen_should_judge_each_vehicle_from_the_lowest_sequence_received()
    {
        var verifier = new FleetVerifier(CheckFrom.FirstSeen);
        verifier.Observe(Batch("a", Range(500, 510)));
        verifier.Observe(Batch("b", Range(7, 9)));
        verifier.Observe(Batch("a", Range(511, 520)));

        var report = verifier.Report();
        Assert.Equal(CheckFrom.FirstSeen, report.From);
        Assert.Equal(500, report.Vehicles.Single(v => v.VehicleId == "a").CheckedFrom);
        Assert.Equal(7, report.Vehicles.Single(v => v.VehicleId == "b").CheckedFrom);
        Assert.Equal(0, report.Missing);
        Assert.True(report.Complete);
    }

    [Fact]
    public void From_first_seen_should_still_find_holes_and_a_missing_tail_after_the_first_sequence()
    {
        var verifier = new FleetVerifier(CheckFrom.FirstSeen);
        verifier.Observe(Batch("a", 500, 501, 503));
        Assert.True(verifier.ObserveStatus(Encoding.UTF8.GetBytes("""{"vehicle_id":"a","state":"offline","last_sequence":505}""")));

        var a = verifier.Report().Vehicles.Single();
        Assert.Equal([(502L, 502L), (504L, 505L)], a.MissingRanges);
        Assert.Equal(3, a.Missing);
        Assert.False(verifier.Report().Complete);
    }

    [Fact]
    public void From_first_seen_should_move_its_start_down_when_a_resend_brings_older_sequences()
    {
        var verifier = new FleetVerifier(CheckFrom.FirstSeen);
        verifier.Observe(Batch("a", Range(500, 510)));
        // After a reconnect the agent resends from its oldest unacknowledged record.
        verifier.Observe(Batch("a", Range(490, 505)));

        var a = verifier.Report().Vehicles.Single();
        Assert.Equal(490, a.CheckedFrom);
        Assert.Equal(0, a.Missing);
        Assert.Equal(6, a.Duplicates);
    }

    [Fact]
    public void From_first_seen_should_judge_nothing_of_a_vehicle_known_only_by_its_status_and_not_call_that_complete()
    {
        var verifier = new FleetVerifier(CheckFrom.FirstSeen);
        Assert.True(verifier.ObserveStatus(Encoding.UTF8.GetBytes("""{"vehicle_id":"a","state":"offline","last_sequence":713}""")));

        var report = verifier.Report();
        var a = report.Vehicles.Single();
        Assert.Null(a.CheckedFrom);
        Assert.Equal(0, a.Missing);
        Assert.False(report.Complete, "nothing was received: no proof of anything");
    }

    [Fact]
    public void Status_that_is_not_json_should_be_refused() =>
        Assert.False(new FleetVerifier().ObserveStatus(Encoding.UTF8.GetBytes("offline")));

    [Fact]
    public void Sequence_set_should_match_a_plain_set_for_any_insertion_order()
    {
        Prop.ForAll(Gen.Choose(1, 300).ListOf().ToArbitrary(), values =>
        {
            var set = new SequenceSet();
            var plain = new HashSet<long>();
            foreach (var v in values)
            {
                Assert.Equal(plain.Add(v), set.Add(v));
            }
            Assert.Equal(plain.Count, set.Count);
            var upTo = 310;
            var missing = set.MissingUpTo(upTo).Sum(r => r.End - r.Start + 1);
            Assert.Equal(upTo - plain.Count, missing);
            for (var i = 1; i <= upTo; i++) Assert.Equal(plain.Contains(i), set.Contains(i));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Sequence_set_ranges_should_merge_when_they_touch()
    {
        var set = new SequenceSet();
        Assert.Equal(3, set.AddRange(5, 7));
        Assert.Equal(3, set.AddRange(1, 3));
        Assert.Equal(1, set.AddRange(3, 5));
        Assert.Equal(0, set.AddRange(4, 4));
        Assert.Equal([(1L, 7L)], set.Ranges);
    }
}
