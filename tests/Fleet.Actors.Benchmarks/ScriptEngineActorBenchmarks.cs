using Akka.Actor;
using Akka.Configuration;
using BenchmarkDotNet.Attributes;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Scripting;

namespace Fleet.Actors.Benchmarks;

/// <summary>
/// The script engine actor on its reading path: batches of accepted readings, each crossing the
/// cooling script's threshold once (27.0, then 29.1 with oxygen fine), so each batch starts one
/// run: threshold, conditions, the GPIO write through the cycle's arbiter (the first of a cycle is
/// sent to the line, later ones are duplicates of the same value), the publish, and the run, write
/// and message records told to the log. Per run, until the log has the run's record. Baseline: the
/// same runs through <see cref="ScriptRunner"/> and <see cref="WriteArbiter"/> directly, without
/// the actor, the trigger bookkeeping or the records.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class ScriptEngineActorBenchmarks
{
    /// <summary>Batches (one run each) per invocation.</summary>
    public const int Runs = 2000;

    private readonly WalProtocol.ReadingsAccepted _batch = new(
    [
        new Reading("pond3", 1, new MeasurementValue("water_temp", 27.0, "°C")),
        new Reading("pond3", 2, new MeasurementValue("oxygen", 7.2, "mg/L")),
        new Reading("pond3", 3, new MeasurementValue("water_temp", 29.1, "°C")),
    ]);

    private readonly Dictionary<string, double> _readings = new() { ["water_temp"] = 29.1, ["oxygen"] = 7.2 };
    private ScriptDocument _document = null!;
    private IReadOnlyDictionary<string, ScriptDefinition> _scripts = null!;
    private ScriptRunner _runner = null!;
    private ActorSystem _system = null!;
    private IActorRef _engine = null!;
    private RunCounter _counter = null!;

    [GlobalSetup]
    public void Setup()
    {
        var parsed = ScriptParser.ParseJson(ScriptEngineBenchmarks.Script).Document ?? throw new InvalidOperationException("the benchmark script does not parse");
        // The per-script rate limit (60 runs a minute by default) would refuse almost every run here.
        _document = parsed with { Limits = ScriptLimits.Default with { MaxRunsPerMinute = int.MaxValue } };
        _scripts = _document.Scripts.ToDictionary(s => s.Id);
        _runner = new ScriptRunner(_document.Limits, TimeProvider.System);

        _system = ActorSystem.Create("script-bench", ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.log-dead-letters = off
            akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            """));
        _counter = new RunCounter();
        var log = _system.ActorOf(Props.Create(() => new LogCounter(_counter)), "log");
        var gpio = _system.ActorOf(Props.Create(() => new WrittenLine()), "gpio");
        var gpioSettings = new GpioSettings { Lines = [new GpioLineSettings { Id = "pump", Pin = 17, Direction = GpioDirection.Output }] };
        var settings = new ScriptingSettings { Document = _document };
        _engine = _system.ActorOf(ScriptEngine.Props("bench", settings, log, gpio, gpioSettings, null, new AgentMetrics()), "scripts");
        while (_engine.Ask<ScriptProtocol.Status>(ScriptProtocol.GetStatus.Instance, TimeSpan.FromSeconds(10)).Result.Installed == 0)
            Thread.Sleep(10);
    }

    [GlobalCleanup]
    public void Cleanup() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    [Benchmark(Baseline = true, OperationsPerInvoke = Runs)]
    public int RunnerAndArbiterOnly()
    {
        var effects = 0;
        var arbiter = new WriteArbiter();
        for (var i = 0; i < Runs; i++)
        {
            var step = _runner.Start("cooling", _scripts, _readings);
            foreach (var effect in step.Effects)
            {
                if (effect is WriteRequested write) arbiter.Propose(write.Proposal);
                effects++;
            }
        }
        return effects + arbiter.Close().Count;
    }

    [Benchmark(OperationsPerInvoke = Runs)]
    public void ThresholdRunsThroughTheEngineActor()
    {
        var done = _counter.Expect(Runs);
        for (var i = 0; i < Runs; i++) _engine.Tell(_batch);
        if (!done.Wait(TimeSpan.FromSeconds(60))) throw new TimeoutException("the engine did not finish the runs");
    }

    /// <summary>Counts run records; completes when the expected number arrived.</summary>
    private sealed class RunCounter
    {
        private int _remaining;
        private TaskCompletionSource _done = new();

        public Task Expect(int runs)
        {
            _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _remaining, runs);
            return _done.Task;
        }

        public void Count(int runs)
        {
            if (Interlocked.Add(ref _remaining, -runs) <= 0) _done.TrySetResult();
        }
    }

    /// <summary>Stands in for the write-ahead log: counts the engine's run records.</summary>
    private sealed class LogCounter : ReceiveActor
    {
        public LogCounter(RunCounter counter) =>
            Receive<WalProtocol.LogReadings>(m =>
            {
                counter.Count(m.Readings.Count(r => r.Value is ScriptRunValue));
                if (m.ConfirmId != 0) Sender.Tell(new WalProtocol.Logged(m.ConfirmId));
            });
    }

    /// <summary>Stands in for the GPIO supervisor: every write succeeds at once.</summary>
    private sealed class WrittenLine : ReceiveActor
    {
        public WrittenLine() => Receive<GpioProtocol.Write>(w => Sender.Tell(new GpioProtocol.Written(w.LineId, w.Level)));
    }
}
