using Akka.Hosting;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Wal;
using Akka;
using Akka.Actor;
using Fleet.Actors.Devices.Configuration;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.Host.Broker;
using Fleet.Actors.Host.Chaos;
using Fleet.Actors.Host.Configuration;
using Fleet.Actors.Host.Health;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;

namespace Fleet.Actors.Host.Hosting;

/// <summary>
/// The agent process: the optional embedded broker, the .NET Generic Host with Serilog, and one
/// actor system (Akka.Hosting) holding the vehicle agent. SIGINT/SIGTERM stop the host, which runs
/// CoordinatedShutdown and with it the vehicle's drain; a second one ends the drain, SIGHUP and a
/// changed configuration file reload the configuration (<see cref="AgentSignals"/>,
/// <see cref="ConfigurationWatcher"/>), and a shutdown that outlasts <c>fleet.shutdown.timeout</c>
/// is ended by a watchdog. Started by systemd as a notify service, it tells systemd when it is ready
/// and pets systemd's watchdog while the actor system and the log answer (<see cref="SystemdNotifications"/>).
/// </summary>
public static class AgentHost
{
    /// <summary>The actor system's name.</summary>
    public const string SystemName = "fleet-agent";

    /// <summary>Akka's scheduler on the runtime's timer queue (<see cref="TimerScheduler"/>); the files' <c>akka.scheduler.implementation</c> wins.</summary>
    public static string SchedulerHocon { get; } =
        $"akka.scheduler.implementation = \"{typeof(TimerScheduler).FullName}, {typeof(TimerScheduler).Assembly.GetName().Name}\"";

    /// <summary>Akka wiring shared by the agent and by tests: persistence on SQLite, serializers, logging.</summary>
    public static AkkaConfigurationBuilder AddAgentInfrastructure(this AkkaConfigurationBuilder builder, AgentSettings settings)
    {
        builder.AddSqliteWal(settings.JournalPath, settings.SnapshotPath, settings.Synchronous);
        // No clock ticking while nothing is due (docs/adr/0017-lean-idle-agent.md).
        builder.AddHocon(SchedulerHocon, HoconAddMode.Prepend);
        // The files' own akka { } settings win over the computed defaults above.
        if (settings.Hocon.HasPath("akka")) builder.AddHocon(settings.Hocon.GetConfig("akka").MoveTo("akka"), HoconAddMode.Prepend);
        builder.ConfigureLoggers(loggers =>
        {
            loggers.LogLevel = Logs.AkkaLevel(settings.Logging.Level);
            loggers.ClearLoggers();
            loggers.AddLoggerFactory();
        });
        return builder.WithActors((system, _) => CoordinatedShutdown.Get(system).AddTask(
            CoordinatedShutdown.PhaseBeforeActorSystemTerminate, "flush-akka-log", () => FlushAkkaLogAsync(system)));
    }

    /// <summary>
    /// Waits until Akka's logger actor has written every line logged so far. Akka's lines reach
    /// Serilog through that actor; what it still holds when the actor system ends, Akka prints in its
    /// own format (its logger mailbox's clean-up), outside the configured one (JSON lines, journald
    /// priorities). A fast shutdown, the native agent's, left the drain's last line there. Identify
    /// is answered in mailbox order, so the answer comes after everything queued before it.
    /// </summary>
    private static async Task<Done> FlushAkkaLogAsync(ActorSystem system)
    {
        try
        {
            await system.ActorSelection("/system/log*").Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(2));
        }
        catch (AskTimeoutException)
        {
            // A logger that slow: Akka prints what it holds in its own format, but nothing is lost.
        }
        return Done.Instance;
    }

    /// <summary>Runs the agent until it is stopped; returns the process exit code.</summary>
    public static Task<int> RunAsync(AgentSettings settings, Serilog.ILogger logger, CancellationToken cancellationToken = default,
        FileConfigurationSource? configuration = null) =>
        RunAsync(settings, logger, earlySignals: null, cancellationToken, configuration);

    /// <summary>
    /// Runs the agent until it is stopped, with the signal handling <paramref name="earlySignals"/> that
    /// <c>run</c> installed before anything else (null: installed here); returns the process exit code.
    /// </summary>
    internal static async Task<int> RunAsync(AgentSettings settings, Serilog.ILogger logger, AgentSignals? earlySignals,
        CancellationToken cancellationToken, FileConfigurationSource? configuration)
    {
        try
        {
            foreach (var file in SqliteWal.PrepareFiles(settings.JournalPath, settings.SnapshotPath))
                logger.Error("{File} is damaged ({Problem}): moved to {Folder}; going on with a fresh file", file.Path, file.Problem, file.QuarantineFolder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException or InvalidOperationException)
        {
            logger.Fatal("Cannot open the write-ahead log in {DataDirectory}: {Problem}", Path.GetFullPath(settings.DataDirectory), ex.Message);
            return 1;
        }

        // Started before the agent and disposed after it: the drain at shutdown still reaches it.
        await using var broker = await StartEmbeddedBrokerAsync(settings.EmbeddedBroker, logger);
        if (settings.EmbeddedBroker.Enabled && broker is null) return 1;

        // One thread-pool worker while the agent is at rest, every core when it is busy (ADR 0023).
        using var governor = WorkerGovernor.StartForProcess(settings.OneWorkerAtRest, log: message => logger.Debug("{ThreadPool}", message));

        // run installs the signal handling first of all (a SIGHUP at once must not end the process).
        using var signals = earlySignals ?? new AgentSignals();
        signals.LogTo(logger);
        var exitCode = 0;
        var drainFinished = false;
        var metrics = new AgentMetrics();
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        // The watchdog below ends a shutdown that takes longer; the host must not give up first.
        builder.Services.Configure<HostOptions>(options =>
            options.ShutdownTimeout = settings.Vehicle.ShutdownTimeout + TimeSpan.FromSeconds(5));
        builder.Services.AddSingleton<IHostLifetime>(signals);
        builder.Services.AddSerilog(logger);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddAkka(SystemName, akka => akka
            // Signals are handled by AgentSignals; Akka's own SIGTERM hook would run the whole
            // shutdown on the signal-handling thread and hold back a second signal until it ends.
            .AddHocon("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off", HoconAddMode.Prepend)
            .AddAgentInfrastructure(settings)
            .AddVehicleAgent(settings.Vehicle, metrics, onShutdown: (_, error) =>
            {
                if (error is not null) exitCode = 1;
                else Volatile.Write(ref drainFinished, true);
            }, stopDraining: signals.StopDraining,
                configuration: configuration is null ? null : new LiveConfigurationSource(configuration, FileConfigurationSource.Describe(settings))));

        using var host = builder.Build();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var watchdog = new ShutdownWatchdog(settings.Vehicle.ShutdownTimeout, logger);
        signals.StopWith(() =>
        {
            watchdog.Start();
            lifetime.StopApplication();
        });
        lifetime.ApplicationStopping.Register(watchdog.Start);
        using var watcher = configuration is null ? null : new ConfigurationWatcher(configuration.WatchedFiles(settings), logger);
        // Under systemd (Type=notify): READY=1 once the log has recovered, the watchdog petted while it answers.
        var systemd = SystemdNotifications.FromEnvironment(logger);
        if (systemd is not null) lifetime.ApplicationStopping.Register(systemd.Stopping);
        HttpEndpoint? endpoint = null;
        lifetime.ApplicationStarted.Register(() =>
        {
            var agent = host.Services.GetRequiredService<ActorRegistry>().Get<VehicleAgentKey>();
            var probe = new VehicleAgentProbe(agent, settings.Vehicle.VehicleId, settings.Vehicle.Tenant, settings.Http.ReadyOfflineTolerance);
            endpoint = StartHttpEndpoint(settings.Http, metrics, probe, logger);
            systemd?.Start(probe);
            if (watcher is null) return;
            watcher.Start(why => agent.Tell(new ConfigurationProtocol.Reload(why)));
            signals.ReloadWith(() => agent.Tell(new ConfigurationProtocol.Reload("SIGHUP")));
        });
        logger.Information("Fleet agent {VehicleId} (tenant {Tenant}) starting: data in {DataDirectory}, broker {Broker}:{Port}, {Sensors} sensors",
            settings.Vehicle.VehicleId, settings.Vehicle.Tenant, Path.GetFullPath(settings.DataDirectory),
            settings.Vehicle.Uplink.Broker.Host, settings.Vehicle.Uplink.Broker.Port, settings.Vehicle.Sensors.Count);
        try
        {
            await host.RunAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            logger.Fatal(ex, "The agent failed");
            return 1;
        }
        finally
        {
            if (endpoint is not null) await endpoint.DisposeAsync();
            if (systemd is not null) await systemd.DisposeAsync();
        }
        // Akka gives up on the drain at the same budget as the watchdog and ends the actor system; a
        // fast process can get here first. The shutdown did not finish all the same.
        if (exitCode == 0 && !Volatile.Read(ref drainFinished))
        {
            watchdog.Expired();
            exitCode = 1;
        }
        logger.Information("Fleet agent {VehicleId} stopped (exit code {ExitCode})", settings.Vehicle.VehicleId, exitCode);
        return exitCode;
    }

    /// <summary>
    /// The HTTP endpoint when it is enabled and could start. A port in use is one warning and the agent
    /// runs on without it: collecting and delivering data matters more than being watched.
    /// </summary>
    private static HttpEndpoint? StartHttpEndpoint(HttpEndpointSettings settings, AgentMetrics metrics, IAgentProbe probe, Serilog.ILogger logger)
    {
        if (!settings.Enabled) return null;
        try
        {
            var endpoint = HttpEndpoint.Start(settings, metrics, probe);
            logger.Information("HTTP endpoint on {Url}: /metrics, /healthz, /readyz, /status", endpoint.Url);
            return endpoint;
        }
        catch (HttpEndpointException ex)
        {
            logger.Warning("{Problem}; the agent runs on without it", ex.Message);
            return null;
        }
    }

    /// <summary>The embedded broker when it is enabled and could start; null otherwise (a failure is logged as one line).</summary>
    private static async Task<EmbeddedBroker?> StartEmbeddedBrokerAsync(EmbeddedBrokerSettings settings, Serilog.ILogger logger)
    {
        if (!settings.Enabled) return null;
        try
        {
            return await EmbeddedBroker.StartAsync(settings.Host, settings.Port);
        }
        catch (EmbeddedBrokerException ex)
        {
            logger.Debug(ex, "The embedded MQTT broker did not start");
            logger.Fatal("{Problem}", ex.Message);
            return null;
        }
    }
}
