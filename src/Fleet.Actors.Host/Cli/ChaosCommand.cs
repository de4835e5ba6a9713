using System.CommandLine;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;

namespace Fleet.Actors.Host.Cli;

/// <summary>
/// <c>fleet-agent chaos kill|broker-outage|disk-budget</c>: process-level fault injection against a real
/// mosquitto broker (started on a free loopback port) with a pass/fail verdict; exit code 0 on pass.
/// </summary>
public static class ChaosCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var command = new Command("chaos", "Fault-injection runs against a real mosquitto with a zero-loss verdict");
        command.Subcommands.Add(Scenario("kill", "Kill the agent with SIGKILL at random moments under load, N rounds", 20, ChaosScenarios.KillRoundsAsync));
        command.Subcommands.Add(Scenario("broker-outage", "Stop and restart the broker N times under load", 3, ChaosScenarios.BrokerOutagesAsync));
        command.Subcommands.Add(Scenario("disk-budget",
            "Long broker outages against a small disk budget, SIGKILL during some: every sequence delivered or announced by a gap record", 5,
            ChaosScenarios.DiskBudgetAsync, defaultRateHz: 400, defaultOutage: TimeSpan.FromSeconds(10)));
        return command;
    }

    private static Command Scenario(string name, string description, int defaultRounds,
        Func<MosquittoProcess, ChaosOptions, CancellationToken, Task<ChaosReport>> run, double defaultRateHz = 100, TimeSpan? defaultOutage = null)
    {
        var rounds = new Option<int>("--rounds") { Description = "Rounds (kills or outages)", DefaultValueFactory = _ => defaultRounds };
        var seed = new Option<int?>("--seed") { Description = "Seed for the random timing (default: random, printed)" };
        var rate = new Option<double>("--obd-rate-hz") { Description = "Simulated OBD samples per second (about 7 readings each)", DefaultValueFactory = _ => defaultRateHz };
        var outage = new Option<double>("--outage-seconds")
        {
            Description = "How long the broker stays down in an outage (disk-budget: between this and twice this)",
            DefaultValueFactory = _ => (defaultOutage ?? new ChaosOptions().OutageDuration).TotalSeconds,
        };
        var verbose = new Option<bool>("--verbose") { Description = "Echo the agents' output" };
        var command = new Command(name, description);
        foreach (var option in new Option[] { rounds, seed, rate, outage, verbose }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new ChaosOptions
            {
                Rounds = parse.GetValue(rounds),
                Seed = parse.GetValue(seed) ?? Random.Shared.Next(),
                ObdRateHz = parse.GetValue(rate),
                OutageDuration = TimeSpan.FromSeconds(parse.GetValue(outage)),
                EchoAgent = parse.GetValue(verbose),
                Log = line => Console.WriteLine(line),
            };
            Console.WriteLine($"{name}: {options.Rounds} rounds, seed {options.Seed}, work folder {options.WorkDirectory}");
            ChaosReport report;
            await using (var broker = new MosquittoProcess(Path.Combine(options.WorkDirectory, "mosquitto")))
            {
                await broker.StartAsync(cancellationToken);
                report = await run(broker, options, cancellationToken);
            }
            Console.WriteLine(report);
            if (!report.Passed)
            {
                Console.WriteLine($"Kept the work folder (the agents' logs and journals): {options.WorkDirectory}");
                return VerifyCommand.Incomplete;
            }
            RemoveWorkFolder(options.WorkDirectory);
            return 0;
        });
        return command;
    }

    // A passed run leaves nothing behind (a long run's journals are large); a failed one is kept for a look.
    private static void RemoveWorkFolder(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.WriteLine($"Could not remove the work folder {folder}: {ex.Message}");
        }
    }
}
