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
        Assert.Equal(1, plan.FromSequence);
        Assert.Equal(state.Segments[^2].LastSequence, plan.ToSequence);
        Assert.Equal(plan.ToSequence - plan.FromSequence + 1, plan.Count);
        Assert.Equal(state.Segments[^2].LastJournalSeq, plan.UpToJournalSeq);

        var single = Fill(1);
        Assert.Null(single.PlanEviction(0, 0, "disk-budget"));
    }

    [Fact]
    public void Eviction_should_start_after_what_was_already_acknowledged()
    {
        var state = Fill(9);
        var plan = state.PlanEviction(2000, consumedSequence: 15, "disk-budget");
        Assert.Equal(16, plan!.FromSequence);
    }

    [Fact]
    public void Applying_a_gap_entry_should_consume_the_evicted_range_and_count_it()
    {
        var state = Fill(9);
        var plan = state.PlanEviction(1000, 0, "disk-budget")!;
        state = state.Apply(Entry(91, 1, 30, plan), 10, SegmentBytes);

        Assert.Equal(plan.UpToJournalSeq, state.ConsumedJournalSeq);
        Assert.Equal(plan.ToSequence, state.ConsumedSequence);
        Assert.Equal(plan.Count, state.EvictedTotal);
        Assert.Equal(1, state.GapRecords);
        Assert.Equal(92, state.NextSequence);
        Assert.True(state.UnsentBytes <= 1000 + 30 + 400);
    }

    [Fact]
    public void Snapshot_should_restore_the_same_state()
    {
        var state = Fill(4).Apply(new DeliveredUpTo(1, 10));
        var restored = WalState.From(state.ToSnapshot());
        Assert.Equal(state.NextSequence, restored.NextSequence);
        Assert.Equal(state.ConsumedJournalSeq, restored.ConsumedJournalSeq);
        Assert.Equal(state.Segments, restored.Segments);
    }
}
