using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Commands;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Fleet.Actors.Host.Bench;

/// <summary>
/// One command's times in milliseconds: publish → ACK and → final answer at the client (null: none
/// came), and the ACK split at the moment the agent made it (its response timestamp; agent and
/// client share a clock).
/// </summary>
internal sealed record CommandSample(double? AckMs, double? FinalMs, double? AckInAgentMs, double? AckDeliveryMs, ResponseStatus? Final)
{
    /// <summary>Acknowledged, then succeeded.</summary>
    public bool Answered => AckMs is not null && Final == ResponseStatus.Succeeded;
}

/// <summary>One outage and drain of the commands phase.</summary>
internal sealed record DrainRound(int Number, long Backlog, TimeSpan Reconnect, TimeSpan Drain, double DrainRate, double Ingest, TimeSpan GcPauses,
    int Commands, double AckMax, long UnsentAtEnd, long BatchesForwarded, long Acknowledged, TimeSpan CommandsLate);

/// <summary>What the commands phase measured, and its markdown.</summary>
internal sealed record CommandBenchOutcome(IReadOnlyList<string> Report, IReadOnlyList<CommandSample> Idle, IReadOnlyList<CommandSample> Live,
    IReadOnlyList<CommandSample> Drain, IReadOnlyList<DrainRound> Rounds);

/// <summary>
/// The command round trip of issue 8, measured from outside: a <see cref="CommandClient"/> on the
/// same mosquitto publishes signed CHANGE_OPERATIONAL_MODE READY commands (always legal, journaled by
/// the command actor and by the operational state actor) at a steady rate, open loop, and takes the
/// time from just before the PUBLISH to the arrival of the ACK and of the final answer. Three
/// conditions: an idle vehicle, a vehicle at 10,000 readings/s with no backlog, and the same vehicle
/// while a backlog of 500,000 readings drains after a broker outage (repeated over many rounds,
/// because a drain takes well under a second here).
/// </summary>
internal sealed class CommandBench(
    BenchOptions options,
    MosquittoProcess broker,
    Func<string, IReadOnlyList<SensorSettings>, VehicleSettings> vehicleSettings,
    Func<string, string> dataDirectory)
{
    /// <summary>Unsent readings the log holds (at least) when the broker comes back.</summary>
    public const int Backlog = 500_000;

    private const string IssuerId = "bench";
    private const int LiveReadingsPerSecond = 10_000;
    private const double ReadingsPerObdSample = 7.2;
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(3);

    /// <summary>Runs the three conditions; returns the markdown tables and what was measured.</summary>
    public async Task<CommandBenchOutcome> RunAsync(CancellationToken cancellationToken)
    {
        using var issuer = CommandKeys.Generate();
        var report = new List<string>();
        var idle = await IdleAsync(issuer, cancellationToken);
        var (live, drain, rounds) = await UnderLoadAsync(issuer, cancellationToken);

        report.Add("| condition | commands | ACK p50 | ACK p99 | ACK max | final p50 | final p99 | final max | in the agent until the ACK, p50 / p99 | ACK from agent to client, p50 / p99 | not acknowledged or not succeeded |");
        report.Add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        report.Add(Row("idle (GPS 1 Hz, OBD 1 Hz, IMU 10 Hz: 18 readings/s)", idle));
        report.Add(Row($"online at {LiveReadingsPerSecond:N0} readings/s, no backlog", live));
        report.Add(Row($"while {Backlog:N0} readings of backlog drain, {LiveReadingsPerSecond:N0} readings/s live", drain));
        report.Add("");
        report.Add(string.Create(CultureInfo.InvariantCulture,
            $"The {rounds.Count} drain rounds (broker stopped, log filled to the backlog, broker started; commands from the moment the uplink is online until the backlog is under 10,000):"));
        report.Add("");
        report.Add("| per round | min | median | max |");
        report.Add("|---|---:|---:|---:|");
        void Spread(string what, Func<DrainRound, double> value, string format, string unit)
        {
            var values = rounds.Select(value).Order().ToList();
            string F(double v) => v.ToString(format, CultureInfo.InvariantCulture) + unit;
            report.Add($"| {what} | {F(values[0])} | {F(values[values.Count / 2])} | {F(values[^1])} |");
        }
        Spread("backlog when the broker comes back (readings)", r => r.Backlog, "N0", "");
        Spread("broker start → uplink online", r => r.Reconnect.TotalSeconds, "F2", " s");
        Spread("uplink online → command client ready (commands start)", r => r.CommandsLate.TotalMilliseconds, "F0", " ms");
        Spread("drain time (uplink online → backlog under 10,000)", r => r.Drain.TotalSeconds, "F2", " s");
        Spread("drain rate (acknowledged readings/s, backlog and live)", r => r.DrainRate, "N0", "");
        Spread("live ingest (readings/s)", r => r.Ingest, "N0", "");
        Spread("telemetry batches the fleet consumer received during the drain", r => r.BatchesForwarded, "N0", "");
        Spread("GC pauses during the drain (whole process)", r => r.GcPauses.TotalMilliseconds, "F0", " ms");
        Spread("commands sent during the drain", r => r.Commands, "N0", "");
        Spread("slowest ACK of the round", r => r.AckMax, "F0", " ms");
        foreach (var line in report) options.Log(line);
        return new CommandBenchOutcome(report, idle, live, drain, rounds);
    }

    // ------------------------------------------------------------------ conditions

    private async Task<IReadOnlyList<CommandSample>> IdleAsync(ECDsa issuer, CancellationToken cancellationToken)
    {
        var sensors = new List<SensorSettings>
        {
            PipelineBench.Sensor("gps", SimulatedGpsDriver.TypeName, 1), PipelineBench.Obd("obd", 1), PipelineBench.Sensor("imu", SimulatedImuDriver.TypeName, 10),
        };
        var settings = WithIssuer(vehicleSettings("cmd-idle", sensors), issuer);
        await using var agent = await InProcessAgent.StartAsync(settings, dataDirectory("cmd-idle"), options.Synchronous);
        await WaitOnlineAsync(agent, cancellationToken);
        await using var sender = await Sender.ConnectAsync(broker, settings.Identity, issuer);
        await sender.RunAsync(options.CommandRate, Warmup, cancellationToken);
        var samples = await sender.RunAsync(options.CommandRate, options.CommandDuration, cancellationToken);
        await agent.ShutdownAsync(TimeSpan.FromSeconds(30));
        return samples;
    }

    private async Task<(IReadOnlyList<CommandSample> Live, IReadOnlyList<CommandSample> Drain, IReadOnlyList<DrainRound> Rounds)> UnderLoadAsync(ECDsa issuer,
        CancellationToken cancellationToken)
    {
        const string vehicle = "cmd-drain";
        var sensors = Enumerable.Range(1, 10).Select(i => PipelineBench.Obd($"obd-{i}", LiveReadingsPerSecond / (10 * ReadingsPerObdSample))).ToList();
        var settings = WithIssuer(vehicleSettings(vehicle, sensors), issuer);
        await using var agent = await InProcessAgent.StartAsync(settings, dataDirectory(vehicle), options.Synchronous);
        await WaitOnlineAsync(agent, cancellationToken);
        IReadOnlyList<CommandSample> live;
        await using (var sender = await Sender.ConnectAsync(broker, settings.Identity, issuer))
        await using (await TelemetryConsumer.ConnectAsync(broker, settings.Identity))
        {
            await sender.RunAsync(options.CommandRate, Warmup, cancellationToken);
            live = await sender.RunAsync(options.CommandRate, options.CommandDuration, cancellationToken);
        }

        var pool = PipelineBench.SampleReadings(10_000);
        var drain = new List<CommandSample>();
        var rounds = new List<DrainRound>();
        for (var round = 1; round <= options.CommandRounds; round++)
        {
            await broker.StopAsync();
            var filling = Stopwatch.StartNew();
            await FillAsync(agent, pool, cancellationToken);
            options.Log(string.Create(CultureInfo.InvariantCulture, $"round {round}: log filled in {filling.Elapsed.TotalSeconds:F1} s"));
            // Nothing is acknowledged before the uplink is online again: counted from here, the acknowledgements are the drain's.
            var backlog = (await agent.StatusAsync()).UnsentCount;
            var sentBefore = agent.Uplink.EventsSent.Value;
            var outage = Stopwatch.StartNew();
            await broker.StartAsync(cancellationToken);
            // The uplink may come online while the command client and the consumer connect: its moment is taken apart.
            async Task<(TimeSpan At, double Accepted)> OnlineAsync()
            {
                await WaitOnlineAsync(agent, cancellationToken);
                return (outage.Elapsed, agent.Wal.Accepted.Value);
            }
            var online = OnlineAsync();
            await using var sender = await Sender.ConnectAsync(broker, settings.Identity, issuer);
            await using var consumer = await TelemetryConsumer.ConnectAsync(broker, settings.Identity);
            var (reconnect, acceptedBefore) = await online;
            var pausedBefore = GC.GetTotalPauseDuration();
            var drainStarted = outage.Elapsed;
            using var drained = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // Each round starts its commands a little later in the send interval, so that together they cover the drain evenly.
            var offset = TimeSpan.FromSeconds(1 / options.CommandRate) * (round - 1) / options.CommandRounds;
            var commands = sender.RunAsync(options.CommandRate, TimeSpan.FromMinutes(3), drained.Token, offset);
            long unsent;
            do
            {
                await Task.Delay(20, cancellationToken);
                unsent = (await agent.StatusAsync()).UnsentCount;
            }
            while (unsent >= 10_000 && outage.Elapsed - reconnect < TimeSpan.FromMinutes(3));
            var drainTime = outage.Elapsed - reconnect;
            var seconds = drainTime.TotalSeconds;
            var sent = (long)(agent.Uplink.EventsSent.Value - sentBefore);
            var ingest = (agent.Wal.Accepted.Value - acceptedBefore) / seconds;
            var paused = GC.GetTotalPauseDuration() - pausedBefore;
            var forwarded = consumer.Messages;
            await drained.CancelAsync();
            var samples = await commands;
            drain.AddRange(samples);
            rounds.Add(new DrainRound(round, backlog, reconnect, drainTime, sent / seconds, ingest, paused, samples.Count,
                samples.Where(s => s.AckMs is not null).Select(s => s.AckMs!.Value).DefaultIfEmpty(double.NaN).Max(), unsent, forwarded, sent,
                drainStarted - reconnect));
            options.Log(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: backlog {backlog:N0}, drained in {seconds:F2} s ({sent / seconds:N0} readings/s), {samples.Count} commands, ACK max {rounds[^1].AckMax:F0} ms"));
            // The live vehicle settles before the next outage.
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }
        await agent.ShutdownAsync(TimeSpan.FromSeconds(60));
        return (live, drain, rounds);
    }

    /// <summary>
    /// Fills the log to <see cref="Backlog"/> unsent readings while the broker is down, faster than
    /// live: what 10 simulated OBD adapters at 10,000 readings/s would have logged in the 50 s before
    /// (their values, device ids and timestamps 0.1 ms apart, so that batches compress as they would),
    /// told to the log the way device actors tell it, paced by asking the log for its status
    /// (answered after the readings before it) so that its intake buffer never overflows.
    /// </summary>
    private static async Task FillAsync(InProcessAgent agent, IReadOnlyList<Reading> pool, CancellationToken cancellationToken)
    {
        var devices = Enumerable.Range(1, 10).Select(i => $"backlog-obd-{i}").ToArray();
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - Backlog / 10;
        var next = 0;
        while (true)
        {
            var status = await agent.StatusAsync();
            if (status.UnsentCount >= Backlog) return;
            if (status.PendingReadings > 50_000)
            {
                await Task.Delay(20, cancellationToken);
                continue;
            }
            for (var message = 0; message < 20; message++)
            {
                var readings = new Reading[1001];
                for (var i = 0; i < readings.Length; i++, next++)
                    readings[i] = pool[next % pool.Count] with { DeviceId = devices[next / 7 % devices.Length], TimestampMs = start + next / 10 };
                agent.Components.Log.Tell(new WalProtocol.LogReadings(readings), Akka.Actor.ActorRefs.NoSender);
            }
        }
    }

    /// <summary>
    /// A fleet backend's subscription to the vehicle's telemetry (QoS 1), so that the broker forwards
    /// every batch as it does in service instead of dropping it for want of a subscriber; it only counts.
    /// </summary>
    private sealed class TelemetryConsumer : IAsyncDisposable
    {
        private readonly IMqttClient _client;
        private long _messages;

        private TelemetryConsumer(IMqttClient client)
        {
            _client = client;
            _client.ApplicationMessageReceivedAsync += _ =>
            {
                Interlocked.Increment(ref _messages);
                return Task.CompletedTask;
            };
        }

        public long Messages => Interlocked.Read(ref _messages);

        public static async Task<TelemetryConsumer> ConnectAsync(MosquittoProcess broker, VehicleIdentity vehicle)
        {
            var consumer = new TelemetryConsumer(new MqttClientFactory().CreateMqttClient());
            await consumer._client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithProtocolVersion(MqttProtocolVersion.V500)
                .WithClientId("fleet-consumer-" + vehicle.VehicleId).WithCleanStart().Build());
            await consumer._client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(f => f.WithTopic(TopicTemplate.Expand(new UplinkSettings().TelemetryTopic, vehicle)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
                .Build());
            return consumer;
        }

        public async ValueTask DisposeAsync()
        {
            if (_client.IsConnected) await _client.DisconnectAsync();
            _client.Dispose();
        }
    }

    private static async Task WaitOnlineAsync(InProcessAgent agent, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (agent.Uplink.Connected.Value < 1)
        {
            if (waited.Elapsed > TimeSpan.FromMinutes(1)) throw new TimeoutException($"the uplink of {agent.Settings.VehicleId} did not come online within a minute");
            await Task.Delay(5, cancellationToken);
        }
    }

    private static VehicleSettings WithIssuer(VehicleSettings settings, ECDsa issuer)
    {
        var trusted = ECDsa.Create();
        trusted.ImportSubjectPublicKeyInfo(issuer.ExportSubjectPublicKeyInfo(), out _);
        return settings with
        {
            Commands = settings.Commands with { Issuers = [new TrustedIssuer(IssuerId, trusted, [CommandType.ChangeOperationalMode])] },
        };
    }

    // ------------------------------------------------------------------ report

    private static string Row(string condition, IReadOnlyList<CommandSample> samples)
    {
        var acks = samples.Where(s => s.AckMs is not null).Select(s => s.AckMs!.Value).Order().ToList();
        var finals = samples.Where(s => s.FinalMs is not null).Select(s => s.FinalMs!.Value).Order().ToList();
        var inAgent = samples.Where(s => s.AckInAgentMs is not null).Select(s => s.AckInAgentMs!.Value).Order().ToList();
        var delivery = samples.Where(s => s.AckDeliveryMs is not null).Select(s => s.AckDeliveryMs!.Value).Order().ToList();
        var unanswered = samples.Count(s => !s.Answered);
        return string.Create(CultureInfo.InvariantCulture,
            $"| {condition} | {samples.Count:N0} | {P(acks, 0.5):F0} ms | {P(acks, 0.99):F0} ms | {acks.LastOrDefault(double.NaN):F0} ms | {P(finals, 0.5):F0} ms | {P(finals, 0.99):F0} ms | {finals.LastOrDefault(double.NaN):F0} ms | {P(inAgent, 0.5):F0} / {P(inAgent, 0.99):F0} ms | {P(delivery, 0.5):F0} / {P(delivery, 0.99):F0} ms | {unanswered} |");
    }

    private static double P(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];


    /// <summary>
    /// Publishes signed commands at a steady rate, open loop (the next one goes out on time whether
    /// or not the earlier ones were answered), and times their answers as they arrive.
    /// </summary>
    private sealed class Sender : IAsyncDisposable
    {
        private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(30);
        private readonly CommandClient _client;
        private readonly VehicleIdentity _vehicle;
        private readonly ECDsa _issuer;
        private readonly ConcurrentDictionary<string, Timing> _timings = new(StringComparer.Ordinal);
        private static int _next;

        private Sender(CommandClient client, VehicleIdentity vehicle, ECDsa issuer)
        {
            _client = client;
            _vehicle = vehicle;
            _issuer = issuer;
            _client.ResponseReceived += OnResponse;
        }

        public static async Task<Sender> ConnectAsync(MosquittoProcess broker, VehicleIdentity vehicle, ECDsa issuer)
        {
            var client = await CommandClient.ConnectAsync(new BrokerSettings { Host = "127.0.0.1", Port = broker.Port });
            await client.ListenAsync(vehicle);
            return new Sender(client, vehicle, issuer);
        }

        /// <summary>
        /// Sends at <paramref name="rate"/> per second for <paramref name="duration"/> or until cancelled,
        /// the first after <paramref name="offset"/>; then waits for every answer.
        /// </summary>
        public async Task<IReadOnlyList<CommandSample>> RunAsync(double rate, TimeSpan duration, CancellationToken stop, TimeSpan offset = default)
        {
            var commands = new List<Task<CommandSample>>();
            var interval = TimeSpan.FromSeconds(1 / rate);
            var clock = Stopwatch.StartNew();
            if (offset > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(offset, stop);
                }
                catch (OperationCanceledException)
                {
                    return [];
                }
            }
            for (var n = 1; clock.Elapsed < duration && !stop.IsCancellationRequested; n++)
            {
                commands.Add(SendAsync());
                var wait = offset + interval * n - clock.Elapsed;
                if (wait <= TimeSpan.Zero) continue;
                try
                {
                    await Task.Delay(wait, stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            return await Task.WhenAll(commands);
        }

        private async Task<CommandSample> SendAsync()
        {
            var id = "bench-" + Interlocked.Increment(ref _next).ToString(CultureInfo.InvariantCulture);
            var issuedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var command = new Command
            {
                CommandId = id, VehicleId = _vehicle.VehicleId, Tenant = _vehicle.Tenant, IssuedAt = issuedAt, ExpiresAt = issuedAt + 600_000,
                Type = CommandType.ChangeOperationalMode, Priority = Priority.Normal, Issuer = IssuerId,
                ChangeOperationalMode = new ChangeOperationalMode { Mode = ChangeOperationalMode.Types.Mode.Ready },
            };
            var signed = CommandClient.Sign(command, _issuer);
            var timing = _timings[id] = new Timing(Stopwatch.GetTimestamp(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            using var timeout = new CancellationTokenSource(AnswerTimeout);
            try
            {
                await _client.PublishAsync(_vehicle, signed, timeout.Token);
                await _client.AwaitFinalAsync(id, timeout.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or MqttLinkException or MQTTnet.Exceptions.MqttCommunicationException)
            {
                // Reported as not answered.
            }
            _timings.TryRemove(id, out _);
            lock (timing)
            {
                double? Ms(long? at) => at is { } t ? Stopwatch.GetElapsedTime(timing.SentAt, t).TotalMilliseconds : null;
                return new CommandSample(Ms(timing.AckAt), Ms(timing.FinalAt), timing.AckMadeMs - timing.SentMs,
                    timing.AckAt is null ? null : timing.AckReceivedMs - timing.AckMadeMs, timing.Final);
            }
        }

        private void OnResponse(CommandResponse response)
        {
            var at = Stopwatch.GetTimestamp();
            var wallMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (!_timings.TryGetValue(response.CommandId, out var timing)) return;
            lock (timing)
            {
                if (response.Status == ResponseStatus.Ack && timing.AckAt is null)
                {
                    timing.AckAt = at;
                    timing.AckMadeMs = response.Timestamp;
                    timing.AckReceivedMs = wallMs;
                }
                else if (response.Status is ResponseStatus.Succeeded or ResponseStatus.Failed or ResponseStatus.Nack)
                {
                    timing.FinalAt = at;
                    timing.Final = response.Status;
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _client.ResponseReceived -= OnResponse;
            await _client.DisposeAsync();
        }

        private sealed class Timing(long sentAt, long sentMs)
        {
            public long SentAt { get; } = sentAt;
            public long SentMs { get; } = sentMs;
            public long? AckAt { get; set; }
            public long? AckMadeMs { get; set; }
            public long? AckReceivedMs { get; set; }
            public long? FinalAt { get; set; }
            public ResponseStatus? Final { get; set; }
        }
    }
}
