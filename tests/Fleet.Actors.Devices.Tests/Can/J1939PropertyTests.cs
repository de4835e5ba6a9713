using FsCheck;
using FsCheck.Fluent;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Can;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Tests.Can;

/// <summary>Whatever the bus carries, the decoder neither throws nor emits a value the sensor actor would refuse.</summary>
public sealed class J1939PropertyTests
{
    private static readonly int[] KnownPgns =
    [
        J1939Pgns.Eec1, J1939Pgns.Ccvs, J1939Pgns.Et1, J1939Pgns.Lfe, J1939Pgns.Dd, J1939Pgns.Vd,
        J1939Pgns.Hrvd, J1939Pgns.Tire, J1939Pgns.Vi, J1939Pgns.Dm1,
    ];

    private static readonly Gen<byte> AnyByte = Gen.Choose(0, 255).Select(b => (byte)b);

    // Bytes near the "not available" boundaries are where the bugs live.
    private static readonly Gen<byte> EdgyByte = Gen.Frequency(
        (3, AnyByte), (1, Gen.Elements<byte>(0x00, 0x01, 0x7F, 0x80, 0xFA, 0xFB, 0xFE, 0xFF)));

    private static void AssertAllValid(List<TimedValue> values, List<MalformedFrame> malformed)
    {
        foreach (var value in values) Assert.Null(ReadingValidator.Validate(value.Value));
        foreach (var bad in malformed) Assert.False(string.IsNullOrWhiteSpace(bad.Reason));
    }

    [Fact]
    public void Random_payloads_of_known_PGNs_should_never_throw_and_give_only_valid_values()
    {
        var cases = from pgn in Gen.Elements(KnownPgns)
                    from source in AnyByte
                    from length in Gen.Choose(0, 8)
                    from data in EdgyByte.ArrayOf(length)
                    select (Pgn: pgn, Source: source, Data: data);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var values = new List<TimedValue>();
            var malformed = new List<MalformedFrame>();
            var frame = new CanFrame(J1939Id.For(c.Pgn, c.Source).ToCanId(), true, c.Data);
            new J1939Decoder().Decode(frame, 0, values, malformed);
            AssertAllValid(values, malformed);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Random_reassembled_payloads_of_known_PGNs_should_never_throw_and_give_only_valid_values()
    {
        var cases = from pgn in Gen.Elements(KnownPgns)
                    from length in Gen.Choose(9, 120)
                    from data in EdgyByte.ArrayOf(length)
                    select (Pgn: pgn, Data: data);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var values = new List<TimedValue>();
            var malformed = new List<MalformedFrame>();
            var decoder = new J1939Decoder();
            foreach (var frame in J1939Frames.Bam(c.Pgn, 0x00, c.Data)) decoder.Decode(frame, 0, values, malformed);
            AssertAllValid(values, malformed);
            Assert.Equal(1, decoder.TransportCompleted);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Random_frame_sequences_with_transport_traffic_should_never_throw_and_give_only_valid_values()
    {
        // Few sources and mostly transport frames, so that announcements, packets and timeouts collide.
        var frame = from pgn in Gen.Frequency((3, Gen.Constant(J1939Pgns.TpCm)), (5, Gen.Constant(J1939Pgns.TpDt)), (2, Gen.Elements(KnownPgns)), (1, Gen.Choose(0, 0x3FFFF)))
                    from source in Gen.Elements<byte>(0x00, 0x03, 0x0B)
                    from destination in Gen.Elements<byte>(0xFF, 0xFF, 0x21)
                    from length in Gen.Frequency((6, Gen.Constant(8)), (1, Gen.Choose(0, 7)))
                    from first in Gen.Frequency((2, Gen.Elements<byte>(1, 2, 3, 16, 32)), (1, AnyByte))
                    from rest in EdgyByte.ArrayOf(7)
                    from extended in Gen.Frequency((9, Gen.Constant(true)), (1, Gen.Constant(false)))
                    from gapMs in Gen.Frequency((8, Gen.Choose(0, 100)), (1, Gen.Choose(700, 2000)))
                    select (Frame: extended
                        ? new CanFrame(J1939Id.For(pgn, source, 6, destination).ToCanId(), true, new[] { first }.Concat(rest).Take(length).ToArray())
                        : new CanFrame(0x100, false, rest), GapMs: gapMs);
        Prop.ForAll(frame.ListOf().ToArbitrary(), frames =>
        {
            var values = new List<TimedValue>();
            var malformed = new List<MalformedFrame>();
            var decoder = new J1939Decoder(new J1939Options { MaxTransportSessions = 2 });
            var now = 0L;
            foreach (var (f, gap) in frames)
            {
                now += gap;
                decoder.Decode(f, now, values, malformed);
            }
            AssertAllValid(values, malformed);
            Assert.Equal(frames.Count, decoder.Frames);
        }).QuickCheckThrowOnFailure();
    }
}
