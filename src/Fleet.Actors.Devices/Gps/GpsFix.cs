using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Devices.Gps;

/// <summary>Fix mode, numbered as gpsd and NMEA GSA number it.</summary>
public enum GpsMode
{
    /// <summary>Nothing said about the fix yet.</summary>
    Unknown = 0,

    /// <summary>The receiver has no fix.</summary>
    NoFix = 1,

    /// <summary>Latitude and longitude.</summary>
    Fix2D = 2,

    /// <summary>Latitude, longitude and altitude.</summary>
    Fix3D = 3,
}

/// <summary>
/// What a receiver said about one epoch (one measurement time), merged from every sentence of
/// that epoch: position from GGA/RMC/GLL/GNS, speed and track from RMC/VTG, mode and DOPs from
/// GSA, satellites in view from GSV, the date from RMC or ZDA.
/// </summary>
public sealed record GpsFix
{
    /// <summary>UTC time of day of the epoch, when a sentence carried it.</summary>
    public TimeSpan? TimeOfDay { get; init; }

    /// <summary>UTC date, when RMC or ZDA gave one.</summary>
    public DateOnly? Date { get; init; }

    /// <summary>The fix mode.</summary>
    public GpsMode Mode { get; init; }

    /// <summary>Degrees, WGS 84, north positive.</summary>
    public double? Latitude { get; init; }

    /// <summary>Degrees, WGS 84, east positive.</summary>
    public double? Longitude { get; init; }

    /// <summary>Metres above mean sea level (GGA/GNS).</summary>
    public double? Altitude { get; init; }

    /// <summary>Speed over ground, m/s.</summary>
    public double? Speed { get; init; }

    /// <summary>Course over ground, degrees from true north.</summary>
    public double? Track { get; init; }

    /// <summary>GGA fix quality (0 invalid, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 estimated, 8 simulated...).</summary>
    public int? Quality { get; init; }

    /// <summary>Satellites used in the fix.</summary>
    public int? SatellitesUsed { get; init; }

    /// <summary>Satellites in view (every constellation's complete GSV set).</summary>
    public int? SatellitesInView { get; init; }

    /// <summary>Horizontal dilution of precision.</summary>
    public double? Hdop { get; init; }

    /// <summary>Vertical dilution of precision.</summary>
    public double? Vdop { get; init; }

    /// <summary>Position dilution of precision.</summary>
    public double? Pdop { get; init; }

    /// <summary>The talker of the position sentence (GP, GN, GL, GA, GB, BD...).</summary>
    public string Talker { get; init; } = "";

    /// <summary>Date and time of the epoch in UTC, when both are known.</summary>
    public DateTimeOffset? Time => Date is { } date && TimeOfDay is { } time
        ? new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) + time
        : null;

    /// <summary>True when the fix has a position the receiver vouches for.</summary>
    public bool HasPosition => Mode >= GpsMode.Fix2D && Latitude is not null && Longitude is not null;

    /// <summary>
    /// A typical user-equivalent range error: horizontal accuracy is estimated as HDOP times this
    /// (receivers that report no error estimate still report HDOP).
    /// </summary>
    public const double RangeErrorMetres = 5.0;

    /// <summary>The telemetry contract's position (only for a fix with a position).</summary>
    public PositionValue ToPosition() => new(
        Latitude ?? throw new InvalidOperationException("fix has no position"),
        Longitude ?? throw new InvalidOperationException("fix has no position"),
        Track is { } track ? track % 360 : 0,
        Mode == GpsMode.Fix3D ? Altitude : null,
        Speed,
        Hdop is { } hdop ? Math.Round(hdop * RangeErrorMetres, 2) : null);
}
