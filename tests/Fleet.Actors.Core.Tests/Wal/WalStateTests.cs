using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Telemetry.Verification;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Core.Tests.Wal;

public class WalStateTests
{
    private const long SegmentBytes = 1000;

    private static LogEntry Entry(long first, int count, int bytes, Eviction? eviction = null) =>
        new(first, count, first * 10, (first + count - 1) * 10, new byte[bytes], eviction);

    private static WalState Fill(int entries)
    {
        var state = WalState.Empty;
        for (var i = 0; i < entries; i++) state = state.Apply(Entry(i * 10 + 1, 10, 400), i + 1, SegmentBytes);
        return state;
    }

    [Fact]
    public void Entries_should_advance_the_sequence_and_fill_segments()
    {
        var state = Fill(5);
        Assert.Equal(51, state.NextSequence);
        Assert.Equal(50, state.LastSequence);
        Assert.Equal(50, state.UnsentCount);
        Assert.Equal(2000, state.UnsentBytes);
        // 400-byte entries in 1000-byte segments: a segment takes entries until it reaches the limit.
        Assert.Equal([(1L, 3L), (4L, 5L)], state.Segments.Select(s => (s.FirstJournalSeq, s.LastJournalSeq)));
    }

    [Fact]
    public void Delivery_should_drop_fully_delivered_segments_only()
    {
        var state = Fill(5).Apply(new DeliveredUpTo(2, 20));
        Assert.Equal(2, state.ConsumedJournalSeq);
        Assert.Equal(30, state.UnsentCount);
        Assert.Equal(2, state.Segments.Count);

        state = state.Apply(new DeliveredUpTo(3, 30));
        Assert.Single(state.Segments);
        Assert.Equal(800, state.UnsentBytes);
    }

    [Fact]
    public void Stale_delivery_should_change_nothing()
    {
        var state = Fill(3).Apply(new DeliveredUpTo(3, 30));
        Assert.Same(state, state.Apply(new DeliveredUpTo(2, 20)));
    }

    [Fact]
    public void Delivery_should_never_let_the_sequence_go_back()
    {
        // Rows before the marker were deleted and no snapshot was readable: the marker still bounds the sequence.
        var state = WalState.Empty.Apply(new DeliveredUpTo(900, 5000));
        Assert.Equal(5001, state.NextSequence);
    }

    [Fact]
    public void Eviction_plan_should_take_the_oldest_segments_but_never_the_newest()
    {
        var state = Fill(9);
        var plan = state.PlanEviction(1000, state.ConsumedSequence, "disk-budget");
        Assert.NotNull(plan);
        Assert.Equal(1, plan.Eviction.FromSequence);
        Assert.Equal(state.Segments[^2].LastSequence, plan.Eviction.ToSequence);
        Assert.Equal(plan.Eviction.ToSequence - plan.Eviction.FromSequence + 1, plan.Eviction.Count);
        Assert.Equal(state.Segments[^2].LastJournalSeq, plan.Eviction.UpToJournalSeq);
        Assert.Equal<GapValue>([new GapValue(1, plan.Eviction.ToSequence, plan.Eviction.Count, "disk-budget")], plan.Gaps);

        var single = Fill(1);
        Assert.Null(single.PlanEviction(0, 0, "disk-budget"));
    }

    [Fact]
    public void Eviction_should_start_after_what_was_already_acknowledged()
    {
        var state = Fill(9);
        var plan = state.PlanEviction(2000, consumedSequence: 15, "disk-budget");
        Assert.Equal(16, plan!.Eviction.FromSequence);
    }

    [Fact]
    public void Applying_a_gap_entry_should_consume_the_evicted_range_and_count_it()
    {
        var state = Fill(9);
        var plan = state.PlanEviction(1000, 0, "disk-budget")!;
        state = state.Apply(Entry(91, 1, 30, plan.Eviction) with { Gaps = plan.Gaps }, 10, SegmentBytes);

        Assert.Equal(plan.Eviction.UpToJournalSeq, state.ConsumedJournalSeq);
        Assert.Equal(plan.Eviction.ToSequence, state.ConsumedSequence);
        Assert.Equal(plan.Eviction.Count, state.EvictedTotal);
        Assert.Equal(1, state.GapRecords);
        Assert.Equal([new PendingGap(91, plan.Gaps.Single())], state.PendingGaps);
        Assert.Equal(92, state.NextSequence);
        Assert.True(state.UnsentBytes <= 1000 + 30 + 400);
    }

    /// <summary>An eviction (its gap record is sequence 91, journal row 10), then six more entries.</summary>
    private static (WalState State, EvictionPlan First) EvictedOnceThenFilled()
    {
        var state = Fill(9);
        var first = state.PlanEviction(2000, 0, "disk-budget")!;
        state = state.Apply(Entry(91, 1, 30, first.Eviction) with { Gaps = first.Gaps }, 10, SegmentBytes);
        for (var i = 0; i < 6; i++) state = state.Apply(Entry(92 + i * 10, 10, 400), 11 + i, SegmentBytes);
        return (state, first);
    }

    [Fact]
    public void An_eviction_that_gives_up_an_earlier_gap_record_should_announce_its_range_again()
    {
        var (state, first) = EvictedOnceThenFilled();

        // The first gap record (sequence 91) is in a segment the second eviction gives up.
        var second = state.PlanEviction(1000, state.ConsumedSequence, "disk-budget")!;
        Assert.True(second.Eviction.ToSequence >= 91);
        var announced = Assert.Single(second.Gaps);
        Assert.Equal((1L, second.Eviction.ToSequence), (announced.FromSequence, announced.ToSequence));
        Assert.Equal(first.Eviction.Count + second.Eviction.Count, announced.Count);

        state = state.Apply(Entry(200, 1, 30, second.Eviction) with { Gaps = second.Gaps }, 17, SegmentBytes);
        Assert.Equal([new PendingGap(200, announced)], state.PendingGaps);
    }

    [Fact]
    public void An_acknowledged_gap_record_should_not_be_announced_again()
    {
        var (state, _) = EvictedOnceThenFilled();

        // Acknowledged in memory (not yet journaled) up to the gap record: it reached the fleet.
        var second = state.PlanEviction(1000, consumedSequence: 91, "disk-budget")!;
        var announced = Assert.Single(second.Gaps);
        Assert.Equal(92, announced.FromSequence);

        state = state.Apply(new DeliveredUpTo(10, 91));
        Assert.Empty(state.PendingGaps);
    }

    [Fact]
    public void Announcements_should_merge_adjacent_ranges_of_one_reason_and_stay_within_the_cap()
    {
        var merged = WalState.MergeAnnouncements(
            [new GapValue(11, 20, 10, "disk-budget"), new GapValue(1, 10, 10, "disk-budget"), new GapValue(21, 22, 2, "corrupt-record"), new GapValue(40, 50, 11, "disk-budget")],
            maxRecords: 8);
        Assert.Equal<GapValue>([new GapValue(1, 20, 20, "disk-budget"), new GapValue(21, 22, 2, "corrupt-record"), new GapValue(40, 50, 11, "disk-budget")], merged);

        var capped = WalState.MergeAnnouncements(Enumerable.Range(0, 10).Select(i => new GapValue(i * 100 + 1, i * 100 + 10 + i, 10 + i, "disk-budget")), maxRecords: 4);
        Assert.Equal(4, capped.Length);
        Assert.Equal(Enumerable.Range(0, 10).Sum(i => 10L + i), capped.Sum(g => g.Count));
        // Every announced sequence is still announced.
        for (var i = 0; i < 10; i++)
            Assert.Contains(capped, g => g.FromSequence <= i * 100 + 1 && g.ToSequence >= i * 100 + 10 + i);
    }

    /// <summary>
    /// The log's bookkeeping against a model of the fleet, many times over: random intake, partial
    /// deliveries, evictions under a small budget, snapshots and crashes (state rebuilt from the
    /// last snapshot and the journal, acknowledgements not yet journaled forgotten, every event
    /// through the serializer). At every step each sequence up to the last accepted one must be
    /// delivered, announced by a delivered gap record, or still unsent in the log; at the end,
    /// after everything is delivered, nothing may be missing.
    /// </summary>
    [Fact]
    public void Every_sequence_should_be_delivered_or_announced_across_evictions_and_crashes()
    {
        var evictionsOfGapRecords = 0;
        for (var seed = 1; seed <= 300; seed++)
        {
            var run = new LogModel(seed);
            for (var step = 0; step < 400; step++) run.Step();
            run.DeliverEverything();
            Assert.True(run.Missing.Count == 0, $"seed {seed}: missing {string.Join(", ", run.Missing.Select(r => $"{r.Start}..{r.End}"))}");
            evictionsOfGapRecords += run.EvictedGapRecords;
        }
        // The runs exercise what the test is about: evictions that give up earlier gap records.
        Assert.True(evictionsOfGapRecords > 300, $"only {evictionsOfGapRecords} gap records were evicted");
    }

    private sealed class LogModel(int seed)
    {
        private const long Budget = 8_000;
        private const long Segment = 1_000;
        private readonly Random _random = new(seed);
        private readonly List<(long JournalSeq, IWalEvent Event)> _journal = new();
        private readonly WalSerializer _serializer = new(null!);
        private readonly SequenceSet _received = new();
        private readonly SequenceSet _announced = new();
        private WalState _state = WalState.Empty;
        private (long JournalSeq, WalSnapshot Snapshot)? _snapshot;
        private long _nextJournalSeq = 1;
        private long _ackedJournalSeq;
        private long _ackedSequence;
        private bool _online = true;

        public int EvictedGapRecords { get; private set; }

        public List<(long Start, long End)> Missing => _received.MissingUpTo(_state.LastSequence, _announced);

        public void Step()
        {
            switch (_random.Next(20))
            {
                case < 10:
                    Append(_random.Next(1, 40));
                    break;
                case < 15:
                    if (_online) Deliver(_random.Next(1, 4));
                    break;
                case < 17:
                    // Outages and the moments between them.
                    _online = !_online;
                    break;
                case 17:
                    _snapshot = (_nextJournalSeq - 1, RoundTrip(_state.ToSnapshot()));
                    break;
                default:
                    Crash();
                    break;
            }
            Evict();
            CheckNothingIsLost();
        }

        public void DeliverEverything()
        {
            while (Deliver(int.MaxValue) > 0)
            {
            }
        }

        private void Append(int count)
        {
            var first = _state.NextSequence;
            Persist(new LogEntry(first, count, first, first + count, new byte[count * 10]));
        }

        private void Evict()
        {
            while (_state.UnsentBytes > Budget && _state.PlanEviction(Budget * 9 / 10, Math.Max(_ackedSequence, _state.ConsumedSequence), "disk-budget") is { } plan)
            {
                EvictedGapRecords += _state.PendingGaps.Count(p => p.Sequence > _ackedSequence && p.Sequence <= plan.Eviction.ToSequence);
                var first = _state.NextSequence;
                Persist(new LogEntry(first, plan.Gaps.Length, 0, 0, new byte[plan.Gaps.Length * 30], plan.Eviction) { Gaps = plan.Gaps });
            }
        }

        /// <summary>The uplink: the next unsent entries in journal order, then an acknowledgement (journaled or not).</summary>
        private int Deliver(int entries)
        {
            var after = Math.Max(_ackedJournalSeq, _state.ConsumedJournalSeq);
            var sent = _journal.Where(j => j.JournalSeq > after && j.Event is LogEntry).Take(entries).ToList();
            foreach (var (journalSeq, e) in sent)
            {
                var entry = (LogEntry)e;
                _received.AddRange(entry.FirstSequence, entry.LastSequence);
                foreach (var gap in entry.Gaps) _announced.AddRange(gap.FromSequence, gap.ToSequence);
                _ackedJournalSeq = journalSeq;
                _ackedSequence = entry.LastSequence;
            }
            if (sent.Count > 0 && _random.Next(2) == 0) Persist(new DeliveredUpTo(_ackedJournalSeq, _ackedSequence));
            return sent.Count;
        }

        private void Persist(IWalEvent e)
        {
            var stored = RoundTrip(e);
            var journalSeq = _nextJournalSeq++;
            _journal.Add((journalSeq, stored));
            _state = Apply(_state, journalSeq, stored);
        }

        /// <summary>Acknowledgements not journaled are forgotten; the state comes back from the snapshot and the rows after it.</summary>
        private void Crash()
        {
            _state = _snapshot is { } s ? WalState.From(s.Snapshot) : WalState.Empty;
            foreach (var (journalSeq, e) in _journal.Where(j => j.JournalSeq > (_snapshot?.JournalSeq ?? 0)))
                _state = Apply(_state, journalSeq, e);
            _ackedJournalSeq = _state.ConsumedJournalSeq;
            _ackedSequence = _state.ConsumedSequence;
        }

        private string Trace() => string.Join("\n", _journal.Select(j => j.JournalSeq + ": " + (j.Event is LogEntry e ? $"{e.FirstSequence}..{e.LastSequence} {e.Eviction} [{string.Join(",", e.Gaps)}]" : j.Event.ToString()))) +
            $"\nstate {_state.NextSequence} {_state.ConsumedJournalSeq}/{_state.ConsumedSequence} pending [{string.Join(",", _state.PendingGaps)}] acked {_ackedJournalSeq}/{_ackedSequence}";

        private static WalState Apply(WalState state, long journalSeq, IWalEvent e) => e switch
        {
            LogEntry entry => state.Apply(entry, journalSeq, Segment),
            DeliveredUpTo delivered => state.Apply(delivered),
            _ => throw new InvalidOperationException(e.ToString()),
        };

        private T RoundTrip<T>(T e) where T : IWalEvent => (T)_serializer.FromBinary(_serializer.ToBinary(e), _serializer.Manifest(e));

        /// <summary>What is neither at the fleet nor announced to it must still be in the log, unsent or announced by an unsent gap record.</summary>
        private void CheckNothingIsLost()
        {
            var elsewhere = new SequenceSet();
            foreach (var (start, end) in _announced.Ranges) elsewhere.AddRange(start, end);
            var consumed = Math.Max(_ackedJournalSeq, _state.ConsumedJournalSeq);
            foreach (var (journalSeq, e) in _journal)
            {
                if (journalSeq <= consumed || e is not LogEntry entry) continue;
                elsewhere.AddRange(entry.FirstSequence, entry.LastSequence);
                foreach (var gap in entry.Gaps) elsewhere.AddRange(gap.FromSequence, gap.ToSequence);
            }
            var lost = _received.MissingUpTo(_state.LastSequence, elsewhere);
            if (lost.Count > 0) Assert.Fail($"seed {seed}: sequences {lost[0].Start}..{lost[0].End} are neither delivered, announced nor in the log\n{Trace()}");
        }
    }
}
