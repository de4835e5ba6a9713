using System.Globalization;

namespace Fleet.Actors.Testing;

/// <summary>Writes NMEA 0183 sentences the way a receiver does, for test peers and generators.</summary>
public static class NmeaText
{
    /// <summary><c>$</c> + body + <c>*HH\r\n</c> with the right checksum.</summary>
    public static string Sentence(string body)
    {
        byte sum = 0;
        foreach (var c in body) sum ^= (byte)c;
        return string.Create(CultureInfo.InvariantCulture, $"${body}*{sum:X2}\r\n");
    }

    /// <summary>ddmm.mmmmm,N (or dddmm.mmmmm,E) for a coordinate in degrees.</summary>
    public static string Coordinate(double degrees, bool latitude)
    {
        var hemisphere = latitude ? (degrees < 0 ? "S" : "N") : (degrees < 0 ? "W" : "E");
        var abs = Math.Abs(degrees);
        var whole = (int)abs;
        var minutes = (abs - whole) * 60;
        // Rounding the minutes can give 60.00000: carry into the degrees.
        if (Math.Round(minutes, 5) >= 60)
        {
            whole++;
            minutes = 0;
        }
        var format = latitude ? "{0:00}{1:00.00000},{2}" : "{0:000}{1:00.00000},{2}";
        return string.Format(CultureInfo.InvariantCulture, format, whole, minutes, hemisphere);
    }

    /// <summary>One epoch as a u-blox-like receiver sends it: RMC, VTG, GGA, GSA (all with the same time).</summary>
    public static string Epoch(DateTimeOffset time, double lat, double lon, double altitude, double speedMs, double track, int satellites = 9)
    {
        var t = time.UtcDateTime;
        var hms = t.ToString("HHmmss.ff", CultureInfo.InvariantCulture);
        var date = t.ToString("ddMMyy", CultureInfo.InvariantCulture);
        var knots = speedMs / (1852.0 / 3600.0);
        var position = $"{Coordinate(lat, true)},{Coordinate(lon, false)}";
        var ci = CultureInfo.InvariantCulture;
        return Sentence(string.Format(ci, "GPRMC,{0},A,{1},{2:0.000},{3:0.00},{4},,,A", hms, position, knots, track, date))
               + Sentence(string.Format(ci, "GPVTG,{0:0.00},T,,M,{1:0.000},N,{2:0.000},K,A", track, knots, speedMs * 3.6))
               + Sentence(string.Format(ci, "GPGGA,{0},{1},1,{2:00},0.9,{3:0.0},M,47.0,M,,", hms, position, satellites, altitude))
               + Sentence(string.Format(ci, "GPGSA,A,3,01,02,03,04,05,06,07,08,09,,,,1.6,0.9,1.3"));
    }
}
