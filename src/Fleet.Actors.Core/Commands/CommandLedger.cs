using Fleet.Actors.Core.Commands.Journal;
using Fleet.Actors.Core.Commands.Wire;
using Google.Protobuf;

namespace Fleet.Actors.Core.Commands;

/// <summary>
/// The command ids a vehicle has accepted, with what it answered, kept until the command could not
/// come back (its expiry plus the clock skew): the replay protection and the idempotency of the
/// command actor. Built from the journal (<see cref="Apply(IMessage)"/>) and snapshots. Refused
/// commands take no id: a forged message cannot burn the id of a genuine one.
/// </summary>
internal sealed class CommandLedger
{
    private readonly Dictionary<string, SeenCommand> _seen = new(StringComparer.Ordinal);

    /// <summary>Commands issued up to this time (ms since the Unix epoch) and not remembered may have run before a history loss; 0: none lost.</summary>
    public long HistoryLostBefore { get; private set; }

    /// <summary>How many command ids are remembered.</summary>
    public int Count => _seen.Count;

    /// <summary>The entry of <paramref name="commandId"/>, or null.</summary>
    public SeenCommand? Find(string commandId) => _seen.GetValueOrDefault(commandId);

    /// <summary>Accepted commands without a final answer: to run (not started) or report interrupted (started) after a restart.</summary>
    public IEnumerable<SeenCommand> Unfinished => _seen.Values.Where(s => !s.PendingSignedCommand.IsEmpty);

    /// <summary>Applies one journal row.</summary>
    public void Apply(IMessage row)
    {
        switch (row)
        {
            case Accepted accepted:
                var signed = SignedCommand.Parser.ParseFrom(accepted.SignedCommand);
                var command = Command.Parser.ParseFrom(signed.Command);
                _seen[command.CommandId] = new SeenCommand
                {
                    CommandId = command.CommandId,
                    ExpiresAt = command.ExpiresAt,
                    ContentHash = ByteString.CopyFrom(CommandVerifier.CommandHash(signed.Command.Span)),
                    PendingSignedCommand = accepted.SignedCommand,
                };
                break;
            case Started started when _seen.TryGetValue(started.CommandId, out var s):
                s.Started = true;
                break;
            case Completed completed when _seen.TryGetValue(completed.Response.CommandId, out var c):
                c.Answers.Add(completed.Response);
                c.PendingSignedCommand = ByteString.Empty;
                break;
            case Seen snapshot:
                _seen.Clear();
                foreach (var entry in snapshot.Commands) _seen[entry.CommandId] = entry.Clone();
                HistoryLostBefore = Math.Max(HistoryLostBefore, snapshot.HistoryLostBefore);
                break;
            case HistoryLost lost:
                HistoryLostBefore = Math.Max(HistoryLostBefore, lost.Before);
                break;
        }
    }

    /// <summary>Forgets the commands that expired before <paramref name="nowMs"/> minus <paramref name="skew"/> and are finished.</summary>
    public int Prune(long nowMs, TimeSpan skew)
    {
        var limit = nowMs - (long)skew.TotalMilliseconds;
        var gone = _seen.Values.Where(s => s.ExpiresAt < limit && s.PendingSignedCommand.IsEmpty).Select(s => s.CommandId).ToList();
        foreach (var id in gone) _seen.Remove(id);
        return gone.Count;
    }

    /// <summary>The snapshot of everything remembered.</summary>
    public Seen Snapshot()
    {
        var snapshot = new Seen { HistoryLostBefore = HistoryLostBefore };
        snapshot.Commands.AddRange(_seen.Values.Select(s => s.Clone()));
        return snapshot;
    }
}
