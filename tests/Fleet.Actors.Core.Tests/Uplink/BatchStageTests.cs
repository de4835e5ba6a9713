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
    public void Linger_should_hold_a_partial_batch_until_it_expires_after_the_first_batch()
    {
        var (queue, results) = Source.Queue<StoredEntry>(16, OverflowStrategy.Backpressure)
            .Via(new BatchStage(maxRecords: 1000, maxBytes: 1 << 20, TimeSpan.FromMilliseconds(400)))
            .ToMaterialized(Sink.Queue<IReadOnlyList<StoredEntry>>(), Keep.Both)
            .Run(Sys.Materializer());

        // The first batch of a stream goes out at once: a reconnected vehicle shows up immediately.
        queue.OfferAsync(Entry(1)).Wait();
        var first = results.PullAsync();
        // Well below the 400 ms linger would be ideal, but a cold start JIT-compiles the stage.
        Assert.True(first.Wait(TimeSpan.FromSeconds(10)), "the first batch never went out");
        Assert.Equal([1L], first.Result.Value.Select(e => e.JournalSeq));

        queue.OfferAsync(Entry(2)).Wait();
        queue.OfferAsync(Entry(3)).Wait();
        var pull = results.PullAsync();
        Assert.False(pull.Wait(TimeSpan.FromMilliseconds(200)), "a lingering batch went out early");
        Assert.True(pull.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal([2L, 3L], pull.Result.Value.Select(e => e.JournalSeq));
        queue.Complete();
    }

    [Fact]
    public void Batch_with_enough_records_should_not_wait_for_the_linger()
    {
        var (queue, results) = Source.Queue<StoredEntry>(16, OverflowStrategy.Backpressure)
            .Via(new BatchStage(maxRecords: 1000, maxBytes: 1 << 20, TimeSpan.FromMinutes(1), minRecords: 25))
            .ToMaterialized(Sink.Queue<IReadOnlyList<StoredEntry>>(), Keep.Both)
            .Run(Sys.Materializer());
        queue.OfferAsync(Entry(1)).Wait();
        Assert.True(results.PullAsync().Wait(TimeSpan.FromSeconds(10)));

        var pull = results.PullAsync();
        queue.OfferAsync(Entry(2)).Wait();
        queue.OfferAsync(Entry(3)).Wait();
        Assert.False(pull.Wait(TimeSpan.FromMilliseconds(300)), "20 records went out before the linger");
        queue.OfferAsync(Entry(4)).Wait();
        Assert.True(pull.Wait(TimeSpan.FromSeconds(10)), "30 records waited for the linger");
        Assert.Equal([2L, 3L, 4L], pull.Result.Value.Select(e => e.JournalSeq));
        queue.Complete();
    }

    [Fact]
    public void Flush_handle_should_send_a_lingering_batch_at_once_and_stop_lingering()
    {
        var ((queue, flush), results) = Source.Queue<StoredEntry>(16, OverflowStrategy.Backpressure)
            .ViaMaterialized(new BatchStage(maxRecords: 1000, maxBytes: 1 << 20, TimeSpan.FromMinutes(10)), Keep.Both)
            .ToMaterialized(Sink.Queue<IReadOnlyList<StoredEntry>>(), Keep.Both)
            .Run(Sys.Materializer());
        queue.OfferAsync(Entry(1)).Wait();
        Assert.True(results.PullAsync().Wait(TimeSpan.FromSeconds(10)));

        queue.OfferAsync(Entry(2)).Wait();
        var pull = results.PullAsync();
        Assert.False(pull.Wait(TimeSpan.FromMilliseconds(300)));
        flush.FlushNow();
        Assert.True(pull.Wait(TimeSpan.FromSeconds(10)), "flush did not send the lingering batch");

        queue.OfferAsync(Entry(3)).Wait();
        Assert.True(results.PullAsync().Wait(TimeSpan.FromSeconds(10)), "lingering resumed after a flush");
        queue.Complete();
    }

    [Fact]
    public void Upstream_completion_should_flush_the_partial_batch()
    {
        var batches = Source.From(new[] { Entry(1), Entry(2), Entry(3) })
            .Via(new BatchStage(maxRecords: 1000, maxBytes: 1 << 20, TimeSpan.FromMinutes(5)))
            .RunWith(Sink.Seq<IReadOnlyList<StoredEntry>>(), Sys.Materializer());
        Assert.True(batches.Wait(TimeSpan.FromSeconds(3)), "a lingering batch was not flushed at completion");
        Assert.Equal([[1L], [2L, 3L]], batches.Result.Select(b => b.Select(e => e.JournalSeq).ToArray()));
    }
}
