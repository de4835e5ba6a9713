namespace Fleet.Actors.Core.Wal;

/// <summary>
/// The newest unsent log entries, in journal order, bounded by bytes. Entries at or below
/// <see cref="Floor"/> that are still unsent are only in the journal; above it, all are here.
/// When full, the oldest cached entry is dropped from memory (not from the log) and the floor rises.
/// </summary>
internal sealed class EntryCache
{
    private readonly long _capacityBytes;
    private readonly List<StoredEntry> _items = new();
    private int _head;

    public EntryCache(long capacityBytes, long floor = 0)
    {
        _capacityBytes = capacityBytes;
        Floor = floor;
    }

    /// <summary>Highest journal sequence that may have unsent entries not held here.</summary>
    public long Floor { get; private set; }

    /// <summary>Bytes of the cached entries.</summary>
    public long Bytes { get; private set; }

    /// <summary>Number of cached entries.</summary>
    public int Count => _items.Count - _head;

    /// <summary>The oldest cached entry, or null when empty.</summary>
    public StoredEntry? Oldest => Count > 0 ? _items[_head] : null;

    /// <summary>Adds the newest entry, dropping the oldest ones while over capacity.</summary>
    public void Add(StoredEntry entry)
    {
        _items.Add(entry);
        Bytes += entry.Entry.Bytes;
        while (Bytes > _capacityBytes && Count > 0)
        {
            var dropped = _items[_head];
            Floor = Math.Max(Floor, dropped.JournalSeq);
            RemoveHead();
        }
    }

    /// <summary>Forgets entries up to and including <paramref name="journalSeq"/> (delivered or evicted).</summary>
    public void RemoveUpTo(long journalSeq)
    {
        while (Count > 0 && _items[_head].JournalSeq <= journalSeq) RemoveHead();
    }

    /// <summary>
    /// Cached entries after <paramref name="afterJournalSeq"/>, at least one (if any) and then as
    /// many as fit in <paramref name="maxBytes"/>.
    /// </summary>
    public List<StoredEntry> ReadAfter(long afterJournalSeq, int maxBytes)
    {
        var result = new List<StoredEntry>();
        var index = FirstIndexAfter(afterJournalSeq);
        long bytes = 0;
        for (var i = index; i < _items.Count; i++)
        {
            var entry = _items[i];
            if (result.Count > 0 && bytes + entry.Entry.Bytes > maxBytes) break;
            result.Add(entry);
            bytes += entry.Entry.Bytes;
        }
        return result;
    }

    private int FirstIndexAfter(long journalSeq)
    {
        int lo = _head, hi = _items.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_items[mid].JournalSeq <= journalSeq) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private void RemoveHead()
    {
        Bytes -= _items[_head].Entry.Bytes;
        _items[_head] = null!;
        _head++;
        if (_head > 1024 && _head * 2 > _items.Count)
        {
            _items.RemoveRange(0, _head);
            _head = 0;
        }
    }
}
