using Akka.Actor;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Wal;
using Xunit.Abstractions;

namespace Fleet.Actors.Core.Tests.Wal;

/// <summary>
/// The gate in front of the command ledger and the operational state: messages wait while the
/// component starts, are refused at once (with why) while it is down, and reach the component
/// started again by the backoff supervisor.
/// </summary>
public sealed class BackoffGateTests(ITestOutputHelper output) : TestKit(output: output)
{
    [Fact]
    public void Messages_should_wait_for_a_starting_component_be_refused_while_it_is_down_and_reach_the_restarted_one()
    {
        var probe = CreateTestProbe();
        var gate = Sys.ActorOf(BackoffGate.Props("the echo", g => Props.Create(() => new Echo(g)), "echo",
            (message, sender, why) =>
            {
                if (message is not string text) return false;
                sender.Tell($"refused {text}: {why}");
                return true;
            }, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3)), "gate");

        // Sent at once: held until the component says it is up, then delivered.
        gate.Tell("first", probe.Ref);
        probe.ExpectMsg("echo first");
        Assert.True(Availability(gate).Up);

        gate.Tell("fail", probe.Ref);
        AwaitAssert(() => Assert.False(Availability(gate).Up), TimeSpan.FromSeconds(3));
        Assert.Contains("boom", Availability(gate).Why);
        gate.Tell("second", probe.Ref);
        probe.ExpectMsg<string>(m => m.StartsWith("refused second: the echo stopped (boom)", StringComparison.Ordinal));

        AwaitAssert(() => Assert.True(Availability(gate).Up), TimeSpan.FromSeconds(10));
        gate.Tell("third", probe.Ref);
        probe.ExpectMsg("echo third");
    }

    private BackoffGateProtocol.Availability Availability(IActorRef gate) =>
        gate.Ask<BackoffGateProtocol.Availability>(BackoffGateProtocol.GetAvailability.Instance, TimeSpan.FromSeconds(3)).Result;

    private sealed class Echo : ReceiveActor
    {
        private readonly IActorRef _gate;

        public Echo(IActorRef gate)
        {
            _gate = gate;
            Receive<string>(text => text == "fail", _ =>
            {
                _gate.Tell(new BackoffGateProtocol.Failing("boom"));
                Context.Stop(Self);
            });
            Receive<string>(text => Sender.Tell("echo " + text));
        }

        protected override void PreStart()
        {
            _gate.Tell(BackoffGateProtocol.Starting.Instance);
            _gate.Tell(BackoffGateProtocol.Up.Instance);
        }
    }
}
