namespace Fleet.Actors.Core.Wal;

/// <summary>
/// The log's side of its <see cref="SequenceMark"/>: how far sequences are reserved, when more are
/// needed and how large a block, when the delivered figure is worth writing again, and which files
/// the mark belongs to. Plain state kept by the log actor; the actor writes the marks it returns,
/// one at a time, off its thread.
/// </summary>
internal sealed class SequenceReservation(TimeProvider time)
{
    /// <summary>Smallest block of sequences reserved at once.</summary>
    public const long MinBlock = 10_000;

    /// <summary>Largest block of sequences reserved at once.</summary>
    public const long MaxBlock = 50_000_000;

    /// <summary>How often the delivered figure is written again while acknowledgements come in.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    private long _block = MinBlock;
    private long _sequenceAtLastReservation;
    private long _writtenAt;
    private bool _stale;

    /// <summary>Highest sequence the log may persist.</summary>
    public long ReservedUpTo { get; private set; }

    /// <summary>A mark is being written.</summary>
    public bool Writing { get; private set; }

    /// <summary>Identities of the journal and snapshot files the mark belongs to.</summary>
    public (string Journal, string Snapshot) Files { get; set; } = ("", "");

    /// <summary>True when the next sequences to hand out are close to the end of the reserved block.</summary>
    public bool RunningLow(long nextSequence) => nextSequence > ReservedUpTo - _block / 2;

    /// <summary>
    /// The mark that reserves the next block after <paramref name="nextSequence"/>, or null while a
    /// write is under way (it is reserved again when that write completes). Blocks grow with the
    /// rate, so that a reservation is due every few seconds at most.
    /// </summary>
    public SequenceMark? Reserve(long nextSequence, long delivered)
    {
        if (Writing)
        {
            _stale = true;
            return null;
        }
        var used = nextSequence - _sequenceAtLastReservation;
        _block = Math.Clamp(Math.Max(_block, used * 4), MinBlock, MaxBlock);
        _sequenceAtLastReservation = nextSequence;
        return Begin(Math.Max(ReservedUpTo, nextSequence) + _block, delivered);
    }

    /// <summary>The same reservation with a newer delivered figure, when one is due and no write is under way.</summary>
    public SequenceMark? Refresh(long delivered) =>
        Writing || time.GetElapsedTime(_writtenAt) < RefreshInterval ? null : Begin(ReservedUpTo, delivered);

    /// <summary>
    /// The files changed (one was replaced after damage): the mark must say so. Returns the mark to
    /// write now, or null when a write is under way (it is written again when that one completes).
    /// </summary>
    public SequenceMark? FilesChanged((string Journal, string Snapshot) files, long delivered)
    {
        Files = files;
        if (!Writing) return Begin(ReservedUpTo, delivered);
        _stale = true;
        return null;
    }

    /// <summary>A mark reserving up to <paramref name="reservedUpTo"/> is durable; returns a follow-up mark if one is owed.</summary>
    public SequenceMark? Written(long reservedUpTo, long nextSequence, long delivered)
    {
        Writing = false;
        ReservedUpTo = Math.Max(ReservedUpTo, reservedUpTo);
        if (!_stale) return null;
        _stale = false;
        return Reserve(nextSequence, delivered);
    }

    /// <summary>The write failed; the caller retries later.</summary>
    public void Failed() => Writing = false;

    private SequenceMark Begin(long reserved, long delivered)
    {
        Writing = true;
        _writtenAt = time.GetTimestamp();
        return new SequenceMark(reserved, delivered, Files.Journal, Files.Snapshot);
    }
}
