using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fleet.Actors.Host.Cli;
using Fleet.Actors.Testing;

namespace Fleet.Actors.PeerTests.Modbus;

/// <summary>
/// <c>fleet-agent modbus</c> run in-process against the libmodbus server, its output captured
/// through the invocation's writers. Derived classes choose the link; the map is that of
/// <c>modbus-server.c</c>.
/// </summary>
public abstract class ModbusCommandContract : IAsyncLifetime
{
    protected ModbusServerPeer Server { get; set; } = null!;

    /// <summary>The target options of the link under test.</summary>
    protected abstract string[] Target { get; }

    public abstract Task InitializeAsync();

    public virtual async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>Runs <c>fleet-agent modbus</c> with the target options appended.</summary>
    protected Task<(int Exit, string Out, string Err)> ModbusAsync(params string[] arguments) =>
        RunAsync([.. arguments, .. Target]);

    /// <summary>Runs <c>fleet-agent modbus</c> as given (also used by <see cref="ModbusBenchTests"/>).</summary>
    internal static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] arguments)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var exit = await new RootCommand { ModbusCommand.Create() }
            .Parse(["modbus", .. arguments])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = errors });
        return (exit, output.ToString(), errors.ToString());
    }

    protected static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

    [Fact]
    public async Task ModbusCommand_read_should_print_every_table_as_address_raw_and_value()
    {
        var coils = await ModbusAsync("read", "--type", "coil", "--address", "10", "--count", "4");
        Assert.Equal((0, ""), (coils.Exit, coils.Err));
        Assert.Equal(["   10  1  true", "   11  0  false", "   12  1  true", "   13  1  true"], Lines(coils.Out));

        var discrete = await ModbusAsync("read", "--type", "discrete", "--address", "2", "--count", "2");
        Assert.Equal(["    2  0  false", "    3  1  true"], Lines(discrete.Out));

        var input = await ModbusAsync("read", "--type", "input", "--address", "0", "--count", "3");
        Assert.Equal(["    0  03E8  1000", "    1  03E9  1001", "    2  03EA  1002"], Lines(input.Out));

        var holding = await ModbusAsync("read", "--type", "holding", "--address", "10", "--count", "2", "--data-type", "i16");
        Assert.Equal(["   10  BEEF  -16657", "   11  FB2E  -1234"], Lines(holding.Out));

        var text = await ModbusAsync("read", "--type", "holding", "--address", "60", "--count", "5", "--data-type", "string");
        Assert.Equal(["   60  464C 4545 542D 504C 4331  \"FLEET-PLC1\""], Lines(text.Out));
    }

    [Fact]
    public async Task ModbusCommand_read_should_decode_f32_in_two_byte_orders_as_text_and_json()
    {
        var abcd = await ModbusAsync("read", "--type", "holding", "--address", "30", "--data-type", "f32");
        Assert.Equal((0, "   30  42F6 E979  123.456"), (abcd.Exit, Lines(abcd.Out).Single()));

        var cdab = await ModbusAsync("read", "--type", "holding", "--address", "32", "--data-type", "f32", "--byte-order", "CDAB", "--json");
        using var json = JsonDocument.Parse(Lines(cdab.Out).Single());
        Assert.Equal(32, json.RootElement.GetProperty("address").GetInt32());
        Assert.Equal(["E979", "42F6"], json.RootElement.GetProperty("registers").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal(123.456f, json.RootElement.GetProperty("value").GetSingle());

        var scaled = await ModbusAsync("read", "--type", "holding", "--address", "32", "--data-type", "f32", "--byte-order", "CDAB", "--scale", "10", "--offset", "-5");
        Assert.Equal("   32  E979 42F6  1229.56", Lines(scaled.Out).Single());
    }

    [Fact]
    public async Task ModbusCommand_write_should_use_functions_6_and_16_for_registers_and_read_back()
    {
        var single = await ModbusAsync("write", "--type", "holding", "--address", "1", "--values", "42");
        Assert.Equal(0, single.Exit);
        Assert.Contains("wrote holding 1 with function 6", single.Err);
        Assert.Equal("    1  002A  42", Lines(single.Out).Single());

        var floats = await ModbusAsync("write", "--type", "holding", "--address", "2", "--values", "3.5,-1", "--data-type", "f32", "--byte-order", "CDAB");
        Assert.Equal(0, floats.Exit);
        Assert.Contains("wrote holding 2..5 with function 16", floats.Err);
        Assert.Equal(["    2  0000 4060  3.5", "    4  0000 BF80  -1"], Lines(floats.Out));

        var back = await ModbusAsync("read", "--type", "holding", "--address", "1", "--count", "5");
        Assert.Equal(["    1  002A  42", "    2  0000  0", "    3  4060  16480", "    4  0000  0", "    5  BF80  49024"], Lines(back.Out));
        var decoded = await ModbusAsync("read", "--type", "holding", "--address", "2", "--count", "2", "--data-type", "f32", "--byte-order", "CDAB");
        Assert.Equal(["    2  0000 4060  3.5", "    4  0000 BF80  -1"], Lines(decoded.Out));
    }

    [Fact]
    public async Task ModbusCommand_write_should_use_functions_5_and_15_for_coils_and_read_back()
    {
        var many = await ModbusAsync("write", "--type", "coil", "--address", "2", "--values", "1,off,true");
        Assert.Equal(0, many.Exit);
        Assert.Contains("wrote coil 2..4 with function 15", many.Err);
        var one = await ModbusAsync("write", "--type", "coil", "--address", "6", "--values", "on");
        Assert.Contains("wrote coil 6 with function 5", one.Err);

        var back = await ModbusAsync("read", "--type", "coil", "--address", "1", "--count", "7", "--json");
        var values = Lines(back.Out).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("value").GetBoolean()).ToArray();
        Assert.Equal([false, true, false, true, false, true, false], values);
    }

    [Fact]
    public async Task ModbusCommand_should_exit_3_with_the_exception_for_an_illegal_address()
    {
        var refused = await ModbusAsync("read", "--type", "holding", "--address", "900", "--count", "10");
        Assert.Equal(ModbusCommand.ExitModbusException, refused.Exit);
        Assert.Equal("modbus: exception 2 (illegal data address) reading holding 900..909", Lines(refused.Err).Single());
        Assert.Equal("", refused.Out);

        var write = await ModbusAsync("write", "--type", "holding", "--address", "100", "--values", "1");
        Assert.Equal((3, "modbus: exception 2 (illegal data address) writing holding 100"), (write.Exit, Lines(write.Err).Single()));
    }

    [Fact]
    public async Task ModbusCommand_should_exit_4_when_the_server_stops_answering()
    {
        await Server.HoldAnswersAsync();
        try
        {
            var silent = await ModbusAsync("read", "--type", "input", "--address", "0", "--timeout", "500ms");
            Assert.Equal(ModbusCommand.ExitTimeout, silent.Exit);
            Assert.StartsWith("modbus: timeout reading input 0", silent.Err, StringComparison.Ordinal);
        }
        finally
        {
            await Server.ReleaseAnswersAsync();
        }
    }

    [Fact]
    public async Task ModbusCommand_should_take_addresses_counts_and_values_in_hex()
    {
        var write = await ModbusAsync("write", "--type", "holding", "--address", "0x8", "--values", "0x2A,0xbeef");
        Assert.Equal(0, write.Exit);
        Assert.Equal(["    8  002A  42", "    9  BEEF  48879"], Lines(write.Out));

        var read = await ModbusAsync("read", "--type", "holding", "--address", "0X0A", "--count", "0x2", "--data-type", "i16");
        Assert.Equal(0, read.Exit);
        Assert.Equal(["   10  BEEF  -16657", "   11  FB2E  -1234"], Lines(read.Out));
    }

    [Theory]
    [InlineData("address 70000 is out of range 0..65535", "read", "--type", "holding", "--address", "70000")]
    [InlineData("address 65536 is out of range 0..65535", "read", "--type", "holding", "--address", "0x10000")]
    [InlineData("'0x1G' is not a number", "write", "--type", "holding", "--address", "0", "--values", "0x1G")]
    [InlineData("value 65536 does not fit u16", "write", "--type", "holding", "--address", "0", "--values", "0x10000")]
    [InlineData("address 65535 + 2 runs past the last address 65535", "read", "--type", "holding", "--address", "65535", "--count", "2")]
    [InlineData("--count 126 is over the protocol limit: at most 125 registers per read", "read", "--type", "input", "--address", "0", "--count", "126")]
    [InlineData("--count 63 is over the protocol limit: at most 125 registers (62 f32 values) per read", "read", "--type", "holding", "--address", "0", "--count", "63", "--data-type", "f32")]
    [InlineData("--count 2001 is over the protocol limit: at most 2000 coils per read", "read", "--type", "coil", "--address", "0", "--count", "2001")]
    [InlineData("value 70000 does not fit u16", "write", "--type", "holding", "--address", "0", "--values", "1,70000")]
    [InlineData("value -1 does not fit u32", "write", "--type", "holding", "--address", "0", "--values", "-1", "--data-type", "u32")]
    [InlineData("'abc' is not a number", "write", "--type", "holding", "--address", "0", "--values", "abc", "--data-type", "i16")]
    [InlineData("'2' is not a coil value", "write", "--type", "coil", "--address", "0", "--values", "1,2")]
    [InlineData("coils and discrete inputs are bits", "read", "--type", "coil", "--address", "0", "--data-type", "f32")]
    [InlineData("--unit 300 is out of range 0..255", "read", "--type", "coil", "--address", "0", "--unit", "300")]
    public async Task ModbusCommand_should_exit_1_with_a_clear_message_for_bad_arguments(string message, params string[] arguments)
    {
        var bad = await ModbusAsync(arguments);
        Assert.Equal(ModbusCommand.ExitBadArguments, bad.Exit);
        Assert.Contains(message, bad.Err, StringComparison.Ordinal);
        Assert.Equal("", bad.Out);
    }
}

/// <summary><c>fleet-agent modbus</c> over Modbus TCP on loopback.</summary>
public sealed partial class ModbusCommandTcpTests : ModbusCommandContract
{
    protected override string[] Target => ["--tcp", $"127.0.0.1:{Server.Port}"];

    public override async Task InitializeAsync() => Server = await ModbusServerPeer.StartTcpAsync();

    [Fact]
    public async Task ModbusCommand_should_exit_5_when_nothing_listens_and_1_without_a_target()
    {
        var refused = await RunAsync("read", "--type", "holding", "--address", "0", "--tcp", $"127.0.0.1:{ModbusServerPeer.FreePort()}");
        Assert.Equal(ModbusCommand.ExitLinkFailed, refused.Exit);
        Assert.Contains("modbus: link failed reading holding 0", refused.Err, StringComparison.Ordinal);

        var none = await RunAsync("read", "--type", "holding", "--address", "0");
        Assert.Equal((1, "modbus: give exactly one of --tcp host[:port], --rtu DEVICE or --rtu-over-tcp host:port"), (none.Exit, Lines(none.Err).Single()));
        var badPort = await RunAsync("read", "--type", "holding", "--address", "0", "--tcp", "localhost:99999");
        Assert.Equal(1, badPort.Exit);
    }

    [Fact]
    public async Task ModbusCommand_should_read_what_mbpoll_reads()
    {
        // libmodbus serves one connection at a time, and each run of either program opens and closes its own.
        var hex = await MbpollAsync("-t", "4:hex", "-r", "31", "-c", "4");
        var bigEndian = await MbpollAsync("-t", "4:float", "-B", "-r", "31", "-c", "1");
        var wordSwapped = await MbpollAsync("-t", "4:float", "-r", "33", "-c", "1");

        var ours = Lines((await ModbusAsync("read", "--type", "holding", "--address", "30", "--count", "4")).Out);
        Assert.Equal(hex, ours.Select(l => "0x" + l.Split("  ", StringSplitOptions.RemoveEmptyEntries)[1]).ToArray());
        var abcd = Lines((await ModbusAsync("read", "--type", "holding", "--address", "30", "--data-type", "f32")).Out).Single();
        var cdab = Lines((await ModbusAsync("read", "--type", "holding", "--address", "32", "--data-type", "f32", "--byte-order", "CDAB")).Out).Single();
        Assert.Equal(float.Parse(bigEndian.Single(), CultureInfo.InvariantCulture), LastNumber(abcd), 3);
        Assert.Equal(float.Parse(wordSwapped.Single(), CultureInfo.InvariantCulture), LastNumber(cdab), 3);
    }

    [Fact]
    public async Task ModbusCommand_should_exit_6_for_a_malformed_reply_and_say_what_was_wrong()
    {
        await using var garbling = await ModbusServerPeer.StartTcpAsync("garble");

        var bad = await RunAsync("read", "--type", "holding", "--address", "0", "--tcp", $"127.0.0.1:{garbling.Port}");

        Assert.Equal(6, bad.Exit);
        var message = Lines(bad.Err).Single();
        Assert.StartsWith("modbus: malformed reply reading holding 0", message, StringComparison.Ordinal);
        Assert.Contains("MBAP protocol id 1, expected 0", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModbusCommand_timeout_should_name_the_frames_it_discarded()
    {
        // A broken gateway: it answers, but always with transaction id 0.
        await using var gateway = await ModbusServerPeer.StartTcpAsync("tid=0");

        var late = await RunAsync("read", "--type", "holding", "--address", "10", "--timeout", "500ms", "--tcp", $"127.0.0.1:{gateway.Port}");

        Assert.Equal(ModbusCommand.ExitTimeout, late.Exit);
        var message = Lines(late.Err).Single();
        Assert.StartsWith("modbus: timeout reading holding 10", message, StringComparison.Ordinal);
        Assert.EndsWith("1 frame discarded: transaction id 0, expected 1", message, StringComparison.Ordinal);
    }

    private static float LastNumber(string line) => float.Parse(line.Split(' ').Last(), CultureInfo.InvariantCulture);

    private async Task<string[]> MbpollAsync(params string[] arguments)
    {
        var output = await Server.MbpollAsync(arguments);
        return MbpollValue().Matches(output).Select(m => m.Groups[1].Value).ToArray();
    }

    [GeneratedRegex(@"^\[\d+\]:\s+(\S+)", RegexOptions.Multiline)]
    private static partial Regex MbpollValue();
}

/// <summary><c>fleet-agent modbus</c> over RTU on a socat pseudo-terminal.</summary>
public sealed class ModbusCommandRtuTests : ModbusCommandContract
{
    private SocatPty _pty = null!;

    protected override string[] Target => ["--rtu", _pty.DevicePath, "--baud", "115200", "--parity", "none"];

    public override async Task InitializeAsync()
    {
        _pty = await SocatPty.StartAsync();
        Server = await ModbusServerPeer.StartRtuAsync(_pty.PeerPath);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _pty.DisposeAsync();
    }

    [Fact]
    public async Task ModbusCommand_should_broadcast_a_write_to_unit_0_and_refuse_a_read_from_it()
    {
        var write = await ModbusAsync("write", "--unit", "0", "--type", "holding", "--address", "7", "--values", "99");
        Assert.Equal(0, write.Exit);
        Assert.StartsWith("modbus: broadcast holding 7 with function 6 to modbus-rtu:", Lines(write.Err).Single(), StringComparison.Ordinal);
        Assert.Equal("    7  0063  99", Lines(write.Out).Single());
        Assert.Equal("    7  0063  99", Lines((await ModbusAsync("read", "--type", "holding", "--address", "7")).Out).Single());

        var read = await ModbusAsync("read", "--unit", "0", "--type", "holding", "--address", "7");
        Assert.Equal((ModbusCommand.ExitBadArguments, "modbus: --unit 0 is the broadcast address: no device answers a read"), (read.Exit, Lines(read.Err).Single()));
    }

    [Fact]
    public async Task ModbusCommand_should_report_a_port_that_System_IO_Ports_refuses_in_one_line()
    {
        // System.IO.Ports throws ArgumentException for a port it cannot set up (as for a pty whose other end is gone).
        var refused = await RunAsync("read", "--type", "holding", "--address", "0", "--rtu", "");
        Assert.Equal(ModbusCommand.ExitLinkFailed, refused.Exit);
        Assert.StartsWith("modbus: link failed reading holding 0: ", Lines(refused.Err).Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModbusCommand_should_exit_5_when_the_serial_device_is_missing()
    {
        var missing = await RunAsync("read", "--type", "holding", "--address", "0", "--rtu", "/dev/fleet-no-such-tty", "--timeout", "1s");
        Assert.Equal(ModbusCommand.ExitLinkFailed, missing.Exit);
        Assert.Contains("modbus: link failed reading holding 0", missing.Err, StringComparison.Ordinal);
    }
}
