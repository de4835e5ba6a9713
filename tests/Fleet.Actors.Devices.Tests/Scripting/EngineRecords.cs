using Akka.Actor;
using Akka.TestKit;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Scripting;

namespace Fleet.Actors.Devices.Tests.Scripting;

/// <summary>
/// The records a script engine tells its log (a probe), read one at a time in the order the engine
/// told them. The probe confirms every record a write waits for, as the log does once they are durable.
/// </summary>
internal sealed class EngineRecords
{
    private readonly Queue<ReadingValue> _records = new();
    private readonly TestProbe _log;
    private readonly TimeSpan _wait;

    public EngineRecords(TestProbe log, TimeSpan wait)
    {
        _log = log;
        _wait = wait;
        ConfirmWrites(log);
    }

    /// <summary>Has <paramref name="log"/> answer <see cref="WalProtocol.Logged"/> to every <see cref="WalProtocol.LogReadings"/> that asks for it.</summary>
    public static void ConfirmWrites(TestProbe log) =>
        log.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is WalProtocol.LogReadings { ConfirmId: not 0 and var id }) sender.Tell(new WalProtocol.Logged(id));
            return AutoPilot.KeepRunning;
        }));

    /// <summary>The probe standing in for the log.</summary>
    public TestProbe Log => _log;

    /// <summary>
    /// The next record of type <typeparamref name="T"/> that satisfies <paramref name="wanted"/>;
    /// records before it are skipped.
    /// </summary>
    public T Next<T>(Func<T, bool>? wanted = null) where T : ReadingValue
    {
        var deadline = DateTime.UtcNow + _wait;
        while (true)
        {
            while (_records.TryDequeue(out var value))
                if (value is T record && (wanted?.Invoke(record) ?? true)) return record;
            var remaining = deadline - DateTime.UtcNow;
            Assert.True(remaining > TimeSpan.Zero, $"no {typeof(T).Name} record that fits within {_wait}");
            var batch = _log.ExpectMsg<WalProtocol.LogReadings>(remaining);
            Assert.All(batch.Readings, r => Assert.Equal(ScriptEngine.DeviceId, r.DeviceId));
            foreach (var reading in batch.Readings) _records.Enqueue(reading.Value);
        }
    }

    /// <summary>
    /// Nothing more was told to the log. Deterministic when called after the engine answered a message
    /// sent after the ones under test: it tells the log while it handles a message, before it answers
    /// the next one.
    /// </summary>
    public void NoneMore()
    {
        Assert.Empty(_records);
        _log.ExpectNoMsg(TimeSpan.Zero);
    }
}
