namespace Fleet.Actors.Core.Telemetry.Verification;

/// <summary>
/// A set of sequence numbers kept as sorted, disjoint, non-adjacent ranges, so that millions of
/// mostly consecutive sequences cost a handful of ranges. Appending in order is O(1).
/// </summary>
public sealed class SequenceSet
{
    private readonly List<(long Start, long End)> _ranges = new();

    /// <summary>Number of distinct sequences in the set.</summary>
    public long Count { get; private set; }

    /// <summary>Highest sequence in the set, or 0.</summary>
    public long Max => _ranges.Count == 0 ? 0 : _ranges[^1].End;

    /// <summary>Lowest sequence in the set, or 0.</summary>
    public long Min => _ranges.Count == 0 ? 0 : _ranges[0].Start;

    /// <summary>The ranges, ascending.</summary>
    public IReadOnlyList<(long Start, long End)> Ranges => _ranges;

    /// <summary>Adds one sequence; false when it was already present.</summary>
    public bool Add(long sequence) => AddRange(sequence, sequence) == 1;

    /// <summary>Adds start..end (inclusive); returns how many of them were new.</summary>
    public long AddRange(long start, long end)
    {
        if (end < start) return 0;
        // Fast path: appending after the last range.
        if (_ranges.Count == 0 || start > _ranges[^1].End + 1)
        {
            _ranges.Add((start, end));
            Count += end - start + 1;
            return end - start + 1;
        }
        if (start == _ranges[^1].End + 1)
        {
            _ranges[^1] = (_ranges[^1].Start, end);
            Count += end - start + 1;
            return end - start + 1;
        }

        // General case: merge every range that overlaps or touches start..end.
        var first = LowerBound(start - 1);
        var last = first;
        var mergedStart = start;
        var mergedEnd = end;
        long covered = 0;
        while (last < _ranges.Count && _ranges[last].Start <= end + 1)
        {
            var (s, e) = _ranges[last];
            covered += Math.Max(0, Math.Min(e, end) - Math.Max(s, start) + 1);
            mergedStart = Math.Min(mergedStart, s);
            mergedEnd = Math.Max(mergedEnd, e);
            last++;
        }
        _ranges.RemoveRange(first, last - first);
        _ranges.Insert(first, (mergedStart, mergedEnd));
        var added = end - start + 1 - covered;
        Count += added;
        return added;
    }

    /// <summary>True when the sequence is in the set.</summary>
    public bool Contains(long sequence)
    {
        var i = LowerBound(sequence);
        return i < _ranges.Count && _ranges[i].Start <= sequence;
    }

    /// <summary>The ranges within 1..<paramref name="upTo"/> that are in neither this set nor <paramref name="other"/>.</summary>
    public List<(long Start, long End)> MissingUpTo(long upTo, SequenceSet? other = null) => MissingBetween(1, upTo, other);

    /// <summary>The ranges within <paramref name="from"/>..<paramref name="upTo"/> that are in neither this set nor <paramref name="other"/>.</summary>
    public List<(long Start, long End)> MissingBetween(long from, long upTo, SequenceSet? other = null)
    {
        var union = new SequenceSet();
        foreach (var (s, e) in _ranges) union.AddRange(s, e);
        if (other is not null) foreach (var (s, e) in other._ranges) union.AddRange(s, e);

        var missing = new List<(long, long)>();
        var next = from;
        foreach (var (s, e) in union._ranges)
        {
            if (s > upTo) break;
            if (s > next) missing.Add((next, s - 1));
            next = Math.Max(next, e + 1);
        }
        if (next <= upTo) missing.Add((next, upTo));
        return missing;
    }

    /// <summary>Index of the first range whose end is at or after <paramref name="sequence"/>.</summary>
    private int LowerBound(long sequence)
    {
        int lo = 0, hi = _ranges.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_ranges[mid].End < sequence) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
