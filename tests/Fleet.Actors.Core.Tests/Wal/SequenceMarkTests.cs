using Fleet.Actors.Core.Wal;
using Fleet.Actors.Testing;

namespace Fleet.Actors.Core.Tests.Wal;

public sealed class SequenceMarkTests : IDisposable
{
    private readonly WalFiles _files = new();

    private static SequenceMark Mark(long reserved) => new(reserved, reserved / 2, Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N"));

    [Fact]
    public void Mark_should_read_back_the_last_one_written()
    {
        Assert.Null(SequenceMark.Read(_files.SequencePath));
        var marks = Enumerable.Range(1, 5).Select(i => Mark(i * 10_000)).ToList();
        foreach (var mark in marks)
        {
            SequenceMark.Write(_files.SequencePath, mark);
            Assert.Equal(mark, SequenceMark.Read(_files.SequencePath));
        }
        Assert.Equal(marks[^1] with { JournalId = "", SnapshotId = "" },
            RoundTrip(marks[^1] with { JournalId = "", SnapshotId = "" }));
    }

    [Fact]
    public void A_torn_write_should_leave_the_previous_mark_readable()
    {
        var older = Mark(10_000);
        var newer = Mark(20_000);
        SequenceMark.Write(_files.SequencePath, older); // counter 1: the second slot
        SequenceMark.Write(_files.SequencePath, newer); // counter 2: the first slot
        var bytes = File.ReadAllBytes(_files.SequencePath);

        // A power cut in the middle of writing the newest slot: its checksum no longer matches.
        Assert.Equal(older, ReadWith(bytes, damagedSlot: 0));
        Assert.Equal(newer, ReadWith(bytes, damagedSlot: 1));
        // Both slots damaged: no mark, rather than a wrong one.
        var both = (byte[])bytes.Clone();
        both[20] ^= 0xFF;
        both[72 + 20] ^= 0xFF;
        File.WriteAllBytes(_files.SequencePath, both);
        Assert.Null(SequenceMark.Read(_files.SequencePath));
    }

    private SequenceMark? ReadWith(byte[] bytes, int damagedSlot)
    {
        var copy = (byte[])bytes.Clone();
        copy[damagedSlot * 72 + 20] ^= 0xFF;
        File.WriteAllBytes(_files.SequencePath, copy);
        return SequenceMark.Read(_files.SequencePath);
    }

    private SequenceMark? RoundTrip(SequenceMark mark)
    {
        SequenceMark.Write(_files.SequencePath, mark);
        return SequenceMark.Read(_files.SequencePath);
    }

    public void Dispose() => _files.Dispose();
}
