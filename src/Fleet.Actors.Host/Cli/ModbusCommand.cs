using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO.Ports;
using System.Net.Sockets;
using Fleet.Actors.Devices.Plc;
using Fleet.Actors.Devices.Serial;

namespace Fleet.Actors.Host.Cli;

/// <summary>
/// <c>fleet-agent modbus read|write</c>: reads and writes any coil, discrete input, input or holding
/// register of a Modbus TCP, RTU or RTU-over-TCP device from the command line, like mbpoll, for
/// commissioning. Values go to standard output (one line, or one JSON object, per value); what went
/// wrong goes to standard error, and the exit code says which kind of failure it was.
/// </summary>
public static class ModbusCommand
{
    /// <summary>Exit code of bad arguments (an address out of range, a count over the protocol limit, a value that does not fit).</summary>
    public const int ExitBadArguments = 1;

    /// <summary>Exit code of a Modbus exception response (the device refused the request).</summary>
    public const int ExitModbusException = 3;

    /// <summary>Exit code of a timeout (no answer, or no connection, within <c>--timeout</c>).</summary>
    public const int ExitTimeout = 4;

    /// <summary>Exit code of a connection or serial line failure.</summary>
    public const int ExitLinkFailed = 5;

    /// <summary>Exit code of a malformed reply (bad CRC, broken header, wrong length or echo): the device answered, but not in a way to trust.</summary>
    public const int ExitMalformedReply = 6;

    private const string ExitCodes =
        "Exit codes: 0 done, 1 bad arguments, 3 Modbus exception response, 4 timeout, 5 connection or line failure, 6 malformed reply.";

    /// <summary>Builds the command with its <c>read</c> and <c>write</c> subcommands.</summary>
    public static Command Create()
    {
        var command = new Command("modbus", $"Read and write a Modbus device's coils and registers (commissioning, like mbpoll). {ExitCodes}");
        command.Subcommands.Add(CreateRead());
        command.Subcommands.Add(CreateWrite());
        command.Subcommands.Add(CreateBench());
        return command;
    }

    private static Command CreateRead()
    {
        var options = new CommonOptions(["coil", "discrete", "input", "holding"]);
        var count = CliNumbers.Option("--count", "-c", "Values to read (registers of the string for --data-type string)", 1);
        var poll = CliDurations.Option("--poll", "Read again at this interval (0: once)", TimeSpan.Zero);
        var times = new Option<int?>("--times") { Description = "Rounds to read (default 1, or until Ctrl-C with --poll)" };
        var json = new Option<bool>("--json") { Description = "One JSON object per value instead of aligned text" };
        var command = new Command("read", $"Read coils, discrete inputs, input or holding registers and print one line per value: address, raw registers in hex, value. {ExitCodes}");
        options.AddTo(command);
        foreach (var option in new Option[] { count, poll, times, json }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var errors = parse.InvocationConfiguration.Error;
            var rounds = parse.GetValue(times) ?? (parse.GetValue(poll) > TimeSpan.Zero ? int.MaxValue : 1);
            if (rounds < 1) return BadArguments(errors, $"--times {rounds} must be at least 1");
            if (!options.TryRead(parse, out var common, out var problem)
                || !ModbusCliPlan.TryRead(common.Table, common.Address, parse.GetValue(count), common.Format, out var plan, out problem))
                return BadArguments(errors, problem);
            var output = new ModbusCliOutput(parse.InvocationConfiguration.Output, parse.GetValue(json));
            await using var client = new ModbusClient(common.Target.Create(common.Timeouts), common.Unit);
            if (client.IsBroadcast) return BadArguments(errors, $"--unit {client.UnitId} is the broadcast address: no device answers a read");
            var interval = parse.GetValue(poll);
            var clock = Stopwatch.StartNew();
            for (var round = 0; round < rounds; round++)
            {
                if (round > 0)
                {
                    var wait = interval * round - clock.Elapsed;
                    if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken);
                    output.Separate();
                }
                var exit = await RunAsync(errors, $"reading {plan.Range}", async () =>
                {
                    if (plan.IsBits) output.Bits(plan.Address, await plan.ReadBitsAsync(client, cancellationToken));
                    else output.Registers(plan.Address, await plan.ReadRegistersAsync(client, cancellationToken), plan.Format);
                });
                if (exit != 0) return exit;
            }
            return 0;
        });
        return command;
    }

    private static Command CreateWrite()
    {
        var options = new CommonOptions(["coil", "holding"]);
        var values = new Option<string>("--values")
        {
            Description = "Comma-separated values (coils: 1, 0, true, false, on, off; registers: numbers in the data type, whole ones also in hex as 0x...; string: the text)",
            Required = true,
        };
        var command = new Command("write",
            $"Write coils (function 5, or 15 for several) or holding registers (6, or 16 for several registers), then print what was written. A write to unit 0 over RTU (or --broadcast) is a broadcast: sent, not answered. {ExitCodes}");
        options.AddTo(command);
        command.Options.Add(values);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var errors = parse.InvocationConfiguration.Error;
            if (!options.TryRead(parse, out var common, out var problem)
                || !ModbusCliPlan.TryWrite(common.Table, common.Address, parse.GetValue(values) ?? "", common.Format, out var plan, out problem))
                return BadArguments(errors, problem);
            var output = new ModbusCliOutput(parse.InvocationConfiguration.Output, json: false);
            await using var client = new ModbusClient(common.Target.Create(common.Timeouts), common.Unit);
            return await RunAsync(errors, $"writing {plan.Range}", async () =>
            {
                var function = await plan.WriteAsync(client, cancellationToken);
                errors.WriteLine(client.IsBroadcast
                    ? $"modbus: broadcast {plan.Range} with function {(byte)function} to {client.Transport.Description} unit {client.UnitId} (no answer expected)"
                    : $"modbus: wrote {plan.Range} with function {(byte)function} to {client.Transport.Description} unit {client.UnitId}");
                if (plan.IsBits) output.Bits(plan.Address, plan.Bits);
                else output.Registers(plan.Address, plan.Registers, plan.Format);
            });
        });
        return command;
    }

    private static Command CreateBench()
    {
        var tcp = new Option<string>("--tcp") { Description = "Modbus TCP device: host[:port] (port 502 by default)", Required = true };
        var unit = CliNumbers.Option("--unit", "-a", "Unit (slave) id, 0..255", 1);
        var address = CliNumbers.Option("--address", "-r", "First holding register, 0-based", 0);
        var count = CliNumbers.Option("--count", "-c", "Registers per request, 1..125", ModbusRequest.MaxReadRegisters);
        var duration = CliDurations.Option("--duration", "Measured time of each side", TimeSpan.FromSeconds(10));
        var warmup = CliDurations.Option("--warmup", "Unmeasured requests before each side", TimeSpan.FromSeconds(2));
        var command = new Command("bench",
            $"Measure read-holding-registers round trips through the client, then through a raw socket loop, one request at a time; print a markdown table (the client's row even when the raw phase fails). {ExitCodes}");
        foreach (var option in new Option[] { tcp, unit, address, count, duration, warmup }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var errors = parse.InvocationConfiguration.Error;
            var (u, a, n) = (parse.GetValue(unit), parse.GetValue(address), parse.GetValue(count));
            if (!TryHostPort(parse.GetValue(tcp)!, out var host, out var port))
                return BadArguments(errors, $"--tcp '{parse.GetValue(tcp)}' is not host[:port] with a port in 1..65535");
            if (u is < 0 or > 255) return BadArguments(errors, $"--unit {u} is out of range 0..255");
            if (n is < 1 or > ModbusRequest.MaxReadRegisters) return BadArguments(errors, $"--count {n} is out of range 1..{ModbusRequest.MaxReadRegisters}");
            if (a < 0 || a + n > 65536) return BadArguments(errors, $"address {a} with --count {n} is out of range 0..65535");
            if (parse.GetValue(duration) <= TimeSpan.Zero) return BadArguments(errors, "--duration must be more than 0");
            var options = new ModbusBenchOptions(host, port, (byte)u, (ushort)a, n, parse.GetValue(duration), parse.GetValue(warmup));
            ModbusBenchSide? ours = null, raw = null;
            var exit = await RunAsync(errors, $"reading holding {a}..{a + n - 1} in the client phase", async () =>
                ours = await ModbusBench.MeasureClientAsync(options, cancellationToken));
            if (ours is null) return exit;
            // The client's figures stand on their own: print them even when the raw loop fails.
            exit = await RunAsync(errors, $"reading holding {a}..{a + n - 1} in the raw phase", async () =>
                raw = await ModbusBench.MeasureRawAsync(options, cancellationToken));
            parse.InvocationConfiguration.Output.Write(new ModbusBenchReport(options, ours, raw).ToMarkdown());
            return exit;
        });
        return command;
    }

    private static int BadArguments(TextWriter errors, string problem)
    {
        errors.WriteLine($"modbus: {problem}");
        return ExitBadArguments;
    }

    // One exchange with the device, its failures turned into a message and an exit code.
    private static async Task<int> RunAsync(TextWriter errors, string what, Func<Task> exchange)
    {
        try
        {
            await exchange();
            return 0;
        }
        catch (ModbusException ex)
        {
            errors.WriteLine($"modbus: exception {ex.Code} ({ex.Name}) {what}");
            return ExitModbusException;
        }
        catch (TimeoutException ex)
        {
            errors.WriteLine($"modbus: timeout {what}: {ex.Message}");
            return ExitTimeout;
        }
        catch (ModbusFrameException ex)
        {
            errors.WriteLine($"modbus: malformed reply {what}: {ex.Message}");
            return ExitMalformedReply;
        }
        catch (Exception ex) when (ex is IOException or SocketException or UnauthorizedAccessException)
        {
            errors.WriteLine($"modbus: link failed {what}: {ex.Message}");
            return ExitLinkFailed;
        }
    }

    /// <summary>Reads <c>host[:port]</c> (<c>[::1]:502</c> for IPv6), port 502 when not given.</summary>
    internal static bool TryHostPort(string text, out string host, out int port)
    {
        port = 502;
        host = text;
        string? portText = null;
        if (text.StartsWith('['))
        {
            // [::1]:502
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) return false;
            host = text[1..close];
            if (close + 1 < text.Length)
            {
                if (text[close + 1] != ':') return false;
                portText = text[(close + 2)..];
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            host = text[..text.IndexOf(':', StringComparison.Ordinal)];
            portText = text[(text.IndexOf(':', StringComparison.Ordinal) + 1)..];
        }
        if (portText is not null && !(int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535))
            return false;
        return host.Length > 0;
    }

    /// <summary>Where the device is, how long to wait for it, and what to address: the options read and write share.</summary>
    private sealed class CommonOptions
    {
        private readonly Option<string> _tcp = new("--tcp") { Description = "Modbus TCP device: host[:port] (port 502 by default)" };
        private readonly Option<string> _rtu = new("--rtu") { Description = "Modbus RTU on a serial device, e.g. /dev/ttyUSB0" };
        private readonly Option<string> _rtuOverTcp = new("--rtu-over-tcp") { Description = "RTU frames over TCP (a serial gateway): host:port" };
        private readonly Option<bool> _broadcast = new("--broadcast") { Description = "The --tcp device is a gateway that passes unit 0 on as a broadcast and does not answer it (RTU always does)" };
        private readonly Option<int> _baud = new("--baud", "-b") { Description = "RTU line speed", DefaultValueFactory = _ => 19200 };
        private readonly Option<string> _parity = new("--parity", "-P") { Description = "RTU parity (even is the Modbus default)", DefaultValueFactory = _ => "even" };
        private readonly Option<string> _stopBits = new("--stop-bits", "-s") { Description = "RTU stop bits", DefaultValueFactory = _ => "1" };
        private readonly Option<int> _unit = CliNumbers.Option("--unit", "-a", "Unit (slave) id, 0..255; 0 is the broadcast address over RTU", 1);
        private readonly Option<TimeSpan> _timeout = CliDurations.Option("--timeout", "Longest wait for a connection or an answer", TimeSpan.FromSeconds(5));
        private readonly Option<string> _type = new("--type", "-t") { Description = "Table", Required = true };
        private readonly Option<int> _address = CliNumbers.Option("--address", "-r", "First address, 0-based as on the wire (holding 40031 of a manual is 30)");
        private readonly Option<string> _dataType = new("--data-type", "-d") { Description = "Data type (default u16 for registers, bool for coils and discrete inputs)" };
        private readonly Option<string> _byteOrder = new("--byte-order", "-B") { Description = "Byte order of multi-register values", DefaultValueFactory = _ => "ABCD" };
        private readonly Option<double> _scale = new("--scale") { Description = "Engineering value = raw * scale + offset (number types)", DefaultValueFactory = _ => 1 };
        private readonly Option<double> _offset = new("--offset") { Description = "See --scale", DefaultValueFactory = _ => 0 };

        public CommonOptions(string[] tables)
        {
            _type.AcceptOnlyFromAmong(tables);
            _parity.AcceptOnlyFromAmong("even", "odd", "none");
            _stopBits.AcceptOnlyFromAmong("1", "2");
            _dataType.AcceptOnlyFromAmong("u16", "i16", "u32", "i32", "f32", "u64", "i64", "f64", "string", "bool");
            _byteOrder.AcceptOnlyFromAmong("ABCD", "CDAB", "BADC", "DCBA");
            _address.Required = true;
        }

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { _tcp, _rtu, _rtuOverTcp, _broadcast, _baud, _parity, _stopBits, _unit, _timeout, _type, _address, _dataType, _byteOrder, _scale, _offset })
                command.Options.Add(option);
        }

        public bool TryRead(ParseResult parse, out Common common, out string problem)
        {
            common = null!;
            var table = parse.GetValue(_type)!;
            var bits = table is "coil" or "discrete";
            var dataType = Enum.Parse<ModbusDataType>(parse.GetValue(_dataType) ?? (bits ? "bool" : "u16"), ignoreCase: true);
            var format = new ModbusCliFormat(dataType, Enum.Parse<ModbusByteOrder>(parse.GetValue(_byteOrder)!), parse.GetValue(_scale), parse.GetValue(_offset));
            var unit = parse.GetValue(_unit);
            var timeout = parse.GetValue(_timeout);
            if (!TryTarget(parse, out var target, out problem)) return false;
            if (unit is < 0 or > 255) return ModbusCliPlan.Fail($"--unit {unit} is out of range 0..255", out problem);
            if (timeout <= TimeSpan.Zero) return ModbusCliPlan.Fail("--timeout must be more than 0", out problem);
            if (!format.TryCheck(bits, out problem)) return false;
            var timeouts = new ModbusTimeouts { Operation = timeout, Connect = timeout };
            common = new Common(target, (byte)unit, timeouts, table, parse.GetValue(_address), format);
            return true;
        }

        private bool TryTarget(ParseResult parse, out ModbusCliTarget target, out string problem)
        {
            target = null!;
            var given = new[] { (_tcp, parse.GetValue(_tcp)), (_rtu, parse.GetValue(_rtu)), (_rtuOverTcp, parse.GetValue(_rtuOverTcp)) }
                .Where(t => t.Item2 is not null).ToList();
            if (given.Count != 1) return ModbusCliPlan.Fail("give exactly one of --tcp host[:port], --rtu DEVICE or --rtu-over-tcp host:port", out problem);
            var (option, value) = given[0];
            if (option == _rtu)
            {
                var baud = parse.GetValue(_baud);
                if (baud <= 0) return ModbusCliPlan.Fail($"--baud {baud} must be more than 0", out problem);
                var serial = new SerialOptions
                {
                    Port = value,
                    BaudRate = baud,
                    Parity = Enum.Parse<Parity>(parse.GetValue(_parity)!, ignoreCase: true),
                    StopBits = parse.GetValue(_stopBits) == "2" ? StopBits.Two : StopBits.One,
                };
                target = new ModbusCliTarget(timeouts => new ModbusRtuTransport(new SerialPortChannel(serial), baud, timeouts));
                problem = "";
                return true;
            }
            if (!TryHostPort(value!, out var host, out var port))
                return ModbusCliPlan.Fail($"{option.Name} '{value}' is not host[:port] with a port in 1..65535", out problem);
            var framing = option == _tcp ? ModbusFraming.Tcp : ModbusFraming.Rtu;
            var broadcast = parse.GetValue(_broadcast);
            target = new ModbusCliTarget(timeouts => new ModbusTcpTransport(host, port, framing, timeouts, broadcast));
            problem = "";
            return true;
        }
    }

    private sealed record Common(ModbusCliTarget Target, byte Unit, ModbusTimeouts Timeouts, string Table, int Address, ModbusCliFormat Format);

    /// <summary>Makes the transport to the device named on the command line.</summary>
    private sealed record ModbusCliTarget(Func<ModbusTimeouts, IModbusTransport> Create);
}
