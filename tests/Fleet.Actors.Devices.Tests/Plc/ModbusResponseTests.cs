using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Fleet.Actors.Devices.Plc;

namespace Fleet.Actors.Devices.Tests.Plc;

/// <summary>Response validation: exception responses, every malformed case, late and foreign frames, random bytes.</summary>
public sealed class ModbusResponseTests
{
    private static readonly ModbusRequest ReadThree = ModbusRequest.ReadHoldingRegisters(0x6B, 3);

    [Fact]
    public void Valid_read_response_should_pass()
    {
        Assert.Equal(ModbusPduCheck.Valid, ModbusPdu.Check(ReadThree, Convert.FromHexString("0306022B00000064")));
        Assert.Equal(ModbusPduCheck.Valid, ModbusPdu.Check(ModbusRequest.ReadCoils(0x13, 0x13), Convert.FromHexString("0103CD6B05")));
    }

    [Theory]
    [InlineData(1, "illegal function")]
    [InlineData(2, "illegal data address")]
    [InlineData(3, "illegal data value")]
    [InlineData(4, "server device failure")]
    [InlineData(5, "acknowledge")]
    [InlineData(6, "server device busy")]
    [InlineData(10, "gateway path unavailable")]
    [InlineData(11, "gateway target device failed to respond")]
    public async Task Exception_response_should_become_a_ModbusException_with_code_and_name(byte code, string name)
    {
        var check = ModbusPdu.Check(ReadThree, [0x83, code]);
        Assert.Equal(new ModbusPduCheck(ModbusPduStatus.Exception, code), check);

        var link = new ScriptedLink(ModbusFramingTests.Rtu($"0183{code:X2}"));
        var refused = await Assert.ThrowsAsync<ModbusException>(() => Exchange(ModbusFraming.Rtu, link, ReadThree));
        Assert.Equal(code, refused.Code);
        Assert.Equal(name, refused.Name);
        Assert.Contains(name, refused.Message);
    }

    [Theory]
    [InlineData("03", "too short")]
    [InlineData("830203", "exception response of 3 bytes")]
    [InlineData("0406022B00000064", "function code 4")]
    [InlineData("0304022B0000", "byte count 4, expected 6")]
    [InlineData("0306022B000000", "does not match its byte count")]
    [InlineData("0306022B0000006400", "does not match its byte count")]
    public void Malformed_read_response_should_be_garbled(string hex, string problem)
    {
        var check = ModbusPdu.Check(ReadThree, Convert.FromHexString(hex));
        Assert.Equal(ModbusPduStatus.Garbled, check.Status);
        Assert.Contains(problem, check.Problem);
    }

    [Theory]
    [InlineData("0500ACFF00", null)]
    [InlineData("0500ADFF00", "echoes address 173")]
    [InlineData("0500AC0000", "not what was written")]
    [InlineData("0500ACFF0000", "write response of 6 bytes")]
    public void Single_write_response_should_echo_address_and_value(string hex, string? problem)
    {
        var check = ModbusPdu.Check(ModbusRequest.WriteSingleCoil(0xAC, true), Convert.FromHexString(hex));
        Assert.Equal(problem is null ? ModbusPduStatus.Valid : ModbusPduStatus.Garbled, check.Status);
        if (problem is not null) Assert.Contains(problem, check.Problem);
    }

    [Theory]
    [InlineData("1000010002", null)]
    [InlineData("1000010003", "not what was written")]
    [InlineData("1000020002", "echoes address 2")]
    public void Multiple_write_response_should_echo_address_and_quantity(string hex, string? problem)
    {
        var check = ModbusPdu.Check(ModbusRequest.WriteMultipleRegisters(1, [10, 258]), Convert.FromHexString(hex));
        Assert.Equal(problem is null ? ModbusPduStatus.Valid : ModbusPduStatus.Garbled, check.Status);
        if (problem is not null) Assert.Contains(problem, check.Problem);
    }

    [Fact]
    public async Task Late_and_foreign_tcp_frames_should_be_skipped_and_counted()
    {
        var counters = new ModbusCounters();
        var link = new ScriptedLink(
            Convert.FromHexString("0006000000090103060001000200FF"), // transaction 6: an earlier, timed-out request
            Convert.FromHexString("000700000009020306000100020003"), // unit 2: not ours
            Convert.FromHexString("000700000009010306000A000B00"), // ours, in two pieces
            Convert.FromHexString("0C"));
        var data = await new ModbusExchange(ModbusFraming.Tcp, counters).ExchangeAsync(link, 7, 1, ModbusRequest.ReadHoldingRegisters(0, 3), CancellationToken.None);
        Assert.Equal("000A000B000C", Convert.ToHexString(data));
        Assert.Equal(1, counters.LateFrames);
        Assert.Equal(1, counters.ForeignFrames);
        Assert.Equal(0, counters.GarbledFrames);
        Assert.Equal("00070000000601030000000" + "3", Convert.ToHexString(link.Sent[0]));
    }

    [Fact]
    public async Task Foreign_rtu_frame_should_be_skipped_and_the_right_one_taken()
    {
        var counters = new ModbusCounters();
        var link = new ScriptedLink([.. ModbusFramingTests.Rtu("0203020001"), .. ModbusFramingTests.Rtu("0103020002")]);
        var data = await new ModbusExchange(ModbusFraming.Rtu, counters).ExchangeAsync(link, 0, 1, ModbusRequest.ReadHoldingRegisters(0, 1), CancellationToken.None);
        Assert.Equal("0002", Convert.ToHexString(data));
        Assert.Equal(1, counters.ForeignFrames);
    }

    [Theory]
    [InlineData(ModbusFraming.Rtu, "0103020001FFFF")]
    [InlineData(ModbusFraming.Rtu, "0163020001")]
    [InlineData(ModbusFraming.Tcp, "00010001000501030200")]
    [InlineData(ModbusFraming.Tcp, "0001000000050104020001")]
    [InlineData(ModbusFraming.Tcp, "000100000004010301FF")]
    public async Task Garbled_frame_should_fail_with_a_ModbusFrameException_and_be_counted(ModbusFraming framing, string hex)
    {
        var counters = new ModbusCounters();
        var link = new ScriptedLink(Convert.FromHexString(hex));
        await Assert.ThrowsAsync<ModbusFrameException>(() =>
            new ModbusExchange(framing, counters).ExchangeAsync(link, 1, 1, ModbusRequest.ReadHoldingRegisters(0, 1), CancellationToken.None));
        Assert.Equal(1, counters.GarbledFrames);
    }

    [Fact]
    public async Task Truncated_frame_should_never_answer()
    {
        var link = new ScriptedLink(Convert.FromHexString("000100000007010304000100"));
        await Assert.ThrowsAsync<OperationCanceledException>(() => Exchange(ModbusFraming.Tcp, link, ModbusRequest.ReadHoldingRegisters(0, 2)));
    }

    [Property(MaxTest = 2000)]
    public void Random_bytes_should_never_make_the_validators_throw(byte[] bytes, bool tcp)
    {
        bytes ??= [];
        var framing = tcp ? ModbusFraming.Tcp : ModbusFraming.Rtu;
        var status = ModbusFrame.TryTake(framing, bytes, out var length, out _);
        if (status == ModbusFrameStatus.Frame)
        {
            Assert.InRange(length, 1, bytes.Length);
            _ = ModbusFrame.UnitId(framing, bytes.AsSpan(0, length));
            _ = ModbusFrame.TransactionId(framing, bytes.AsSpan(0, length));
            _ = ModbusFrame.Pdu(framing, bytes.AsSpan(0, length)).ToArray();
        }
        foreach (var request in Requests) _ = ModbusPdu.Check(request, bytes);
    }

    [Property(MaxTest = 1000)]
    public Property Mutated_responses_should_give_the_right_data_or_a_validation_failure_only()
    {
        var cases = from requestIndex in Gen.Choose(0, Requests.Length - 1)
                    from tcp in ArbMap.Default.GeneratorFor<bool>()
                    from position in Gen.Choose(0, 300)
                    from value in ArbMap.Default.GeneratorFor<byte>()
                    from truncate in Gen.Choose(0, 3)
                    select (requestIndex, tcp, position, value, truncate);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var request = Requests[c.requestIndex];
            var framing = c.tcp ? ModbusFraming.Tcp : ModbusFraming.Rtu;
            var response = ValidResponse(framing, request);
            response[c.position % response.Length] = c.value;
            if (c.truncate == 0) response = response[..(c.position % response.Length)];
            try
            {
                var data = Exchange(framing, new ScriptedLink(response), request).GetAwaiter().GetResult();
                Assert.Equal(request.ResponseByteCount, data.Length);
            }
            catch (Exception ex) when (ex is ModbusException or ModbusFrameException or OperationCanceledException)
            {
                // A validation result, a refusal, or no answer (the link ran dry): never a wrong value.
            }
        });
    }

    private static readonly ModbusRequest[] Requests =
    [
        ModbusRequest.ReadCoils(3, 12), ModbusRequest.ReadDiscreteInputs(0, 1), ReadThree, ModbusRequest.ReadInputRegisters(9, 125),
        ModbusRequest.WriteSingleCoil(4, true), ModbusRequest.WriteSingleRegister(5, 0xBEEF),
        ModbusRequest.WriteMultipleCoils(6, [true, true, false]), ModbusRequest.WriteMultipleRegisters(7, [1, 2, 3]),
    ];

    private static byte[] ValidResponse(ModbusFraming framing, ModbusRequest request)
    {
        var pdu = new byte[request.ResponsePduLength];
        if (request.IsRead)
        {
            pdu[0] = (byte)request.Function;
            pdu[1] = (byte)request.ResponseByteCount;
        }
        else
        {
            var written = new byte[request.PduLength];
            request.WritePdu(written);
            written.AsSpan(0, 5).CopyTo(pdu);
        }
        if (framing == ModbusFraming.Rtu) return ModbusFramingTests.Rtu("01" + Convert.ToHexString(pdu));
        return [0x00, 0x01, 0x00, 0x00, 0x00, (byte)(pdu.Length + 1), 0x01, .. pdu];
    }

    private static Task<byte[]> Exchange(ModbusFraming framing, ScriptedLink link, ModbusRequest request) =>
        new ModbusExchange(framing, new ModbusCounters()).ExchangeAsync(link, 1, 1, request, CancellationToken.None);

    /// <summary>Delivers scripted chunks, then behaves like a link whose operation timed out.</summary>
    private sealed class ScriptedLink(params byte[][] chunks) : IModbusLink
    {
        private int _next;

        public List<byte[]> Sent { get; } = [];

        public ValueTask<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken) =>
            _next < chunks.Length ? ValueTask.FromResult<ReadOnlyMemory<byte>>(chunks[_next++]) : throw new OperationCanceledException();

        public ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
        {
            Sent.Add(frame.ToArray());
            return ValueTask.CompletedTask;
        }
    }
}
