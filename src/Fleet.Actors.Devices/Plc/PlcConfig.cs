using System.IO.Ports;
using System.Text.RegularExpressions;
using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Devices.Serial;

namespace Fleet.Actors.Devices.Plc;

/// <summary>Reads and validates HOCON <c>fleet.plcs</c> (a list, empty by default) into <see cref="PlcSettings"/>.</summary>
public static partial class PlcConfig
{
    /// <summary>Reads the list under <paramref name="fleet"/>; problems (with the full key) go to the readers.</summary>
    public static IReadOnlyList<PlcSettings> Read(ConfigReader fleet)
    {
        var plcs = fleet.Objects("plcs").Select(ReadPlc).ToList();
        foreach (var duplicate in plcs.GroupBy(p => p.Id).Where(g => g.Key.Length > 0 && g.Count() > 1))
            fleet.Problem("plcs", $"PLC id \"{duplicate.Key}\" is used more than once");
        return plcs;
    }

    private static PlcSettings ReadPlc(ConfigReader r)
    {
        var id = r.RequiredString("id", IdPattern(), "1 to 64 letters, digits, '.', '_' or '-' starting with a letter or digit");
        var host = r.String("host");
        var rtu = r.String("rtu");
        if ((host is null) == (rtu is null)) r.Problem("host", "give exactly one of host (Modbus TCP) or rtu (a serial device such as /dev/ttyUSB0)");
        var framing = r.String("framing", "tcp")!.Trim().ToLowerInvariant() switch
        {
            "tcp" => ModbusFraming.Tcp,
            "rtu" or "rtu-over-tcp" => ModbusFraming.Rtu,
            var other => Bad(r, "framing", $"must be tcp or rtu-over-tcp (got \"{other}\")", ModbusFraming.Tcp),
        };
        SerialOptions? serial = null;
        if (rtu is not null)
        {
            serial = new SerialOptions
            {
                Port = rtu,
                BaudRate = r.Int("baud", 19200, 300, 4_000_000),
                // The Modbus defaults: 19200 baud, even parity, one stop bit.
                Parity = r.Enum("parity", Parity.Even),
                StopBits = r.Int("stop-bits", 1, 1, 2) == 2 ? StopBits.Two : StopBits.One,
            };
        }
        var timeouts = r.Section("timeouts");
        var breaker = r.Section("breaker");
        var reconnect = r.Section("reconnect");
        var settings = new PlcSettings
        {
            Id = id,
            Host = host,
            Port = r.Int("port", 502, 1, 65_535),
            Framing = framing,
            Serial = serial,
            UnitId = (byte)r.Int("unit", 1, 0, 255),
            Map = RegisterMap.Read(r),
            PollInterval = r.Duration("poll-interval", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(10)),
            CallTimeout = timeouts.Duration("call", TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(10)),
            ConnectTimeout = timeouts.Duration("connect", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(10)),
            GuardTime = timeouts.String("guard") is null ? null : timeouts.Duration("guard", TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromMinutes(10)),
            MaxFailures = breaker.Int("max-failures", 3, 1, 1000),
            ResetTimeout = breaker.Duration("reset-timeout", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(10)),
            MinBackoff = reconnect.Duration("min-backoff", TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(1)),
            MaxBackoff = reconnect.Duration("max-backoff", TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(1)),
            RandomFactor = reconnect.Double("random-factor", 0.2, 0, 1),
        };
        if (settings.MaxBackoff < settings.MinBackoff) reconnect.Problem("max-backoff", "must not be less than min-backoff");
        if (settings.UnitId == 0 && (rtu is not null || framing == ModbusFraming.Rtu))
            r.Problem("unit", "unit 0 is the RTU broadcast address, which no device answers: its points cannot be read; give the device's own unit id (1..247)");
        return settings;
    }

    private static T Bad<T>(ConfigReader r, string key, string problem, T fallback)
    {
        r.Problem(key, problem);
        return fallback;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex IdPattern();
}
