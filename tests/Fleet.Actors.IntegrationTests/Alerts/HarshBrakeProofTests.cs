using System.Device.Gpio;
using Akka.Actor;
using Fleet.Actors.Core.Observability;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Alerts;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Simulation;
using Fleet.Actors.Devices.Vehicle;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests.Alerts;

/// <summary>
/// Issue 9's proof, end to end: a whole vehicle agent in process (the simulated IMU sampling the
/// simulated truck at 50 Hz, a GPIO buzzer on the simulated chip, the log on SQLite, the uplink to a
/// real mosquitto). The truck brakes harshly three times within ten seconds (scripted on the vehicle
/// model): the IMU's detector reports each, the alert rule raises one alert, the debounce suppresses
/// and counts the other two, the buzzer sounds, and a subscriber on the broker sees the alert on the
/// alerts topic. A fourth brake after the window raises the next alert, which says two were suppressed.
/// </summary>
public sealed class HarshBrakeProofTests(ITestOutputHelper output) : MosquittoAgentTestKit("harsh-brake-proof", output)
{
    private const string Tenant = "acme";
    private const string VehicleId = "truck-proof";
    private const int BuzzerPin = 26;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly SimulatedGpioDriver _driver = new();

    private double Alerts(string metric) =>
        MetricValues.Read(Metrics, metric, (AgentMetrics.VehicleLabel, VehicleId), (AlertMetrics.TypeLabel, "harsh-brake"), (AlertMetrics.SeverityLabel, "critical")) ?? 0;

    [Fact]
    public async Task Harsh_brakes_from_the_simulated_imu_should_sound_the_buzzer_once_count_the_debounced_ones_and_reach_a_subscriber()
    {
        await using var subscriber = await FleetSubscriber.StartAsync(Broker.Port, Tenant, VehicleId, "proof-subscriber");
        // A truck that never brakes harshly on its own: only the scripted brakes count.
        var model = new VehicleModel(Route.HamburgPort, 7, DateTimeOffset.UtcNow) { HarshBrakeProbability = 0 };
        var settings = new VehicleSettings
        {
            VehicleId = VehicleId,
            Tenant = Tenant,
            Sensors = [new SensorSettings { Id = "imu", Type = SimulatedImuDriver.TypeName, RateHz = 50 }],
            Gpio = new GpioSettings { Lines = [new GpioLineSettings { Id = "buzzer", Pin = BuzzerPin, Direction = GpioDirection.Output }] },
            Alerts = new AlertsSettings
            {
                Debounce = TimeSpan.FromSeconds(10),
                Rules = ValueArray.Of<AlertRule>(new DrivingEventRule
                {
                    Id = "harsh-brake", Type = "harsh-brake", Severity = AlertSeverity.Critical, Event = "harsh_brake", MinMagnitude = 4.5,
                }),
                Actuation = ValueArray.Of(new ActuationSettings
                {
                    Line = "buzzer", Pin = BuzzerPin, Pattern = ActuationPattern.Blink, On = TimeSpan.FromMilliseconds(250),
                    Off = TimeSpan.FromMilliseconds(250), Duration = TimeSpan.FromSeconds(2),
                }),
            },
            Wal = new WalSettings { JournalPath = JournalPath },
            Uplink = new UplinkSettings
            {
                Broker = new BrokerSettings { Host = "127.0.0.1", Port = Broker.Port, ConnectTimeout = TimeSpan.FromSeconds(2) },
                Linger = TimeSpan.FromMilliseconds(100),
            },
            SummaryInterval = TimeSpan.Zero,
        };
        var agent = Sys.ActorOf(VehicleAgent.Props(settings, Metrics, simulation: new SimulationContext(model, 7), gpioDrivers: _ => _driver),
            VehicleAgent.ActorName(VehicleId));
        var components = await agent.Ask<VehicleProtocol.Components>(VehicleProtocol.GetComponents.Instance, Wait);
        AwaitCondition(() => components.Uplink.Ask<UplinkProtocol.UplinkStatus>(UplinkProtocol.GetStatus.Instance, Wait).Result.Connected, Wait);
        AwaitCondition(() => _driver.IsOpen(BuzzerPin), Wait);

        var before = _driver.WrittenLevels(BuzzerPin).Count;
        // Three harsh brakes (6 m/s² for 0.8 s) two seconds apart.
        var first = DateTimeOffset.UtcNow.AddSeconds(1);
        for (var i = 0; i < 3; i++) model.Script(first.AddSeconds(2 * i), TimeSpan.FromMilliseconds(800), -6);

        AwaitCondition(() => subscriber.Alerts.Count == 1, Wait, TimeSpan.FromMilliseconds(20));
        var alert = subscriber.Alerts[0];
        var value = Assert.IsType<AlertValue>(alert.Record.Value);
        Assert.Equal(("harsh-brake", AlertSeverity.Critical, "rule:harsh-brake", AlertState.Event, "imu", 0),
            (value.Name, value.Severity, value.Source, value.State, value.DeviceId, value.Suppressed));
        var cause = Assert.Single(value.Causes);
        Assert.Equal(("imu", "harsh_brake"), (cause.DeviceId, cause.Name));
        Assert.InRange(cause.Value!.Value, 5, 7);

        // The other two brakes were detected (the fleet sees them as driving events) but the alert was debounced.
        AwaitCondition(() => Alerts("alerts_suppressed_total") == 2, Wait, TimeSpan.FromMilliseconds(50));
        Assert.Equal(1, Alerts("alerts_triggered_total"));
        // The buzzer blinked for 2 s (250 ms on, 250 ms off: four times on), once, and rests at 0.
        AwaitCondition(() => !components.Alerts!.Ask<AlertsProtocol.Status>(AlertsProtocol.GetStatus.Instance, Wait).Result.Actuating.Any(),
            Wait, TimeSpan.FromMilliseconds(50));
        var blinked = _driver.WrittenLevels(BuzzerPin).Skip(before).ToList();
        Assert.Equal([PinValue.High, PinValue.Low, PinValue.High, PinValue.Low, PinValue.High, PinValue.Low, PinValue.High, PinValue.Low], blinked);
        Assert.Single(subscriber.Alerts);

        // After the window, the next brake raises the next alert, which summarises the two suppressed ones.
        var fourth = first.AddSeconds(11.5);
        model.Script(fourth, TimeSpan.FromMilliseconds(800), -6.5);
        AwaitCondition(() => subscriber.Alerts.Count == 2, Wait, TimeSpan.FromMilliseconds(20));
        var next = Assert.IsType<AlertValue>(subscriber.Alerts[1].Record.Value);
        Assert.Equal(("harsh-brake", 2), (next.Name, next.Suppressed));
        AwaitCondition(() => _driver.WrittenLevels(BuzzerPin).Count > before + blinked.Count, Wait, TimeSpan.FromMilliseconds(10));
        Assert.Equal(PinValue.High, _driver.WrittenLevels(BuzzerPin)[before + blinked.Count]);

        // Both alerts are in the telemetry stream too, with the same sequences.
        AwaitCondition(() => subscriber.TelemetryAlerts.Count == 2, Wait, TimeSpan.FromMilliseconds(50));
        Assert.Equal(subscriber.Alerts.Select(a => a.Record), subscriber.TelemetryAlerts);
        Output.WriteLine($"alerts at sequences {string.Join(", ", subscriber.Alerts.Select(a => a.Record.Sequence))}; " +
            $"triggered {Alerts("alerts_triggered_total")}, suppressed {Alerts("alerts_suppressed_total")}; lane published {MetricValues.Vehicle(Metrics, "alerts_lane_published_total", VehicleId)}");
        var status = await components.Log.Ask<WalProtocol.WalStatus>(WalProtocol.GetStatus.Instance, Wait);
        Assert.True(status.LastSequence > 0);
    }
}
