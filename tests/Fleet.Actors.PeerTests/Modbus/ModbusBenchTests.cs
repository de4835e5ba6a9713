using Fleet.Actors.Host.Cli;

namespace Fleet.Actors.PeerTests.Modbus;

/// <summary>
/// <c>fleet-agent modbus bench</c> for about a second a side against the libmodbus server over TCP:
/// the report must be consistent. Speed is not asserted (a shared machine measures nothing reliably).
/// </summary>
public sealed class ModbusBenchTests : IAsyncLifetime
{
    private ModbusServerPeer _server = null!;

    public async Task InitializeAsync() => _server = await ModbusServerPeer.StartTcpAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ModbusBench_should_report_consistent_figures_for_ours_and_the_raw_loop()
    {
        // The server's holding table has 100 registers (modbus-server.c).
        var options = new ModbusBenchOptions("127.0.0.1", _server.Port, 1, 0, 100, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(200));

        var report = await ModbusBench.RunAsync(options);

        Assert.NotNull(report.Raw);
        foreach (var side in new[] { report.Ours, report.Raw })
        {
            Assert.True(side.Requests > 0, $"{side.Name}: no requests");
            Assert.InRange(side.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
            Assert.Equal(side.Requests / side.Elapsed.TotalSeconds, side.RequestsPerSecond, 6);
            Assert.Equal(side.RequestsPerSecond * 100, side.RegistersPerSecond, 6);
            Assert.True(side.MedianMicros > 0, $"{side.Name}: median {side.MedianMicros}");
            Assert.True(side.MedianMicros <= side.P99Micros && side.P99Micros <= side.MaxMicros,
                $"{side.Name}: median {side.MedianMicros} p99 {side.P99Micros} max {side.MaxMicros}");
            // Sequential requests: the round trips cannot add up to more than the measured time.
            Assert.True(side.Requests * side.MedianMicros / 2 <= side.Elapsed.TotalMicroseconds, $"{side.Name}: {side.Requests} requests of {side.MedianMicros} µs");
        }
        Assert.Equal(report.Ours.RequestsPerSecond / report.Raw.RequestsPerSecond, report.Ratio, 6);

        var lines = report.ToMarkdown().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("| | requests | median | p99 | max | requests/s | registers/s | ours / raw |", lines[1]);
        Assert.StartsWith($"| ours: ModbusClient | {report.Ours.Requests:N0} | ", lines[3], StringComparison.Ordinal);
        Assert.StartsWith($"| raw: socket loop | {report.Raw.Requests:N0} | ", lines[4], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModbusCommand_bench_should_exit_3_when_the_device_refuses_the_default_125_registers()
    {
        var (exit, output, errors) = await ModbusCommandContract.RunAsync("bench", "--tcp", $"127.0.0.1:{_server.Port}", "--duration", "1s", "--warmup", "0s");

        Assert.Equal((3, ""), (exit, output));
        Assert.Equal("modbus: exception 2 (illegal data address) reading holding 0..124 in the client phase", errors.Trim());
    }

    [Fact]
    public async Task ModbusCommand_bench_should_print_the_client_phase_when_the_raw_phase_fails_and_name_the_phase()
    {
        // A device that accepts one connection: the client's; the raw loop's is refused or reset.
        await using var single = await ModbusServerPeer.StartTcpAsync("once");

        var (exit, output, errors) = await ModbusCommandContract.RunAsync("bench", "--tcp", $"127.0.0.1:{single.Port}", "--count", "100", "--duration", "1s", "--warmup", "0s");

        Assert.Equal(ModbusCommand.ExitLinkFailed, exit);
        Assert.Contains("| ours: ModbusClient | ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("| raw: socket loop | ", output, StringComparison.Ordinal);
        Assert.StartsWith("modbus: link failed reading holding 0..99 in the raw phase: ", errors.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModbusCommand_bench_should_refuse_a_count_over_125_before_connecting()
    {
        var (exit, output, errors) = await ModbusCommandContract.RunAsync("bench", "--tcp", "127.0.0.1:1", "--count", "126");

        Assert.Equal((1, "", "modbus: --count 126 is out of range 1..125"), (exit, output, errors.Trim()));
    }
}
