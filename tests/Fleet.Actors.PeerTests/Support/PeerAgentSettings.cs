using Fleet.Actors.Core.Uplink;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Devices.Vehicle;

namespace Fleet.Actors.PeerTests.Support;

/// <summary>The settings every whole-agent peer test starts from: tenant <c>acme</c>, the log on the test's files, the uplink to the test's broker.</summary>
public static class PeerAgentSettings
{
    /// <summary>
    /// A vehicle with no devices yet (add them with <c>with</c>), its log at <paramref name="journalPath"/>,
    /// uplinking every record at once to the broker on loopback <paramref name="brokerPort"/> and
    /// reconnecting quickly; no console summary.
    /// </summary>
    public static VehicleSettings For(string vehicleId, string journalPath, int brokerPort) => new()
    {
        VehicleId = vehicleId,
        Tenant = "acme",
        Wal = new WalSettings { JournalPath = journalPath },
        Uplink = new UplinkSettings
        {
            Broker = new BrokerSettings { Host = "127.0.0.1", Port = brokerPort, ConnectTimeout = TimeSpan.FromSeconds(2) },
            ReconnectMinBackoff = TimeSpan.FromMilliseconds(100),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(800),
            MinBatchRecords = 1,
            Linger = TimeSpan.FromMilliseconds(50),
        },
        SummaryInterval = TimeSpan.Zero,
        DrainTimeout = TimeSpan.FromSeconds(15),
    };
}
