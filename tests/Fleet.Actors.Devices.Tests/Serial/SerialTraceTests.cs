using System.Text;
using FsCheck;
using FsCheck.Xunit;
using Fleet.Actors.Devices.Serial;
using Microsoft.Extensions.Time.Testing;

namespace Fleet.Actors.Devices.Tests.Serial;

public sealed class SerialTraceTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"trace-{Guid.NewGuid():N}");

    public SerialTraceTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Property]
    public bool Escape_then_unescape_should_give_back_any_bytes(byte[] data) =>
        SerialTrace.Unescape(SerialTrace.Escape(data)).AsSpan().SequenceEqual(data);

    [Property]
    public bool Escaped_text_should_be_one_printable_line(byte[] data) =>
        SerialTrace.Escape(data).All(c => c >= 0x20 && c < 0x7F);

    [Property]
    public bool Trace_line_should_round_trip(NonNegativeInt offset, bool fromDevice, byte[] data)
    {
        var chunk = new TraceChunk(offset.Get, fromDevice ? TraceDirection.FromDevice : TraceDirection.ToDevice, data);
        return SerialTrace.TryParseLine(SerialTrace.FormatLine(chunk), out var parsed)
               && parsed.OffsetMs == chunk.OffsetMs && parsed.Direction == chunk.Direction && parsed.Data.AsSpan().SequenceEqual(data);
    }

    [Fact]
    public void Plain_capture_should_become_paced_chunks_without_comments_keeping_line_ends()
    {
        var path = Write("plain.log", "# a gpsd capture\n$GPGGA,1*00\r\n$GPRMC,2*00\r\n\n# more\n$GPVTG,3*00\rT123\r");
        var chunks = SerialTrace.Load(path, linesPerSecond: 4, out var skipped);

        Assert.Equal(0, skipped);
        Assert.Equal(["$GPGGA,1*00\r\n", "$GPRMC,2*00\r\n", "\n", "$GPVTG,3*00\r", "T123\r"], chunks.Select(c => Encoding.Latin1.GetString(c.Data)));
        Assert.Equal([0L, 250, 500, 750, 1000], chunks.Select(c => c.OffsetMs));
        Assert.All(chunks, c => Assert.Equal(TraceDirection.FromDevice, c.Direction));
    }

    [Fact]
    public void Trace_should_skip_and_count_lines_that_do_not_parse()
    {
        var path = Write("t.trace", $"{SerialTrace.Header}\n0 > ATZ\\r\n15 < ELM327 v1.5\\r\\r>\nnonsense\n20 ? what\n");
        var chunks = SerialTrace.Load(path, 10, out var skipped);

        Assert.Equal(2, skipped);
        Assert.Equal(2, chunks.Count);
        Assert.Equal(TraceDirection.ToDevice, chunks[0].Direction);
        Assert.Equal("ELM327 v1.5\r\r>", Encoding.Latin1.GetString(chunks[1].Data));
    }

    [Fact]
    public async Task Replay_should_keep_the_recorded_timing_divided_by_the_speed()
    {
        var path = Write("t.trace", $"{SerialTrace.Header}\n1000 < a\n3000 < b\n");
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        await using var replay = new ReplayChannel(new ReplayOptions(path, Speed: 2), time);
        await replay.OpenAsync(CancellationToken.None);

        var first = replay.ReadAsync(CancellationToken.None).AsTask();
        time.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(first.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("a", Encoding.Latin1.GetString((await first).Span));

        var second = replay.ReadAsync(CancellationToken.None).AsTask();
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("b", Encoding.Latin1.GetString((await second).Span));

        await Assert.ThrowsAsync<EndOfStreamException>(() => replay.ReadAsync(CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task Replay_should_answer_only_after_the_driver_wrote_where_the_recording_did()
    {
        var path = Write("t.trace", $"{SerialTrace.Header}\n0 > 010C\\r\n0 < 41 0C 1A F8\\r\\r>\n");
        await using var replay = new ReplayChannel(new ReplayOptions(path, Speed: 0), TimeProvider.System);
        await replay.OpenAsync(CancellationToken.None);

        // At full speed nothing in a replayed read waits but the wait for the driver's write, so where the
        // read stands is known as soon as the call returns.
        var answer = replay.ReadAsync(CancellationToken.None).AsTask();
        Assert.False(answer.IsCompleted);
        await replay.WriteAsync("010C\r"u8.ToArray(), CancellationToken.None);
        Assert.Equal("41 0C 1A F8\r\r>", Encoding.Latin1.GetString((await answer.WaitAsync(TimeSpan.FromSeconds(10))).Span));
    }

    [Fact]
    public async Task Listen_only_replay_should_skip_what_the_recording_sent_to_the_device()
    {
        var path = Write("t.trace", $"{SerialTrace.Header}\n0 > PING\\r\n0 < $GPGGA\\r\\n\n");
        await using var replay = new ReplayChannel(new ReplayOptions(path, Speed: 0), TimeProvider.System, listenOnly: true);
        await replay.OpenAsync(CancellationToken.None);

        var data = await replay.ReadAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("$GPGGA\r\n", Encoding.Latin1.GetString(data.Span));
    }

    [Fact]
    public async Task Looping_replay_should_start_again_at_the_end()
    {
        var path = Write("plain.log", "one\ntwo\n");
        await using var replay = new ReplayChannel(new ReplayOptions(path, Speed: 0, Loop: true), TimeProvider.System);
        await replay.OpenAsync(CancellationToken.None);
        var seen = new List<string>();
        for (var i = 0; i < 5; i++) seen.Add(Encoding.Latin1.GetString((await replay.ReadAsync(CancellationToken.None)).Span));
        Assert.Equal(["one\n", "two\n", "one\n", "two\n", "one\n"], seen);
    }

    [Fact]
    public async Task Recording_should_capture_both_directions_so_that_a_replay_plays_them_back()
    {
        var source = Write("source.trace", $"{SerialTrace.Header}\n0 > ATZ\\r\n5 < ELM327 v1.5\\r\\r>\n10 < \\x00\\xFFbinary\n");
        var recorded = Path.Combine(_directory, "rec", "recorded.trace");
        await using (var recorder = new RecordingChannel(new ReplayChannel(new ReplayOptions(source, Speed: 0), TimeProvider.System), recorded, TimeProvider.System))
        {
            await recorder.OpenAsync(CancellationToken.None);
            await recorder.WriteAsync("ATZ\r"u8.ToArray(), CancellationToken.None);
            await recorder.ReadAsync(CancellationToken.None);
            await recorder.ReadAsync(CancellationToken.None);
        }

        var chunks = SerialTrace.Load(recorded, 10, out var skipped);
        Assert.Equal(0, skipped);
        Assert.Equal([TraceDirection.ToDevice, TraceDirection.FromDevice, TraceDirection.FromDevice], chunks.Select(c => c.Direction));
        Assert.Equal("ATZ\r", Encoding.Latin1.GetString(chunks[0].Data));
        Assert.Equal(new byte[] { 0, 0xFF, (byte)'b', (byte)'i', (byte)'n', (byte)'a', (byte)'r', (byte)'y', (byte)'\n' }.Take(8), chunks[2].Data);
    }

    [Fact]
    public void Line_framer_should_cut_at_any_terminator_and_give_up_overlong_lines_once()
    {
        var framer = new LineFramer(8, (byte)'\r', (byte)'\n');
        var lines = new List<LineFramer.Line>();
        framer.Feed("ab\r\ncd"u8, lines);
        framer.Feed("e\r0123456789abc\rok\n"u8, lines);

        Assert.Equal(
            [new LineFramer.Line("ab", false), new LineFramer.Line("cde", false), new LineFramer.Line("01234567", true), new LineFramer.Line("ok", false)],
            lines);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text, Encoding.Latin1);
        return path;
    }
}
