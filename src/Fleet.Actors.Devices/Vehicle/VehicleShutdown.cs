using Akka.Actor;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Sensors;

namespace Fleet.Actors.Devices.Vehicle;

/// <summary>
/// The orderly end of a vehicle agent, run from CoordinatedShutdown: stop intake (scripts, sensors, then GPIO lines and PLCs), flush the log,
/// let the uplink deliver the backlog (up to the drain timeout), publish the retained offline
/// status, journal the delivered offset. Whatever is not delivered stays in the log for next time.
/// </summary>
public static class VehicleShutdown
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(15);

    /// <summary>What shutdown achieved.</summary>
    /// <param name="LastSequence">Highest accepted sequence.</param>
    /// <param name="DeliveredSequence">Highest sequence the broker acknowledged (or evicted).</param>
    /// <param name="Drained">True when everything accepted was delivered.</param>
    /// <param name="SaidGoodbye">True when the offline status went out on a clean disconnect.</param>
    public sealed record Outcome(long LastSequence, long DeliveredSequence, bool Drained, bool SaidGoodbye);

    /// <summary>
    /// Runs the sequence against the agent <paramref name="agent"/>. <paramref name="stopDraining"/>
    /// ends the wait for the broker early (an operator's second signal); the rest still runs.
    /// </summary>
    public static async Task<Outcome> RunAsync(IActorRef agent, TimeSpan drainTimeout, TimeProvider? time = null,
        CancellationToken cancellationToken = default, CancellationToken stopDraining = default)
    {
        var clock = time ?? TimeProvider.System;
        var components = await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, AskTimeout, cancellationToken);
        // Scripts first: no new runs or writes while the devices stop; waiting runs are cancelled and journaled.
        if (components.Scripts is { } scripts)
            await scripts.Ask<SensorProtocol.IntakeStopped>(SensorProtocol.StopIntake.Instance, AskTimeout, cancellationToken);
        await components.Sensors.Ask<SensorProtocol.IntakeStopped>(SensorProtocol.StopIntake.Instance, AskTimeout, cancellationToken);
        if (components.Gpio is { } gpio)
            await gpio.Ask<SensorProtocol.IntakeStopped>(SensorProtocol.StopIntake.Instance, AskTimeout, cancellationToken);
        if (components.Plcs is { } plcs)
            await plcs.Ask<SensorProtocol.IntakeStopped>(SensorProtocol.StopIntake.Instance, AskTimeout, cancellationToken);
        var flushed = await components.Log.Ask<WalProtocol.Flushed>(WalProtocol.Flush.Instance, AskTimeout, cancellationToken);
        await components.Uplink.Ask<UplinkProtocol.Draining>(UplinkProtocol.Drain.Instance, AskTimeout, cancellationToken);

        var started = clock.GetTimestamp();
        WalProtocol.WalStatus status;
        while (true)
        {
            status = await components.Log.Ask<WalProtocol.WalStatus>(WalProtocol.GetStatus.Instance, AskTimeout, cancellationToken);
            if (status.DeliveredSequence >= flushed.LastSequence || clock.GetElapsedTime(started) >= drainTimeout || stopDraining.IsCancellationRequested) break;
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopDraining);
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), clock, wait.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Asked to stop draining: the loop ends at its check.
            }
        }

        var offline = await components.Uplink.Ask<UplinkProtocol.WentOffline>(
            new UplinkProtocol.GoOffline(flushed.LastSequence, status.DeliveredSequence, Abandon: stopDraining.IsCancellationRequested),
            AskTimeout, cancellationToken);
        // Acknowledgements of the last batches in flight arrive before the uplink answers; journal them.
        await components.Log.Ask<WalProtocol.Flushed>(WalProtocol.Flush.Instance, AskTimeout, cancellationToken);
        status = await components.Log.Ask<WalProtocol.WalStatus>(WalProtocol.GetStatus.Instance, AskTimeout, cancellationToken);
        return new Outcome(flushed.LastSequence, status.DeliveredSequence, status.DeliveredSequence >= flushed.LastSequence, offline.Clean);
    }
}
