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
        // The slots of one file (the copy is tested below).
        File.Delete(SequenceMark.CopyOf(_files.SequencePath));

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

    /// <summary>
    /// Found by a newcomer's tryout: a damaged journal together with a mark file deleted or
    /// overwritten made sequences repeat. The copy written beside it keeps the mark; only losing
    /// both loses it, and <see cref="SequenceMark.Problem"/> says what is wrong.
    /// </summary>
    [Fact]
    public void A_mark_file_deleted_or_overwritten_should_be_read_from_its_copy()
    {
        var path = _files.SequencePath;
        Assert.Equal($"{path} is missing; {SequenceMark.CopyOf(path)} is missing", SequenceMark.Problem(path));
        var mark = Mark(30_000);
        SequenceMark.Write(path, Mark(20_000));
        SequenceMark.Write(path, mark);
        Assert.Null(SequenceMark.Problem(path));

        File.Delete(path);
        Assert.Equal(mark, SequenceMark.Read(path));
        Assert.Equal($"{path} is missing", SequenceMark.Problem(path));

        File.WriteAllBytes(path, System.Security.Cryptography.RandomNumberGenerator.GetBytes(144));
        Assert.Equal(mark, SequenceMark.Read(path));
        Assert.Equal($"{path} holds no valid mark", SequenceMark.Problem(path));

        // The next write goes on from the newest counter and mends both.
        var next = Mark(40_000);
        SequenceMark.Write(path, next);
        Assert.Null(SequenceMark.Problem(path));
        File.Delete(SequenceMark.CopyOf(path));
        Assert.Equal(next, SequenceMark.Read(path));

        File.Delete(path);
        Assert.Null(SequenceMark.Read(path));
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
