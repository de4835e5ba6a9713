using System.Collections.Immutable;
using Akka.Actor;

namespace Fleet.Actors.Core.Scripting;

/// <summary>Messages of the script store (<c>ScriptStoreActor</c>).</summary>
public static class ScriptStoreProtocol
{
    /// <summary>
    /// Install, replace, enable, disable or remove a script. Answered with
    /// <see cref="CommandAccepted"/> once the event is persisted, or <see cref="CommandRefused"/>.
    /// </summary>
    public sealed record Execute(ScriptStoreCommand Command);

    /// <summary>Answer to <see cref="Execute"/>: the change is persisted and applied.</summary>
    public sealed record CommandAccepted(ScriptStoreEvent Event);

    /// <summary>
    /// Answer to <see cref="Execute"/>: nothing changed (duplicate id, unknown script, a call to a
    /// script that is not installed, removing a script others call, a script that cannot be stored,
    /// or a journal that refused the write).
    /// </summary>
    public sealed record CommandRefused(string Reason);

    /// <summary>Asks for the installed scripts; answered with <see cref="Scripts"/>.</summary>
    public sealed class GetScripts
    {
        /// <summary>The only instance.</summary>
        public static readonly GetScripts Instance = new();

        private GetScripts()
        {
        }
    }

    /// <summary>Answer to <see cref="GetScripts"/>: the installed scripts by id.</summary>
    public sealed record Scripts(ImmutableDictionary<string, ScriptDefinition> Installed);

    /// <summary>
    /// Subscribes <paramref name="Subscriber"/> to changes: it receives <see cref="ScriptsChanged"/>
    /// at once (with no cause) and after every persisted change. The store watches it and drops it
    /// when it stops. Subscribing again only repeats the initial message.
    /// </summary>
    public sealed record Subscribe(IActorRef Subscriber);

    /// <summary>Ends a <see cref="Subscribe"/>.</summary>
    public sealed record Unsubscribe(IActorRef Subscriber);

    /// <summary>
    /// The installed scripts after <paramref name="Cause"/> was persisted (null in the message a
    /// new subscriber receives at once).
    /// </summary>
    public sealed record ScriptsChanged(ImmutableDictionary<string, ScriptDefinition> Scripts, ScriptStoreEvent? Cause);

    /// <summary>
    /// To the subscribers: the store met a damaged journal or snapshot file in its recovery or a
    /// write, and stopped. The file is quarantined and the next store starts on a fresh one with what
    /// the files still hold: changes since the last snapshot that survived are lost.
    /// </summary>
    /// <param name="PersistenceId">The store's persistence id.</param>
    /// <param name="Cause">What SQLite said.</param>
    public sealed record StoreDamaged(string PersistenceId, string Cause);
}
