using Fleet.Actors.Core.Scripting;
using Microsoft.Extensions.Time.Testing;
using static Fleet.Actors.Core.Tests.Scripting.TestScripts;

namespace Fleet.Actors.Core.Tests.Scripting;

public class ScriptRunnerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private ScriptRunner Runner(ScriptLimits? limits = null) => new(limits ?? ScriptLimits.Default, _time);

    /// <summary>Drives a run to its end as the engine actor would: perform effects, wait on the fake clock, resume.</summary>
    private (RunOutcome Outcome, List<ScriptEffect> Effects, TimeSpan Elapsed) RunToEnd(ScriptRunner runner, string id, IReadOnlyDictionary<string, ScriptDefinition> scripts,
        IReadOnlyDictionary<string, double>? readings = null)
    {
        var started = _time.GetUtcNow();
        var effects = new List<ScriptEffect>();
        var step = runner.Start(id, scripts, readings ?? NoReadings);
        effects.AddRange(step.Effects);
        for (var waits = 0; !step.IsFinished; waits++)
        {
            Assert.True(waits < 1000, "the run never ended");
            _time.SetUtcNow(step.Run!.WaitingUntil!.Value);
            step = runner.Resume(step.Run);
            effects.AddRange(step.Effects);
        }
        return (step.Outcome!, effects, _time.GetUtcNow() - started);
    }

    [Fact]
    public void Runner_should_return_effects_in_order_and_wait_on_delays()
    {
        var script = Script("s", ScriptPriority.High,
            new GpioWriteAction(17, 1),
            new DelayAction(TimeSpan.FromSeconds(5)),
            new ModbusWriteCoilAction("plc1", 3, true),
            new PublishAction("t", "p"),
            new RaiseAlertAction("a", ScriptAlertSeverity.Info));
        var runner = Runner();

        var first = runner.Start("s", Installed(script), NoReadings);
        Assert.False(first.IsFinished);
        Assert.Equal([
            new WriteRequested(new WriteProposal(new GpioLineTarget(17), 1, "s", "s", ScriptPriority.High)),
            new DelayRequested("s", TimeSpan.FromSeconds(5), _time.GetUtcNow().AddSeconds(5)),
        ], first.Effects);

        _time.Advance(TimeSpan.FromSeconds(4));
        var early = runner.Resume(first.Run!);
        Assert.False(early.IsFinished);
        Assert.Empty(early.Effects);

        _time.Advance(TimeSpan.FromSeconds(1));
        var last = runner.Resume(early.Run!);
        Assert.Equal(RunOutcomeKind.Completed, last.Outcome!.Kind);
        Assert.Equal([
            new WriteRequested(new WriteProposal(new ModbusCoilTarget("plc1", 3), 1, "s", "s", ScriptPriority.High)),
            new PublishRequested("s", "t", "p"),
            new AlertRequested("s", "a", ScriptAlertSeverity.Info),
        ], last.Effects);
        Assert.Equal(5, last.Run!.ActionsExecuted);
    }

    [Fact]
    public void A_script_that_calls_itself_forever_should_be_stopped_by_the_call_depth()
    {
        var loop = Script("loop", new PublishAction("t", "again"), new CallScriptAction("loop"));

        var (outcome, effects, _) = RunToEnd(Runner(), "loop", Installed(loop));

        Assert.Equal(RunOutcomeKind.StoppedCallDepth, outcome.Kind);
        // Depth 0 plus five nested calls each published once before the sixth call was refused.
        Assert.Equal(6, effects.Count);
    }

    [Fact]
    public void Mutual_recursion_should_be_stopped_by_the_call_depth()
    {
        var a = Script("a", new CallScriptAction("b"));
        var b = Script("b", new CallScriptAction("a"));
        var (outcome, _, _) = RunToEnd(Runner(ScriptLimits.Default with { MaxCallDepth = 2 }), "a", Installed(a, b));
        Assert.Equal(RunOutcomeKind.StoppedCallDepth, outcome.Kind);
        Assert.Contains("depth 3, limit 2", outcome.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_delay_over_the_limit_should_stop_the_run_without_waiting()
    {
        var script = Script("s", new PublishAction("t", "before"), new DelayAction(TimeSpan.FromSeconds(61)), new PublishAction("t", "after"));

        var step = Runner().Start("s", Installed(script), NoReadings);

        Assert.True(step.IsFinished);
        Assert.Equal(RunOutcomeKind.StoppedDelayTooLong, step.Outcome!.Kind);
        Assert.Equal([new PublishRequested("s", "t", "before")], step.Effects);
    }

    [Fact]
    public void A_delay_of_exactly_the_limit_should_be_allowed()
    {
        var script = Script("s", new DelayAction(TimeSpan.FromSeconds(20)));
        var (outcome, _, elapsed) = RunToEnd(Runner(ScriptLimits.Default with { MaxDelay = TimeSpan.FromSeconds(20) }), "s", Installed(script));
        Assert.Equal(RunOutcomeKind.Completed, outcome.Kind);
        Assert.Equal(TimeSpan.FromSeconds(20), elapsed);
    }

    [Fact]
    public void A_script_that_delays_forever_should_be_stopped_by_the_execution_time()
    {
        // Each call delays 10 s: three delays fit in 30 s, the fourth would end after 40 s.
        var sleeper = Script("sleeper", new DelayAction(TimeSpan.FromSeconds(10)), new CallScriptAction("sleeper"));

        var (outcome, effects, elapsed) = RunToEnd(Runner(), "sleeper", Installed(sleeper));

        Assert.Equal(RunOutcomeKind.StoppedTimeLimit, outcome.Kind);
        Assert.Equal(3, effects.OfType<DelayRequested>().Count());
        Assert.Equal(TimeSpan.FromSeconds(30), elapsed);
    }

    [Fact]
    public void Many_short_delays_should_be_stopped_by_the_execution_time()
    {
        var actions = Enumerable.Range(0, 40).Select(_ => (ScriptAction)new DelayAction(TimeSpan.FromSeconds(1))).ToArray();
        var (outcome, effects, elapsed) = RunToEnd(Runner(), "s", Installed(Script("s", actions)));
        Assert.Equal(RunOutcomeKind.StoppedTimeLimit, outcome.Kind);
        Assert.Equal(30, effects.Count);
        Assert.Equal(TimeSpan.FromSeconds(30), elapsed);
    }

    [Fact]
    public void A_run_resumed_after_the_time_limit_should_be_stopped()
    {
        var script = Script("s", new DelayAction(TimeSpan.FromSeconds(1)), new PublishAction("t", "late"));
        var runner = Runner();
        var step = runner.Start("s", Installed(script), NoReadings);
        // The owner resumed late (a busy or suspended process): nothing more may run.
        _time.Advance(TimeSpan.FromSeconds(31));
        var late = runner.Resume(step.Run!);
        Assert.Equal(RunOutcomeKind.StoppedTimeLimit, late.Outcome!.Kind);
        Assert.Empty(late.Effects);
    }

    [Theory]
    [InlineData(50, RunOutcomeKind.Completed, 50)]
    [InlineData(51, RunOutcomeKind.StoppedActionLimit, 50)]
    public void Runs_should_stop_at_fifty_actions(int count, RunOutcomeKind expected, int executed)
    {
        var actions = Enumerable.Range(0, count).Select(i => (ScriptAction)new PublishAction("t", i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        var (outcome, effects, _) = RunToEnd(Runner(), "s", Installed(Script("s", actions)));
        Assert.Equal(expected, outcome.Kind);
        Assert.Equal(executed, effects.Count);
    }

    [Fact]
    public void Actions_of_called_scripts_should_count_against_the_run()
    {
        var helper = Script("helper", Enumerable.Range(0, 30).Select(_ => (ScriptAction)new PublishAction("t", "h")).ToArray());
        var main = Script("main", new CallScriptAction("helper"), new CallScriptAction("helper"));
        var (outcome, effects, _) = RunToEnd(Runner(), "main", Installed(main, helper));
        Assert.Equal(RunOutcomeKind.StoppedActionLimit, outcome.Kind);
        Assert.Equal(48, effects.Count); // 2 calls + 48 publishes = 50 actions
    }

    [Fact]
    public void The_61st_run_within_a_minute_should_be_refused()
    {
        var runner = Runner();
        var scripts = Installed(Script("s", new PublishAction("t", "p")), Script("other", new PublishAction("t", "p")));
        for (var i = 0; i < 60; i++)
        {
            Assert.Equal(RunOutcomeKind.Completed, runner.Start("s", scripts, NoReadings).Outcome!.Kind);
            _time.Advance(TimeSpan.FromMilliseconds(900));
        }

        var refused = runner.Start("s", scripts, NoReadings);
        Assert.Equal(RunOutcomeKind.RateLimited, refused.Outcome!.Kind);
        Assert.Empty(refused.Effects);
        // Per script: another script is not affected.
        Assert.Equal(RunOutcomeKind.Completed, runner.Start("other", scripts, NoReadings).Outcome!.Kind);
        // Sliding window: once the first run is a minute old, one more run is allowed.
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(RunOutcomeKind.Completed, runner.Start("s", scripts, NoReadings).Outcome!.Kind);
        Assert.Equal(RunOutcomeKind.RateLimited, runner.Start("s", scripts, NoReadings).Outcome!.Kind);
    }

    [Fact]
    public void Conditions_should_decide_whether_a_run_happens()
    {
        var hot = new CompareCondition("water_temp", ComparisonOperator.GreaterThan, new ConstantOperand(28));
        var script = Script("s", new GpioWriteAction(1, 1)) with { Conditions = ValueArray.Of<ScriptCondition>(hot) };
        var runner = Runner();

        Assert.Equal(RunOutcomeKind.ConditionsNotMet, runner.Start("s", Installed(script), new Dictionary<string, double> { ["water_temp"] = 27 }).Outcome!.Kind);
        Assert.Equal(RunOutcomeKind.ConditionsNotMet, runner.Start("s", Installed(script), NoReadings).Outcome!.Kind);
        Assert.Equal(RunOutcomeKind.Completed, runner.Start("s", Installed(script), new Dictionary<string, double> { ["water_temp"] = 29 }).Outcome!.Kind);
    }

    [Fact]
    public void Called_scripts_should_write_with_the_priority_of_the_started_script()
    {
        var helper = Script("helper", ScriptPriority.Low, new GpioWriteAction(5, 0));
        var emergency = Script("emergency", ScriptPriority.Emergency, new CallScriptAction("helper"));
        var (_, effects, _) = RunToEnd(Runner(), "emergency", Installed(emergency, helper));
        var write = Assert.IsType<WriteRequested>(Assert.Single(effects));
        Assert.Equal(new WriteProposal(new GpioLineTarget(5), 0, "helper", "helper", ScriptPriority.Emergency), write.Proposal);
    }

    [Fact]
    public void Unknown_disabled_and_dangling_scripts_should_fail_with_a_reason()
    {
        var runner = Runner();
        Assert.Equal(RunOutcome.Failed("unknown script \"x\""), runner.Start("x", Installed(), NoReadings).Outcome);
        var off = Script("off", new PublishAction("t", "p")) with { Enabled = false };
        Assert.Equal(RunOutcomeKind.Failed, runner.Start("off", Installed(off), NoReadings).Outcome!.Kind);
        var dangling = Script("d", new CallScriptAction("gone"));
        Assert.Equal(RunOutcome.Failed("\"d\" action 0: calls unknown script \"gone\""), runner.Start("d", Installed(dangling), NoReadings).Outcome);
    }
}
