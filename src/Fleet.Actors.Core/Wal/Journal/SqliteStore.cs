using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace Fleet.Actors.Core.Wal.Journal;

/// <summary>
/// One SQLite file of the journal or snapshot plugin: writes one at a time behind a gate (SQLite has
/// one writer) on a connection the store keeps, reads on pooled connections of their own (the file is
/// in WAL mode, so readers never wait for the writer). Every call runs off the caller's thread: the
/// plugin actors never block.
/// </summary>
/// <remarks>
/// The writer connection stays open between writes with its statements prepared (<see cref="SqliteWriter"/>):
/// opening a pooled connection, running the pragmas and preparing BEGIN, the INSERT and COMMIT for
/// every group commit was a sixth of the agent's CPU at 1,000 readings/s. It is opened afresh after a
/// failed write and when the agent released its connections to the files (<see cref="SqliteWal.ReleaseConnections"/>,
/// e.g. a damaged file quarantined and replaced): a write never goes to a file moved out of place.
/// </remarks>
internal sealed class SqliteStore : IDisposable
{
    private const string ReaderPragmas = "PRAGMA busy_timeout=30000;";

    private readonly string _connectionString;
    private readonly string _writerConnectionString;
    private readonly string _writerPragmas;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SqliteWriter? _writer;
    private int _writerGeneration;
    private volatile bool _disposed;

    /// <summary>From the plugin's configuration: <c>connection-string</c> and <c>synchronous</c> (full or normal).</summary>
    public SqliteStore(Config config)
    {
        _connectionString = config.GetString("connection-string")
            ?? throw new ConfigurationException("the SQLite journal plugin needs a connection-string");
        // The writer is kept by the store, not by the pool: a pooled connection would go back to the
        // pool with whatever a failed write left behind.
        _writerConnectionString = new SqliteConnectionStringBuilder(_connectionString) { Pooling = false }.ToString();
        var synchronous = config.GetString("synchronous", "full").ToUpperInvariant() switch
        {
            "FULL" => "FULL",
            "NORMAL" => "NORMAL",
            var other => throw new ConfigurationException($"synchronous must be full or normal, not {other}"),
        };
        _writerPragmas = $"PRAGMA synchronous={synchronous}; " + ReaderPragmas;
    }

    /// <summary>Runs <paramref name="work"/> on the writer connection, one at a time.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteWriter, T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Task.Run(() =>
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                var writer = Writer();
                try
                {
                    return work(writer);
                }
                catch
                {
                    // Whatever the failure left (an open transaction, a connection to a file that went
                    // bad), the next write starts on a fresh connection.
                    CloseWriter();
                    throw;
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (_disposed) CloseWriter();
            _gate.Release();
        }
    }

    /// <summary>Runs <paramref name="work"/> on a reader connection of its own.</summary>
    public Task<T> ReadAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken) =>
        Task.Run(() =>
        {
            using var connection = Open(_connectionString, ReaderPragmas);
            return work(connection);
        }, cancellationToken);

    /// <summary>A reader connection for a caller that reads in steps (the caller disposes it).</summary>
    public SqliteConnection OpenReader() => Open(_connectionString, ReaderPragmas);

    private SqliteWriter Writer()
    {
        var generation = SqliteWal.ConnectionGeneration;
        if (_writer is not null && _writerGeneration == generation) return _writer;
        CloseWriter();
        _writer = new SqliteWriter(Open(_writerConnectionString, _writerPragmas));
        _writerGeneration = generation;
        return _writer;
    }

    private void CloseWriter()
    {
        _writer?.Dispose();
        _writer = null;
    }

    private static SqliteConnection Open(string connectionString, string pragmas)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = pragmas;
            command.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Closes the writer connection now when no write runs, else when the running write ends (the
    /// plugin actor stops without waiting for it).
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        if (!_gate.Wait(0)) return;
        try
        {
            CloseWriter();
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>
/// The store's writer connection with its statements prepared once: <see cref="Command"/> hands out
/// the same prepared command for the same SQL, and <see cref="InTransaction{T}"/> runs BEGIN IMMEDIATE
/// and COMMIT (one fsync at <c>synchronous = full</c>) through prepared commands too.
/// </summary>
internal sealed class SqliteWriter(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    /// <summary>
    /// The prepared command for <paramref name="sql"/> with the named parameters; set their values
    /// (<c>command.Parameters["$pid"].Value</c>) and execute. The values stay until set again.
    /// </summary>
    public SqliteCommand Command(string sql, params ReadOnlySpan<string> parameters)
    {
        if (_commands.TryGetValue(sql, out var command)) return command;
        command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters) command.Parameters.Add(new SqliteParameter { ParameterName = name });
        _commands.Add(sql, command);
        return command;
    }

    /// <summary>Runs <paramref name="work"/> in one transaction; a failure rolls it back (and the store then opens a fresh connection).</summary>
    public T InTransaction<T>(Func<T> work)
    {
        Command("BEGIN IMMEDIATE").ExecuteNonQuery();
        var result = work();
        Command("COMMIT").ExecuteNonQuery();
        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var command in _commands.Values) command.Dispose();
        _commands.Clear();
        connection.Dispose();
    }
}
