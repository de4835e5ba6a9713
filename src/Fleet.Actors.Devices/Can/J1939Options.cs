using System.Globalization;
using Akka.Configuration.Hocon;
using Fleet.Actors.Core.Configuration;

namespace Fleet.Actors.Devices.Can;

/// <summary>How a J1939 listener decodes (HOCON keys of a <c>j1939-*</c> sensor).</summary>
public sealed record J1939Options
{
    /// <summary>Only messages from these source addresses are decoded (null: every source).</summary>
    public IReadOnlySet<int>? SourceAddresses { get; init; }

    /// <summary>
    /// Each signal (name and source, or tyre and source) is emitted at most once per this interval;
    /// J1939 broadcasts engine speed every 10-20 ms, far more than a fleet needs. Zero keeps every
    /// value. Fault codes are emitted on change and are never thinned.
    /// </summary>
    public TimeSpan MinInterval { get; init; }

    /// <summary>BAM transfers reassembled at once (at most one per source address).</summary>
    public int MaxTransportSessions { get; init; } = 32;

    /// <summary>Longest gap between two packets of a BAM transfer before it is given up (J1939-21 T1).</summary>
    public TimeSpan TransportTimeout { get; init; } = TimeSpan.FromMilliseconds(750);

    /// <summary>
    /// Reads <c>source-addresses</c> (a list of 0..253, decimal or <c>0x</c> hex) and
    /// <c>min-interval</c> (default <paramref name="defaultMinInterval"/>); problems go to the reader.
    /// </summary>
    public static J1939Options Read(ConfigReader sensor, TimeSpan defaultMinInterval) => new()
    {
        SourceAddresses = ReadSourceAddresses(sensor),
        MinInterval = sensor.Duration("min-interval", defaultMinInterval, TimeSpan.Zero, TimeSpan.FromHours(1)),
    };

    private static IReadOnlySet<int>? ReadSourceAddresses(ConfigReader sensor)
    {
        const string key = "source-addresses";
        if (!sensor.Has(key)) return null;
        var items = sensor.ListItems(key);
        if (items is null)
        {
            sensor.Problem(key, "must be a list of source addresses such as [0, 11] (leave it out to accept every source)");
            return null;
        }
        if (items.Count == 0)
        {
            sensor.Problem(key, "must not be empty (leave it out to accept every source)");
            return null;
        }
        var addresses = new HashSet<int>();
        for (var i = 0; i < items.Count; i++)
        {
            var text = items[i].IsObject() || items[i].IsArray() ? null : items[i].GetString()?.Trim();
            var parsed = text switch
            {
                null => (int?)null,
                _ when text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) =>
                    int.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex) ? hex : null,
                _ => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var dec) ? dec : null,
            };
            if (parsed is not (>= 0 and <= 253))
                sensor.Problem($"{key}[{i}]", $"must be a source address 0..253 (got {(text is null ? "an object or list" : $"\"{text}\"")})");
            else
                addresses.Add(parsed.Value);
        }
        return addresses;
    }
}
