using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Core.Tests.Wal;

public sealed class SequenceReservationTests
{
    private readonly ManualClock _clock = new();

    [Fact]
    public void Reservations_should_run_ahead_of_use_and_grow_with_the_rate()
    {
        var reservation = new SequenceReservation(_clock) { Files = ("j", "s") };
        var first = reservation.Reserve(nextSequence: 1, delivered: 0)!;
        Assert.Equal(1 + SequenceReservation.MinBlock, first.Reserved);
        Assert.Equal(("j", "s"), (first.JournalId, first.SnapshotId));
        Assert.Equal(0, reservation.ReservedUpTo); // nothing may be persisted before the mark is durable
        Assert.Null(reservation.Written(first.Reserved, 1, 0));
        Assert.Equal(first.Reserved, reservation.ReservedUpTo);

        Assert.False(reservation.RunningLow(1_000));
        Assert.True(reservation.RunningLow(first.Reserved - SequenceReservation.MinBlock / 4));
        // 8,000 sequences used since the last reservation: the next block is four times that,
        // added to what is already reserved.
        var second = reservation.Reserve(nextSequence: 8_001, delivered: 5_000)!;
        Assert.Equal(first.Reserved + 32_000, second.Reserved);
        Assert.Equal(5_000, second.Delivered);
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
