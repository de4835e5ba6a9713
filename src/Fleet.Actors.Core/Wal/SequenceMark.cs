using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Fleet.Actors.Core.Wal;

/// <summary>
/// The log's sequence high-water mark, kept outside the journal so that a lost journal can never
/// make a sequence number repeat (the fleet would take new readings for old ones). The log reserves
/// sequences in blocks ahead of use and persists no entry beyond what is reserved; the mark also
/// says up to where delivery is known, and which journal and snapshot files it belongs to. When
/// the log finds other files than the mark names (a quarantined file was replaced, or someone
/// deleted one), it resumes above <see cref="Reserved"/> and announces what it cannot vouch for.
/// </summary>
/// <remarks>
/// The file holds two slots written in turn, each with a counter and a checksum, and is fsynced on
/// every write: a write torn by a power cut damages only the slot being written, and the other
/// still holds the previous mark. Every write goes to a copy beside it too (<see cref="CopyOf"/>),
/// and a read takes the newest valid slot of both: a mark file deleted or overwritten along with a
/// damaged journal still lets the log resume above what it used.
/// </remarks>
/// <param name="Reserved">Highest sequence the log may have used.</param>
/// <param name="Delivered">Highest sequence known to be delivered or announced (may lag).</param>
/// <param name="JournalId">Identity of the journal file the mark belongs to.</param>
/// <param name="SnapshotId">Identity of the snapshot file the mark belongs to.</param>
public sealed record SequenceMark(long Reserved, long Delivered, string JournalId, string SnapshotId)
{
    private const int SlotBytes = 72;
    private const int ChecksumOffset = 64;
    private static ReadOnlySpan<byte> Magic => "FSM1"u8;

    /// <summary>The copy of the mark in <paramref name="path"/>, written with it.</summary>
    public static string CopyOf(string path) => path + ".copy";

    /// <summary>The newest valid mark in <paramref name="path"/> or its copy, or null when there is none.</summary>
    public static SequenceMark? Read(string path) => ReadSlot(path)?.Mark;

    /// <summary>
    /// Describes what is wrong with the mark at <paramref name="path"/> (a file missing, or holding no
    /// valid slot), or null when both files hold a valid mark.
    /// </summary>
    public static string? Problem(string path)
    {
        var problems = new[] { path, CopyOf(path) }
            .Select(file => !File.Exists(file) ? $"{file} is missing" : ReadFile(file) is null ? $"{file} holds no valid mark" : null)
            .OfType<string>().ToList();
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }

    /// <summary>Writes <paramref name="mark"/> over the older slot of the file and of its copy, and fsyncs each.</summary>
    public static void Write(string path, SequenceMark mark)
    {
        var current = ReadSlot(path);
        var counter = (current?.Counter ?? 0) + 1;
        var slot = new byte[SlotBytes];
        Magic.CopyTo(slot);
        BinaryPrimitives.WriteInt64LittleEndian(slot.AsSpan(4), counter);
        BinaryPrimitives.WriteInt64LittleEndian(slot.AsSpan(12), mark.Reserved);
        BinaryPrimitives.WriteInt64LittleEndian(slot.AsSpan(20), mark.Delivered);
        ToGuid(mark.JournalId).TryWriteBytes(slot.AsSpan(28, 16));
        ToGuid(mark.SnapshotId).TryWriteBytes(slot.AsSpan(44, 16));
        SHA256.HashData(slot.AsSpan(0, ChecksumOffset))[..8].CopyTo(slot.AsSpan(ChecksumOffset));
        foreach (var target in new[] { path, CopyOf(path) })
        {
            using var file = new FileStream(target, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
            file.Position = (counter % 2) * SlotBytes;
            file.Write(slot);
            file.Flush(flushToDisk: true);
        }
    }

    // File identities are GUIDs in "N" form; "" (no file) is the empty GUID.
    private static Guid ToGuid(string id) => id.Length == 0 ? Guid.Empty : Guid.ParseExact(id, "N");

    private static string FromGuid(Guid id) => id == Guid.Empty ? "" : id.ToString("N");

    private static (long Counter, SequenceMark Mark)? ReadSlot(string path)
    {
        var slots = new[] { ReadFile(path), ReadFile(CopyOf(path)) }.OfType<(long Counter, SequenceMark Mark)>().ToList();
        return slots.Count == 0 ? null : slots.MaxBy(slot => slot.Counter);
    }

    private static (long Counter, SequenceMark Mark)? ReadFile(string path)
    {
        if (!File.Exists(path)) return null;
        var bytes = File.ReadAllBytes(path);
        (long Counter, SequenceMark Mark)? newest = null;
        for (var offset = 0; offset + SlotBytes <= bytes.Length; offset += SlotBytes)
        {
            var slot = bytes.AsSpan(offset, SlotBytes);
            if (!slot[..4].SequenceEqual(Magic)) continue;
            if (!SHA256.HashData(slot[..ChecksumOffset])[..8].AsSpan().SequenceEqual(slot.Slice(ChecksumOffset, 8))) continue;
            var counter = BinaryPrimitives.ReadInt64LittleEndian(slot[4..]);
            if (newest is { } n && n.Counter >= counter) continue;
            newest = (counter, new SequenceMark(
                BinaryPrimitives.ReadInt64LittleEndian(slot[12..]),
                BinaryPrimitives.ReadInt64LittleEndian(slot[20..]),
                FromGuid(new Guid(slot.Slice(28, 16))),
                FromGuid(new Guid(slot.Slice(44, 16)))));
        }
        return newest;
    }
}
