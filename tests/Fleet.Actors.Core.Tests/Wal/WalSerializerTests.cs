using System.Collections.Immutable;
using Akka.Actor;
using Akka.Serialization;
using Fleet.Actors.Testing;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Core.Tests.Wal;

public sealed class WalSerializerTests : IDisposable
{
    private readonly WalFiles _files = new();
    private readonly ActorSystem _system;

    public WalSerializerTests() => _system = ActorSystem.Create("serializer", _files.Setup());

    [Fact]
    public void Persisted_types_should_be_bound_to_the_wal_serializer_with_short_stable_manifests()
    {
        var serialization = _system.Serialization;
        var entry = new LogEntry(1, 1, 1, 1, new byte[] { 1 });
        var serializer = serialization.FindSerializerFor(entry);
        Assert.IsType<WalSerializer>(serializer);
        Assert.Equal(WalSerializer.SerializerId, serializer.Identifier);
        Assert.Equal("E1", Akka.Serialization.Serialization.ManifestFor(serializer, entry));
        Assert.Equal("D1", Akka.Serialization.Serialization.ManifestFor(serializer, new DeliveredUpTo(1, 1)));
        Assert.Equal("S2", Akka.Serialization.Serialization.ManifestFor(serializer, WalState.Empty.ToSnapshot()));
    }

    [Fact]
    public void Entry_should_round_trip_with_and_without_eviction_and_gap_announcements()
    {
        var serializer = (SerializerWithStringManifest)_system.Serialization.FindSerializerForType(typeof(LogEntry));
        var plain = new LogEntry(42, 3, 1000, 1200, new byte[] { 9, 8, 7, 6 });
        var gaps = ImmutableArray.Create(new GapValue(1, 4, 4, "disk-budget"), new GapValue(5, 41, 37, "disk-budget"), new GapValue(50, 50, 1, "corrupt-record"));
        var evicting = plain with { Eviction = new Eviction(77, 5, 41, 37, 123_456, "disk-budget"), Gaps = gaps };
        var announcing = plain with { Gaps = gaps };

        foreach (var entry in new[] { plain, evicting, announcing })
        {
            var copy = Assert.IsType<LogEntry>(serializer.FromBinary(serializer.ToBinary(entry), serializer.Manifest(entry)));
            Assert.Equal(entry.FirstSequence, copy.FirstSequence);
            Assert.Equal(entry.Count, copy.Count);
            Assert.Equal(entry.FirstTimestampMs, copy.FirstTimestampMs);
            Assert.Equal(entry.LastTimestampMs, copy.LastTimestampMs);
            Assert.Equal(entry.Records.ToArray(), copy.Records.ToArray());
            Assert.Equal(entry.Eviction, copy.Eviction);
            Assert.Equal<GapValue>(entry.Gaps, copy.Gaps);
        }
    }

    [Fact]
    public void Eviction_entry_written_before_announcements_were_kept_should_announce_its_own_range()
    {
        var serializer = (SerializerWithStringManifest)_system.Serialization.FindSerializerForType(typeof(LogEntry));
        // The layout of an eviction entry before flag bit 1 existed: header, eviction, records.
        var reason = "disk-budget"u8.ToArray();
        var bytes = new List<byte> { 1 };
        bytes.AddRange(BitConverter.GetBytes(42L));
        bytes.AddRange(BitConverter.GetBytes(1));
        bytes.AddRange(BitConverter.GetBytes(1000L));
        bytes.AddRange(BitConverter.GetBytes(1000L));
        bytes.Add(1);
        foreach (var value in new[] { 77L, 5, 41, 37, 123_456 }) bytes.AddRange(BitConverter.GetBytes(value));
        bytes.AddRange(BitConverter.GetBytes((ushort)reason.Length));
        bytes.AddRange(reason);
        bytes.AddRange(new byte[] { 9, 8 });

        var entry = Assert.IsType<LogEntry>(serializer.FromBinary(bytes.ToArray(), "E1"));
        Assert.Equal(new Eviction(77, 5, 41, 37, 123_456, "disk-budget"), entry.Eviction);
        Assert.Equal<GapValue>([new GapValue(5, 41, 37, "disk-budget")], entry.Gaps);
        Assert.Equal(new byte[] { 9, 8 }, entry.Records.ToArray());
    }

    [Fact]
    public void Snapshot_and_delivered_marker_should_round_trip()
    {
        var serializer = (SerializerWithStringManifest)_system.Serialization.FindSerializerForType(typeof(WalSnapshot));
        var snapshot = new WalSnapshot(1001, 55, 900, 12, 1, ImmutableList.Create(
            new WalSegment(56, 60, 901, 950, 4096, 1_700_000_000_000),
            new WalSegment(61, 70, 951, 1000, 8192, 1_700_000_001_000)),
            ImmutableList.Create(new PendingGap(960, new GapValue(1, 899, 899, "disk-budget"))));
        var copy = Assert.IsType<WalSnapshot>(serializer.FromBinary(serializer.ToBinary(snapshot), "S2"));
        Assert.Equal(snapshot with { Segments = copy.Segments, PendingGaps = copy.PendingGaps }, copy);
        Assert.Equal(snapshot.Segments, copy.Segments);
        Assert.Equal(snapshot.PendingGaps, copy.PendingGaps);

        // A snapshot written before pending gap records were kept ("S1") reads with none.
        var legacy = serializer.ToBinary(snapshot with { PendingGaps = ImmutableList<PendingGap>.Empty });
        var old = Assert.IsType<WalSnapshot>(serializer.FromBinary(legacy[..^4], "S1"));
        Assert.Equal(snapshot.Segments, old.Segments);
        Assert.Empty(old.PendingGaps);
        Assert.Equal(new DeliveredUpTo(9, 99), serializer.FromBinary(serializer.ToBinary(new DeliveredUpTo(9, 99)), "D1"));
    }

    [Theory]
    [InlineData("E1", new byte[] { 1, 2, 3 })]
    [InlineData("E1", new byte[] { 2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5 })]
    [InlineData("D1", new byte[] { 1, 2 })]
    [InlineData("S1", new byte[] { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 127 })]
    [InlineData("S2", new byte[] { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0 })]
    [InlineData("Z9", new byte[] { 1 })]
    public void Corrupt_rows_should_become_corrupt_records_instead_of_exceptions(string manifest, byte[] bytes)
    {
        var serializer = (SerializerWithStringManifest)_system.Serialization.FindSerializerForType(typeof(LogEntry));
        var corrupt = Assert.IsType<CorruptWalRecord>(serializer.FromBinary(bytes, manifest));
        Assert.Equal(manifest, corrupt.Manifest);
        Assert.Equal(bytes.Length, corrupt.Length);
        Assert.False(string.IsNullOrEmpty(corrupt.Error));
    }

    public void Dispose()
    {
        _system.Terminate().Wait(TimeSpan.FromSeconds(10));
        _files.Dispose();
    }
}
