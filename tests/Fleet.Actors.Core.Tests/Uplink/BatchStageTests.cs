using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Core.Tests.Uplink;

public sealed class BatchStageTests : TestKit
{
    private static StoredEntry Entry(long journalSeq, int records = 10, int bytes = 100) =>
        new(journalSeq, new LogEntry(journalSeq * 100, records, 0, 0, new byte[bytes]));

    private IReadOnlyList<IReadOnlyList<StoredEntry>> RunThroughSlowConsumer(IEnumerable<StoredEntry> entries, BatchStage stage) =>
        Source.From(entries)
            .Via(stage)
            .SelectAsync(1, async batch =>
            {
                await Task.Delay(15);
                return batch;
            })
            .RunWith(Sink.Seq<IReadOnlyList<StoredEntry>>(), Sys.Materializer())
            .Result;

    [Fact]
    public void Batches_should_grow_while_downstream_is_busy_but_never_exceed_the_record_limit()
    {
        var entries = Enumerable.Range(1, 60).Select(i => Entry(i)).ToList();
        var batches = RunThroughSlowConsumer(entries, new BatchStage(maxRecords: 50, maxBytes: 1 << 20, TimeSpan.Zero));

        Assert.Equal(entries, batches.SelectMany(b => b));
        Assert.All(batches, b => Assert.True(b.Sum(e => e.Entry.Count) <= 50));
        Assert.Contains(batches, b => b.Count == 5);
    }

    [Fact]
    public void Batches_should_respect_the_byte_limit_and_keep_an_oversized_entry_whole()
    {
        var entries = Enumerable.Range(1, 30).Select(i => Entry(i, bytes: i == 7 ? 5000 : 300)).ToList();
        var batches = RunThroughSlowConsumer(entries, new BatchStage(maxRecords: 10_000, maxBytes: 1000, TimeSpan.Zero));

        Assert.Equal(entries, batches.SelectMany(b => b));
        Assert.Contains(batches, b => b.Count == 1 && b[0].JournalSeq == 7);
        Assert.All(batches.Where(b => b.Count > 1), b => Assert.True(b.Sum(e => e.Entry.Bytes) <= 1000));
    }

    [Fact]
    public void Linger_should_hold_a_partial_batch_until_it_expires()
    {
        var (queue, results) = Source.Queue<StoredEntry>(16, OverflowStrategy.Backpressure)
            .Via(new BatchStage(maxRecords: 1000, maxBytes: 1 << 20, TimeSpan.FromMilliseconds(400)))
            .ToMaterialized(Sink.Queue<IReadOnlyList<StoredEntry>>(), Keep.Both)
            .Run(Sys.Materializer());

        queue.OfferAsync(Entry(1)).Wait();
        queue.OfferAsync(Entry(2)).Wait();
        var pull = results.PullAsync();
        Assert.False(pull.Wait(TimeSpan.FromMilliseconds(200)), "a lingering batch went out early");
        Assert.True(pull.Wait(TimeSpan.FromSeconds(2)));
        Assert.Equal([1L, 2L], pull.Result.Value.Select(e => e.JournalSeq));
        queue.Complete();
    }

    [Fact]
    public void Upstream_completion_should_flush_the_partial_batch()
    {
        var batches = Source.From(new[] { Entry(1), Entry(2) })
            .Via(new BatchStage(maxRecords: 1000, maxBytes: 1 << 20, TimeSpan.FromMinutes(5)))
            .RunWith(Sink.Seq<IReadOnlyList<StoredEntry>>(), Sys.Materializer());
        Assert.True(batches.Wait(TimeSpan.FromSeconds(3)), "a lingering batch was not flushed at completion");
        Assert.Equal([1L, 2L], Assert.Single(batches.Result).Select(e => e.JournalSeq));
    }
}
