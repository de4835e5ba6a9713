using System.CommandLine;
using System.Globalization;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Command = System.CommandLine.Command;
using FleetCommand = Fleet.Actors.Core.Commands.Wire.Command;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Host.Commands;

namespace Fleet.Actors.Host.Cli;

/// <summary>
/// <c>fleet-agent command send</c>: signs one command with an issuer key, publishes it on the
/// vehicle's commands topic, prints every response and exits 0 on SUCCEEDED, 2 on NACK or FAILED,
/// 3 when no final answer came within <c>--timeout</c>, 1 on bad usage.
/// </summary>
public static class CommandSendCommand
{
    /// <summary>Exit code of a NACK or FAILED.</summary>
    public const int Refused = 2;

    /// <summary>Exit code when no final response came in time.</summary>
    public const int NoAnswer = 3;

    /// <summary>Builds <c>command</c> with its <c>send</c> subcommand.</summary>
    public static Command Create()
    {
        var brokerOptions = new CliBrokerOptions();
        var key = new Option<string>("--key") { Description = "The issuer's private key (PEM, from 'fleet-agent keys generate')", Required = true };
        var issuer = new Option<string?>("--issuer") { Description = "The issuer's key id (default: the key file's name without .key)" };
        var tenant = new Option<string>("--tenant") { Description = "The vehicle's tenant", Required = true };
        var vehicle = new Option<string>("--vehicle") { Description = "The vehicle id", Required = true };
        var type = new Option<string>("--type") { Description = "Command type, e.g. PAUSE, EMERGENCY_STOP, GPIO_WRITE (docs/commands.md)", Required = true };
        var id = new Option<string?>("--id")
        {
            Description = "Command id (default: a new UUID). A new command under a used id is refused; to retry without running twice, send the saved bytes again (--save, then 'command resend')",
        };
        var save = new Option<string?>("--save") { Description = "Also write the signed bytes to this file, to send exactly them again with 'command resend' (a retry)" };
        var priority = new Option<string>("--priority") { Description = "LOW, NORMAL, HIGH, CRITICAL or EMERGENCY", DefaultValueFactory = _ => "NORMAL" };
        var expiresIn = CliDurations.Option("--expires-in", "How long the command stays valid", TimeSpan.FromMinutes(5));
        var timeout = CliDurations.Option("--timeout", "How long to wait for the final response", TimeSpan.FromSeconds(30));
        var commandsTopic = new Option<string>("--commands-topic") { DefaultValueFactory = _ => new CommandSettings().CommandsTopic, Description = "Commands topic template" };
        var responsesTopic = new Option<string>("--responses-topic") { DefaultValueFactory = _ => new CommandSettings().ResponsesTopic, Description = "Responses topic template" };
        var payload = CommandPayloadOptions.Create();

        var send = new Command("send", "Sign a command, send it to a vehicle and wait for its response");
        brokerOptions.AddTo(send);
        foreach (var option in new Option[] { key, issuer, tenant, vehicle, type, id, priority, expiresIn, timeout, commandsTopic, responsesTopic, save })
            send.Options.Add(option);
        payload.AddTo(send);
        send.SetAction(async (parse, cancellationToken) =>
        {
            var keyPath = parse.GetValue(key)!;
            if (brokerOptions.Resolve(parse, out var problem) is not { } broker) return Usage(problem);
            var request = new SendRequest(brokerOptions.Url(parse), broker, keyPath, parse.GetValue(issuer) ?? Path.GetFileNameWithoutExtension(keyPath),
                new VehicleIdentity(parse.GetValue(vehicle)!, parse.GetValue(tenant)!), parse.GetValue(type)!, parse.GetValue(id) ?? Guid.NewGuid().ToString(),
                parse.GetValue(priority)!, parse.GetValue(expiresIn), parse.GetValue(timeout),
                new CommandSettings { CommandsTopic = parse.GetValue(commandsTopic)!, ResponsesTopic = parse.GetValue(responsesTopic)! }, parse.GetValue(save));
            return await SendAsync(request, c => payload.Fill(parse, c), cancellationToken);
        });

        var file = new Argument<string>("file") { Description = "Signed bytes written by 'command send --save'" };
        var resendBroker = new CliBrokerOptions();
        var resendTimeout = CliDurations.Option("--timeout", "How long to wait for the final response", TimeSpan.FromSeconds(30));
        var resendCommands = new Option<string>("--commands-topic") { DefaultValueFactory = _ => new CommandSettings().CommandsTopic, Description = "Commands topic template" };
        var resendResponses = new Option<string>("--responses-topic") { DefaultValueFactory = _ => new CommandSettings().ResponsesTopic, Description = "Responses topic template" };
        var resend = new Command("resend", "Send saved signed bytes again (a retry): the vehicle answers with what it answered before, marked duplicate, and runs nothing twice");
        resend.Arguments.Add(file);
        resendBroker.AddTo(resend);
        foreach (var option in new Option[] { resendTimeout, resendCommands, resendResponses }) resend.Options.Add(option);
        resend.SetAction(async (parse, cancellationToken) =>
        {
            if (resendBroker.Resolve(parse, out var problem) is not { } broker) return Usage(problem);
            var path = parse.GetValue(file)!;
            byte[] signed;
            FleetCommand command;
            try
            {
                signed = await File.ReadAllBytesAsync(path, cancellationToken);
                command = FleetCommand.Parser.ParseFrom(SignedCommand.Parser.ParseFrom(signed).Command);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Google.Protobuf.InvalidProtocolBufferException)
            {
                return Usage($"{path}: not the signed bytes of a command ({ex.Message})");
            }
            var topics = new CommandSettings { CommandsTopic = parse.GetValue(resendCommands)!, ResponsesTopic = parse.GetValue(resendResponses)! };
            return await PublishAndWaitAsync(resendBroker.Url(parse), broker, new VehicleIdentity(command.VehicleId, command.Tenant), signed, command.CommandId,
                parse.GetValue(resendTimeout), topics, cancellationToken);
        });

        var root = new Command("command", "Send signed commands to vehicles (the fleet side)");
        root.Subcommands.Add(send);
        root.Subcommands.Add(resend);
        return root;
    }

    private sealed record SendRequest(string Broker, BrokerSettings Settings, string KeyPath, string Issuer, VehicleIdentity Vehicle, string Type, string Id, string Priority,
        TimeSpan ExpiresIn, TimeSpan Timeout, CommandSettings Topics, string? SavePath);

    private static async Task<int> SendAsync(SendRequest request, Func<FleetCommand, string?> fillPayload, CancellationToken cancellationToken)
    {
        var broker = request.Settings;
        if (!CommandPayloads.TryParseType(request.Type, out var type))
            return Usage($"--type: unknown type '{request.Type}' (known: {string.Join(", ", CommandPayloads.AllTypes.Select(t => t.ToWireName()))})");
        if (!Enum.TryParse<Priority>(request.Priority, ignoreCase: true, out var priority) || !Enum.IsDefined(priority))
            return Usage($"--priority: '{request.Priority}' is not LOW, NORMAL, HIGH, CRITICAL or EMERGENCY");
        System.Security.Cryptography.ECDsa signer;
        try
        {
            signer = CommandKeys.PrivateKeyFromPem(await File.ReadAllTextAsync(request.KeyPath, cancellationToken));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return Usage($"--key: {request.KeyPath}: {ex.Message}");
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var command = new FleetCommand
        {
            CommandId = request.Id, VehicleId = request.Vehicle.VehicleId, Tenant = request.Vehicle.Tenant, IssuedAt = now,
            ExpiresAt = now + (long)request.ExpiresIn.TotalMilliseconds, Type = type, Priority = priority, Issuer = request.Issuer,
        };
        if (fillPayload(command) is { } payloadProblem) return Usage(payloadProblem);
        if (CommandPayloads.Check(command) is { } invalid) return Usage(invalid);

        byte[] signed;
        try
        {
            signed = CommandClient.Sign(command, signer);
        }
        finally
        {
            signer.Dispose();
        }
        if (request.SavePath is { Length: > 0 } savePath)
        {
            try
            {
                await File.WriteAllBytesAsync(savePath, signed, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return Usage($"--save: {savePath}: {ex.Message}");
            }
        }
        return await PublishAndWaitAsync(request.Broker, broker, request.Vehicle, signed, command.CommandId, request.Timeout, request.Topics, cancellationToken);
    }

    /// <summary>Publishes signed bytes, prints every answer, and waits for the final one; the exit code.</summary>
    private static async Task<int> PublishAndWaitAsync(string url, BrokerSettings broker, VehicleIdentity vehicle, byte[] signed, string commandId,
        TimeSpan timeout, CommandSettings topics, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await using var client = await CommandClient.ConnectAsync(broker, topics, cancellationToken: deadline.Token);
            await client.PublishAsync(vehicle, signed, deadline.Token);
            var responses = await client.AwaitFinalAsync(commandId, deadline.Token, Print);
            return responses[^1].Status == ResponseStatus.Succeeded ? 0 : Refused;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"fleet-agent command send: no final response to {commandId} within {timeout.TotalSeconds:0.#} s " +
                                               "(is the vehicle online and subscribed? a command sent to an offline vehicle runs when it reconnects, unless it expired)");
            return NoAnswer;
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or MqttLinkException)
        {
            await Console.Error.WriteLineAsync($"fleet-agent command send: {url}: {(ex is MqttLinkException ? ex.Message : ex.GetBaseException().Message)}");
            return NoAnswer;
        }
    }

    private static void Print(CommandResponse response)
    {
        var line = $"{response.Status.ToString().ToUpperInvariant(),-9} {response.CommandId}";
        if (response.Reason.Length > 0) line += $" {response.Reason}:";
        if (response.Message.Length > 0) line += " " + response.Message;
        if (response.Duplicate) line += " (repeated: the command was seen before)";
        if (response.Status == ResponseStatus.Progress) line += string.Create(CultureInfo.InvariantCulture, $" ({response.Progress} %)");
        if (response.OperationalState.Length > 0) line += $" [state {response.OperationalState}]";
        Console.WriteLine(line);
        foreach (var (name, value) in response.Details.OrderBy(d => d.Key, StringComparer.Ordinal)) Console.WriteLine($"  {name} = {value}");
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine($"fleet-agent command send: {problem}");
        return 1;
    }
}
