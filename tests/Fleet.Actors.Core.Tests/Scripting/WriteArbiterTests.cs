using Fleet.Actors.Core.Scripting;
using FsCheck;
using FsCheck.Fluent;

namespace Fleet.Actors.Core.Tests.Scripting;

public class WriteArbiterTests
{
    private static readonly WriteTarget Pin17 = new GpioLineTarget(17);

    private static WriteProposal P(string script, ScriptPriority priority, int value, WriteTarget? target = null) =>
        new(target ?? Pin17, value, script, $"{script}-name", priority);

    [Fact]
    public void A_single_write_should_be_written()
    {
        var arbiter = new WriteArbiter();
        var write = P("cooling", ScriptPriority.Normal, 1);
        Assert.Equal([new WriteDecision(WriteOutcome.Write, write, null)], arbiter.Propose(write));
        Assert.Equal([write], arbiter.Close());
    }

    [Fact]
    public void A_higher_priority_write_should_win_and_report_the_overridden_one()
    {
        var arbiter = new WriteArbiter();
        var cooling = P("cooling", ScriptPriority.Normal, 1);
        var emergency = P("emergency", ScriptPriority.Emergency, 0);
        arbiter.Propose(cooling);

        var decisions = arbiter.Propose(emergency);

        Assert.Equal([new WriteDecision(WriteOutcome.Won, emergency, cooling), new WriteDecision(WriteOutcome.Overridden, cooling, emergency)], decisions);
        Assert.Equal("gpio line 17: script 'emergency-name' (emergency, priority 255) overrides 'cooling-name' (cooling, priority 50): 1 -> 0", decisions[0].Describe());
        Assert.Equal([emergency], arbiter.Close());
    }

    [Fact]
    public void A_standing_write_should_lose_only_to_a_higher_priority_so_nothing_beats_a_hold_at_255()
    {
        var arbiter = new WriteArbiter();
        var hold = P("emergency-stop", ScriptPriority.Emergency, 0);
        arbiter.Seed(hold);

        var rival = P("rival", ScriptPriority.Emergency, 1);
        Assert.Equal([new WriteDecision(WriteOutcome.Lost, rival, hold)], arbiter.Propose(rival));
        var same = P("same", ScriptPriority.Emergency, 0);
        Assert.Equal(WriteOutcome.Duplicate, arbiter.Propose(same)[0].Outcome);
        // An ordinary write at 255 still gives way to a later one of equal priority.
        arbiter.Close();
        arbiter.Propose(P("first", ScriptPriority.Emergency, 0));
        Assert.Equal(WriteOutcome.Won, arbiter.Propose(rival)[0].Outcome);
    }

    [Fact]
    public void An_unseeded_standing_write_should_be_gone_at_once_unless_another_has_taken_its_target()
    {
        var arbiter = new WriteArbiter();
        var hold = P("emergency-stop", ScriptPriority.Emergency, 0);
        arbiter.Seed(hold);
        Assert.False(arbiter.HasProposals);
        arbiter.Unseed(hold);
        var low = P("low", ScriptPriority.Low, 1);
        Assert.Equal([new WriteDecision(WriteOutcome.Write, low, null)], arbiter.Propose(low));
        Assert.True(arbiter.HasProposals);

        // Taken over by its own holder's new write: unseeding the old one leaves the new one standing.
        arbiter.Close();
        arbiter.Seed(hold);
        var changed = P("emergency-stop", ScriptPriority.Emergency, 1);
        arbiter.Propose(changed);
        arbiter.Unseed(hold);
        Assert.Equal(WriteOutcome.Lost, arbiter.Propose(P("rival", ScriptPriority.Normal, 0))[0].Outcome);
        arbiter.Close();
        Assert.False(arbiter.HasProposals);
    }

    [Fact]
    public void A_standing_write_should_give_way_to_a_new_write_of_its_own_holder_only()
    {
        // An alert output blinking: its holder changes its own standing write every half second.
        var arbiter = new WriteArbiter();
        var on = P("alert:buzzer", ScriptPriority.High, 1);
        arbiter.Seed(on);

        var off = P("alert:buzzer", ScriptPriority.High, 0);
        Assert.Equal([new WriteDecision(WriteOutcome.Write, off, null)], arbiter.Propose(off));
        arbiter.Seed(off);
        // Another writer of the same priority still loses against it.
        var script = P("script", ScriptPriority.High, 1);
        Assert.Equal([new WriteDecision(WriteOutcome.Lost, script, off)], arbiter.Propose(script));
        // The same level again is nothing to write.
        Assert.Equal(WriteOutcome.Duplicate, arbiter.Propose(off)[0].Outcome);
    }

    [Fact]
    public void A_lower_priority_write_should_lose_and_keep_the_existing_value()
    {
        var arbiter = new WriteArbiter();
        var emergency = P("emergency", ScriptPriority.Emergency, 0);
        var cooling = P("cooling", ScriptPriority.Normal, 1);
        arbiter.Propose(emergency);

        var decision = Assert.Single(arbiter.Propose(cooling));

        Assert.Equal(new WriteDecision(WriteOutcome.Lost, cooling, emergency), decision);
        Assert.Equal("gpio line 17: script 'cooling-name' (cooling, priority 50) blocked by 'emergency-name' (emergency, priority 255): keeping 0 (wanted 1)", decision.Describe());
        Assert.Equal([emergency], arbiter.Close());
    }

    [Fact]
    public void The_same_value_should_be_a_duplicate_and_skipped()
    {
        var arbiter = new WriteArbiter();
        var first = P("a", ScriptPriority.High, 1);
        var second = P("b", ScriptPriority.Low, 1);
        arbiter.Propose(first);

        Assert.Equal([new WriteDecision(WriteOutcome.Duplicate, second, first)], arbiter.Propose(second));
        Assert.Equal([first], arbiter.Close());
    }

    [Fact]
    public void A_higher_priority_duplicate_should_take_ownership_so_lower_scripts_cannot_override_it()
    {
        var arbiter = new WriteArbiter();
        var normal = P("cooling", ScriptPriority.Normal, 0);
        var emergency = P("emergency", ScriptPriority.Emergency, 0);
        var later = P("cooling", ScriptPriority.Normal, 1);
        arbiter.Propose(normal);
        Assert.Equal(WriteOutcome.Duplicate, Assert.Single(arbiter.Propose(emergency)).Outcome);

        Assert.Equal([new WriteDecision(WriteOutcome.Lost, later, emergency)], arbiter.Propose(later));
        Assert.Equal([emergency], arbiter.Close());
    }

    [Fact]
    public void Equal_priority_should_let_the_last_write_win()
    {
        var arbiter = new WriteArbiter();
        var first = P("a", ScriptPriority.Normal, 1);
        var last = P("b", ScriptPriority.Normal, 0);
        arbiter.Propose(first);

        Assert.Equal(WriteOutcome.Won, arbiter.Propose(last)[0].Outcome);
        Assert.Equal([last], arbiter.Close());
    }

    [Fact]
    public void Targets_should_be_arbitrated_separately_and_close_should_start_a_new_cycle()
    {
        var arbiter = new WriteArbiter();
        var pin = P("a", ScriptPriority.Normal, 1);
        var register = P("b", ScriptPriority.Low, 1200, new ModbusRegisterTarget("plc1", 17));
        var coil = P("c", ScriptPriority.Low, 1, new ModbusCoilTarget("plc1", 17));
        var otherPlc = P("d", ScriptPriority.Low, 7, new ModbusRegisterTarget("plc2", 17));
        foreach (var write in new[] { pin, register, coil, otherPlc })
            Assert.Equal(WriteOutcome.Write, Assert.Single(arbiter.Propose(write)).Outcome);

        Assert.Equal([pin, register, coil, otherPlc], arbiter.Close());
        Assert.Empty(arbiter.Close());
        Assert.Equal(WriteOutcome.Write, Assert.Single(arbiter.Propose(P("z", ScriptPriority.Low, 0))).Outcome);
    }

    [Fact]
    public void Final_writes_should_come_from_the_last_proposal_of_maximal_priority_for_each_target()
    {
        var priorities = new[] { ScriptPriority.Low, ScriptPriority.Normal, ScriptPriority.High, ScriptPriority.Critical, ScriptPriority.Emergency };
        var targets = new WriteTarget[] { new GpioLineTarget(1), new GpioLineTarget(2), new ModbusRegisterTarget("plc", 1), new ModbusCoilTarget("plc", 1) };
        var proposal = Gen.Elements(priorities).SelectMany(priority => Gen.Elements(targets).SelectMany(target => Gen.Choose(0, 2).Select(value => (priority, target, value))));

        Prop.ForAll(proposal.ListOf().ToArbitrary(), items =>
        {
            // The script id carries the proposal's index, so "which proposal" is checkable.
            var proposals = items.Select((p, i) => new WriteProposal(p.target, p.value, $"s{i}", $"s{i}", p.priority)).ToList();
            var arbiter = new WriteArbiter();
            var outcomes = proposals.SelectMany(arbiter.Propose).ToList();

            var final = arbiter.Close();

            var expected = proposals.GroupBy(p => p.Target).Select(g => g.Where(p => p.Priority == g.Max(q => q.Priority)).Last());
            Assert.Equal(expected.OrderBy(p => p.ScriptId, StringComparer.Ordinal), final.OrderBy(p => p.ScriptId, StringComparer.Ordinal));
            // Every proposal gets exactly one decision about itself (Overridden ones are about earlier proposals).
            Assert.Equal(proposals.Count, outcomes.Count(d => d.Outcome != WriteOutcome.Overridden));
        }).QuickCheckThrowOnFailure();
    }
}
