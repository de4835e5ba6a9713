using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Devices.Alerts;

/// <summary>A condition alert: its type, the device it is about (null: the vehicle) and who raised it.</summary>
public readonly record struct AlertIdentity(string Type, string? DeviceId, string Source)
{
    /// <summary>For status and logs: <c>type/device/source</c>.</summary>
    public override string ToString() => $"{Type}/{DeviceId ?? "-"}/{Source}";
}

/// <summary>
/// The alerts actor's book: which condition alerts are raised, and the debounce. Pure and
/// single-threaded (the actor's), time given by the caller.
/// </summary>
/// <remarks>
/// <para>Debounce: at most one alert per type and device goes out per window. A one-shot alert inside
/// the window is suppressed (counted). A condition alert raised inside the window is held: if it is
/// still raised when the window ends it goes out then (late, never lost), and if it clears first it
/// counts as suppressed. Every alert that goes out carries how many were suppressed since the one
/// before it. A raise of a higher severity than the last one that went out is not held back
/// (an escalation must not wait).</para>
/// <para>Clears are never debounced: the clear of an alert that went out always goes out, so every
/// <c>RAISED</c> record is followed by its <c>CLEARED</c> one; the clear of a raise the fleet never
/// saw (it was held, then suppressed) does not go out.</para>
/// </remarks>
internal sealed class AlertBook(TimeSpan debounce)
{
    private readonly Dictionary<(string Type, string? DeviceId), KeyState> _keys = new();
    private readonly Dictionary<AlertIdentity, Active> _active = new();

    /// <summary>The window; a configuration change may set another.</summary>
    public TimeSpan Debounce { get; set; } = debounce;

    /// <summary>Condition alerts raised now (sent or held).</summary>
    public IEnumerable<AlertIdentity> ActiveAlerts => _active.Keys;

    /// <summary>Raised condition alerts the debounce holds back.</summary>
    public int HeldCount => _active.Values.Count(a => !a.Sent);

    /// <summary>What became of a raise or a clear.</summary>
    public abstract record Outcome;

    /// <summary>Goes out now: journal <paramref name="Value"/>.</summary>
    public sealed record Emit(AlertValue Value) : Outcome;

    /// <summary>Held by the debounce until <paramref name="Until"/>; <see cref="Due"/> lets it out then if it is still raised.</summary>
    public sealed record Held(DateTimeOffset Until) : Outcome;

    /// <summary>Suppressed by the debounce (counted), of this severity.</summary>
    public sealed record Suppressed(AlertSeverity Severity) : Outcome;

    /// <summary>Nothing to do: raised again while raised, or cleared while not raised.</summary>
    public sealed record Ignored : Outcome
    {
        /// <summary>The only instance.</summary>
        public static readonly Ignored Instance = new();
    }

    /// <summary>An alert is raised (a condition began, or a one-shot alert).</summary>
    public Outcome Raise(AlertsProtocol.Raise raise, DateTimeOffset now)
    {
        var key = Key(raise.Type, raise.DeviceId);
        if (raise.OneShot)
        {
            if (HoldsBack(key, raise.Severity, now))
            {
                key.Suppressed++;
                return new Suppressed(raise.Severity);
            }
            return new Emit(Pass(key, raise, AlertState.Event, now));
        }
        var identity = new AlertIdentity(raise.Type, raise.DeviceId, raise.Source);
        if (_active.ContainsKey(identity)) return Ignored.Instance;
        if (HoldsBack(key, raise.Severity, now))
        {
            _active[identity] = new Active(raise, Sent: false, now);
            key.Held.Add(identity);
            return new Held(key.LastPassed!.Value + Debounce);
        }
        _active[identity] = new Active(raise, Sent: true, now);
        return new Emit(Pass(key, raise, AlertState.Raised, now));
    }

    /// <summary>A condition alert ended.</summary>
    public Outcome Clear(AlertsProtocol.Clear clear, DateTimeOffset now)
    {
        var identity = new AlertIdentity(clear.Type, clear.DeviceId, clear.Source);
        if (!_active.Remove(identity, out var active)) return Ignored.Instance;
        if (!active.Sent)
        {
            // The fleet never saw it: one more suppressed alert for the next one that goes out.
            var key = Key(clear.Type, clear.DeviceId);
            key.Held.Remove(identity);
            key.Suppressed++;
            return new Suppressed(active.Raise.Severity);
        }
        var raise = active.Raise;
        var message = clear.Message.Length > 0 ? clear.Message : $"cleared after {Describe(now - active.Since)}";
        return new Emit(new AlertValue(raise.Type, raise.Severity, raise.Source, message, AlertState.Cleared, raise.DeviceId, 0, Causes(clear.Causes)));
    }

    /// <summary>The held raises whose window has ended by <paramref name="now"/> and that are still raised: they go out now (one per type and device and window).</summary>
    public List<AlertValue> Due(DateTimeOffset now)
    {
        var due = new List<AlertValue>();
        foreach (var key in _keys.Values)
        {
            if (key.Held.Count == 0 || HoldsBack(key, AlertSeverity.Unspecified, now)) continue;
            var identity = key.Held[0];
            key.Held.RemoveAt(0);
            var active = _active[identity];
            _active[identity] = active with { Sent = true };
            var value = Pass(key, active.Raise, AlertState.Raised, now);
            due.Add(value with { Message = $"{value.Message} (held back {Describe(now - active.Since)} by the debounce)".Trim() });
        }
        return due;
    }

    /// <summary>When the next held raise may go out; null when none is held.</summary>
    public DateTimeOffset? NextDue()
    {
        DateTimeOffset? next = null;
        foreach (var key in _keys.Values)
            if (key.Held.Count > 0 && key.LastPassed is { } last && (next is null || last + Debounce < next)) next = last + Debounce;
        return next;
    }

    private bool HoldsBack(KeyState key, AlertSeverity severity, DateTimeOffset now) =>
        Debounce > TimeSpan.Zero && key.LastPassed is { } last && now - last < Debounce && severity <= key.LastSeverity;

    private AlertValue Pass(KeyState key, AlertsProtocol.Raise raise, AlertState state, DateTimeOffset now)
    {
        var suppressed = key.Suppressed;
        key.Suppressed = 0;
        key.LastPassed = now;
        key.LastSeverity = raise.Severity;
        return new AlertValue(raise.Type, raise.Severity, raise.Source, raise.Message, state, raise.DeviceId, suppressed, Causes(raise.Causes));
    }

    private KeyState Key(string type, string? deviceId)
    {
        if (!_keys.TryGetValue((type, deviceId), out var key)) _keys[(type, deviceId)] = key = new KeyState();
        return key;
    }

    private static IReadOnlyList<AlertCause> Causes(IReadOnlyList<AlertCause>? causes) =>
        causes is null ? [] : causes.Count <= ReadingValidator.MaxAlertCauses ? causes : causes.Take(ReadingValidator.MaxAlertCauses).ToArray();

    private static string Describe(TimeSpan span) => span.TotalSeconds < 1 ? $"{span.TotalMilliseconds:0} ms" : $"{span.TotalSeconds:0.#} s";

    private sealed class KeyState
    {
        public DateTimeOffset? LastPassed;
        public AlertSeverity LastSeverity;
        public int Suppressed;
        public readonly List<AlertIdentity> Held = new();
    }

    private sealed record Active(AlertsProtocol.Raise Raise, bool Sent, DateTimeOffset Since);
}
