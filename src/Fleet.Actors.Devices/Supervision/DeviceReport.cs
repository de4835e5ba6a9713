using Akka.Actor;
using Fleet.Actors.Core.Health;

namespace Fleet.Actors.Devices.Supervision;

/// <summary>
/// Asks a domain supervisor (sensors, gpio, plcs) for its devices, for the health monitor and the
/// status endpoint; answered with <see cref="DeviceReport"/>.
/// </summary>
public sealed class GetDevices
{
    public static readonly GetDevices Instance = new();
    private GetDevices() { }
}

/// <summary>The devices of one domain as their supervisor sees them.</summary>
public sealed record DeviceReport(IReadOnlyList<DeviceActivity> Devices);

/// <summary>
/// One configured device: whether it runs, and how much it has done since the agent started.
/// </summary>
/// <param name="Domain">sensors, gpio or plcs.</param>
/// <param name="Id">The configured id.</param>
/// <param name="Type">The driver or kind (e.g. <c>sim-gps</c>, <c>input</c>, <c>modbus-tcp</c>).</param>
/// <param name="Up">Its actor runs and its device is open (a PLC whose circuit breaker is open is down).</param>
/// <param name="Count">What it delivered: valid readings (sensors), accepted edges and writes (GPIO), completed polls (PLCs).</param>
/// <param name="LastSeenMs">When it last delivered (Unix ms), where the domain knows it.</param>
public sealed record DeviceActivity(string Domain, string Id, string Type, bool Up, long Count, long? LastSeenMs);

/// <summary>Publishes a device's <see cref="DeviceStatusChanged"/> on the actor system's event stream.</summary>
internal static class DeviceStatus
{
    public static void Publish(IActorContext context, string vehicleId, string domain, string deviceId, bool up, string reason, TimeProvider time) =>
        context.System.EventStream.Publish(new DeviceStatusChanged(vehicleId, domain, deviceId, up, up ? "" : reason, time.GetUtcNow().ToUnixTimeMilliseconds()));
}
