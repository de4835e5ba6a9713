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
/// still holds the previous mark.
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

    /// <summary>The newest valid mark in <paramref name="path"/>, or null when there is none.</summary>
    public static SequenceMark? Read(string path) => ReadSlot(path)?.Mark;

    /// <summary>Writes <paramref name="mark"/> over the older slot and fsyncs the file.</summary>
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
        using var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        file.Position = (counter % 2) * SlotBytes;
        file.Write(slot);
        file.Flush(flushToDisk: true);
    }

    // File identities are GUIDs in "N" form; "" (no file) is the empty GUID.
    private static Guid ToGuid(string id) => id.Length == 0 ? Guid.Empty : Guid.ParseExact(id, "N");

    private static string FromGuid(Guid id) => id == Guid.Empty ? "" : id.ToString("N");

    private static (long Counter, SequenceMark Mark)? ReadSlot(string path)
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
