using FsCheck;
using FsCheck.Fluent;
using Fleet.Actors.Devices.Can;

namespace Fleet.Actors.Devices.Tests.Can;

public sealed class J1939IdTests
{
    [Fact]
    public void PDU2_id_should_put_PS_into_the_PGN_and_address_everyone()
    {
        // EEC1 from the engine (SA 0x00), priority 3.
        var id = J1939Id.FromCanId(0x0CF00400);

        Assert.Equal(3, id.Priority);
        Assert.False(id.IsPdu1);
        Assert.Equal(J1939Pgns.Eec1, id.Pgn);
        Assert.Equal(0x00, id.SourceAddress);
        Assert.Equal(J1939Id.GlobalAddress, id.DestinationAddress);
        Assert.Equal(J1939Pgns.Ccvs, J1939Id.FromCanId(0x18FEF117).Pgn);
        Assert.Equal(0x17, J1939Id.FromCanId(0x18FEF117).SourceAddress);
    }

    [Fact]
    public void PDU1_id_should_take_PS_as_the_destination_and_leave_it_out_of_the_PGN()
    {
        // A request (PGN 59904) from SA 0x17 to SA 0x21, and a TP.CM to everyone.
        var request = J1939Id.FromCanId(0x18EA2117);
        var broadcast = J1939Id.FromCanId(0x1CECFF00);

        Assert.True(request.IsPdu1);
        Assert.Equal(59904, request.Pgn);
        Assert.Equal(0x21, request.DestinationAddress);
        Assert.Equal(0x17, request.SourceAddress);
        Assert.Equal(7, broadcast.Priority);
        Assert.Equal(J1939Pgns.TpCm, broadcast.Pgn);
        Assert.Equal(J1939Id.GlobalAddress, broadcast.DestinationAddress);
    }

    [Theory]
    [InlineData(0x18FEF100u, 0x0FEF1)]
    [InlineData(0x19FEF100u, 0x1FEF1)] // data page
    [InlineData(0x1AFEF100u, 0x2FEF1)] // extended data page
    [InlineData(0x1BFEF100u, 0x3FEF1)] // both
    [InlineData(0x19EF2203u, 0x1EF00)] // PDU1 on data page 1: destination 0x22 not in the PGN
    public void Data_page_bits_should_be_part_of_the_PGN(uint canId, int pgn)
    {
        var id = J1939Id.FromCanId(canId);
        Assert.Equal(pgn, id.Pgn);
        Assert.Equal(canId, id.ToCanId());
    }

    [Fact]
    public void For_should_build_the_id_of_a_message()
    {
        Assert.Equal(0x0CF00400u, J1939Id.For(J1939Pgns.Eec1, 0x00, priority: 3).ToCanId());
        Assert.Equal(0x18EA2117u, J1939Id.For(59904, 0x17, destination: 0x21).ToCanId());
        Assert.Equal(0x18FECA00u, J1939Id.For(J1939Pgns.Dm1, 0x00, destination: 0x33).ToCanId());
    }

    [Fact]
    public void Any_29_bit_id_should_split_and_join_back()
    {
        Prop.ForAll(Gen.Choose(0, (int)CanFrame.MaxExtendedId).ToArbitrary(), raw =>
        {
            var id = J1939Id.FromCanId((uint)raw);
            Assert.Equal((uint)raw, id.ToCanId());
            Assert.InRange(id.Pgn, 0, 0x3FFFF);
            var rebuilt = J1939Id.For(id.Pgn, id.SourceAddress, id.Priority, id.DestinationAddress);
            Assert.Equal(id, rebuilt);
        }).QuickCheckThrowOnFailure();
    }
}
