using Akka;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Akka.Util;

namespace Fleet.Actors.Core.Wal.Journal;

/// <summary>
/// The read side of <see cref="SqliteJournal"/>: the events of one persistence id as they are now
/// (<see cref="ICurrentEventsByPersistenceIdQuery"/>, what the log reads unsent entries back with),
/// read in pages of <c>max-buffer-size</c> rows, each page on a reader connection of its own and
/// only when downstream asks for more.
/// </summary>
public sealed class SqliteReadJournal(ExtendedActorSystem system, Config config) : IReadJournal, ICurrentEventsByPersistenceIdQuery
{
    private readonly SqliteStore _store = new(config);
    private readonly PayloadSerialization _serialization = new(system);
    private readonly int _pageSize = Math.Max(1, config.GetInt("max-buffer-size", 1000));

    /// <inheritdoc />
    public Source<EventEnvelope, NotUsed> CurrentEventsByPersistenceId(string persistenceId, long fromSequenceNr, long toSequenceNr) =>
        Source.UnfoldAsync(Math.Max(1, fromSequenceNr), async from =>
        {
            if (from > toSequenceNr) return Option<(long, IReadOnlyList<EventEnvelope>)>.None;
            var page = await _store.ReadAsync(connection => JournalRows.Read(connection, persistenceId, from, toSequenceNr, _pageSize, _serialization)
                .Select(row => new EventEnvelope(new Sequence(row.Ordering), persistenceId, row.Persistent.SequenceNr, row.Persistent.Payload, row.Created, []))
                .ToList(), CancellationToken.None).ConfigureAwait(false);
            if (page.Count == 0) return Option<(long, IReadOnlyList<EventEnvelope>)>.None;
            // A short page is the last one; a full one may have more behind it.
            var next = page.Count < _pageSize ? long.MaxValue : page[^1].SequenceNr + 1;
            return Option<(long, IReadOnlyList<EventEnvelope>)>.Create((next, page));
        }).SelectMany(page => page);
}

/// <summary>Makes <see cref="SqliteReadJournal"/> for Akka.Persistence.Query (the plugin's <c>class</c>).</summary>
public sealed class SqliteReadJournalProvider(ExtendedActorSystem system, Config config) : IReadJournalProvider
{
    private readonly SqliteReadJournal _journal = new(system, config);

    /// <inheritdoc />
    public IReadJournal GetReadJournal() => _journal;
}
