using System.Linq.Expressions;
using System.Security.Cryptography;
using Akka.Configuration;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Implementation.Fusing;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Host.Configuration;
using Microsoft.Data.Sqlite;

namespace Fleet.Actors.Host.Hosting;

/// <summary>
/// One-time costs of a start, paid on the second core while the first one reads the configuration
/// (ADR 0020): the start is one thread's work for its first few hundred milliseconds. In the order
/// the start needs them: Akka's HOCON durations (a regex compiled through Reflection.Emit on first
/// use), the reference configuration the Akka settings check compares against, the crypto library
/// (the configuration's version hash), SQLite's native library (the log's files), the app.config
/// lookup of <c>ActorSystem.Create</c>, the expression compiler behind every <c>ReceiveActor</c>,
/// the fusing of a stream like the uplink's, and the zstd compressor of the first batch. Each step
/// touches no file and shares nothing with the agent but what the runtime caches; whatever the start
/// reaches first it simply waits for or does itself. A failing step is skipped: the start then pays
/// that cost where it used to.
/// </summary>
internal static class StartupWarmUp
{
    private static readonly ParameterExpression Parameter = Expression.Parameter(typeof(object), "message");

    /// <summary>The steps, by name, in the order they run.</summary>
    internal static IReadOnlyList<(string Name, Action Run)> Steps { get; } =
    [
        ("hocon-durations", () => ConfigurationFactory.ParseString("warm-up = 250ms").GetTimeSpan("warm-up")),
        ("akka-reference", () => _ = AkkaSettingsCheck.Reference),
        ("crypto", () => SHA256.HashData("warm-up"u8)),
        ("sqlite", WarmSqlite),
        // ActorSystem.Create always looks for an akka section in app.config (System.Configuration and XML).
        ("akka-app-config", () => ConfigurationFactory.Load()),
        // Akka's ReceiveActor compiles each actor type's handlers into an expression tree.
        ("expressions", () => Expression.Lambda<Func<object, bool>>(Expression.TypeIs(Parameter, typeof(string)), Parameter).Compile()(Parameter.Name!)),
        // The uplink's stream is built and fused when the broker link comes up, on the path to the first publish.
        ("streams", () => Fusing.Aggressive(Source.Single(1)
            .ViaMaterialized(KillSwitches.Single<int>(), Keep.Right)
            .SelectMany(i => new[] { i })
            .SelectAsync(1, Task.FromResult)
            .Select(i => i)
            .WatchTermination(Keep.Left)
            .ToMaterialized(Sink.Ignore<int>(), Keep.Both))),
        ("zstd", () =>
        {
            using var codec = new BatchCodec();
            codec.Encode("warm-up", "warm-up", [new byte[64]]);
        }),
    ];

    /// <summary>Starts the steps on a thread-pool thread; the task ends with the names of the steps that failed.</summary>
    public static Task<IReadOnlyList<string>> Start() => Task.Run(Run);

    /// <summary>Runs every step; returns the names of those that failed.</summary>
    internal static IReadOnlyList<string> Run()
    {
        var failed = new List<string>();
        foreach (var (name, run) in Steps)
        {
            try
            {
                run();
            }
            catch (Exception)
            {
                failed.Add(name);
            }
        }
        return failed;
    }

    private static void WarmSqlite()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL); INSERT INTO t (v) VALUES ($v); SELECT max(k) FROM t;";
        command.Parameters.AddWithValue("$v", new byte[16]);
        command.ExecuteScalar();
    }
}
