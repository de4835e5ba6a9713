using System.Globalization;

namespace Fleet.Actors.Devices.Gps;

/// <summary>What became of one line.</summary>
public enum NmeaOutcome
{
    /// <summary>A supported sentence, used.</summary>
    Decoded,

    /// <summary>A valid sentence this decoder does not use (proprietary, AIS, HDT...).</summary>
    Ignored,

    /// <summary>Refused: framing, checksum or a field that makes no sense.</summary>
    Malformed,
}

/// <summary>
/// Decodes a receiver's NMEA 0183 stream into one <see cref="GpsFix"/> per epoch. Supported:
/// GGA, RMC, GLL, GNS (position and time), VTG (speed and track), GSA (mode, satellites used,
/// DOPs), GSV (satellites in view, assembled over its multi-sentence groups), ZDA (date), from
/// every talker. A fix is complete when a sentence with another time arrives (sentences without a
/// time belong to the epoch before them), so a fix leaves the decoder one epoch late: a second at
/// 1 Hz. Not thread-safe: one decoder per stream.
/// </summary>
public sealed class NmeaDecoder(bool requireChecksum = true)
{
    private const double KnotsToMetresPerSecond = 1852.0 / 3600.0;

    private readonly Epoch _epoch = new();
    private readonly Range[] _fieldBuffer = new Range[NmeaSentence.MaxFields];
    // Per talker (GP, GL, GB...): the GSV group in progress and its last complete satellite count.
    private readonly Dictionary<string, GsvGroup> _gsv = new(StringComparer.Ordinal);
    private GpsMode _previousMode;
    private DateOnly? _date;
    private TimeSpan _dateTimeOfDay;

    /// <summary>Sentences decoded.</summary>
    public long Decoded { get; private set; }

    /// <summary>Valid sentences of types not used.</summary>
    public long Ignored { get; private set; }

    /// <summary>Lines refused.</summary>
    public long Malformed { get; private set; }

    /// <summary>
    /// Decodes one line (with or without its line end); completed fixes are appended to
    /// <paramref name="fixes"/>. Never throws for any input.
    /// </summary>
    public NmeaOutcome Decode(ReadOnlySpan<char> line, List<GpsFix> fixes, out string? problem)
    {
        if (!NmeaSentence.TryParse(line, _fieldBuffer, out var sentence, out problem))
        {
            Malformed++;
            return NmeaOutcome.Malformed;
        }
        var type = SentenceType(sentence);
        if (type is null)
        {
            Ignored++;
            return NmeaOutcome.Ignored;
        }
        if (!sentence.HasChecksum && requireChecksum)
        {
            problem = $"{type} without checksum";
            Malformed++;
            return NmeaOutcome.Malformed;
        }

        problem = type switch
        {
            "GGA" => Gga(sentence, fixes),
            "RMC" => Rmc(sentence, fixes),
            "GLL" => Gll(sentence, fixes),
            "GNS" => Gns(sentence, fixes),
            "VTG" => Vtg(sentence),
            "GSA" => Gsa(sentence),
            "GSV" => Gsv(sentence),
            _ => Zda(sentence),
        };
        if (problem is not null)
        {
            Malformed++;
            return NmeaOutcome.Malformed;
        }
        Decoded++;
        return NmeaOutcome.Decoded;
    }

    /// <summary>Completes the epoch in progress (end of input).</summary>
    public void Flush(List<GpsFix> fixes) => Complete(fixes);

    private static string? SentenceType(NmeaSentence sentence)
    {
        if (sentence.IsProprietary) return null;
        return sentence.Type switch
        {
            "GGA" => "GGA",
            "RMC" => "RMC",
            "GLL" => "GLL",
            "GNS" => "GNS",
            "VTG" => "VTG",
            "GSA" => "GSA",
            "GSV" => "GSV",
            "ZDA" => "ZDA",
            _ => null,
        };
    }

    // $--GGA,hhmmss.ss,llll.ll,a,yyyyy.yy,a,q,nn,h.h,a.a,M,g.g,M,age,station
    private string? Gga(NmeaSentence s, List<GpsFix> fixes)
    {
        if (!TryTime(s.Field(1), out var time)) return "GGA: bad time";
        if (!TryInt(s.Field(6), out var quality, allowEmpty: true)) return "GGA: bad fix quality";
        if (!TryInt(s.Field(7), out var used, allowEmpty: true)) return "GGA: bad satellite count";
        if (!TryNumber(s.Field(8), out var hdop)) return "GGA: bad HDOP";
        if (!TryNumber(s.Field(9), out var altitude)) return "GGA: bad altitude";
        double? lat = null, lon = null;
        if (quality > 0 && !TryPosition(s.Field(2), s.Field(3), s.Field(4), s.Field(5), out lat, out lon, out var problem))
            return $"GGA: {problem}";

        var epoch = Begin(time, fixes);
        epoch.Quality = quality ?? 0;
        epoch.GgaMode = quality is > 0 ? (altitude is null ? GpsMode.Fix2D : GpsMode.Fix3D) : GpsMode.NoFix;
        if (used is not null) epoch.SatellitesUsed = used;
        if (hdop is not null) epoch.Hdop = hdop;
        if (quality > 0)
        {
            epoch.SetPosition(lat, lon, s.Talker);
            if (altitude is not null) epoch.Altitude = altitude;
        }
        return null;
    }

    // $--RMC,hhmmss.ss,A,llll.ll,a,yyyyy.yy,a,x.x,x.x,ddmmyy,x.x,a,m,s
    private string? Rmc(NmeaSentence s, List<GpsFix> fixes)
    {
        if (!TryTime(s.Field(1), out var time)) return "RMC: bad time";
        var valid = s.Field(2) is "A" && s.Field(12) is not "N";
        DateOnly? date = null;
        if (s.Field(9).Length > 0)
        {
            if (!TryDate(s.Field(9), out var d)) return "RMC: bad date";
            date = d;
        }
        double? lat = null, lon = null, knots = null, track = null;
        if (valid)
        {
            if (!TryPosition(s.Field(3), s.Field(4), s.Field(5), s.Field(6), out lat, out lon, out var problem)) return $"RMC: {problem}";
            if (!TryNumber(s.Field(7), out knots) || knots < 0) return "RMC: bad speed";
            if (!TryNumber(s.Field(8), out track) || track is < 0 or > 360) return "RMC: bad track";
        }

        var epoch = Begin(time, fixes);
        if (date is { } known) SetDate(known, time ?? TimeSpan.Zero, epoch);
        epoch.StatusMode = valid ? GpsMode.Fix2D : GpsMode.NoFix;
        if (!valid) return null;
        epoch.SetPosition(lat, lon, s.Talker);
        if (knots is not null) epoch.Speed = knots * KnotsToMetresPerSecond;
        if (track is not null) epoch.Track = track;
        return null;
    }

    // $--GLL,llll.ll,a,yyyyy.yy,a,hhmmss.ss,A,m
    private string? Gll(NmeaSentence s, List<GpsFix> fixes)
    {
        if (!TryTime(s.Field(5), out var time)) return "GLL: bad time";
        // Only "A" vouches for the position (some receivers put other letters here).
        var valid = s.Field(6) is "A" && s.Field(7) is not "N";
        double? lat = null, lon = null;
        if (valid && !TryPosition(s.Field(1), s.Field(2), s.Field(3), s.Field(4), out lat, out lon, out var problem))
            return $"GLL: {problem}";

        var epoch = Begin(time, fixes);
        epoch.StatusMode = valid ? GpsMode.Fix2D : GpsMode.NoFix;
        if (valid) epoch.SetPosition(lat, lon, s.Talker);
        return null;
    }

    // $--GNS,hhmmss.ss,llll.ll,a,yyyyy.yy,a,mm,ss,h.h,a.a,g.g,age,station,s
    private string? Gns(NmeaSentence s, List<GpsFix> fixes)
    {
        if (!TryTime(s.Field(1), out var time)) return "GNS: bad time";
        var modes = s.Field(6);
        var valid = modes.Length > 0 && modes.ContainsAnyExcept('N');
        if (!TryInt(s.Field(7), out var used, allowEmpty: true)) return "GNS: bad satellite count";
        if (!TryNumber(s.Field(8), out var hdop)) return "GNS: bad HDOP";
        if (!TryNumber(s.Field(9), out var altitude)) return "GNS: bad altitude";
        double? lat = null, lon = null;
        if (valid && !TryPosition(s.Field(2), s.Field(3), s.Field(4), s.Field(5), out lat, out lon, out var problem))
            return $"GNS: {problem}";

        var epoch = Begin(time, fixes);
        epoch.GgaMode = valid ? (altitude is null ? GpsMode.Fix2D : GpsMode.Fix3D) : GpsMode.NoFix;
        if (used is not null) epoch.SatellitesUsed = used;
        if (hdop is not null) epoch.Hdop = hdop;
        if (!valid) return null;
        epoch.SetPosition(lat, lon, s.Talker);
        if (altitude is not null) epoch.Altitude = altitude;
        return null;
    }

    // $--VTG,x.x,T,x.x,M,x.x,N,x.x,K,m   (NMEA 2.3+)   or   $--VTG,x.x,x.x,x.x,x.x   (older)
    private string? Vtg(NmeaSentence s)
    {
        double? track, knots, kmh;
        if (s.Field(2) is "T")
        {
            if (s.Field(9) is "N") return null;
            if (!TryNumber(s.Field(1), out track)) return "VTG: bad track";
            if (!TryNumber(s.Field(5), out knots)) return "VTG: bad speed";
            if (!TryNumber(s.Field(7), out kmh)) return "VTG: bad speed";
        }
        else
        {
            if (!TryNumber(s.Field(1), out track)) return "VTG: bad track";
            if (!TryNumber(s.Field(3), out knots)) return "VTG: bad speed";
            if (!TryNumber(s.Field(4), out kmh)) return "VTG: bad speed";
        }
        if (track is < 0 or > 360) return "VTG: track outside 0..360";
        if (knots < 0 || kmh < 0) return "VTG: negative speed";
        if (track is not null) _epoch.Track = track;
        if (knots is not null) _epoch.Speed = knots * KnotsToMetresPerSecond;
        else if (kmh is not null) _epoch.Speed = kmh / 3.6;
        return null;
    }

    // $--GSA,a,x,xx,xx,xx,xx,xx,xx,xx,xx,xx,xx,xx,xx,p.p,h.h,v.v[,s]
    private string? Gsa(NmeaSentence s)
    {
        if (!TryInt(s.Field(2), out var fixType, allowEmpty: false) || fixType is < 1 or > 3) return "GSA: fix type is not 1, 2 or 3";
        var used = 0;
        for (var i = 3; i <= 14; i++)
        {
            var prn = s.Field(i);
            if (prn.Length == 0) continue;
            if (!TryInt(prn, out _, allowEmpty: false)) return "GSA: bad satellite id";
            used++;
        }
        if (!TryNumber(s.Field(15), out var pdop) || !TryNumber(s.Field(16), out var hdop) || !TryNumber(s.Field(17), out var vdop))
            return "GSA: bad DOP";

        var mode = (GpsMode)fixType!.Value;
        if (mode > _epoch.GsaMode) _epoch.GsaMode = mode;
        _epoch.GsaUsed += used;
        if (pdop is not null) _epoch.Pdop = pdop;
        if (hdop is not null) _epoch.Hdop = hdop;
        if (vdop is not null) _epoch.Vdop = vdop;
        return null;
    }

    // $--GSV,t,n,c,prn,el,az,snr,...(up to 4 satellites)[,signal]
    private string? Gsv(NmeaSentence s)
    {
        if (!TryInt(s.Field(1), out var total, allowEmpty: false) || total is < 1 or > 9) return "GSV: bad sentence count";
        if (!TryInt(s.Field(2), out var number, allowEmpty: false) || number < 1 || number > total) return "GSV: bad sentence number";
        if (!TryInt(s.Field(3), out var inView, allowEmpty: false) || inView is < 0 or > 255) return "GSV: bad satellites-in-view count";

        var blocks = (s.FieldCount - 3) / 4;
        if (blocks > 4 || (number < total && blocks < 4)) return "GSV: wrong number of satellite blocks";

        var byTalker = _gsv.GetAlternateLookup<ReadOnlySpan<char>>();
        if (!byTalker.TryGetValue(s.Talker, out var group)) _gsv[s.Talker.ToString()] = group = new GsvGroup();
        if (number == 1)
        {
            group.Total = total!.Value;
            group.Next = 1;
        }
        else if (group.Next == 0)
        {
            // The stream started (or a sentence was lost) in the middle of a group: wait for the next one.
            return null;
        }
        if (number != group.Next || total != group.Total)
        {
            group.Next = 0;
            return "GSV: sentence out of sequence (group restarted)";
        }
        group.Next++;
        if (number == total)
        {
            group.InView = inView!.Value;
            var sum = 0;
            foreach (var each in _gsv.Values) sum += each.InView;
            _epoch.SatellitesInView = sum;
            group.Next = 0;
        }
        return null;
    }

    // $--ZDA,hhmmss.ss,dd,mm,yyyy,zh,zm
    private string? Zda(NmeaSentence s)
    {
        if (!TryTime(s.Field(1), out var time)) return "ZDA: bad time";
        if (s.Field(2).Length == 0 && s.Field(3).Length == 0 && s.Field(4).Length == 0) return null;
        if (!TryInt(s.Field(2), out var day, false) || !TryInt(s.Field(3), out var month, false) || !TryInt(s.Field(4), out var year, false))
            return "ZDA: bad date";
        if (year is < 1980 or > 2200 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year!.Value, month!.Value))
            return "ZDA: date out of range";
        var date = new DateOnly(year.Value, month.Value, day!.Value);
        // ZDA may come from a later second than the epoch in progress: it sets the date only.
        if (time is { } t && _epoch.TimeOfDay is { } epochTime && t < epochTime) return null;
        SetDate(date, time ?? TimeSpan.Zero, _epoch);
        return null;
    }

    private Epoch Begin(TimeSpan? time, List<GpsFix> fixes)
    {
        if (time is { } t)
        {
            if (_epoch.TimeOfDay is { } current && current != t) Complete(fixes);
            _epoch.TimeOfDay = t;
        }
        return _epoch;
    }

    private void Complete(List<GpsFix> fixes)
    {
        if (!_epoch.IsEmpty)
        {
            var date = _epoch.Date;
            if (date is null && _date is { } known && _epoch.TimeOfDay is { } t)
                date = t < _dateTimeOfDay - TimeSpan.FromHours(12) ? known.AddDays(1) : known;
            var fix = _epoch.ToFix(date, _previousMode);
            _previousMode = fix.Mode;
            fixes.Add(fix);
        }
        _epoch.Clear();
    }

    private void SetDate(DateOnly date, TimeSpan timeOfDay, Epoch epoch)
    {
        _date = date;
        _dateTimeOfDay = timeOfDay;
        epoch.Date = date;
    }

    private static bool TryTime(ReadOnlySpan<char> field, out TimeSpan? time)
    {
        time = null;
        if (field.Length == 0) return true;
        if (field.Length < 6 || !IsDigits(field[..6])) return false;
        var hours = (field[0] - '0') * 10 + field[1] - '0';
        var minutes = (field[2] - '0') * 10 + field[3] - '0';
        var seconds = (field[4] - '0') * 10 + field[5] - '0';
        if (hours > 23 || minutes > 59 || seconds > 60) return false;
        double fraction = 0;
        if (field.Length > 6)
        {
            if (field[6] != '.' || !double.TryParse(field[6..], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out fraction))
                return false;
        }
        time = TimeSpan.FromMilliseconds(Math.Round(((hours * 60 + minutes) * 60 + seconds + fraction) * 1000));
        return true;
    }

    private static bool TryDate(ReadOnlySpan<char> field, out DateOnly date)
    {
        date = default;
        if (field.Length != 6 || !IsDigits(field)) return false;
        var day = (field[0] - '0') * 10 + field[1] - '0';
        var month = (field[2] - '0') * 10 + field[3] - '0';
        var yy = (field[4] - '0') * 10 + field[5] - '0';
        var year = yy >= 80 ? 1900 + yy : 2000 + yy;
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)) return false;
        date = new DateOnly(year, month, day);
        return true;
    }

    private static bool TryPosition(ReadOnlySpan<char> lat, ReadOnlySpan<char> ns, ReadOnlySpan<char> lon, ReadOnlySpan<char> ew,
        out double? latitude, out double? longitude, out string? problem)
    {
        latitude = longitude = null;
        if (lat.Length == 0 || lon.Length == 0)
        {
            problem = "valid fix without a position";
            return false;
        }
        if (!TryCoordinate(lat, 2, out var latDeg) || latDeg > 90 || !(ns is "N" or "S"))
        {
            problem = "latitude is not ddmm.mmm N/S within 90°";
            return false;
        }
        if (!TryCoordinate(lon, 3, out var lonDeg) || lonDeg > 180 || !(ew is "E" or "W"))
        {
            problem = "longitude is not dddmm.mmm E/W within 180°";
            return false;
        }
        latitude = ns is "S" ? -latDeg : latDeg;
        longitude = ew is "W" ? -lonDeg : lonDeg;
        problem = null;
        return true;
    }

    // ddmm.mmmm (degrees digits before the minutes' two integer digits); some receivers drop leading zeros.
    private static bool TryCoordinate(ReadOnlySpan<char> field, int degreeDigits, out double degrees)
    {
        degrees = 0;
        var dot = field.IndexOf('.');
        var integerDigits = dot < 0 ? field.Length : dot;
        if (integerDigits < 3 || integerDigits > degreeDigits + 2) return false;
        if (!double.TryParse(field[(integerDigits - 2)..], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var minutes)
            || !int.TryParse(field[..(integerDigits - 2)], NumberStyles.None, CultureInfo.InvariantCulture, out var whole)
            || minutes >= 60)
            return false;
        degrees = whole + minutes / 60.0;
        return true;
    }

    private static bool TryNumber(ReadOnlySpan<char> field, out double? value)
    {
        value = null;
        if (field.Length == 0) return true;
        if (!double.TryParse(field, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)
            || !double.IsFinite(number))
            return false;
        value = number;
        return true;
    }

    private static bool TryInt(ReadOnlySpan<char> field, out int? value, bool allowEmpty)
    {
        value = null;
        if (field.Length == 0) return allowEmpty;
        if (!int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out var number)) return false;
        value = number;
        return true;
    }

    private static bool IsDigits(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
            if (!char.IsAsciiDigit(c)) return false;
        return true;
    }

    private sealed class GsvGroup
    {
        public int Total;
        public int Next;
        public int InView;
    }

    /// <summary>The epoch being assembled; reused, so decoding allocates only the finished fix.</summary>
    private sealed class Epoch
    {
        public TimeSpan? TimeOfDay;
        public DateOnly? Date;
        public GpsMode GsaMode;
        public GpsMode GgaMode;
        public GpsMode StatusMode;
        public double? Latitude, Longitude, Altitude, Speed, Track, Hdop, Vdop, Pdop;
        public int? Quality, SatellitesUsed, SatellitesInView;
        public int GsaUsed;
        public string Talker = "";
        private ReadOnlySpan<char> LastTalker => Talker;

        public bool IsEmpty => TimeOfDay is null && GsaMode == GpsMode.Unknown && GgaMode == GpsMode.Unknown
                               && StatusMode == GpsMode.Unknown && Latitude is null && Speed is null;

        public void SetPosition(double? latitude, double? longitude, ReadOnlySpan<char> talker)
        {
            Latitude = latitude;
            Longitude = longitude;
            if (!talker.SequenceEqual(LastTalker)) Talker = talker.ToString();
        }

        public GpsFix ToFix(DateOnly? date, GpsMode previous) => new()
        {
            TimeOfDay = TimeOfDay,
            Date = date,
            Mode = Mode(previous),
            Latitude = Latitude,
            Longitude = Longitude,
            Altitude = Altitude,
            Speed = Speed,
            Track = Track,
            Quality = Quality,
            SatellitesUsed = SatellitesUsed ?? (GsaUsed > 0 ? GsaUsed : null),
            SatellitesInView = SatellitesInView,
            Hdop = Hdop,
            Vdop = Vdop,
            Pdop = Pdop,
            Talker = Talker,
        };

        // GGA/GNS quality 0 means no fix whatever else was said; otherwise the best of GSA's fix
        // type, GGA/GNS (a fix with altitude is 3D: some receivers say 2D in GSA while they give
        // an altitude) and the RMC/GLL status, as gpsd does. An epoch whose only word is a valid
        // RMC/GLL (receivers that send GGA/GSA every other second) keeps the previous epoch's mode.
        private GpsMode Mode(GpsMode previous)
        {
            if (GgaMode == GpsMode.NoFix) return GpsMode.NoFix;
            if (StatusMode == GpsMode.NoFix && GgaMode == GpsMode.Unknown && GsaMode <= GpsMode.NoFix) return GpsMode.NoFix;
            if (GsaMode == GpsMode.Unknown && GgaMode == GpsMode.Unknown && StatusMode == GpsMode.Fix2D && previous > StatusMode)
                return previous;
            return (GpsMode)Math.Max((int)GsaMode, Math.Max((int)GgaMode, (int)StatusMode));
        }

        public void Clear()
        {
            TimeOfDay = null;
            Date = null;
            GsaMode = GgaMode = StatusMode = GpsMode.Unknown;
            Latitude = Longitude = Altitude = Speed = Track = Hdop = Vdop = Pdop = null;
            Quality = SatellitesUsed = SatellitesInView = null;
            GsaUsed = 0;
        }
    }
}
