using System.Collections.Immutable;
using System.Security.Cryptography;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Uplink;

namespace Fleet.Actors.Core.Commands;

/// <summary>An issuer whose signature the vehicle trusts, for the command types it may send.</summary>
/// <param name="Id">The key id commands name in <c>issuer</c>.</param>
/// <param name="Key">Its P-256 public key.</param>
/// <param name="Types">The command types it may send.</param>
public sealed record TrustedIssuer(string Id, ECDsa Key, ImmutableHashSet<CommandType> Types);

/// <summary>Commands from the fleet (HOCON: <c>fleet.commands</c>).</summary>
public sealed record CommandSettings
{
    /// <summary>Whether the agent subscribes to its commands topic at all.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Where commands arrive; placeholders <c>{tenant}</c> and <c>{vehicle_id}</c>.</summary>
    public string CommandsTopic { get; init; } = "fleet/{tenant}/{vehicle_id}/commands";

    /// <summary>Where the agent answers; same placeholders.</summary>
    public string ResponsesTopic { get; init; } = "fleet/{tenant}/{vehicle_id}/responses";

    /// <summary>The issuers whose commands are accepted; none: every command is refused.</summary>
    public IReadOnlyList<TrustedIssuer> Issuers { get; init; } = [];

    /// <summary>How far in the future <c>issued_at</c> may lie (clocks differ).</summary>
    public TimeSpan MaxClockSkew { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest validity (<c>expires_at - issued_at</c>) accepted; command ids are remembered that long.</summary>
    public TimeSpan MaxValidity { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Largest command message accepted, in bytes.</summary>
    public int MaxCommandBytes { get; init; } = 256 * 1024;

    /// <summary>Most command ids remembered at once; beyond it new commands are refused (<c>busy</c>) until old ones expire.</summary>
    public int MaxRemembered { get; init; } = 100_000;

    /// <summary>How long the owner of a command may take to execute it before it is reported failed.</summary>
    public TimeSpan ExecutionTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The ACK goes out when the owner takes the command on, or at the latest this long after it was
    /// handed over (an owner that refuses within it makes the answer a NACK; after it, a FAILED).
    /// </summary>
    public TimeSpan AcknowledgeWithin { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Responses kept for a broker that is unreachable; beyond it the oldest are dropped (and counted).</summary>
    public int MaxPendingResponses { get; init; } = 1_000;

    /// <summary>A snapshot of the remembered commands is saved every this many journal rows.</summary>
    public int SnapshotEvery { get; init; } = 200;

    /// <summary>
    /// The files the command history is persisted to and the mark that tells whether they were
    /// replaced since (<see cref="Wal.HistoryMark"/>); null (tests): a lost history goes unnoticed.
    /// </summary>
    public Wal.HistoryFiles? History { get; init; }

    /// <summary>Checks the settings; returns the problems as (key, message) pairs.</summary>
    public IEnumerable<(string Key, string Problem)> Validate()
    {
        foreach (var (key, template) in new[] { ("topics.commands", CommandsTopic), ("topics.responses", ResponsesTopic) })
            if (TopicTemplate.Check(template) is { } problem) yield return (key, problem);
        if (MaxClockSkew < TimeSpan.Zero) yield return ("max-clock-skew", "must not be negative");
        if (MaxValidity <= TimeSpan.Zero) yield return ("max-validity", "must be positive");
        if (MaxCommandBytes is < 1024 or > 16 * 1024 * 1024) yield return ("max-command-bytes", "must be between 1 KiB and 16 MiB");
        if (MaxRemembered < 100) yield return ("max-remembered", "must be at least 100");
        if (ExecutionTimeout <= TimeSpan.Zero) yield return ("execution-timeout", "must be positive");
        if (AcknowledgeWithin <= TimeSpan.Zero || AcknowledgeWithin > ExecutionTimeout) yield return ("acknowledge-within", "must be positive and at most execution-timeout");
        if (MaxPendingResponses < 1) yield return ("max-pending-responses", "must be at least 1");
        if (SnapshotEvery < 1) yield return ("snapshot-every", "must be at least 1");
        var duplicate = Issuers.GroupBy(i => i.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) yield return ("issuers", $"issuer '{duplicate.Key}' is listed twice");
    }
}
