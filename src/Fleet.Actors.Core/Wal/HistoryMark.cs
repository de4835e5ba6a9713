using Akka.Actor;
using Akka.Event;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// Whether the journal and snapshot files an actor recovered from are the ones it wrote to before:
/// a file quarantined after damage (or deleted) is replaced by an empty one, and an actor whose
/// history lived in it recovers without that history and without an error. A small file per actor
/// (<see cref="HistoryFiles.MarkFile"/>) names the journal and snapshot files it last wrote to
/// (their identities, <see cref="JournalFiles.Identity"/>), in the crash-safe two-slot format of
/// <see cref="SequenceMark"/> (its sequence fields unused).
/// </summary>
public static class HistoryMark
{
    /// <summary>
    /// Compares the files with the mark. No mark (the first start, or an agent from before marks):
    /// nothing is known to be replaced. Reads files: call it off an actor's thread.
    /// </summary>
    public static HistoryCheck Check(HistoryFiles files)
    {
        var journal = IdentityOrUnknown(files.JournalPath);
        var snapshot = IdentityOrUnknown(files.SnapshotPath);
        if (SequenceMark.Read(files.MarkFile) is not { } mark) return new HistoryCheck(false, false, journal, snapshot);
        return new HistoryCheck(mark.JournalId != journal, mark.SnapshotId != snapshot, journal, snapshot);
    }

    /// <summary>Records the files now in use (fsynced). Writes a file: call it off an actor's thread.</summary>
    public static void Write(HistoryFiles files)
    {
        var journal = JournalFiles.Identity(files.JournalPath) ?? "";
        var snapshot = JournalFiles.Identity(files.SnapshotPath) ?? "";
        SequenceMark.Write(files.MarkFile, new SequenceMark(0, 0, journal, snapshot));
    }

    /// <summary>Checks off the caller's thread; <paramref name="self"/> is told <see cref="HistoryChecked"/>.</summary>
    public static void CheckAndTell(HistoryFiles files, IActorRef self) =>
        Task.Run(() => Check(files)).PipeTo(self, success: check => new HistoryChecked(check, null),
            failure: ex => new HistoryChecked(null, ex.GetBaseException().Message));

    /// <summary>Writes off the caller's thread; <paramref name="self"/> is told <see cref="HistoryMarkWritten"/>.</summary>
    public static void WriteAndTell(HistoryFiles files, IActorRef self) =>
        Task.Run(() => Write(files)).PipeTo(self, success: () => new HistoryMarkWritten(files, null),
            failure: ex => new HistoryMarkWritten(files, ex.GetBaseException().Message));

    // A file that cannot be read cannot vouch for the history it should hold: it counts as replaced.
    private static string IdentityOrUnknown(string path)
    {
        try
        {
            return JournalFiles.Identity(path) ?? "";
        }
        catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            return "unreadable";
        }
    }
}

/// <summary>The journal and snapshot files an actor persists to, and its mark file (<see cref="HistoryMark"/>).</summary>
public sealed record HistoryFiles(string JournalPath, string SnapshotPath, string MarkFile);

/// <summary>What <see cref="HistoryMark.Check"/> found: which file is not the one the actor wrote to before.</summary>
public sealed record HistoryCheck(bool JournalReplaced, bool SnapshotReplaced, string JournalId, string SnapshotId)
{
    /// <summary>Either file was replaced.</summary>
    public bool AnyReplaced => JournalReplaced || SnapshotReplaced;

    /// <summary>The replaced files, for a log line.</summary>
    public string Describe() => (JournalReplaced, SnapshotReplaced) switch
    {
        (true, true) => "the journal and the snapshot file were",
        (true, false) => "the journal was",
        (false, true) => "the snapshot file was",
        _ => "no file was",
    };
}

/// <summary>The result of <see cref="HistoryMark.CheckAndTell"/>: what was found, or why the check failed (then nothing can be vouched for).</summary>
public sealed record HistoryChecked(HistoryCheck? Check, string? Problem)
{
    /// <summary>True when the history may be incomplete: a file was replaced, or the check failed.</summary>
    public bool MayBeLost => Check is not { AnyReplaced: false };

    /// <summary>Why, for a log line.</summary>
    public string Why => Check is { } check ? $"{check.Describe()} replaced after damage" : $"its history mark could not be read ({Problem})";
}

/// <summary>The result of <see cref="HistoryMark.WriteAndTell"/>.</summary>
public sealed record HistoryMarkWritten(HistoryFiles Files, string? Problem)
{
    /// <summary>Logs a failed write at WRN.</summary>
    public void LogProblem(ILoggingAdapter log, string persistenceId)
    {
        if (Problem is not null)
            log.Warning("Could not write the history mark {0} of {1}: {2} (a later loss of its journal may go unnoticed)", Files.MarkFile, persistenceId, Problem);
    }
}
