using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Commands;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Health;
using Fleet.Actors.Devices.Plc;
using Fleet.Actors.Devices.Scripting;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;

namespace Fleet.Actors.Devices.Vehicle;

/// <summary>Everything one vehicle agent needs: identity, devices, log, uplink.</summary>
public sealed record VehicleSettings
{
    /// <summary>The vehicle's id (topic placeholder <c>{vehicle_id}</c>, persistence id).</summary>
    public required string VehicleId { get; init; }

    /// <summary>The fleet owner (topic placeholder <c>{tenant}</c>).</summary>
    public required string Tenant { get; init; }

    /// <summary>The sensors.</summary>
    public IReadOnlyList<SensorSettings> Sensors { get; init; } = [];

    /// <summary>The GPIO lines; none by default.</summary>
    public GpioSettings Gpio { get; init; } = new();

    /// <summary>The PLCs polled over Modbus (HOCON <c>fleet.plcs</c>); empty: no PLC supervisor is started.</summary>
    public IReadOnlyList<PlcSettings> Plcs { get; init; } = [];

    /// <summary>The script engine: limits, arbitration cycle and the configured scripts (HOCON <c>fleet.scripting</c>).</summary>
    public ScriptingSettings Scripting { get; init; } = new();

    /// <summary>Alert rules, their debounce and the outputs alerts drive (HOCON <c>fleet.alerts</c>).</summary>
    public Alerts.AlertsSettings Alerts { get; init; } = new();

    /// <summary>The write-ahead log.</summary>
    public WalSettings Wal { get; init; } = new();

    /// <summary>The uplink.</summary>
    public UplinkSettings Uplink { get; init; } = new();

    /// <summary>Commands from the fleet: topics, trusted issuers, limits (HOCON <c>fleet.commands</c>).</summary>
    public CommandSettings Commands { get; init; } = new();

    /// <summary>The programs REBOOT and SERVICE_RESTART run (HOCON <c>fleet.commands.system</c>); none by default.</summary>
    public SystemCommandSettings SystemCommands { get; init; } = new();

    /// <summary>The operational state machine's safe outputs (HOCON <c>fleet.operations</c>).</summary>
    public OperationsSettings Operations { get; init; } = new();

    /// <summary>The version of the configuration this agent runs (a digest of the effective settings, the same however the files are laid out), reported in diagnostics.</summary>
    public string ConfigVersion { get; init; } = "";

    /// <summary>The health monitor: sampling, heartbeat, stall detection (HOCON <c>fleet.health</c>).</summary>
    public HealthSettings Health { get; init; } = new();

    /// <summary>The simulated vehicle behind simulated drivers.</summary>
    public SimulationSettings Simulation { get; init; } = new();

    /// <summary>How often the console summary is logged; zero turns it off.</summary>
    public TimeSpan SummaryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long shutdown waits for the uplink to deliver what the log holds (less than <see cref="ShutdownTimeout"/>).</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(25);

    /// <summary>The longest a whole shutdown may take; the process is ended after it, with exit code 1.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Identity for topics and the client id.</summary>
    public VehicleIdentity Identity => new(VehicleId, Tenant);
}
