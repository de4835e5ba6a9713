using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Core.Tests.Wal;

public class EntryCacheTests
{
    private static StoredEntry Stored(long journalSeq, int bytes) =>
        new(journalSeq, new LogEntry(journalSeq, 1, 0, 0, new byte[bytes]));

    [Fact]
    public void Cache_should_drop_the_oldest_entries_when_full_and_raise_its_floor()
    {
        var cache = new EntryCache(capacityBytes: 300);
        for (var i = 1; i <= 5; i++) cache.Add(Stored(i, 100));
        Assert.Equal(3, cache.Count);
        Assert.Equal(2, cache.Floor);
        Assert.Equal(300, cache.Bytes);
    }

    [Fact]
    public void Read_after_should_return_at_least_one_entry_then_fill_up_to_the_byte_limit()
    {
        var cache = new EntryCache(10_000);
        for (var i = 1; i <= 10; i++) cache.Add(Stored(i * 2, 100));
        Assert.Equal([8L, 10, 12], cache.ReadAfter(7, 300).Select(e => e.JournalSeq));
        Assert.Equal([8L], cache.ReadAfter(6, 50).Select(e => e.JournalSeq));
        Assert.Empty(cache.ReadAfter(20, 1000));
    }

    [Fact]
    public void Removing_delivered_entries_should_not_move_the_floor()
    {
        var cache = new EntryCache(10_000, floor: 0);
        for (var i = 1; i <= 3000; i++) cache.Add(Stored(i, 1));
        cache.RemoveUpTo(2500);
        Assert.Equal(500, cache.Count);
        Assert.Equal(0, cache.Floor);
        Assert.Equal(2501, cache.ReadAfter(0, 10).First().JournalSeq);
    }
}
