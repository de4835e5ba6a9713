using Fleet.Actors.Core.Scripting;

namespace Fleet.Actors.Devices.Scripting;

/// <summary>
/// Messages of the vehicle's script engine (actor <c>scripts</c>). Store commands
/// (<c>ScriptStoreProtocol.Execute</c>: install, replace, enable, disable, remove) sent to it are
/// passed to the persisted store it owns and answered from there.
/// </summary>
public static class ScriptProtocol
{
    /// <summary>
    /// From the engine to its parent: whether it needs the log's accepted readings (only while an
    /// installed script has a threshold, GPIO edge or alert trigger, or a condition on a reading).
    /// </summary>
    public sealed record WantsReadings(bool Wanted);

    /// <summary>Starts a run of a script now, as a trigger would (commissioning, remote commands); answers <see cref="RunRequested"/>.</summary>
    public sealed record RunNow(string ScriptId);

    /// <summary>The run was started or refused; its outcome is journaled like any other run's.</summary>
    public sealed record RunRequested(string ScriptId, string Outcome, string Reason);

    /// <summary>
    /// A write asked for by a command (<paramref name="RequestedBy"/>, e.g. <c>command:42</c>), arbitrated
    /// against the scripts' writes of the cycle at <paramref name="Priority"/> (0..255) and journaled like
    /// theirs; answered with <see cref="WriteDone"/> once the device answered (or at once when it lost).
    /// </summary>
    public sealed record Write(string RequestedBy, WriteTarget Target, int Value, int Priority);

    /// <summary>How a <see cref="Write"/> or <see cref="Hold"/> went: the arbitration outcome (write, won, lost, duplicate) or the device's failure.</summary>
    public sealed record WriteDone(string Outcome, string? Error)
    {
        /// <summary>True when the value is on the output (written, or already there).</summary>
        public bool Succeeded => Error is null && Outcome is "write" or "won" or "duplicate" or "done";
    }

    /// <summary>
    /// Writes <paramref name="Writes"/> now and keeps them standing in every cycle until <see cref="Release"/>,
    /// so that scripts of lower priority lose against them (an emergency stop's safe outputs). Answered with
    /// <see cref="WriteDone"/> per write, in order, once each device answered.
    /// </summary>
    public sealed record Hold(string Holder, IReadOnlyList<Write> Writes);

    /// <summary>Ends a <see cref="Hold"/>; the outputs keep their values until something writes them.</summary>
    public sealed record Release(string Holder);

    /// <summary>Asks for a <see cref="Status"/>.</summary>
    public sealed class GetStatus
    {
        /// <summary>The instance.</summary>
        public static readonly GetStatus Instance = new();

        private GetStatus()
        {
        }
    }

    /// <summary>What the engine holds.</summary>
    /// <param name="Installed">Scripts in the store.</param>
    /// <param name="Enabled">Of those, enabled.</param>
    /// <param name="WaitingRuns">Runs waiting on a delay.</param>
    /// <param name="Stopped">True after shutdown stopped the engine.</param>
    public sealed record Status(int Installed, int Enabled, int WaitingRuns, bool Stopped);
}
