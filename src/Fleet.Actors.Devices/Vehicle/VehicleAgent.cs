using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using System.Device.Gpio;
using Fleet.Actors.Devices.Alerts;
using Fleet.Actors.Devices.Commands;
using Fleet.Actors.Devices.Configuration;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Health;
using Fleet.Actors.Devices.Plc;
using Fleet.Actors.Devices.Scripting;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;
using Prometheus;

namespace Fleet.Actors.Devices.Vehicle;

/// <summary>Messages of the vehicle agent.</summary>
public static class VehicleProtocol
{
    /// <summary>Asks for the agent's <see cref="Components"/>.</summary>
    public sealed class GetComponents
    {
        public static readonly GetComponents Instance = new();
        private GetComponents() { }
    }

    /// <summary>The agent's children, for shutdown, status and tests.</summary>
    /// <param name="Log">The write-ahead log (behind its backoff supervisor).</param>
    /// <param name="Uplink">The uplink.</param>
    /// <param name="Sensors">The sensors supervisor.</param>
    /// <param name="Gpio">The GPIO supervisor; null when no lines are configured.</param>
    /// <param name="Plcs">The PLC supervisor; null when no PLCs are configured.</param>
    /// <param name="Scripts">The script engine (it owns the script store).</param>
    /// <param name="Commands">The command actor (verifies, journals and dispatches commands from the fleet).</param>
    /// <param name="Operations">The operational state machine.</param>
    /// <param name="Configuration">The running configuration (only when the agent was given a source to reload it from).</param>
    /// <param name="Alerts">The alerts actor (rules, debounce, outputs; takes <c>AlertsProtocol.Raise</c> and <c>Clear</c>).</param>
    /// <param name="Health">The health monitor (null when <c>fleet.health.enabled</c> is off).</param>
    public sealed record Components(IActorRef Log, IActorRef Uplink, IActorRef Sensors, IActorRef? Gpio = null, IActorRef? Plcs = null,
        IActorRef? Scripts = null, IActorRef? Commands = null, IActorRef? Operations = null, IActorRef? Configuration = null, IActorRef? Alerts = null,
        IActorRef? Health = null);
}

/// <summary>
/// One vehicle: the root of its subtree, parameterised by id and settings, so an actor system can
/// host one (the agent on a truck) or thousands (the fleet simulation). Children: <c>wal</c> (the
/// write-ahead log under a backoff supervisor), <c>uplink</c>, <c>sensors</c>, <c>gpio</c> (only when
/// lines are configured), <c>plcs</c> (only when PLCs are configured), <c>alerts</c>, <c>scripts</c>,
/// <c>operations</c> (the operational state machine), <c>device-commands</c>, <c>commands</c> (these two behind a
/// <c>BackoffGate</c> that starts them again after their journal failed them), <c>health</c>
/// (the health monitor, unless turned off) and <c>summary</c>.
/// The agent is the log's accepted-readings listener and passes them on to the script engine and
/// the alert rules while they want them, and the accepted alerts to the uplink's high-priority lane;
/// it passes command responses and state changes on to the uplink, and the alert outputs' writes to
/// the script engine (which is created after the alerts actor, since it raises alerts). Which actor
/// carries out which command type is decided here, in <see cref="CommandOwners"/> (ADR 0013).
/// </summary>
internal sealed class VehicleAgent : ReceiveActor
{
    private readonly ILoggingAdapter _logger = Context.GetLogger();
    private readonly Counter.Child _restarts;
    private readonly WalMetrics _walMetrics;
    private readonly RateLimitedLog _lostWarnings;
    private readonly VehicleProtocol.Components _components;
    private bool _scriptsWantReadings;
    private bool _alertsWantReadings;

    public VehicleAgent(VehicleSettings settings, AgentMetrics metrics, SensorDriverRegistry drivers, SimulationContext simulation, TimeProvider time,
        Func<GpioSettings, GpioDriver> gpioDrivers, LiveConfigurationSource? configuration, Func<HealthSettings, IHealthSampler> sampler)
    {
        _restarts = metrics.Counter("restarts_total", "Actor restarts by a supervisor.", settings.VehicleId, "supervisor", "vehicle");
        var walMetrics = _walMetrics = new WalMetrics(metrics, settings.VehicleId);
        _lostWarnings = new RateLimitedLog(TimeSpan.FromSeconds(10), time);
        var uplinkMetrics = new UplinkMetrics(metrics, settings.VehicleId);

        // A failed journal write stops the log; its supervisor starts it again (recovering the sequence).
        var walSettings = new LiveSettings<WalSettings>(settings.Wal);
        var logOptions = Backoff.OnStop(
                WalActor.Props(settings.VehicleId, walSettings, walMetrics, time, acceptedListener: Self),
                "log", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2, maxNrOfRetries: -1)
            .WithAutoReset(TimeSpan.FromSeconds(60));
        var log = Context.ActorOf(BackoffSupervisor.Props(logOptions), "wal");
        var context = new DriverContext(settings.VehicleId, time, simulation, metrics);
        var sensors = Context.ActorOf(SensorSupervisor.Props(settings.VehicleId, settings.Sensors, drivers, context, log, metrics), "sensors");
        var gpio = settings.Gpio.Lines.Count == 0 ? null
            : Context.ActorOf(GpioSupervisor.Props(settings.VehicleId, settings.Gpio, log, metrics, gpioDrivers, time), "gpio");
        // Always there, even without PLCs, so that a configuration change can add one.
        var plcs = Context.ActorOf(PlcSupervisor.Props(settings.VehicleId, settings.Plcs, log, metrics, time: time), "plcs");
        // The alerts' outputs write through the script engine's arbitration; this agent passes their writes on.
        var alerts = Context.ActorOf(AlertsActor.Props(settings.VehicleId, settings.Alerts, log, Self, metrics, time), "alerts");
        var scripts = Context.ActorOf(ScriptEngine.Props(settings.VehicleId, settings.Scripting, log, gpio, settings.Gpio, plcs, metrics, time, alerts), "scripts");
        var operations = Context.ActorOf(OperationalStateActor.GatedProps(settings.VehicleId, settings.Operations, settings.Gpio, scripts, log, Self, time, alerts), "operations");
        var commandMetrics = new CommandMetrics(metrics, settings.VehicleId);
        // The uplink is created after the command actor, which reaches it through this agent (Respond).
        var devices = new VehicleDevices(log, sensors, scripts, operations, settings.Gpio, settings.Plcs,
            settings.Sensors.Select(s => s.Id).ToList(), settings.ConfigVersion);
        var deviceCommands = Context.ActorOf(DeviceCommands.Props(devices, settings.Commands.ExecutionTimeout), "device-commands");
        var systemCommands = settings.SystemCommands.Types.Any() ? Context.ActorOf(SystemCommands.Props(settings.SystemCommands), "system-commands") : null;
        var configurationActor = configuration is null ? null
            : Context.ActorOf(ConfigurationActor.Props(settings.VehicleId, configuration.Source, configuration.Running, log, metrics, time), "configuration");
        var commands = Context.ActorOf(CommandActor.GatedProps(settings.Identity, settings.Commands,
            CommandOwners.Build(operations, deviceCommands, systemCommands, settings.SystemCommands, configurationActor), Self, commandMetrics, time), "commands");
        var uplink = Context.ActorOf(UplinkActor.Props(settings.Identity, settings.Uplink, log, uplinkMetrics, settings.Commands, commands, commandMetrics, time), "uplink");
        var health = !settings.Health.Enabled ? null
            : Context.ActorOf(HealthMonitor.Props(settings.VehicleId, settings.Health, sampler(settings.Health), log, uplink,
                new[] { sensors, gpio, plcs }.OfType<IActorRef>().ToList(), metrics, alerts, time), "health");
        if (settings.SummaryInterval > TimeSpan.Zero)
            Context.ActorOf(VehicleReporter.Props(settings, log, walMetrics, uplinkMetrics, metrics), "summary");
        _components = new VehicleProtocol.Components(log, uplink, sensors, gpio, plcs, scripts, commands, operations, configurationActor, alerts, health);
        if (configuration is not null) uplink.Tell(new UplinkProtocol.SetConfigVersion(configuration.Running.Version));

        Receive<VehicleProtocol.GetComponents>(_ => Sender.Tell(_components));
        Receive<CommandProtocol.Respond>(respond => uplink.Forward(respond));
        Receive<OperationalStateProtocol.Current>(current => uplink.Tell(new UplinkProtocol.SetOperationalState(current.StateName)));
        Receive<ConfigurationProtocol.Reload>(reload =>
        {
            if (configurationActor is not null) configurationActor.Forward(reload);
            else _logger.Warning("Configuration reload ({0}) ignored: this agent was started without configuration files", reload.Why);
        });
        Receive<ConfigurationProtocol.Apply>(apply =>
        {
            var changedSensors = LiveConfiguration.ChangedSensors(apply.ChangedParts);
            if (changedSensors.Count > 0) sensors.Tell(new SensorProtocol.Apply(apply.Settings.Sensors, changedSensors));
            var changedPlcs = LiveConfiguration.ChangedPlcs(apply.ChangedParts);
            if (changedPlcs.Count > 0) plcs.Tell(new PlcProtocol.Apply(apply.Settings.Plcs, changedPlcs));
            if (apply.ChangedParts.Contains("wal"))
            {
                // A log restarted later by its supervisor starts with these limits too.
                walSettings.Value = walSettings.Value.WithLiveLimitsOf(apply.Settings.Wal);
                log.Tell(new WalProtocol.ApplyLimits(apply.Settings.Wal));
            }
            if (apply.ChangedParts.Contains("uplink")) uplink.Tell(new UplinkProtocol.ApplySettings(apply.Settings.Uplink));
            if (apply.ChangedParts.Contains("alerts")) alerts.Tell(new AlertsProtocol.Apply(apply.Settings.Alerts));
            deviceCommands.Tell(new DeviceCommandsProtocol.Reconfigured(apply.Settings.Plcs, apply.Settings.Sensors.Select(s => s.Id).ToList(), apply.Version));
        });
        Receive<ConfigurationProtocol.Version>(version => uplink.Tell(new UplinkProtocol.SetConfigVersion(version.Value, version.Reloads, version.Errors)));
        Receive<ScriptProtocol.WantsReadings>(wants => { _scriptsWantReadings = wants.Wanted; });
        Receive<AlertsProtocol.WantsReadings>(wants => { _alertsWantReadings = wants.Wanted; });
        Receive<WalProtocol.ReadingsAccepted>(accepted =>
        {
            if (_scriptsWantReadings) scripts.Tell(accepted);
            if (_alertsWantReadings) alerts.Tell(accepted);
            if (accepted.Alerts.Count > 0) uplink.Tell(new UplinkProtocol.PublishAlerts(accepted.Alerts));
        });
        Receive<ScriptProtocol.Hold>(hold => scripts.Forward(hold));
        Receive<ScriptProtocol.Release>(release => scripts.Forward(release));
        // Every dead letter it subscribed to is handled here: one left unhandled would be published
        // as an UnhandledMessage, itself an AllDeadLetters, and come back.
        Receive<AllDeadLetters>(dead =>
        {
            if (dead.Message is WalProtocol.LogReadings) OnReadingsNotDelivered(dead);
        });
    }

    // Readings sent to the log while it restarts (its backoff supervisor has no child) end in dead
    // letters; LogReadings suppresses Akka's own dead-letter log lines, this counts and reports them.
    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));
        Context.System.EventStream.Subscribe(Self, typeof(SuppressedDeadLetter));
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    /// <summary>Counts readings of this vehicle that never reached its log, so no summary says 0 while readings are lost.</summary>
    private void OnReadingsNotDelivered(AllDeadLetters dead)
    {
        if (!IsOwn(dead.Sender) && !IsOwn(dead.Recipient)) return;
        var readings = ((WalProtocol.LogReadings)dead.Message).Readings.Count;
        _walMetrics.Lost.Inc(readings);
        if (_lostWarnings.ShouldLog(out var suppressed))
            _logger.Warning("{0} readings from {1} did not reach the log (it is restarting; {2} more such messages since the last warning); counted in wal_readings_lost_total",
                readings, Component(dead.Sender), suppressed);
    }

    /// <summary>Where below this vehicle <paramref name="actor"/> is, without the supervisors' own steps (<c>operations/state</c>, <c>sensors/obd/device</c>).</summary>
    private string Component(IActorRef actor) =>
        !IsOwn(actor) ? actor.Path.Name : string.Join("/", actor.Path.Elements.Skip(Self.Path.Elements.Count).Where(e => e != "backoff"));

    private bool IsOwn(IActorRef? actor) =>
        actor is not null && !actor.IsNobody() && actor.Path.Elements.Count > Self.Path.Elements.Count && actor.Path.ToStringWithoutAddress().StartsWith(Self.Path.ToStringWithoutAddress() + "/", StringComparison.Ordinal);

    /// <summary>Props for one vehicle agent.</summary>
    public static Props Props(VehicleSettings settings, AgentMetrics metrics, SensorDriverRegistry? drivers = null,
        SimulationContext? simulation = null, TimeProvider? time = null, Func<GpioSettings, GpioDriver>? gpioDrivers = null,
        LiveConfigurationSource? configuration = null, Func<HealthSettings, IHealthSampler>? healthSampler = null)
    {
        var clock = time ?? TimeProvider.System;
        return Akka.Actor.Props.Create(() => new VehicleAgent(settings, metrics, drivers ?? SensorDriverRegistry.Default,
            simulation ?? SimulationContext.For(settings.VehicleId, settings.Simulation, clock), clock, gpioDrivers ?? GpioDrivers.Create, configuration,
            healthSampler ?? (h => new ProcHealthSampler(h.DataDirectory))));
    }

    /// <summary>The actor name of a vehicle's agent.</summary>
    public static string ActorName(string vehicleId) => "vehicle-" + Uri.EscapeDataString(vehicleId);

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(
        maxNrOfRetries: 20,
        withinTimeRange: TimeSpan.FromMinutes(1),
        decider: Decider.From(ex =>
        {
            _restarts.Inc();
            _logger.Error(ex, "Vehicle component failed; restarting it");
            return ex is ActorInitializationException ? Directive.Stop : Directive.Restart;
        }));
}
