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
