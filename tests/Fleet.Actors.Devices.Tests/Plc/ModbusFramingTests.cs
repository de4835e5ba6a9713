using Fleet.Actors.Devices.Plc;

namespace Fleet.Actors.Devices.Tests.Plc;

/// <summary>Requests, frames and CRCs against the byte sequences of the Modbus specifications.</summary>
public sealed class ModbusFramingTests
{
    [Fact]
    public void Crc_should_match_the_specification_example()
    {
        // Modbus over serial line: read holding registers 01 03 00 6B 00 03 has CRC 74 17 (low byte first).
        byte[] frame = [0x01, 0x03, 0x00, 0x6B, 0x00, 0x03, 0, 0];
        Assert.Equal(0x1774, ModbusCrc.Compute(frame.AsSpan(0, 6)));
        Assert.Equal(8, ModbusCrc.Append(frame, 6));
        Assert.Equal("0103006B00037417", Convert.ToHexString(frame));
        Assert.True(ModbusCrc.IsValid(frame));
        frame[3] ^= 1;
        Assert.False(ModbusCrc.IsValid(frame));
    }

    [Fact]
    public void Rtu_request_should_be_slave_id_pdu_and_crc()
    {
        var frame = new byte[ModbusFrame.MaxRequestLength];
        var length = ModbusFrame.WriteRequest(ModbusFraming.Rtu, 99, 1, ModbusRequest.ReadHoldingRegisters(0x6B, 3), frame);
        Assert.Equal("0103006B00037417", Convert.ToHexString(frame, 0, length));
    }

    [Fact]
    public void Tcp_request_should_carry_the_MBAP_header()
    {
        var frame = new byte[ModbusFrame.MaxRequestLength];
        var length = ModbusFrame.WriteRequest(ModbusFraming.Tcp, 0x1234, 0x11, ModbusRequest.ReadHoldingRegisters(0x6B, 3), frame);
        Assert.Equal("123400000006110300" + "6B0003", Convert.ToHexString(frame, 0, length));
    }

    [Theory]
    [InlineData("ReadCoils", "0100130013")]
    [InlineData("ReadDiscreteInputs", "0200C40016")]
    [InlineData("ReadInputRegisters", "0400080001")]
    [InlineData("WriteSingleCoil", "0500ACFF00")]
    [InlineData("WriteSingleRegister", "0600010003")]
    [InlineData("WriteMultipleCoils", "0F0013000A02CD01")]
    [InlineData("WriteMultipleRegisters", "100001000204000A0102")]
    public void Request_pdus_should_match_the_application_protocol_examples(string name, string expected)
    {
        var request = name switch
        {
            "ReadCoils" => ModbusRequest.ReadCoils(0x13, 0x13),
            "ReadDiscreteInputs" => ModbusRequest.ReadDiscreteInputs(0xC4, 0x16),
            "ReadInputRegisters" => ModbusRequest.ReadInputRegisters(0x08, 1),
            "WriteSingleCoil" => ModbusRequest.WriteSingleCoil(0xAC, true),
            "WriteSingleRegister" => ModbusRequest.WriteSingleRegister(1, 3),
            "WriteMultipleCoils" => ModbusRequest.WriteMultipleCoils(0x13, [true, false, true, true, false, false, true, true, true, false]),
            _ => ModbusRequest.WriteMultipleRegisters(1, [0x000A, 0x0102]),
        };
        var pdu = new byte[ModbusRequest.MaxPduLength];
        var length = request.WritePdu(pdu);
        Assert.Equal(expected, Convert.ToHexString(pdu, 0, length));
        Assert.Equal(request.PduLength, length);
    }

    [Fact]
    public void Coil_off_should_be_0000()
    {
        var pdu = new byte[5];
        ModbusRequest.WriteSingleCoil(0xAC, false).WritePdu(pdu);
        Assert.Equal("0500AC0000", Convert.ToHexString(pdu));
    }

    [Fact]
    public void Requests_should_respect_the_protocol_limits()
    {
        Assert.Equal(2000, ModbusRequest.ReadCoils(0, 2000).Quantity);
        Assert.Equal(2000, ModbusRequest.ReadDiscreteInputs(0, 2000).Quantity);
        Assert.Equal(125, ModbusRequest.ReadHoldingRegisters(0, 125).Quantity);
        Assert.Equal(125, ModbusRequest.ReadInputRegisters(0, 125).Quantity);
        Assert.Equal(1968, ModbusRequest.WriteMultipleCoils(0, new bool[1968]).Quantity);
        Assert.Equal(123, ModbusRequest.WriteMultipleRegisters(0, new ushort[123]).Quantity);
        Assert.Equal(1, ModbusRequest.ReadHoldingRegisters(65_535, 1).Quantity);

        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.ReadCoils(0, 2001));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.ReadDiscreteInputs(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.ReadHoldingRegisters(0, 126));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.ReadInputRegisters(0, 126));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.WriteMultipleCoils(0, new bool[1969]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.WriteMultipleRegisters(0, new ushort[124]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.WriteMultipleRegisters(0, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRequest.ReadHoldingRegisters(65_535, 2));
    }

    [Fact]
    public void Longest_request_should_fit_the_request_buffer()
    {
        var frame = new byte[ModbusFrame.MaxRequestLength];
        Assert.Equal(ModbusFrame.MaxRequestLength, ModbusFrame.WriteRequest(ModbusFraming.Tcp, 1, 1, ModbusRequest.WriteMultipleRegisters(0, new ushort[123]), frame));
        Assert.Equal(ModbusFrame.MaxRequestLength - 4, ModbusFrame.WriteRequest(ModbusFraming.Rtu, 1, 1, ModbusRequest.WriteMultipleRegisters(0, new ushort[123]), frame));
    }

    [Fact]
    public void Rtu_response_length_should_be_known_from_function_code_and_byte_count()
    {
        var response = Rtu("010306022B00000064");
        for (var i = 0; i < response.Length; i++)
            Assert.Equal(ModbusFrameStatus.NeedMore, ModbusFrame.TryTake(ModbusFraming.Rtu, response.AsSpan(0, i), out _, out _));
        Assert.Equal(ModbusFrameStatus.Frame, ModbusFrame.TryTake(ModbusFraming.Rtu, [.. response, 0x01, 0x02], out var length, out _));
        Assert.Equal(response.Length, length);
        Assert.Equal(ModbusFrameStatus.Frame, ModbusFrame.TryTake(ModbusFraming.Rtu, Rtu("018302"), out length, out _));
        Assert.Equal(5, length);
        Assert.Equal(ModbusFrameStatus.Frame, ModbusFrame.TryTake(ModbusFraming.Rtu, Rtu("010500ACFF00"), out length, out _));
        Assert.Equal(8, length);
    }

    [Theory]
    [InlineData("0107000000", "unknown function code 7")]
    [InlineData("0103FF", "longer than any response")]
    public void Rtu_response_that_cannot_be_a_frame_should_be_garbled(string hex, string problem)
    {
        Assert.Equal(ModbusFrameStatus.Garbled, ModbusFrame.TryTake(ModbusFraming.Rtu, Convert.FromHexString(hex), out _, out var why));
        Assert.Contains(problem, why);
    }

    [Fact]
    public void Rtu_response_with_a_bad_crc_should_be_garbled()
    {
        var response = Rtu("010306022B00000064");
        response[^1] ^= 0xFF;
        Assert.Equal(ModbusFrameStatus.Garbled, ModbusFrame.TryTake(ModbusFraming.Rtu, response, out _, out var why));
        Assert.Equal("RTU CRC mismatch", why);
    }

    [Theory]
    [InlineData("000100010005", ModbusFrameStatus.NeedMore, null)]
    [InlineData("00010000000501030200", ModbusFrameStatus.NeedMore, null)]
    [InlineData("0001000000050103020001", ModbusFrameStatus.Frame, null)]
    [InlineData("00010001000501030200FF", ModbusFrameStatus.Garbled, "MBAP protocol id 1")]
    [InlineData("0001000000010103", ModbusFrameStatus.Garbled, "MBAP length 1")]
    [InlineData("0001000001000103", ModbusFrameStatus.Garbled, "MBAP length 256")]
    public void Tcp_frames_should_be_taken_by_their_MBAP_length(string hex, ModbusFrameStatus status, string? problem)
    {
        var bytes = Convert.FromHexString(hex);
        Assert.Equal(status, ModbusFrame.TryTake(ModbusFraming.Tcp, bytes, out var length, out var why));
        if (status == ModbusFrameStatus.Frame) Assert.Equal(bytes.Length, length);
        if (problem is not null) Assert.Contains(problem, why);
    }

    [Fact]
    public void Silence_should_be_three_and_a_half_characters_or_1750_microseconds_above_19200_baud()
    {
        Assert.Equal(3.5 * 11 / 9600, ModbusRtuTransport.SilenceFor(9600).TotalSeconds, 6);
        Assert.Equal(3.5 * 11 / 19200, ModbusRtuTransport.SilenceFor(19200).TotalSeconds, 6);
        Assert.Equal(TimeSpan.FromMicroseconds(1750), ModbusRtuTransport.SilenceFor(38400));
        Assert.Equal(TimeSpan.FromMicroseconds(1750), ModbusRtuTransport.SilenceFor(115200));
    }

    internal static byte[] Rtu(string hex)
    {
        var body = Convert.FromHexString(hex);
        var frame = new byte[body.Length + 2];
        body.CopyTo(frame, 0);
        ModbusCrc.Append(frame, body.Length);
        return frame;
    }
}
