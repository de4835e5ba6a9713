using System.CommandLine;
using System.IO.Ports;
using Fleet.Actors.Devices.Serial;

namespace Fleet.Actors.Host.Cli;

/// <summary>
/// <c>fleet-agent record</c>: records what a live serial device sends (and anything sent to it
/// with <c>--send</c>) to a trace file with its timing, for replay by a sensor's <c>replay</c>
/// option or the fleet simulation. To record a conversation the agent drives (an ELM327), set
/// <c>record-to</c> on the sensor instead.
/// </summary>
public static class RecordCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var port = new Option<string>("--port") { Description = "Serial device, e.g. /dev/ttyUSB0", Required = true };
        var baud = new Option<int>("--baud") { Description = "Line speed", DefaultValueFactory = _ => 9600 };
        var output = new Option<FileInfo>("--out") { Description = "Trace file to write", Required = true };
        var duration = CliDurations.Option("--duration", "Stop after this long (0: until Ctrl-C)", TimeSpan.Zero);
        var send = new Option<string[]>("--send") { Description = "Text to send once the port is open (\\r and \\n escapes allowed); may repeat" };
        var command = new Command("record", "Record a live serial port to a trace file that replay can play back");
        foreach (var option in new Option[] { port, baud, output, duration, send }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var errors = parse.InvocationConfiguration.Error;
            var options = new SerialOptions { Port = parse.GetValue(port), BaudRate = parse.GetValue(baud), Parity = Parity.None };
            var path = parse.GetValue(output)!.FullName;
            var limit = parse.GetValue(duration);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (limit > TimeSpan.Zero) stop.CancelAfter(limit);
            long bytes = 0;
            var recorder = new RecordingChannel(new SerialPortChannel(options), path, TimeProvider.System);
            try
            {
                await recorder.OpenAsync(stop.Token);
                errors.WriteLine($"record: {options.Port} @ {options.BaudRate} baud to {path}; Ctrl-C stops");
                foreach (var text in parse.GetValue(send) ?? [])
                    await recorder.WriteAsync(SerialTrace.Unescape(text), stop.Token);
                while (!stop.IsCancellationRequested) bytes += (await recorder.ReadAsync(stop.Token)).Length;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Duration reached or Ctrl-C: a normal end.
            }
            catch (IOException ex)
            {
                errors.WriteLine($"record: {ex.Message}");
                return 1;
            }
            finally
            {
                await recorder.DisposeAsync();
            }
            errors.WriteLine($"record: {bytes} bytes recorded to {path}");
            return 0;
        });
        return command;
    }
}
