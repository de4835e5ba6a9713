using Akka.Actor;
using Akka.Event;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Plc;

namespace Fleet.Actors.Devices.Scripting;

/// <summary>
/// The writes that arbitration let through, performed on the vehicle's GPIO output lines and PLCs:
/// asked with the write timeout, never awaited; each answer comes back to the engine as a
/// <see cref="Done"/> (through <c>PipeTo</c>), is counted (<c>done</c>, <c>failed</c>,
/// <c>refused</c>) and, when the device did not do it, journaled with the reason. Used on the
/// engine's thread only.
/// </summary>
internal sealed class DeviceWrites(
    IActorRef log, IActorRef? gpio, GpioSettings gpioSettings, IActorRef? plcs, TimeSpan timeout, ScriptMetrics metrics, TimeProvider time, ILoggingAdapter logger)
{
    private readonly Dictionary<int, GpioLineSettings> _linesByPin = gpioSettings.Lines.GroupBy(l => l.Pin).ToDictionary(g => g.Key, g => g.First());

    /// <summary>Sends <paramref name="write"/> to its device; the answer is told to <paramref name="engine"/>.</summary>
    public void Perform(WriteProposal write, IActorRef engine)
    {
        var requestedBy = $"script {write.ScriptId}";
        switch (write.Target)
        {
            case GpioLineTarget g when gpio is not null && _linesByPin.TryGetValue(g.Line, out var line) && line.Direction == GpioDirection.Output:
                gpio.Ask<GpioProtocol.Result>(new GpioProtocol.Write(line.Id, write.Value != 0, requestedBy), timeout).PipeTo(engine,
                    success: result => result switch
                    {
                        GpioProtocol.Refused r => new Done(write, "refused", r.Reason),
                        GpioProtocol.Failed f => new Done(write, "failed", f.Reason),
                        _ => new Done(write, "done", null),
                    },
                    failure: _ => new Done(write, "failed", $"GPIO line {line.Id} did not answer within {timeout.TotalSeconds:0.#} s"));
                break;
            case GpioLineTarget g:
                engine.Tell(new Done(write, "refused", $"no GPIO output line on pin {g.Line}"));
                break;
            case ModbusRegisterTarget r when plcs is not null:
                AskPlc(plcs, new PlcProtocol.WriteRegister(r.Device, (ushort)r.Address, (ushort)write.Value), write, engine);
                break;
            case ModbusCoilTarget c when plcs is not null:
                AskPlc(plcs, new PlcProtocol.WriteCoil(c.Device, (ushort)c.Address, write.Value != 0), write, engine);
                break;
            default:
                engine.Tell(new Done(write, "refused", "no PLCs are configured"));
                break;
        }
    }

    /// <summary>Counts the device's answer and journals it when the write was not done.</summary>
    public void Answered(Done done)
    {
        metrics.Writes(done.Outcome).Inc();
        if (done.Error is null) return;
        var p = done.Write;
        logger.Warning("Script {0}: {1} := {2} {3}: {4}", p.ScriptId, p.Target, p.Value, done.Outcome, done.Error);
        log.Tell(new WalProtocol.LogReadings([new Reading(ScriptEngine.DeviceId, time.GetUtcNow().ToUnixTimeMilliseconds(),
            new ScriptWriteValue(ScriptOutcomes.Target(p.Target), p.Value, done.Outcome, p.ScriptId, (byte)p.Priority, Error: done.Error))]));
    }

    private void AskPlc(IActorRef plcs, PlcProtocol.IWithPlcId request, WriteProposal write, IActorRef engine) =>
        plcs.Ask<PlcProtocol.WriteResult>(request, timeout).PipeTo(engine,
            success: result => result switch
            {
                PlcProtocol.Refused r => new Done(write, "refused", r.Reason),
                PlcProtocol.Failed f => new Done(write, "failed", f.Reason),
                _ => new Done(write, "done", null),
            },
            failure: _ => new Done(write, "failed", $"PLC {request.PlcId} did not answer within {timeout.TotalSeconds:0.#} s"));

    /// <summary>A device's answer to a write: <c>done</c>, <c>failed</c> or <c>refused</c>, with the reason when not done.</summary>
    public sealed record Done(WriteProposal Write, string Outcome, string? Error);
}
