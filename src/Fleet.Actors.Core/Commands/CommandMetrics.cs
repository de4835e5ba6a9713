using Fleet.Actors.Core.Observability;
using Prometheus;

namespace Fleet.Actors.Core.Commands;

/// <summary>The command metrics of one vehicle.</summary>
public sealed class CommandMetrics(AgentMetrics metrics, string vehicleId)
{
    /// <summary>Messages that arrived on the commands topic.</summary>
    public Counter.Child Received { get; } = metrics.Counter("commands_received_total", "Messages received on the commands topic.", vehicleId);

    /// <summary>Responses dropped because too many waited for the broker.</summary>
    public Counter.Child ResponsesDropped { get; } =
        metrics.Counter("command_responses_dropped_total", "Command responses dropped while the broker was unreachable (the oldest first).", vehicleId);

    /// <summary>Refused or failed commands by reason.</summary>
    public Counter.Child Errors(string reason) =>
        metrics.Counter("command_errors_total", "Commands refused (NACK) or failed, by reason.", vehicleId, "reason", reason);

    /// <summary>Executed commands by type and outcome.</summary>
    public Counter.Child Executed(string type, string outcome) =>
        metrics.Factory.CreateCounter("commands_executed_total", "Commands that ran, by type and outcome (succeeded, failed).",
            [AgentMetrics.VehicleLabel, "type", "outcome"]).WithLabels(vehicleId, type, outcome);
}
