namespace Fleet.Actors.Devices.Commands;

/// <summary>One output an operational state puts in a safe value: a configured GPIO output line and its logical level.</summary>
public sealed record SafeOutput(string Line, bool Value);

/// <summary>The operational state machine (HOCON: <c>fleet.operations</c>).</summary>
public sealed record OperationsSettings
{
    /// <summary>Outputs set at emergency priority (255) and held there, against every script, until the signed reset.</summary>
    public IReadOnlyList<SafeOutput> EmergencyStopOutputs { get; init; } = [];

    /// <summary>Outputs set at critical priority (200) when a safe stop begins; held until the vehicle leaves SAFE_STOPPED.</summary>
    public IReadOnlyList<SafeOutput> SafeStopOutputs { get; init; } = [];

    /// <summary>How long SAFE_STOPPING lasts after the outputs are set (the vehicle comes to rest) before SAFE_STOPPED.</summary>
    public TimeSpan SafeStopSettle { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The files the operational state is persisted to and the mark that tells whether they were
    /// replaced since (<see cref="Core.Wal.HistoryMark"/>); null (tests): a lost state goes unnoticed.
    /// </summary>
    public Core.Wal.HistoryFiles? History { get; init; }
}
