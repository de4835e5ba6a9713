using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace Fleet.Actors.Core.Wal.Journal;

/// <summary>
/// One SQLite file of the journal or snapshot plugin: writes one at a time behind a gate (SQLite has
/// one writer), reads on connections of their own (the file is in WAL mode, so readers never wait
/// for the writer). Connections come from Microsoft.Data.Sqlite's pool for each call and go back
/// after it, so that a file replaced under the agent (a quarantine clears the pools) is opened
/// afresh. Every call runs off the caller's thread: the plugin actors never block.
/// </summary>
internal sealed class SqliteStore : IDisposable
{
    private readonly string _connectionString;
    private readonly string _writerPragmas;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>From the plugin's configuration: <c>connection-string</c> and <c>synchronous</c> (full or normal).</summary>
    public SqliteStore(Config config)
    {
        _connectionString = config.GetString("connection-string")
            ?? throw new ConfigurationException("the SQLite journal plugin needs a connection-string");
        var synchronous = config.GetString("synchronous", "full").ToUpperInvariant() switch
        {
            "FULL" => "FULL",
            "NORMAL" => "NORMAL",
            var other => throw new ConfigurationException($"synchronous must be full or normal, not {other}"),
        };
        _writerPragmas = $"PRAGMA synchronous={synchronous}; PRAGMA busy_timeout=30000;";
    }

    /// <summary>Runs <paramref name="work"/> on the writer connection, one at a time.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Task.Run(() =>
            {
                using var connection = Open(_writerPragmas);
                return work(connection);
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs <paramref name="work"/> on a reader connection of its own.</summary>
    public Task<T> ReadAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken) =>
        Task.Run(() =>
        {
            using var connection = Open("PRAGMA busy_timeout=30000;");
            return work(connection);
        }, cancellationToken);

    /// <summary>A reader connection for a caller that reads in steps (the caller disposes it).</summary>
    public SqliteConnection OpenReader() => Open("PRAGMA busy_timeout=30000;");


    private SqliteConnection Open(string pragmas)
    {
        var connection = new SqliteConnection(_connectionString);
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

    /// <inheritdoc />
    public void Dispose() => _gate.Dispose();
}
