using Fleet.Actors.Core.Scripting;
using static Fleet.Actors.Core.Tests.Scripting.TestScripts;

namespace Fleet.Actors.Core.Tests.Scripting;

public class ScriptStoreStateTests
{
    private static ScriptStoreState Handle(ScriptStoreState state, ScriptStoreCommand command)
    {
        var decision = state.Decide(command);
        Assert.True(decision.Accepted, decision.RefusedBecause);
        return state.Apply(decision.Event!);
    }

    private static string Refusal(ScriptStoreState state, ScriptStoreCommand command)
    {
        var decision = state.Decide(command);
        Assert.False(decision.Accepted);
        Assert.Null(decision.Event);
        return decision.RefusedBecause!;
    }

    [Fact]
    public void Commands_should_become_events_that_apply_to_the_state()
    {
        var pump = Script("pump", new GpioWriteAction(1, 1));
        var state = Handle(ScriptStoreState.Empty, new InstallScript(pump));
        Assert.Equal(pump, state.Scripts["pump"]);

        Assert.Equal(new ScriptDisabled("pump"), state.Decide(new DisableScript("pump")).Event);
        state = Handle(state, new DisableScript("pump"));
        Assert.False(state.Scripts["pump"].Enabled);
        state = Handle(state, new EnableScript("pump"));
        Assert.True(state.Scripts["pump"].Enabled);

        var replaced = pump with { Priority = ScriptPriority.High };
        Assert.Equal(new ScriptReplaced(replaced), state.Decide(new ReplaceScript(replaced)).Event);
        state = Handle(state, new ReplaceScript(replaced));
        Assert.Equal(ScriptPriority.High, state.Scripts["pump"].Priority);

        state = Handle(state, new RemoveScript("pump"));
        Assert.Empty(state.Scripts);
    }

    [Fact]
    public void Replaying_the_events_should_rebuild_the_same_scripts()
    {
        var a = Script("a", new PublishAction("t", "p"));
        ScriptStoreEvent[] events = [new ScriptInstalled(a), new ScriptInstalled(Script("b", new CallScriptAction("a"))), new ScriptDisabled("a"), new ScriptRemoved("b")];

        var state = events.Aggregate(ScriptStoreState.Empty, (s, e) => s.Apply(e));

        Assert.Equal([a with { Enabled = false }], state.Scripts.Values);
    }

    [Fact]
    public void Invalid_commands_should_be_refused_with_a_reason()
    {
        var a = Script("a", new PublishAction("t", "p"));
        var state = Handle(ScriptStoreState.Empty, new InstallScript(a));
        state = Handle(state, new InstallScript(Script("caller", new CallScriptAction("a"))));

        Assert.Equal("script \"a\" is already installed (replace it instead)", Refusal(state, new InstallScript(a)));
        Assert.Equal("no script \"x\" is installed", Refusal(state, new ReplaceScript(Script("x", new PublishAction("t", "p")))));
        Assert.Equal("no script \"x\" is installed", Refusal(state, new EnableScript("x")));
        Assert.Equal("no script \"x\" is installed", Refusal(state, new DisableScript("x")));
        Assert.Equal("no script \"x\" is installed", Refusal(state, new RemoveScript("x")));
        Assert.Equal("script \"b\" calls unknown script \"ghost\"", Refusal(state, new InstallScript(Script("b", new CallScriptAction("ghost")))));
        Assert.Equal("script \"a\" calls unknown script \"ghost\"", Refusal(state, new ReplaceScript(Script("a", new CallScriptAction("ghost")))));
        Assert.Equal("script \"a\" is called by \"caller\"", Refusal(state, new RemoveScript("a")));
    }

    [Fact]
    public void A_script_may_call_itself_because_the_call_depth_bounds_it() =>
        Assert.True(ScriptStoreState.Empty.Decide(new InstallScript(Script("loop", new CallScriptAction("loop")))).Accepted);
}
