using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Scripting;

namespace Fleet.Actors.Devices.Alerts;

/// <summary>
/// The alerts' outputs (actor <c>outputs</c>, child of <c>alerts</c>): an alert that went out runs
/// the configured pattern (steady or blinking, for a duration) on each GPIO output line it matches.
/// Every level is written through the script engine's arbitration as a standing write of the holder
/// <c>alert:{line}</c> at the configured priority (<see cref="ScriptProtocol.Hold"/>), so scripts of
/// lower priority cannot switch the buzzer off meanwhile and an emergency stop's outputs (255) win;
/// at the end the line is written 0 and released. A write that fails is logged (at most once per
/// 10 s, with a count) and counted in <c>alert_actuation_errors_total</c>; the alert itself has
/// already gone out. A new alert on a line that runs a pattern starts it again.
/// </summary>
internal sealed class ActuationActor : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(10);
    private readonly IActorRef _writes;
    private readonly AlertMetrics _metrics;
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly RateLimitedLog _errors;
    private readonly Dictionary<string, Running> _running = new(StringComparer.Ordinal);
    private IReadOnlyList<ActuationSettings> _outputs;

    public ActuationActor(IReadOnlyList<ActuationSettings> outputs, IActorRef writes, AlertMetrics metrics, TimeProvider time)
    {
        _outputs = outputs;
        _writes = writes;
        _metrics = metrics;
        _errors = new RateLimitedLog(TimeSpan.FromSeconds(10), time);
        Receive<Actuate>(actuate => Start(actuate.Alert));
        Receive<Toggle>(toggle => OnToggle(toggle.Line));
        Receive<End>(end => OnEnd(end.Line));
        Receive<Written>(OnWritten);
        Receive<Reconfigure>(reconfigure => _outputs = reconfigure.Outputs);
        Receive<AlertsProtocol.GetStatus>(_ => Sender.Tell(_running.Keys.Order(StringComparer.Ordinal).ToList()));
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for the outputs; <paramref name="writes"/> takes <see cref="ScriptProtocol.Hold"/> and <see cref="ScriptProtocol.Release"/> (the script engine, or the vehicle agent that forwards to it).</summary>
    public static Props Props(IReadOnlyList<ActuationSettings> outputs, IActorRef writes, AlertMetrics metrics, TimeProvider time) =>
        Akka.Actor.Props.Create(() => new ActuationActor(outputs, writes, metrics, time));

    /// <summary>An alert went out: drive the outputs it matches.</summary>
    public sealed record Actuate(AlertValue Alert);

    /// <summary>New outputs (a configuration change); patterns that run go on to their end.</summary>
    public sealed record Reconfigure(IReadOnlyList<ActuationSettings> Outputs);

    private static string Holder(string line) => "alert:" + line;

    private void Start(AlertValue alert)
    {
        foreach (var output in _outputs.Where(o => o.Matches(alert)).DistinctBy(o => o.Line))
        {
            _running[output.Line] = new Running(output, Level: true, TimeSpan.Zero);
            _logger.Info("Alert {0} ({1}) drives output {2}: {3}", alert.Name, AlertMetrics.Name(alert.Severity), output.Line, output.DescribePattern());
            Timers.StartSingleTimer(EndTimer(output.Line), new End(output.Line), output.Duration);
            if (output.Pattern == ActuationPattern.Blink && output.On < output.Duration) Timers.StartSingleTimer(ToggleTimer(output.Line), new Toggle(output.Line), output.On);
            else Timers.Cancel(ToggleTimer(output.Line));
            Write(output, level: true);
        }
    }

    private void OnToggle(string line)
    {
        if (!_running.TryGetValue(line, out var running)) return;
        var level = !running.Level;
        var output = running.Output;
        // Where the pattern is now, by its own periods (not the clock): the last toggle is the one before the end, whatever the timers' precision.
        var at = running.At + (level ? output.Off : output.On);
        _running[line] = running with { Level = level, At = at };
        var next = level ? output.On : output.Off;
        if (at + next < output.Duration) Timers.StartSingleTimer(ToggleTimer(line), new Toggle(line), next);
        Write(output, level);
    }

    private void OnEnd(string line)
    {
        if (!_running.Remove(line, out var running)) return;
        Timers.Cancel(ToggleTimer(line));
        Write(running.Output, level: false);
        // Sent after the last write: the line rests at 0 and is free for scripts again.
        _writes.Tell(new ScriptProtocol.Release(Holder(line)));
    }

    private void Write(ActuationSettings output, bool level)
    {
        var holder = Holder(output.Line);
        var hold = new ScriptProtocol.Hold(holder, [new ScriptProtocol.Write(holder, new GpioLineTarget(output.Pin), level ? 1 : 0, output.Priority)]);
        _writes.Ask<ScriptProtocol.WriteDone>(hold, WriteTimeout).PipeTo(Self,
            success: done => new Written(output.Line, level, done, null),
            failure: ex => new Written(output.Line, level, null, $"no answer within {WriteTimeout.TotalSeconds:0} s"));
    }

    private void OnWritten(Written written)
    {
        if (written.Done is { Succeeded: true }) return;
        if (written.Done is { Outcome: "lost" } lost)
        {
            // Arbitration at work (a higher priority holds the line, e.g. an emergency stop); journaled as a script write.
            _logger.Debug("Alert output {0} := {1} lost the arbitration: {2}", written.Line, written.Level ? 1 : 0, lost.Error);
            return;
        }
        _metrics.ActuationErrors(written.Line).Inc();
        var reason = written.Failure ?? $"{written.Done!.Outcome}: {written.Done.Error}";
        if (_errors.ShouldLog(out var suppressed))
            _logger.Warning("Alert output {0} could not be set to {1}: {2}{3}; the alert went out regardless (alert_actuation_errors_total)",
                written.Line, written.Level ? 1 : 0, reason, suppressed > 0 ? $" ({suppressed} more failed writes since the last warning)" : "");
    }

    private static string EndTimer(string line) => "end/" + line;

    private static string ToggleTimer(string line) => "toggle/" + line;

    /// <summary>A pattern that runs: its current level and when in the pattern that level began.</summary>
    private sealed record Running(ActuationSettings Output, bool Level, TimeSpan At);

    private sealed record Toggle(string Line);

    private sealed record End(string Line);

    private sealed record Written(string Line, bool Level, ScriptProtocol.WriteDone? Done, string? Failure);
}
