using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Can;
using Fleet.Actors.Devices.Sensors;
using Fleet.Actors.Devices.Serial;
using Fleet.Actors.PeerTests.Support;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.PeerTests.Can;

/// <summary>A vehicle agent reading a J1939 bus through an SLCAN adapter on a pty while the adapter is unplugged and plugged back in.</summary>
public sealed class SlcanAgentPortTests(ITestOutputHelper output) : SerialAgentTestKit(output)
{
    [Fact]
    public async Task Adapter_unplugged_and_plugged_back_should_reconnect_and_every_accepted_reading_should_reach_the_broker()
    {
        var sensor = new SensorSettings
        {
            Id = "can",
            Type = SlcanDriver.TypeName,
            StallTimeout = TimeSpan.FromSeconds(3),
            DriverOptions = new SlcanOptions(new SerialOptions { Port = Pty.DevicePath, BaudRate = 115200 }, 250_000, true, new J1939Options { MinInterval = TimeSpan.Zero }),
        };

        var records = await UnplugAndReplugAsync(sensor, () => new StreamingAdapter(Pty));

        // The bus's values, decoded: engine speed, wheel speed and coolant from every cycle.
        var measurements = records.Select(r => r.Value).OfType<MeasurementValue>().ToList();
        Assert.Contains(measurements, m => m is { Name: "engine_rpm", Value: 621 });
        Assert.Contains(measurements, m => m is { Name: "vehicle_speed", Value: 80 });
        Assert.All(measurements.Where(m => m.Name == "coolant_temp"), m => Assert.Equal(90, m.Value));
    }

    /// <summary>An adapter that streams the truck bus every 50 ms until disposed or unplugged.</summary>
    private sealed class StreamingAdapter : IAsyncDisposable
    {
        private readonly PtyPeer _peer;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public StreamingAdapter(SocatPty pty)
        {
            _peer = pty.OpenPeer();
            var adapter = new SlcanAdapterPeer(_peer);
            _loop = Task.Run(async () =>
            {
                try
                {
                    while (!_stop.IsCancellationRequested)
                    {
                        adapter.Send(SlcanAdapterPeer.TruckBus());
                        await Task.Delay(50, _stop.Token);
                    }
                }
                catch (OperationCanceledException)
                {
                    // Stopped by the test.
                }
                catch (IOException)
                {
                    // Unplugged.
                }
            });
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _peer.Dispose();
            _stop.Dispose();
        }
    }
}
