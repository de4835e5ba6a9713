using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Core.Tests.Wal;

public sealed class SequenceReservationTests
{
    private readonly ManualClock _clock = new();

    [Fact]
    public void Reservations_should_run_ahead_of_use_and_follow_the_rate()
    {
        var reservation = new SequenceReservation(_clock) { Files = ("j", "s") };
        reservation.StartAt(1);
        var first = reservation.Reserve(nextSequence: 1, delivered: 0)!;
        Assert.Equal(1 + SequenceReservation.MinBlock, first.Reserved);
        Assert.Equal(("j", "s"), (first.JournalId, first.SnapshotId));
        Assert.Equal(0, reservation.ReservedUpTo); // nothing may be persisted before the mark is durable
        Assert.Null(reservation.Written(first.Reserved, 1, 0));
        Assert.Equal(first.Reserved, reservation.ReservedUpTo);

        Assert.False(reservation.RunningLow(1_000));
        Assert.True(reservation.RunningLow(first.Reserved - SequenceReservation.MinBlock / 4));
        // 8,000 sequences in 2 s: 4,000 a second, so the next block covers 10 s of that, added to
        // what is already reserved.
        _clock.Advance(TimeSpan.FromSeconds(2));
        var second = reservation.Reserve(nextSequence: 8_001, delivered: 5_000)!;
        Assert.Equal(first.Reserved + 40_000, second.Reserved);
        Assert.Equal(5_000, second.Delivered);
        reservation.Written(second.Reserved, 8_001, 5_000);

        // The rate falls: so does the block (never below the minimum).
        _clock.Advance(TimeSpan.FromMinutes(1));
        var third = reservation.Reserve(nextSequence: 30_001, delivered: 30_000)!;
        Assert.Equal(second.Reserved + SequenceReservation.MinBlock, third.Reserved);
    }

    /// <summary>
    /// Neither the sequences used before a start nor a jump above a mark are rate: restarts and
    /// replaced journals must not make the reserved blocks (and so the announced gaps) grow.
    /// </summary>
    [Fact]
    public void A_start_far_along_should_reserve_the_minimum_block()
    {
        for (var start = 1; start <= 5; start++)
        {
            var reservation = new SequenceReservation(_clock);
            var next = start * 5_000_000L;
            reservation.StartAt(next);
            _clock.Advance(TimeSpan.FromMilliseconds(5));
            Assert.Equal(next + SequenceReservation.MinBlock, reservation.Reserve(next, 0)!.Reserved);
        }
    }

    [Fact]
    public void A_reservation_asked_for_during_a_write_should_follow_it()
    {
        var reservation = new SequenceReservation(_clock);
        var first = reservation.Reserve(1, 0)!;
        Assert.True(reservation.Writing);
        Assert.Null(reservation.Reserve(5_000, 0));
        Assert.Null(reservation.FilesChanged(("j2", "s"), 0));

        var followUp = reservation.Written(first.Reserved, nextSequence: 9_000, delivered: 10);
        Assert.NotNull(followUp);
        Assert.True(followUp.Reserved > first.Reserved);
        Assert.Equal("j2", followUp.JournalId);
        Assert.Null(reservation.Written(followUp.Reserved, 9_000, 10));
    }

    [Fact]
    public void The_delivered_figure_should_be_written_again_at_most_every_refresh_interval()
    {
        var reservation = new SequenceReservation(_clock);
        var first = reservation.Reserve(1, 0)!;
        reservation.Written(first.Reserved, 1, 0);
        Assert.Null(reservation.Refresh(delivered: 500));

        _clock.Advance(SequenceReservation.RefreshInterval);
        var refreshed = reservation.Refresh(delivered: 500)!;
        Assert.Equal((first.Reserved, 500L), (refreshed.Reserved, refreshed.Delivered));
        Assert.Null(reservation.Refresh(delivered: 600)); // one write at a time
        reservation.Failed();
        Assert.Null(reservation.Refresh(delivered: 600)); // and not again before the interval
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
