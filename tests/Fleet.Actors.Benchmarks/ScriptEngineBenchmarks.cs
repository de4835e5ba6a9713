using BenchmarkDotNet.Attributes;
using Fleet.Actors.Core.Scripting;

namespace Fleet.Actors.Benchmarks;

/// <summary>
/// The scripting engine on a simple trigger/action script (water temperature above a threshold,
/// oxygen not low: switch a GPIO line on and publish a message), per run: the runner checks the
/// rate limit, evaluates the conditions and returns the effects; each write then goes through the
/// cycle's arbiter. Baseline: the same rule hand-written in C#, producing the same effect records.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class ScriptEngineBenchmarks
{
    /// <summary>Runs per invocation.</summary>
    public const int Runs = 1000;

    /// <summary>The cooling script, also run by <see cref="ScriptEngineActorBenchmarks"/>.</summary>
    internal const string Script = """
        { "scripts": [ {
            "id": "cooling", "name": "Cooling control", "priority": "normal",
            "triggers": [ { "type": "threshold", "reading": "water_temp", "op": ">", "value": 28.5, "hysteresis": 0.5 } ],
            "conditions": [ { "not": { "reading": "oxygen", "op": "<", "value": 5 } } ],
            "actions": [
              { "type": "gpio-write", "line": 17, "level": 1 },
              { "type": "publish", "topic": "pond/3/cooling", "payload": "on" }
            ] } ] }
        """;

    private readonly Dictionary<string, double> _readings = new() { ["water_temp"] = 29.1, ["oxygen"] = 7.2 };
    private IReadOnlyDictionary<string, ScriptDefinition> _scripts = null!;
    private ScriptRunner _runner = null!;

    [GlobalSetup]
    public void Setup()
    {
        var document = ScriptParser.ParseJson(Script).Document ?? throw new InvalidOperationException("the benchmark script does not parse");
        _scripts = document.Scripts.ToDictionary(s => s.Id);
        // The per-script rate limit (60 runs a minute by default) would refuse almost every run here.
        _runner = new ScriptRunner(ScriptLimits.Default with { MaxRunsPerMinute = int.MaxValue }, TimeProvider.System);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Runs)]
    public int HandWrittenRule()
    {
        var effects = 0;
        for (var i = 0; i < Runs; i++)
        {
            if (_readings["water_temp"] > 28.5 && !(_readings["oxygen"] < 5))
            {
                ScriptEffect write = new WriteRequested(new WriteProposal(new GpioLineTarget(17), 1, "cooling", "Cooling control", ScriptPriority.Normal));
                ScriptEffect publish = new PublishRequested("cooling", "pond/3/cooling", "on");
                effects += write.ScriptId.Length + publish.ScriptId.Length > 0 ? 2 : 0;
            }
        }
        return effects;
    }

    [Benchmark(OperationsPerInvoke = Runs)]
    public int ScriptRunAndArbitration()
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
}
