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

namespace Fleet.Actors.Host.Bench;

/// <summary>
/// The command round trip of issue 8, measured from outside: a <see cref="CommandClient"/> on the
/// same mosquitto publishes signed CHANGE_OPERATIONAL_MODE READY commands (always legal, journaled by
/// the command actor and by the operational state actor) at a steady rate, open loop, and takes the
/// time from just before the PUBLISH to the arrival of the ACK and of the final answer. Three
/// conditions: an idle vehicle, a vehicle at 10,000 readings/s with no backlog, and the same vehicle
/// while a backlog of 500,000 readings drains after a broker outage (repeated over several rounds,
/// because the drain takes about a second).
/// </summary>
internal sealed class CommandBench(
    BenchOptions options,
    MosquittoProcess broker,
    Func<string, IReadOnlyList<SensorSettings>, VehicleSettings> vehicleSettings,
    Func<string, string> dataDirectory)
{
    /// <summary>Unsent readings the log holds when the link comes back.</summary>
    public const int Backlog = 500_000;

    private const string IssuerId = "bench";
    private const int LiveReadingsPerSecond = 10_000;
    private const double ReadingsPerObdSample = 7.2;
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(3);

    /// <summary>Runs the three conditions; returns the markdown tables.</summary>
    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
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
        report.Add("The drain rounds (broker stopped, log filled to the backlog, broker started; commands sent from the moment the uplink is online until the backlog is under 10,000):");
        report.Add("");
        report.Add("| round | backlog at reconnect | broker start → uplink online | drain time | drain rate (acknowledged readings/s) | live ingest | commands during the drain | ACK max |");
        report.Add("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rounds)
            report.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Number} | {r.Backlog:N0} | {r.Reconnect.TotalSeconds:F2} s | {r.Drain.TotalSeconds:F2} s | {r.DrainRate:N0} | {r.Ingest:N0}/s | {r.Commands} | {r.AckMax:F0} ms |"));
        foreach (var line in report) options.Log(line);
        return report;
    }

    // ------------------------------------------------------------------ conditions

    private async Task<IReadOnlyList<Sample>> IdleAsync(ECDsa issuer, CancellationToken cancellationToken)
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

    private async Task<(IReadOnlyList<Sample> Live, IReadOnlyList<Sample> Drain, IReadOnlyList<Round> Rounds)> UnderLoadAsync(ECDsa issuer,
        CancellationToken cancellationToken)
    {
        const string vehicle = "cmd-drain";
        var sensors = Enumerable.Range(1, 10).Select(i => PipelineBench.Obd($"obd-{i}", LiveReadingsPerSecond / (10 * ReadingsPerObdSample))).ToList();
        var settings = WithIssuer(vehicleSettings(vehicle, sensors), issuer);
        await using var agent = await InProcessAgent.StartAsync(settings, dataDirectory(vehicle), options.Synchronous);
        await WaitOnlineAsync(agent, cancellationToken);
        IReadOnlyList<Sample> live;
        await using (var sender = await Sender.ConnectAsync(broker, settings.Identity, issuer))
        {
            await sender.RunAsync(options.CommandRate, Warmup, cancellationToken);
            live = await sender.RunAsync(options.CommandRate, options.CommandDuration, cancellationToken);
        }

        var pool = BacklogReadings();
        var drain = new List<Sample>();
        var rounds = new List<Round>();
        for (var round = 1; round <= options.CommandRounds; round++)
        {
            await broker.StopAsync();
            await FillAsync(agent, pool, cancellationToken);
            var outage = Stopwatch.StartNew();
            await broker.StartAsync(cancellationToken);
            await using var sender = await Sender.ConnectAsync(broker, settings.Identity, issuer);
            await WaitOnlineAsync(agent, cancellationToken);
            var reconnect = outage.Elapsed;
            var backlog = (await agent.StatusAsync()).UnsentCount;
            var sentBefore = agent.Uplink.EventsSent.Value;
            var acceptedBefore = agent.Wal.Accepted.Value;
            var draining = Stopwatch.StartNew();
            using var drained = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var commands = sender.RunAsync(options.CommandRate, TimeSpan.FromMinutes(3), drained.Token);
            while (draining.Elapsed < TimeSpan.FromMinutes(3))
            {
                await Task.Delay(20, cancellationToken);
                if ((await agent.StatusAsync()).UnsentCount < 10_000) break;
            }
            var seconds = draining.Elapsed.TotalSeconds;
            var sent = agent.Uplink.EventsSent.Value - sentBefore;
            var ingest = (agent.Wal.Accepted.Value - acceptedBefore) / seconds;
            await drained.CancelAsync();
            var samples = await commands;
            drain.AddRange(samples);
            rounds.Add(new Round(round, backlog, reconnect, draining.Elapsed, sent / seconds, ingest, samples.Count,
                samples.Where(s => s.AckMs is not null).Select(s => s.AckMs!.Value).DefaultIfEmpty(double.NaN).Max()));
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
    /// the live sensors would: simulated OBD readings told to the log the way a device actor tells
    /// them, in messages of 1,000, paced by asking the log for its status (answered after the
    /// readings before it) so that its intake buffer never overflows.
    /// </summary>
    private static async Task FillAsync(InProcessAgent agent, IReadOnlyList<Reading> pool, CancellationToken cancellationToken)
    {
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
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (var message = 0; message < 20; message++)
            {
                var readings = new Reading[1000];
                for (var i = 0; i < readings.Length; i++) readings[i] = pool[next++ % pool.Count] with { TimestampMs = now };
                agent.Components.Log.Tell(new WalProtocol.LogReadings(readings), Akka.Actor.ActorRefs.NoSender);
            }
        }
    }

    private static List<Reading> BacklogReadings()
    {
        var context = new DriverContext("bench", TimeProvider.System,
            new SimulationContext(new VehicleModel(Route.HamburgPort, 7, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000)), 7));
        SensorDriverRegistry.Default.TryGet(SimulatedObdDriver.TypeName, out var factory);
        var obd = (SimulatedDriver)factory.Create(new SensorSettings { Id = "backlog", Type = SimulatedObdDriver.TypeName, RateHz = 100 }, context);
        var readings = new List<Reading>(10_000);
        for (var time = 1_700_000_000_000L; readings.Count < 10_000; time += 10)
            readings.AddRange(obd.SampleAt(time).Select(v => new Reading("backlog", v.TimestampMs, v.Value)));
        return readings;
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

    private static string Row(string condition, IReadOnlyList<Sample> samples)
    {
        var acks = samples.Where(s => s.AckMs is not null).Select(s => s.AckMs!.Value).Order().ToList();
        var finals = samples.Where(s => s.FinalMs is not null).Select(s => s.FinalMs!.Value).Order().ToList();
        var inAgent = samples.Where(s => s.AckInAgentMs is not null).Select(s => s.AckInAgentMs!.Value).Order().ToList();
        var delivery = samples.Where(s => s.AckDeliveryMs is not null).Select(s => s.AckDeliveryMs!.Value).Order().ToList();
        var unanswered = samples.Count(s => s.AckMs is null || s.Final != ResponseStatus.Succeeded);
        return string.Create(CultureInfo.InvariantCulture,
            $"| {condition} | {samples.Count:N0} | {P(acks, 0.5):F0} ms | {P(acks, 0.99):F0} ms | {acks.LastOrDefault(double.NaN):F0} ms | {P(finals, 0.5):F0} ms | {P(finals, 0.99):F0} ms | {finals.LastOrDefault(double.NaN):F0} ms | {P(inAgent, 0.5):F0} / {P(inAgent, 0.99):F0} ms | {P(delivery, 0.5):F0} / {P(delivery, 0.99):F0} ms | {unanswered} |");
    }

    private static double P(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>
    /// One command's times in milliseconds: publish → ACK and → final answer at the client, and the
    /// ACK split at the moment the agent made it (its response timestamp; agent and client share a clock).
    /// </summary>
    private sealed record Sample(double? AckMs, double? FinalMs, double? AckInAgentMs, double? AckDeliveryMs, ResponseStatus? Final);

    private sealed record Round(int Number, long Backlog, TimeSpan Reconnect, TimeSpan Drain, double DrainRate, double Ingest, int Commands, double AckMax);

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

        /// <summary>Sends at <paramref name="rate"/> per second for <paramref name="duration"/> or until cancelled; then waits for every answer.</summary>
        public async Task<IReadOnlyList<Sample>> RunAsync(double rate, TimeSpan duration, CancellationToken stop)
        {
            var commands = new List<Task<Sample>>();
            var interval = TimeSpan.FromSeconds(1 / rate);
            var clock = Stopwatch.StartNew();
            for (var n = 1; clock.Elapsed < duration && !stop.IsCancellationRequested; n++)
            {
                commands.Add(SendAsync());
                var wait = interval * n - clock.Elapsed;
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

        private async Task<Sample> SendAsync()
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
                return new Sample(Ms(timing.AckAt), Ms(timing.FinalAt), timing.AckMadeMs - timing.SentMs,
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
