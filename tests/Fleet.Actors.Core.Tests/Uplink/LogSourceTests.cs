using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using static Fleet.Actors.Core.Wal.WalProtocol;

namespace Fleet.Actors.Core.Tests.Uplink;

public sealed class LogSourceTests : TestKit
{
    private static StoredEntry Entry(long journalSeq) => new(journalSeq, new LogEntry(journalSeq, 1, 0, 0, new byte[10]));

    [Fact]
    public void Source_should_start_from_the_oldest_unsent_entry_and_continue_after_the_last_one_received()
    {
        var log = CreateTestProbe();
        var output = Source.FromGraph(new LogSource(log.Ref, 1000, TimeSpan.FromSeconds(5))).RunWith(Sink.Queue<StoredEntry>(), Sys.Materializer());

        var first = log.ExpectMsg<ReadEntries>();
        Assert.Equal(-1, first.AfterJournalSeq);
        log.Reply(new EntriesRead(first.RequestId, [Entry(3), Entry(5)]));
        Assert.Equal(3, output.PullAsync().Result.Value.JournalSeq);
        Assert.Equal(5, output.PullAsync().Result.Value.JournalSeq);

        var next = log.ExpectMsg<ReadEntries>();
        Assert.Equal(5, next.AfterJournalSeq);
    }

    [Fact]
    public void Source_should_ask_again_when_the_log_does_not_answer_and_ignore_stale_answers()
    {
        var log = CreateTestProbe();
        var output = Source.FromGraph(new LogSource(log.Ref, 1000, TimeSpan.FromMilliseconds(300))).RunWith(Sink.Queue<StoredEntry>(), Sys.Materializer());

        var first = log.ExpectMsg<ReadEntries>();
        var retry = log.ExpectMsg<ReadEntries>(TimeSpan.FromSeconds(2));
        Assert.NotEqual(first.RequestId, retry.RequestId);
        Assert.Equal(first.AfterJournalSeq, retry.AfterJournalSeq);

        var pull = output.PullAsync();
        log.Reply(new EntriesRead(first.RequestId, [Entry(99)]));
        Assert.False(pull.Wait(TimeSpan.FromMilliseconds(200)), "a stale answer was used");
        log.Reply(new EntriesRead(retry.RequestId, [Entry(1)]));
        Assert.Equal(1, pull.Result.Value.JournalSeq);
    }

    [Fact]
    public void Source_should_not_ask_for_more_while_a_chunk_is_waiting_for_demand()
    {
        var log = CreateTestProbe();
        Source.FromGraph(new LogSource(log.Ref, 25, TimeSpan.FromSeconds(5)))
            .RunWith(Sink.Queue<StoredEntry>().WithAttributes(Attributes.CreateInputBuffer(1, 1)), Sys.Materializer());

        var first = log.ExpectMsg<ReadEntries>();
        log.Reply(new EntriesRead(first.RequestId, Enumerable.Range(1, 10).Select(i => Entry(i)).ToList()));
        // Nobody pulls: 100 bytes are buffered, well over the 25-byte chunk; the source must not ask again.
        log.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }
}
