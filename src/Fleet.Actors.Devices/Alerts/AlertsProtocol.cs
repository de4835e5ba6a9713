using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Devices.Alerts;

/// <summary>
/// Messages of the vehicle's <c>alerts</c> actor. Other actors raise and clear alerts with
/// <see cref="Raise"/> and <see cref="Clear"/> (the stall detector, the health monitor, the
/// operational state machine's emergency stop, the script engine's <c>raise-alert</c>): the alerts
/// actor debounces them like the alerts of its own rules, journals them through the write-ahead log
/// (from where they also travel in the uplink's high-priority lane), counts them and drives the
/// configured outputs. Neither message is answered; what happened is in the log and the metrics.
/// </summary>
public static class AlertsProtocol
{
    /// <summary>
    /// Raises an alert. A condition alert (<paramref name="OneShot"/> false) is identified by
    /// (<paramref name="Type"/>, <paramref name="DeviceId"/>, <paramref name="Source"/>): raising it again
    /// while it is raised does nothing, and <see cref="Clear"/> with the same identity ends it (a
    /// <c>CLEARED</c> record follows its <c>RAISED</c> one). A one-shot alert (a harsh brake, a script's
    /// alert) is an <c>EVENT</c> record that nothing clears.
    /// </summary>
    /// <param name="Type">The alert's type, its name on the wire, e.g. <c>uplink-stalled</c>.</param>
    /// <param name="Severity">Info, Warning or Critical.</param>
    /// <param name="Source">Who raises it, e.g. <c>health</c>, <c>stall-detector</c>, <c>operations</c>.</param>
    /// <param name="DeviceId">The device the alert is about; null for the vehicle.</param>
    /// <param name="Message">Human text (at most 1024 characters are kept).</param>
    /// <param name="Causes">The readings that caused it (at most 16 are kept).</param>
    /// <param name="OneShot">True for an alert nothing clears.</param>
    public sealed record Raise(
        string Type,
        AlertSeverity Severity,
        string Source,
        string? DeviceId = null,
        string Message = "",
        IReadOnlyList<AlertCause>? Causes = null,
        bool OneShot = false);

    /// <summary>
    /// Ends the condition alert raised with the same (<paramref name="Type"/>, <paramref name="DeviceId"/>,
    /// <paramref name="Source"/>): a <c>CLEARED</c> record goes out when its <c>RAISED</c> one did (clears
    /// are never debounced). Nothing happens when no such alert is raised.
    /// </summary>
    public sealed record Clear(string Type, string Source, string? DeviceId = null, string Message = "", IReadOnlyList<AlertCause>? Causes = null);

    /// <summary>
    /// From the alerts actor to its parent: whether it needs the log's accepted readings (only while
    /// a rule on readings is configured), so that a vehicle without such rules pays nothing for them.
    /// </summary>
    public sealed record WantsReadings(bool Wanted);

    /// <summary>A configuration change: new rules, debounce and actuation. Rules that read back equal keep their state.</summary>
    public sealed record Apply(AlertsSettings Settings);

    /// <summary>Asks for a <see cref="Status"/>.</summary>
    public sealed class GetStatus
    {
        /// <summary>The only instance.</summary>
        public static readonly GetStatus Instance = new();

        private GetStatus()
        {
        }
    }

    /// <summary>What the alerts actor holds.</summary>
    /// <param name="Rules">Configured rules.</param>
    /// <param name="Active">Condition alerts raised now (sent, or held by the debounce), by <c>type/device/source</c>.</param>
    /// <param name="Held">Of those, raises the debounce holds back until its window ends.</param>
    /// <param name="Actuating">Output lines running a pattern now.</param>
    public sealed record Status(int Rules, IReadOnlyList<string> Active, int Held, IReadOnlyList<string> Actuating);
}
