using System.CommandLine;
using Fleet.Actors.Host.Cli;

var root = new RootCommand("fleet-agent: the Fleet.Actors edge agent (see README.md)");
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(CheckCommand.Create());
root.Subcommands.Add(StatusCommand.Create());
root.Subcommands.Add(VerifyCommand.Create());
root.Subcommands.Add(ChaosCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(DecodeCommand.Create());
root.Subcommands.Add(RecordCommand.Create());
root.Subcommands.Add(ModbusCommand.Create());
root.Subcommands.Add(KeysCommand.Create());
root.Subcommands.Add(CommandSendCommand.Create());

// The agent's host handles SIGINT/SIGTERM itself (CoordinatedShutdown); the parser must not race it.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
