using System.Diagnostics;
using System.Globalization;
using System.Text;
using Akka.Actor;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;
using Fleet.Actors.Host.Verification;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Fleet.Actors.Host.Bench;

/// <summary>Knobs of <c>fleet-agent bench</c>.</summary>
public sealed record BenchOptions
{
    /// <summary>Measured seconds of each throughput step.</summary>
    public TimeSpan StepDuration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Offered rates (readings/s) tried in turn until one is not sustained.</summary>
    public IReadOnlyList<int> Rates { get; init; } = [50_000, 100_000, 200_000, 400_000, 600_000, 800_000, 1_000_000, 1_100_000, 1_200_000];

    /// <summary>How many times the raw baseline and start-up runs repeat (median reported).</summary>
    public int Repeats { get; init; } = 3;

    /// <summary>Durability of the log during the run.</summary>
    public SqliteSynchronous Synchronous { get; init; } = SqliteSynchronous.Full;

    /// <summary>Phases to run: throughput, baseline, latency, wire, drain, replay, commands, process, observability (all by default).</summary>
    public IReadOnlySet<string> Phases { get; init; } = AllPhases;

    /// <summary>Every phase.</summary>
    public static IReadOnlySet<string> AllPhases { get; } = new HashSet<string> { "throughput", "baseline", "latency", "wire", "drain", "replay", "commands", "process", "observability", "footprint" };

    /// <summary>Signed commands sent per second in the commands phase (open loop).</summary>
    public double CommandRate { get; init; } = 20;

    /// <summary>Measured time of the commands phase's idle and online conditions.</summary>
    public TimeSpan CommandDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Outage and drain rounds of the commands phase.</summary>
    public int CommandRounds { get; init; } = 40;

    /// <summary>The agent program the footprint phase runs (a published build); null: this program's dll under dotnet.</summary>
    public string? AgentProgram { get; init; }

    /// <summary>Progress lines.</summary>
    public Action<string> Log { get; init; } = Console.WriteLine;
}

/// <summary>
/// The whole pipeline measured against a real mosquitto, next to a raw MQTTnet baseline in the same
/// run: sustained end-to-end throughput with a zero-loss check, latency at 1,000 readings/s, wire
/// bytes per reading, backlog drain, replay on boot, memory and start-up time (docs/benchmarks.md).
/// </summary>
public sealed class PipelineBench(BenchOptions options, MosquittoProcess broker, string workDirectory)
{
    private const string Tenant = "bench";
    private const int SensorsForThroughput = 10;
    private const double ReadingsPerObdSample = 7.2;
    private readonly List<string> _report = new();

    /// <summary>Runs every phase and returns the markdown report.</summary>
    public async Task<string> RunAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        Header();
        var run = options.Phases;
        Step? best = null;
        if (run.Contains("throughput"))
        {
            var steps = await ThroughputAsync(cancellationToken);
            best = steps.Where(s => s.Sustained).MaxBy(s => s.AckedPerSecond) ?? steps.MaxBy(s => s.AckedPerSecond);
        }
        if (run.Contains("baseline")) await BaselineAsync(best, cancellationToken);
        if (run.Contains("latency")) await LatencyAsync(cancellationToken);
        if (run.Contains("wire")) WireBytes();
        if (run.Contains("drain")) await DrainAsync(cancellationToken);
        if (run.Contains("replay")) await ReplayAsync(cancellationToken);
        if (run.Contains("commands")) await CommandsAsync(cancellationToken);
        if (run.Contains("process")) await ProcessFiguresAsync(cancellationToken);
        if (run.Contains("observability")) _report.AddRange(await new ObservabilityBench(options, broker, workDirectory).RunAsync(cancellationToken));
        if (run.Contains("footprint")) _report.AddRange(await new FootprintBench(options, broker, workDirectory).RunAsync(cancellationToken));
        _report.Add("");
        _report.Add(string.Create(CultureInfo.InvariantCulture,
            $"Bench process peak resident memory (VmHWM): {PeakResidentOfSelf() / 1024.0 / 1024:F0} MiB; whole run {started.Elapsed.TotalMinutes:F1} min."));
        return string.Join(Environment.NewLine, _report);
    }

    // ------------------------------------------------------------------ throughput

    private sealed record Step(int Target, double OfferedPerSecond, double AcceptedPerSecond, double AckedPerSecond, double IntakeDropped,
        double Missed, long BacklogAtEnd, long Missing, long Duplicates, double BatchAvg, double Compression, bool Sustained, double CpuMicrosPerReading);

    private async Task<List<Step>> ThroughputAsync(CancellationToken cancellationToken)
    {
        Section("End-to-end throughput (sensor actor → log → broker PUBACK)",
            $"{SensorsForThroughput} simulated OBD adapters (7.2 readings a sample) in one vehicle agent, log `synchronous = {options.Synchronous.ToString().ToLowerInvariant()}`, " +
            $"each rate held for {options.StepDuration.TotalSeconds:F0} s after a 3 s warm-up, then a clean shutdown and a fleet-side check of every sequence. " +
            "Sustained: no intake drops, no missed samples, acknowledged ≥ 97 % of offered, backlog under one second's worth, nothing missing.");
        _report.Add("| offered target | offered/s | accepted/s | acked/s | intake dropped | missed samples | backlog at end | missing | duplicates | records/batch | compression | sustained |");
        _report.Add("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|");
        var steps = new List<Step>();
        foreach (var target in options.Rates)
        {
            var step = await ThroughputStepAsync(target, cancellationToken);
            steps.Add(step);
            _report.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {target:N0} | {step.OfferedPerSecond:N0} | {step.AcceptedPerSecond:N0} | {step.AckedPerSecond:N0} | {step.IntakeDropped:N0} | {step.Missed:N0} | {step.BacklogAtEnd:N0} | {step.Missing:N0} | {step.Duplicates:N0} | {step.BatchAvg:N0} | {step.Compression:F1} | {(step.Sustained ? "yes" : "no")} |"));
            options.Log(_report[^1]);
            if (!step.Sustained) break;
        }
        return steps;
    }

    private async Task<Step> ThroughputStepAsync(int target, CancellationToken cancellationToken)
    {
        var vehicle = $"tput-{target}";
        var hz = target / (SensorsForThroughput * ReadingsPerObdSample);
        var sensors = Enumerable.Range(1, SensorsForThroughput).Select(i => Obd($"obd-{i}", hz)).ToList();
        await using var session = await VerifierSession.CreateAsync(broker, vehicle);
        var agent = await InProcessAgent.StartAsync(Vehicle(vehicle, sensors), DataDirectory(vehicle), options.Synchronous);
        await using (agent)
        {
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
            var process = Process.GetCurrentProcess();
            var cpuBefore = process.TotalProcessorTime;
            var before = Counters(agent, sensors);
            await Task.Delay(options.StepDuration, cancellationToken);
            var after = Counters(agent, sensors);
            process.Refresh();
            var cpu = process.TotalProcessorTime - cpuBefore;
            var status = await agent.StatusAsync();
            await agent.ShutdownAsync(TimeSpan.FromSeconds(60));
            var seconds = options.StepDuration.TotalSeconds;
            var offered = (after.Read - before.Read) / seconds;
            var accepted = (after.Accepted - before.Accepted) / seconds;
            var acked = (after.Sent - before.Sent) / seconds;
            var dropped = after.Dropped - before.Dropped;
            var missed = after.Missed - before.Missed;
            var verification = await session.CollectAsync(TimeSpan.FromSeconds(90));
            var sustained = dropped == 0 && missed == 0 && acked >= 0.97 * offered && status.UnsentCount < accepted
                && verification.Missing == 0 && verification.Received > 0;
            return new Step(target, offered, accepted, acked, dropped, missed, status.UnsentCount, verification.Missing,
                verification.Duplicates, agent.Uplink.BatchSizeAvg.Value, agent.Uplink.CompressionRatio.Value, sustained,
                after.Sent > before.Sent ? cpu.TotalMicroseconds / (after.Sent - before.Sent) : double.NaN);
        }
    }

    private static (double Read, double Accepted, double Sent, double Dropped, double Missed) Counters(InProcessAgent agent, IEnumerable<SensorSettings> sensors)
    {
        var sensorMetrics = sensors.Select(s => new SensorMetrics(agent.Metrics, agent.Settings.VehicleId, s.Id)).ToList();
        return (sensorMetrics.Sum(m => m.ReadSuccess.Value), agent.Wal.Accepted.Value, agent.Uplink.EventsSent.Value,
            agent.Wal.IntakeDropped.Value, sensorMetrics.Sum(m => m.Missed.Value));
    }

    // ------------------------------------------------------------------ raw baseline

    private async Task BaselineAsync(Step? best, CancellationToken cancellationToken)
    {
        var recordsPerBatch = Math.Max(1, (int)Math.Round(best?.BatchAvg ?? 150));
        Section("Raw baselines in the same run",
            $"Three hand-written pipelines without actors. Two plain MQTTnet QoS 1 publishers of the same kind of bytes, with the agent's in-flight window (4), to a topic with the same persistent subscriber session; batches of {recordsPerBatch:N0} simulated OBD records (the average batch of the best sustained step). " +
            "*Pre-encoded*: payloads encoded and compressed beforehand, so only MQTT is measured. *Encode and publish*: the same readings as objects in memory, encoded with the agent's encoder, compressed and published in the timed loop (no log, no actors, no devices). " +
            "*Durable* (the fair one): the same durable work as the agent without actors: readings encoded into entries of one batch, each appended to SQLite in a transaction of its own (WAL mode, the same synchronous setting: one fsync per commit), read back in order, compressed, published with the same window, and deleted once acknowledged; bounded at 64 unsent entries. " +
            $"Median of {options.Repeats} runs of 5 s each.");
        var readings = SampleReadings(recordsPerBatch * 64);
        var payloads = EncodePayloads(readings, recordsPerBatch);
        var preEncoded = new List<double>();
        var encoding = new List<double>();
        var durable = new List<DurableBaseline.Result>();
        var durableBaseline = new DurableBaseline(broker, Path.Combine(workDirectory, "durable-baseline"), options.Synchronous, Tenant);
        for (var run = 0; run < options.Repeats; run++)
        {
            await using (await VerifierSession.CreateAsync(broker, "durable"))
                durable.Add(await durableBaseline.RunAsync(readings, recordsPerBatch, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), cancellationToken));
            await using (await VerifierSession.CreateAsync(broker, "raw"))
                preEncoded.Add(await PublishRawAsync(i => payloads[i % payloads.Count], recordsPerBatch, TimeSpan.FromSeconds(5), cancellationToken));
            var writer = new EntryWriter();
            using var codec = new BatchCodec();
            long sequence = 1;
            await using (await VerifierSession.CreateAsync(broker, "raw"))
                encoding.Add(await PublishRawAsync(i =>
                {
                    var offset = i * recordsPerBatch % readings.Count;
                    for (var r = 0; r < recordsPerBatch; r++) writer.Append(sequence++, readings[(offset + r) % readings.Count]);
                    return codec.Encode("raw", Tenant, [writer.Seal()]).Payload;
                }, recordsPerBatch, TimeSpan.FromSeconds(5), cancellationToken));
        }
        var (rawPre, rawEncode) = (Median(preEncoded), Median(encoding));
        var (durableRate, durableCpu) = (Median(durable.Select(d => d.ReadingsPerSecond).ToList()), Median(durable.Select(d => d.CpuMicrosPerReading).ToList()));
        _report.Add("| | readings/s | agent / baseline | CPU-µs per reading | baseline / agent (CPU) |");
        _report.Add("|---|---:|---:|---:|---:|");
        var agent = best?.AckedPerSecond;
        _report.Add(string.Create(CultureInfo.InvariantCulture, $"| raw: pre-encoded payloads (median) | {rawPre:N0} | {(agent is { } a1 ? (a1 / rawPre).ToString("F3", CultureInfo.InvariantCulture) : "-")} | | |"));
        _report.Add(string.Create(CultureInfo.InvariantCulture, $"| raw: encode, compress and publish (median) | {rawEncode:N0} | {(agent is { } a2 ? (a2 / rawEncode).ToString("F2", CultureInfo.InvariantCulture) : "-")} | | |"));
        var durableRatio = agent is { } a4 ? (a4 / durableRate).ToString("F2", CultureInfo.InvariantCulture) : "-";
        var cpuRatio = best is { } b ? (durableCpu / b.CpuMicrosPerReading).ToString("F2", CultureInfo.InvariantCulture) : "-";
        _report.Add(string.Create(CultureInfo.InvariantCulture,
            $"| durable: encode, append to SQLite in group commits (`synchronous = {options.Synchronous.ToString().ToLowerInvariant()}`), publish, delete what was acknowledged (median) | {durableRate:N0} | {durableRatio} | {durableCpu:F2} | {cpuRatio} |"));
        if (best is { } a3)
            _report.Add(string.Create(CultureInfo.InvariantCulture,
                $"| the agent, best sustained step (sensor actors, log with fsync, uplink; offered {a3.Target:N0}/s) | {a3.AckedPerSecond:N0} | | {a3.CpuMicrosPerReading:F2} | |"));
        _report.Add("");
        var runs = string.Create(CultureInfo.InvariantCulture,
            $"Runs: pre-encoded {string.Join(", ", preEncoded.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))}; encode and publish {string.Join(", ", encoding.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))}; ");
        runs += string.Create(CultureInfo.InvariantCulture,
            $"durable {string.Join(", ", durable.Select(r => r.ReadingsPerSecond.ToString("N0", CultureInfo.InvariantCulture) + " (" + r.CpuMicrosPerReading.ToString("F2", CultureInfo.InvariantCulture) + " µs)"))} readings/s. ");
        _report.Add(runs + "The agent's CPU per reading is the bench process's CPU time over the step (its simulated devices included) over the readings acknowledged; the durable baseline's likewise, with its readings sampled beforehand. " +
            "The agent's figure is at the rate it was offered, the baselines run flat out: agent / baseline in readings/s is below 1 also when the agent had more to give.");
        options.Log(_report[^1]);
    }

    private async Task<double> PublishRawAsync(Func<int, byte[]> nextPayload, int recordsPerBatch, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithClientId("raw-baseline").Build(), cancellationToken);
        using var window = new SemaphoreSlim(4);
        var stopwatch = Stopwatch.StartNew();
        long acked = 0;
        var pending = new List<Task>();
        var i = 0;
        while (stopwatch.Elapsed < duration)
        {
            await window.WaitAsync(cancellationToken);
            var message = new MqttApplicationMessageBuilder().WithTopic($"fleet/{Tenant}/raw/telemetry").WithPayload(nextPayload(i++))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithContentType(BatchCodec.ContentType).Build();
            pending.Add(client.PublishAsync(message, cancellationToken).ContinueWith(t =>
            {
                if (t.IsCompletedSuccessfully && t.Result.IsSuccess) Interlocked.Add(ref acked, recordsPerBatch);
                window.Release();
            }, TaskScheduler.Default));
            if (pending.Count > 1000) pending.RemoveAll(t => t.IsCompleted);
        }
        await Task.WhenAll(pending);
        var rate = Interlocked.Read(ref acked) / stopwatch.Elapsed.TotalSeconds;
        await client.DisconnectAsync(cancellationToken: cancellationToken);
        return rate;
    }

    /// <summary>Readings of one simulated OBD adapter sampled every 2 ms.</summary>
    internal static List<Reading> SampleReadings(int count)
    {
        var obd = SampleDrivers(("obd", SimulatedObdDriver.TypeName, 1)).Single();
        var readings = new List<Reading>(count);
        for (var time = 1_700_000_000_000L; readings.Count < count; time += 2)
            readings.AddRange(obd.Driver.SampleAt(time).Select(v => new Reading("obd", v.TimestampMs, v.Value)));
        return readings;
    }

    private static List<byte[]> EncodePayloads(IReadOnlyList<Reading> readings, int recordsPerBatch)
    {
        var writer = new EntryWriter();
        using var codec = new BatchCodec();
        var payloads = new List<byte[]>();
        for (var start = 0; start + recordsPerBatch <= readings.Count; start += recordsPerBatch)
        {
            for (var r = 0; r < recordsPerBatch; r++) writer.Append(start + r + 1, readings[start + r]);
            payloads.Add(codec.Encode("raw", Tenant, [writer.Seal()]).Payload);
        }
        return payloads;
    }

    // ------------------------------------------------------------------ latency

    private async Task LatencyAsync(CancellationToken cancellationToken)
    {
        Section("Latency from reading to PUBACK at 1,000 readings/s",
            "One vehicle: simulated OBD at 125 Hz (900 readings/s), GPS at 10 Hz, IMU at 90 Hz; 30 s measured after 5 s; " +
            "latency = time the broker's PUBACK reached the uplink − the reading's timestamp, for every sensor reading " +
            "(the health monitor's heartbeats are not counted: they carry the time of their sample, up to a heartbeat interval before they are logged).");
        var sensors = new List<SensorSettings> { Obd("obd", 125), Sensor("gps", SimulatedGpsDriver.TypeName, 10), Sensor("imu", SimulatedImuDriver.TypeName, 90) };
        var vehicle = "latency";
        var settings = Vehicle(vehicle, sensors) with { Uplink = Vehicle(vehicle, sensors).Uplink with { PublishAcknowledgements = true } };
        await using var session = await VerifierSession.CreateAsync(broker, vehicle);
        var sensorIds = sensors.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var latencies = new List<long>();
        var slowest = (Latency: long.MinValue, Device: "");
        var measuring = false;
        await using (var agent = await InProcessAgent.StartAsync(settings, DataDirectory(vehicle), options.Synchronous))
        {
            Action<UplinkProtocol.BatchAcknowledged> onAck = ack =>
            {
                if (!Volatile.Read(ref measuring)) return;
                foreach (var record in Decode(ack.Entries))
                {
                    if (!sensorIds.Contains(record.DeviceId)) continue;
                    var latency = ack.AcknowledgedAtMs - record.TimestampMs;
                    latencies.Add(latency);
                    if (latency > slowest.Latency) slowest = (latency, record.DeviceId);
                }
            };
            var collector = agent.System.ActorOf(Props.Create(() => new AcknowledgementCollector(onAck)));
            agent.System.EventStream.Subscribe(collector, typeof(UplinkProtocol.BatchAcknowledged));
            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            Volatile.Write(ref measuring, true);
            await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
            Volatile.Write(ref measuring, false);
            await agent.ShutdownAsync(TimeSpan.FromSeconds(30));
        }
        var verification = await session.CollectAsync(TimeSpan.FromSeconds(60));
        List<long> sorted;
        lock (latencies) sorted = latencies.Order().ToList();
        _report.Add("| readings measured | p50 | p90 | p99 | p99.9 | max | missing |");
        _report.Add("|---:|---:|---:|---:|---:|---:|---:|");
        _report.Add(string.Create(CultureInfo.InvariantCulture,
            $"| {sorted.Count:N0} | {Percentile(sorted, 0.5)} ms | {Percentile(sorted, 0.9)} ms | {Percentile(sorted, 0.99)} ms | {Percentile(sorted, 0.999)} ms | {sorted.LastOrDefault()} ms ({slowest.Device}) | {verification.Missing} |"));
        options.Log(_report[^1]);
    }

    private sealed class AcknowledgementCollector : ReceiveActor
    {
        public AcknowledgementCollector(Action<UplinkProtocol.BatchAcknowledged> onAck) => Receive(onAck);
    }

    private static IReadOnlyList<DecodedRecord> Decode(IReadOnlyList<StoredEntry> entries)
    {
        using var codec = new BatchCodec(PayloadCompression.None);
        return BatchCodec.Decode(codec.Encode("v", "t", entries.Select(e => e.Entry.Records).ToList()).Payload, "identity").Records;
    }

    // ------------------------------------------------------------------ wire bytes

    private void WireBytes()
    {
        Section("Wire bytes per reading, typical GPS/OBD telemetry",
            "One truck for 30 simulated minutes: GPS fix at 1 Hz, OBD-II at 1 Hz (7 PIDs plus a status every 5 s) = 9.2 readings/s, " +
            "encoded with the agent's encoder and batched as the uplink would (a batch goes out when it holds min-records, or when its first record has waited the linger). Payload = zstd-compressed batch; " +
            "MQTT = the whole PUBLISH packet (fixed header, topic, properties, payload); TCP/IP headers not included.");
        var drivers = SampleDrivers(("gps", SimulatedGpsDriver.TypeName, 1), ("obd", SimulatedObdDriver.TypeName, 1));
        var readings = new List<Reading>();
        var start = 1_700_000_000_000L;
        for (var second = 0; second < 1800; second++)
            foreach (var (id, driver) in drivers)
                readings.AddRange(driver.SampleAt(start + second * 1000L).Select(v => new Reading(id, v.TimestampMs, v.Value)));

        _report.Add("| batching | readings/message | payload bytes/reading | MQTT bytes/reading | wait for a batch |");
        _report.Add("|---|---:|---:|---:|---:|");
        foreach (var (label, linger, minRecords) in new (string, int, int)[]
                 {
                     ("linger 0 (one message per sensor read)", 0, int.MaxValue),
                     ("linger 1 s", 1, int.MaxValue),
                     ("linger 10 s", 10, int.MaxValue),
                     ("linger 60 s", 60, int.MaxValue),
                     ("**min-records 32, linger 10 s (default)**", 10, 32),
                     ("min-records 64, linger 10 s", 10, 64),
                     ("min-records 100, linger 15 s", 15, 100),
                 })
        {
            var (messages, payloadBytes, packetBytes) = EncodeWithPolicy(readings, linger, minRecords);
            var perMessage = (double)readings.Count / messages;
            _report.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {perMessage:F1} | {(double)payloadBytes / readings.Count:F1} | {(double)packetBytes / readings.Count:F1} | {Math.Min(linger, perMessage / 9.2):F1} s |"));
            options.Log(_report[^1]);
        }
    }

    private static (int Messages, long PayloadBytes, long PacketBytes) EncodeWithPolicy(IReadOnlyList<Reading> readings, int lingerSeconds, int minRecords)
    {
        using var codec = new BatchCodec();
        var writer = new EntryWriter();
        int messages = 0, records = 0;
        long payloadBytes = 0, packetBytes = 0, sequence = 1, first = 1;
        var entries = new List<ReadOnlyMemory<byte>>();
        long windowStart = readings[0].TimestampMs;
        string? lastDevice = null;
        long lastTimestamp = -1;

        void Flush()
        {
            if (writer.Count > 0) entries.Add(writer.Seal());
            if (entries.Count == 0) return;
            var payload = codec.Encode("truck-001", "acme", entries).Payload;
            messages++;
            payloadBytes += payload.Length;
            packetBytes += PublishPacketBytes(payload.Length, "fleet/acme/truck-001/telemetry", first, sequence - 1);
            entries.Clear();
            records = 0;
            first = sequence;
        }

        foreach (var reading in readings)
        {
            // Each sensor read (one device, one instant) is one log entry; the policy groups entries.
            var newRead = reading.DeviceId != lastDevice || reading.TimestampMs != lastTimestamp;
            if (newRead && writer.Count > 0) entries.Add(writer.Seal());
            if (newRead && (lingerSeconds == 0 || records >= minRecords || reading.TimestampMs - windowStart >= lingerSeconds * 1000L))
            {
                Flush();
                windowStart = reading.TimestampMs;
            }
            writer.Append(sequence++, reading);
            records++;
            lastDevice = reading.DeviceId;
            lastTimestamp = reading.TimestampMs;
        }
        Flush();
        return (messages, payloadBytes, packetBytes);
    }

    /// <summary>Size of the MQTT 5 PUBLISH packet the uplink sends for a payload (see MqttLink).</summary>
    private static long PublishPacketBytes(int payload, string topic, long firstSequence, long lastSequence)
    {
        var properties = 1 + 2 + Encoding.UTF8.GetByteCount(BatchCodec.ContentType)
            + 1 + 2 + "content-encoding".Length + 2 + "zstd".Length
            + 1 + 2 + "sequences".Length + 2 + $"{firstSequence}-{lastSequence}".Length;
        var remaining = 2 + Encoding.UTF8.GetByteCount(topic) + 2 + VarintBytes(properties) + properties + payload;
        return 1 + VarintBytes(remaining) + remaining;
    }

    private static int VarintBytes(int value) => value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;

    // ------------------------------------------------------------------ backlog drain

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        Section("Backlog drain after an outage while live ingest continues",
            "One vehicle at about 10,000 readings/s (10 simulated OBD adapters); the broker is stopped for 60 s (the backlog outgrows the log's 8 MiB memory cache, so most of it is read back from the journal), then started again; " +
            "the uplink reconnects after its backoff (at most 2 s here); drained when the backlog is under one second of ingest. Drain rate = readings acknowledged per second from reconnect to drained (backlog plus live ingest).");
        var vehicle = "drain";
        var sensors = Enumerable.Range(1, 10).Select(i => Obd($"obd-{i}", 10_000 / (10 * ReadingsPerObdSample))).ToList();
        await using var session = await VerifierSession.CreateAsync(broker, vehicle);
        await using var agent = await InProcessAgent.StartAsync(Vehicle(vehicle, sensors), DataDirectory(vehicle), options.Synchronous);
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        await broker.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(60), cancellationToken);
        var backlog = (await agent.StatusAsync()).UnsentCount;
        var outage = Stopwatch.StartNew();
        await broker.StartAsync(cancellationToken);
        // The uplink is backing off (up to its max backoff); the drain starts when it is connected.
        while (agent.Uplink.Connected.Value < 1 && outage.Elapsed < TimeSpan.FromMinutes(1)) await Task.Delay(10, cancellationToken);
        var reconnect = outage.Elapsed;
        var sentBefore = agent.Uplink.EventsSent.Value;
        var acceptedBefore = agent.Wal.Accepted.Value;
        var drain = Stopwatch.StartNew();
        while (drain.Elapsed < TimeSpan.FromMinutes(3))
        {
            await Task.Delay(20, cancellationToken);
            if ((await agent.StatusAsync()).UnsentCount < 10_000) break;
        }
        var seconds = drain.Elapsed.TotalSeconds;
        var sent = agent.Uplink.EventsSent.Value - sentBefore;
        var ingest = (agent.Wal.Accepted.Value - acceptedBefore) / seconds;
        await agent.ShutdownAsync(TimeSpan.FromSeconds(60));
        var verification = await session.CollectAsync(TimeSpan.FromSeconds(120));
        _report.Add("| backlog at reconnect | broker start and reconnect | drain time | live ingest meanwhile | drain rate | missing |");
        _report.Add("|---:|---:|---:|---:|---:|---:|");
        _report.Add(string.Create(CultureInfo.InvariantCulture,
            $"| {backlog:N0} readings | {reconnect.TotalSeconds:F1} s | {seconds:F1} s | {ingest:N0}/s | {sent / seconds:N0} readings/s | {verification.Missing} |"));
        options.Log(_report[^1]);
    }

    // ------------------------------------------------------------------ replay on boot

    private async Task ReplayAsync(CancellationToken cancellationToken)
    {
        Section("Replay on boot",
            "A vehicle journals with no broker reachable until the log holds about 500,000 unsent readings; the actor system is stopped and a new one started on the same files. " +
            "Recovery = the log's own recovery (snapshot plus events); read-back = every unsent entry read back through the uplink's read path (memory cache, then the journal).");
        var vehicle = "replay";
        var sensors = Enumerable.Range(1, 10).Select(i => Obd($"obd-{i}", 50_000 / (10 * ReadingsPerObdSample))).ToList();
        var offline = Vehicle(vehicle, sensors) with
        {
            Uplink = new UplinkSettings { Broker = new BrokerSettings { Host = "127.0.0.1", Port = MosquittoProcess.FreePort() } },
        };
        var data = DataDirectory(vehicle);
        await using (var writer = await InProcessAgent.StartAsync(offline, data, options.Synchronous))
        {
            while ((await writer.StatusAsync()).LastSequence < 500_000) await Task.Delay(200, cancellationToken);
            await writer.Components.Sensors.Ask<SensorProtocol.IntakeStopped>(SensorProtocol.StopIntake.Instance, TimeSpan.FromSeconds(10));
            await writer.Components.Log.Ask<WalProtocol.Flushed>(WalProtocol.Flush.Instance, TimeSpan.FromSeconds(30));
        }

        var boot = Stopwatch.StartNew();
        await using var reader = await InProcessAgent.StartAsync(offline with { Sensors = [] }, data, options.Synchronous);
        var status = await reader.StatusAsync();
        var recovered = boot.Elapsed;
        var replayGauge = reader.Wal.ReplayDuration.Value;
        var readBack = Stopwatch.StartNew();
        long after = -1, records = 0, requestId = 0;
        while (records < status.UnsentCount)
        {
            var read = await reader.Components.Log.Ask<WalProtocol.EntriesRead>(new WalProtocol.ReadEntries(++requestId, after, 4 << 20), TimeSpan.FromSeconds(60));
            records += read.Entries.Sum(e => e.Entry.Count);
            after = read.Entries[^1].JournalSeq;
        }
        readBack.Stop();
        var total = recovered + readBack.Elapsed;
        _report.Add("| unsent readings | recovery | read-back | replay rate (recovery + read-back) | journal file |");
        _report.Add("|---:|---:|---:|---:|---:|");
        _report.Add(string.Create(CultureInfo.InvariantCulture,
            $"| {status.UnsentCount:N0} | {replayGauge * 1000:F0} ms (boot to ready {recovered.TotalMilliseconds:F0} ms) | {readBack.Elapsed.TotalMilliseconds:F0} ms | {status.UnsentCount / total.TotalSeconds:N0} readings/s | {SqliteWal.SizeOnDisk(Path.Combine(data, "journal.db")) / 1024.0 / 1024:F0} MiB |"));
        options.Log(_report[^1]);
    }

    // ------------------------------------------------------------------ command round trip

    private async Task CommandsAsync(CancellationToken cancellationToken)
    {
        Section("Command round trip (issue 8)",
            string.Create(CultureInfo.InvariantCulture,
                $"A fleet-side command client on the same mosquitto publishes signed CHANGE_OPERATIONAL_MODE READY commands (always legal; journaled by the command actor and the operational state actor) at {options.CommandRate:0.#}/s, open loop, and times publish → ACK and publish → final answer (SUCCEEDED) as they arrive at the client. ") +
            string.Create(CultureInfo.InvariantCulture,
                $"Idle and online: {options.CommandDuration.TotalSeconds:F0} s measured after 3 s. Draining: {options.CommandRounds} rounds of: broker stopped, the log filled to {CommandBench.Backlog:N0} unsent readings (what 10 simulated OBD adapters log in 50 s at 10,000 readings/s, timestamps and all, told to the log directly and faster than live, while the vehicle's 10 simulated OBD adapters keep producing 10,000 readings/s), broker started; commands from the moment the uplink is online until the backlog is under 10,000. Online and draining, a fleet-side consumer subscribes to the vehicle's telemetry at QoS 1, so that mosquitto forwards every batch as it does in service. ") +
            "In the agent = the ACK's own timestamp (when the command actor made it) − publish; agent to client = arrival − that timestamp (one process, one clock; millisecond resolution).");
        var outcome = await new CommandBench(options, broker, Vehicle, DataDirectory).RunAsync(cancellationToken);
        _report.AddRange(outcome.Report);
    }

    // ------------------------------------------------------------------ memory and start-up (agent processes)

    private async Task ProcessFiguresAsync(CancellationToken cancellationToken)
    {
        Section("The agent process: start-up and memory",
            $"`fleet-agent run` as a child process against the same mosquitto. Start to first acknowledged publish: the agent's own measurement from process start (median of {options.Repeats}, fresh data folder each). " +
            "Memory: 20 simulated devices (6 GPS at 1 Hz, 7 OBD at 1 Hz, 7 IMU at 10 Hz, about 125 readings/s) for 60 s.");
        var startups = new List<double>();
        for (var run = 0; run < options.Repeats; run++)
        {
            var vehicle = $"startup-{run}";
            var overlay = ChaosScenarios.Overlay(broker, vehicle, DataDirectory(vehicle), 1);
            await using var agent = AgentProcess.Start(overlay, Path.Combine(workDirectory, vehicle));
            if (await agent.WaitForOutputAsync("First batch acknowledged", TimeSpan.FromSeconds(60))) startups.Add(AgentCost.FirstAcknowledgedMs(agent));
            await agent.StopAsync(TimeSpan.FromSeconds(60));
        }

        var memoryOverlay = ChaosScenarios.Overlay(broker, "memory", DataDirectory("memory"), 1) + Environment.NewLine + TwentyDevices + Environment.NewLine;
        long maxResident = 0;
        long? peak;
        int exitCode;
        await using (var agent = AgentProcess.Start(memoryOverlay, Path.Combine(workDirectory, "memory")))
        {
            await agent.WaitForOutputAsync("First batch acknowledged", TimeSpan.FromSeconds(60));
            for (var second = 0; second < 60; second++)
            {
                await Task.Delay(1000, cancellationToken);
                maxResident = Math.Max(maxResident, agent.ResidentBytes() ?? 0);
            }
            peak = agent.PeakResidentBytes();
            exitCode = await agent.StopAsync(TimeSpan.FromSeconds(60));
        }
        _report.Add("| start to first acknowledged publish (median) | runs | resident memory, 20 devices (max VmRSS) | peak (VmHWM) | exit code |");
        _report.Add("|---:|---|---:|---:|---:|");
        _report.Add(string.Create(CultureInfo.InvariantCulture,
            $"| {Median(startups):F0} ms | {string.Join(", ", startups.Select(s => s.ToString("F0", CultureInfo.InvariantCulture)))} ms | {maxResident / 1024.0 / 1024:F0} MiB | {(peak ?? 0) / 1024.0 / 1024:F0} MiB | {exitCode} |"));
        options.Log(_report[^1]);
    }

    /// <summary>The memory figure's vehicle: 20 simulated devices (6 GPS at 1 Hz, 7 OBD at 1 Hz, 7 IMU at 10 Hz, about 125 readings/s).</summary>
    internal static string TwentyDevices { get; } = "fleet.sensors = [" + Environment.NewLine + string.Join(Environment.NewLine,
        Enumerable.Range(1, 6).Select(i => $"{{ id = gps-{i}, type = sim-gps, rate-hz = 1 }}")
            .Concat(Enumerable.Range(1, 7).Select(i => $"{{ id = obd-{i}, type = sim-obd, rate-hz = 1 }}"))
            .Concat(Enumerable.Range(1, 7).Select(i => $"{{ id = imu-{i}, type = sim-imu, rate-hz = 10 }}"))) + Environment.NewLine + "]";

    // ------------------------------------------------------------------ helpers

    private void Header()
    {
        _report.Add("## Pipeline benchmark");
        _report.Add("");
        _report.Add(string.Create(CultureInfo.InvariantCulture,
            $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores ({CpuModel()}), .NET {Environment.Version}, mosquitto on 127.0.0.1, log `synchronous = {options.Synchronous.ToString().ToLowerInvariant()}`. Reproduce: `{ReproduceCommand()}`."));
    }

    /// <summary>The command that runs this bench again with the options that differ from the defaults.</summary>
    private string ReproduceCommand()
    {
        var defaults = new BenchOptions();
        if (options.Phases.SetEquals(BenchOptions.AllPhases) && options.Repeats == defaults.Repeats && options.AgentProgram is null
            && options.Synchronous == defaults.Synchronous)
            return "./build.sh --target=Bench";
        var command = new StringBuilder("fleet-agent bench");
        if (!options.Phases.SetEquals(BenchOptions.AllPhases))
            command.Append(" --phases ").Append(string.Join(',', BenchOptions.AllPhases.Where(options.Phases.Contains)));
        if (options.Repeats != defaults.Repeats) command.Append(" --repeats ").Append(options.Repeats.ToString(CultureInfo.InvariantCulture));
        if (options.Synchronous != defaults.Synchronous) command.Append(" --synchronous normal");
        if (options.AgentProgram is { } program) command.Append(" --agent ").Append(program);
        return command.ToString();
    }

    private void Section(string title, string description)
    {
        _report.Add("");
        _report.Add("### " + title);
        _report.Add("");
        _report.Add(description);
        _report.Add("");
        options.Log("== " + title);
    }

    internal VehicleSettings Vehicle(string id, IReadOnlyList<SensorSettings> sensors) => new()
    {
        VehicleId = id,
        Tenant = Tenant,
        Sensors = sensors,
        SummaryInterval = TimeSpan.Zero,
        Uplink = new UplinkSettings
        {
            Broker = new BrokerSettings { Host = "127.0.0.1", Port = broker.Port },
            ReconnectMinBackoff = TimeSpan.FromMilliseconds(200),
            ReconnectMaxBackoff = TimeSpan.FromSeconds(2),
        },
    };

    internal static SensorSettings Obd(string id, double hz) => Sensor(id, SimulatedObdDriver.TypeName, hz);

    internal static SensorSettings Sensor(string id, string type, double hz) => new()
    {
        Id = id,
        Type = type,
        RateHz = hz,
        StallTimeout = TimeSpan.FromSeconds(30),
    };

    internal string DataDirectory(string vehicle) => Path.Combine(workDirectory, vehicle, "data");

    private static List<(string Id, SimulatedDriver Driver)> SampleDrivers(params (string Id, string Type, double Hz)[] sensors)
    {
        var context = new DriverContext("bench", TimeProvider.System,
            new SimulationContext(new VehicleModel(Route.HamburgPort, 7, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000)), 7));
        return sensors.Select(s =>
        {
            SensorDriverRegistry.Default.TryGet(s.Type, out var factory);
            return (s.Id, (SimulatedDriver)factory.Create(new SensorSettings { Id = s.Id, Type = s.Type, RateHz = s.Hz }, context));
        }).ToList();
    }

    internal static double Median(IReadOnlyCollection<double> values) =>
        values.Count == 0 ? double.NaN : values.Order().ElementAt(values.Count / 2);

    internal static long Percentile(IReadOnlyList<long> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static long PeakResidentOfSelf()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }

    /// <summary>
    /// A fleet-side subscriber registered before a run with a persistent session, then disconnected
    /// so that it costs the measured pipeline nothing; afterwards it collects what the broker queued.
    /// </summary>
    private sealed class VerifierSession : IAsyncDisposable
    {
        private readonly MosquittoProcess _broker;
        private readonly string _vehicle;

        private VerifierSession(MosquittoProcess broker, string vehicle)
        {
            _broker = broker;
            _vehicle = vehicle;
        }

        public static async Task<VerifierSession> CreateAsync(MosquittoProcess broker, string vehicle)
        {
            var session = new VerifierSession(broker, vehicle);
            await using (await session.ConnectAsync())
            {
                // Subscribed; disconnecting keeps the session and queues what arrives.
            }
            return session;
        }

        public async Task<Core.Telemetry.Verification.VehicleVerification> CollectAsync(TimeSpan timeout)
        {
            await using var verifier = await ConnectAsync();
            await verifier.WaitUntilAsync(v => v.AllOfflineVehiclesComplete(1), timeout);
            return verifier.Verifier.Report().Vehicles.SingleOrDefault(v => v.VehicleId == _vehicle)
                ?? new Core.Telemetry.Verification.VehicleVerification(_vehicle, 0, 0, 0, [], 0, 0, 0, 0, null, null);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private Task<MqttVerifier> ConnectAsync() => MqttVerifier.StartAsync(
            new BrokerSettings { Host = "127.0.0.1", Port = _broker.Port },
            $"fleet/{Tenant}/{_vehicle}/telemetry", $"fleet/{Tenant}/{_vehicle}/status", "bench-" + _vehicle, persistentSession: true);
    }
}
