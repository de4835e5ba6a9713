using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;

namespace Fleet.Actors.Devices.Vehicle;

/// <summary>Registry key of the vehicle agent.</summary>
public sealed class VehicleAgentKey;

/// <summary>Akka.Hosting wiring of a vehicle agent.</summary>
public static class VehicleHosting
{
    /// <summary>
    /// Starts the agent of one vehicle (registered as <see cref="VehicleAgentKey"/>) and adds its drain
    /// to CoordinatedShutdown (phase <c>service-requests-done</c>, whose timeout is the whole
    /// shutdown's). <paramref name="onShutdown"/> receives the outcome, or the exception when shutdown
    /// failed; <paramref name="stopDraining"/> ends the wait for the broker early.
    /// </summary>
    public static AkkaConfigurationBuilder AddVehicleAgent(this AkkaConfigurationBuilder builder, VehicleSettings settings,
        AgentMetrics metrics, SensorDriverRegistry? drivers = null, SimulationContext? simulation = null,
        Action<VehicleShutdown.Outcome?, Exception?>? onShutdown = null, CancellationToken stopDraining = default,
        Configuration.LiveConfigurationSource? configuration = null)
    {
        var phaseTimeout = (int)Math.Ceiling(settings.ShutdownTimeout.TotalSeconds);
        builder.AddHocon(
            $"akka.coordinated-shutdown.phases.service-requests-done.timeout = {phaseTimeout}s",
            HoconAddMode.Prepend);
        return builder.WithActors((system, registry) =>
        {
            var agent = system.ActorOf(VehicleAgent.Props(settings, metrics, drivers, simulation, configuration: configuration), VehicleAgent.ActorName(settings.VehicleId));
            registry.Register<VehicleAgentKey>(agent);
            var log = Logging.GetLogger(system, "shutdown");
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceRequestsDone, "drain-vehicle", async () =>
            {
                try
                {
                    log.Info("Shutting down {0}: stopping intake, flushing the log, draining the uplink (up to {1}s)",
                        settings.VehicleId, settings.DrainTimeout.TotalSeconds);
                    var outcome = await VehicleShutdown.RunAsync(agent, settings.DrainTimeout, stopDraining: stopDraining);
                    log.Info("Shutdown of {0}: last sequence {1}, delivered {2}, {3}, {4}",
                        settings.VehicleId, outcome.LastSequence, outcome.DeliveredSequence,
                        outcome.Drained ? "fully drained" : $"{outcome.LastSequence - outcome.DeliveredSequence} left in the log",
                        outcome.SaidGoodbye ? "offline status published" : "broker unreachable");
                    onShutdown?.Invoke(outcome, null);
                }
                catch (Exception ex)
                {
                    log.Error(ex, "Shutdown of {0} failed", settings.VehicleId);
                    onShutdown?.Invoke(null, ex);
                }
                return Done.Instance;
            });
        });
    }
}
