using Akka.Actor;
using Akka.Event;
using Akka.Pattern;

namespace Fleet.Actors.Core.Wal;

/// <summary>Messages between a <see cref="BackoffGate"/>, its component and those who ask about it.</summary>
public static class BackoffGateProtocol
{
    /// <summary>Told by the component to its gate when it starts (its recovery begins).</summary>
    public sealed class Starting
    {
        /// <summary>The only instance.</summary>
        public static readonly Starting Instance = new();

        private Starting()
        {
        }
    }

    /// <summary>Told by the component to its gate when it has recovered and may be given work.</summary>
    public sealed class Up
    {
        /// <summary>The only instance.</summary>
        public static readonly Up Instance = new();

        private Up()
        {
        }
    }

    /// <summary>Told by the component to its gate just before it stops after a failure: why.</summary>
    public sealed record Failing(string Why);

    /// <summary>Asks a gate for its <see cref="Availability"/>.</summary>
    public sealed class GetAvailability
    {
        /// <summary>The only instance.</summary>
        public static readonly GetAvailability Instance = new();

        private GetAvailability()
        {
        }
    }

    /// <summary>Whether the component is up; when not, what it is (its name) and why.</summary>
    public sealed record Availability(string Component, bool Up, string? Why);
}

/// <summary>
/// Keeps a persistent component running when its journal fails it (a damaged file, met in its
/// recovery or a write, stops it; the quarantine puts a fresh file in place) and answers for it
/// while it is down. The component runs under a <c>BackoffSupervisor</c> (child <c>backoff</c>)
/// that starts it again after a backoff; it tells the gate <see cref="BackoffGateProtocol.Starting"/>
/// and, once recovered, <see cref="BackoffGateProtocol.Up"/>. Messages for it wait at the gate while
/// it starts (at most <see cref="MaxWaiting"/>); while it is down, and for what is waiting when it
/// stops, the gate's <c>refuse</c> answers at once (a command is refused naming the reason, not met
/// with silence); a message it does not answer is dropped, which an asker sees as a timeout.
/// </summary>
public sealed class BackoffGate : ReceiveActor
{
    /// <summary>At most this many messages wait for a starting component; more are refused.</summary>
    public const int MaxWaiting = 1_000;

    private readonly string _component;
    private readonly Func<object, IActorRef, string, bool> _refuse;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<(object Message, IActorRef Sender)> _waiting = new();
    private IActorRef? _child;
    private bool _up;
    private bool _down;
    private string _why = "it is starting";
    private string? _failure;

    public BackoffGate(string component, Func<IActorRef, Props> childProps, string childName, Func<object, IActorRef, string, bool> refuse,
        TimeSpan minBackoff, TimeSpan maxBackoff)
    {
        _component = component;
        _refuse = refuse;
        var options = Backoff.OnStop(childProps(Self), childName, minBackoff, maxBackoff, randomFactor: 0.2, maxNrOfRetries: -1)
            .WithAutoReset(TimeSpan.FromSeconds(60));
        Context.ActorOf(BackoffSupervisor.Props(options), "backoff");

        Receive<BackoffGateProtocol.Starting>(_ =>
        {
            _child = Sender;
            _up = false;
            _down = false;
            _failure = null;
            _why = "it is starting";
            Context.WatchWith(Sender, new ChildStopped(Sender));
        });
        Receive<BackoffGateProtocol.Up>(_ =>
        {
            if (!Sender.Equals(_child)) return;
            _up = true;
            while (_waiting.TryDequeue(out var waiting)) Sender.Tell(waiting.Message, waiting.Sender);
        });
        Receive<BackoffGateProtocol.Failing>(failing =>
        {
            if (Sender.Equals(_child)) _failure = failing.Why;
        });
        Receive<ChildStopped>(OnChildStopped);
        Receive<BackoffGateProtocol.GetAvailability>(_ => Sender.Tell(new BackoffGateProtocol.Availability(_component, _up, _up ? null : _why)));
        ReceiveAny(OnMessage);
    }

    /// <summary>
    /// Props for a gate in front of the component <paramref name="childProps"/> makes (given the gate,
    /// which it tells <see cref="BackoffGateProtocol.Starting"/> and <see cref="BackoffGateProtocol.Up"/>).
    /// <paramref name="component"/> names it for the operator ("the command ledger"); <paramref name="refuse"/>
    /// answers a message (to its sender) while the component is down, with why, and says whether it did.
    /// </summary>
    public static Props Props(string component, Func<IActorRef, Props> childProps, string childName, Func<object, IActorRef, string, bool> refuse,
        TimeSpan? minBackoff = null, TimeSpan? maxBackoff = null) =>
        Akka.Actor.Props.Create(() => new BackoffGate(component, childProps, childName, refuse, minBackoff ?? TimeSpan.FromSeconds(1),
            maxBackoff ?? TimeSpan.FromSeconds(30)));

    /// <summary>
    /// For a component behind a gate whose journal failed it (<paramref name="where"/>: its recovery,
    /// a write), which therefore stops: tells <paramref name="gate"/> why, and has the damage, when
    /// SQLite called a file damaged, quarantined (<see cref="JournalQuarantine.ReportDamage(Exception, ILoggingAdapter, string)"/>:
    /// one line, the stack trace at Debug). True when it was damage, so that the caller does not log the stack trace again.
    /// </summary>
    public static bool ReportStopping(IUntypedActorContext context, IActorRef? gate, ILoggingAdapter log, string who, Exception cause, string where)
    {
        gate?.Tell(new BackoffGateProtocol.Failing($"{where} failed: {cause.GetBaseException().Message}"));
        return JournalQuarantine.Get(context.System).ReportDamage(cause, log, $"{who} ({where})");
    }

    private void OnMessage(object message)
    {
        if (_up) _child!.Forward(message);
        else if (!_down && _waiting.Count < MaxWaiting) _waiting.Enqueue((message, Sender));
        else Refuse(message, Sender);
    }

    private void OnChildStopped(ChildStopped stopped)
    {
        if (!stopped.Child.Equals(_child)) return;
        _child = null;
        _up = false;
        _down = true;
        _why = $"{_component} stopped ({_failure ?? "it failed"}) and is started again after a backoff";
        _log.Warning("{0} stopped ({1}); it is started again after a backoff, and what needs it meanwhile is refused",
            Capitalized(_component), _failure ?? "it failed");
        while (_waiting.TryDequeue(out var waiting)) Refuse(waiting.Message, waiting.Sender);
    }

    private void Refuse(object message, IActorRef sender)
    {
        if (!_refuse(message, sender, _why)) _log.Debug("{0} is not available ({1}); {2} dropped", _component, _why, message.GetType().Name);
    }

    private static string Capitalized(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private sealed record ChildStopped(IActorRef Child);
}
