using System.CommandLine;
using System.Globalization;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Host.Bench;
using Fleet.Actors.Host.Broker;

namespace Fleet.Actors.Host.Cli;

/// <summary><c>fleet-agent bench</c>: the whole pipeline against mosquitto with a raw baseline (docs/benchmarks.md).</summary>
public static class BenchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var output = new Option<string?>("--output") { Description = "Also write the markdown report to this file" };
        var step = CliDurations.Option("--step", "Measured time of each throughput step", TimeSpan.FromSeconds(10));
        var rates = new Option<string>("--rates")
        {
            Description = "Offered rates (readings/s) to try, comma-separated",
            DefaultValueFactory = _ => string.Join(",", new BenchOptions().Rates),
        };
        var repeats = new Option<int>("--repeats") { Description = "Repeats of the baseline and start-up runs", DefaultValueFactory = _ => 3 };
        var synchronous = new Option<string>("--synchronous") { Description = "Log durability: full or normal", DefaultValueFactory = _ => "full" };
        var phases = new Option<string>("--phases")
        {
            Description = "Comma-separated phases: throughput, baseline, latency, wire, drain, replay, commands, process, observability, footprint",
            DefaultValueFactory = _ => string.Join(",", BenchOptions.AllPhases),
        };
        var commandRate = new Option<double>("--command-rate") { Description = "Signed commands per second in the commands phase", DefaultValueFactory = _ => new BenchOptions().CommandRate };
        var commandDuration = CliDurations.Option("--command-duration", "Measured time of the commands phase when idle and online", new BenchOptions().CommandDuration);
        var noDelay = new Option<bool>("--broker-tcp-nodelay") { Description = "Start mosquitto with set_tcp_nodelay true (Nagle's algorithm off on its sockets)" };
        var commandRounds = new Option<int>("--command-rounds") { Description = "Outage and drain rounds of the commands phase", DefaultValueFactory = _ => new BenchOptions().CommandRounds };
        var agent = new Option<string?>("--agent")
        {
            Description = "The agent program the footprint phase runs: a published build (e.g. artifacts/publish/linux-x64/fleet-agent) to measure what a vehicle runs; default: this program's dll under dotnet",
        };
        var command = new Command("bench", "Measure the pipeline against a mosquitto it starts itself, next to a raw MQTTnet baseline");
        foreach (var option in new Option[] { output, step, rates, repeats, synchronous, phases, commandRate, commandDuration, commandRounds, noDelay, agent }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new BenchOptions
            {
                StepDuration = parse.GetValue(step),
                Rates = parse.GetValue(rates)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(r => int.Parse(r, CultureInfo.InvariantCulture)).ToList(),
                Repeats = Math.Max(1, parse.GetValue(repeats)),
                Synchronous = parse.GetValue(synchronous) == "normal" ? SqliteSynchronous.Normal : SqliteSynchronous.Full,
                Phases = parse.GetValue(phases)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(),
                CommandRate = Math.Max(0.1, parse.GetValue(commandRate)),
                CommandDuration = parse.GetValue(commandDuration),
                CommandRounds = Math.Max(1, parse.GetValue(commandRounds)),
                AgentProgram = parse.GetValue(agent) is { } program ? Path.GetFullPath(program) : null,
            };
            if (options.AgentProgram is { } given && !File.Exists(given))
            {
                Console.Error.WriteLine($"--agent: no such program {given}");
                return 1;
            }
            var work = Path.Combine(Path.GetTempPath(), "fleet-bench-" + Guid.NewGuid().ToString("N")[..8]);
            await using var broker = new MosquittoProcess(Path.Combine(work, "mosquitto"), tcpNoDelay: parse.GetValue(noDelay));
            await broker.StartAsync(cancellationToken);
            var report = await new PipelineBench(options, broker, work).RunAsync(cancellationToken);
            Console.WriteLine();
            Console.WriteLine(report);
            if (parse.GetValue(output) is { } path)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                await File.WriteAllTextAsync(path, report + Environment.NewLine, cancellationToken);
            }
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
            return 0;
        });
        return command;
    }
}
