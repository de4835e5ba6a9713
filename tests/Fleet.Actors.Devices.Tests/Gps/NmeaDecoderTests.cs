using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Fleet.Actors.Devices.Gps;
using Fleet.Actors.Testing;

namespace Fleet.Actors.Devices.Tests.Gps;

public sealed class NmeaDecoderTests
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static (List<GpsFix> Fixes, NmeaDecoder Decoder, List<string?> Problems) Decode(string text, bool requireChecksum = true)
    {
        var decoder = new NmeaDecoder(requireChecksum);
        var fixes = new List<GpsFix>();
        var problems = new List<string?>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (decoder.Decode(line, fixes, out var problem) == NmeaOutcome.Malformed) problems.Add(problem);
        decoder.Flush(fixes);
        return (fixes, decoder, problems);
    }

    [Fact]
    public void Epoch_should_merge_RMC_VTG_GGA_and_GSA_into_one_fix()
    {
        var (fixes, decoder, problems) = Decode(NmeaText.Epoch(Noon.AddMilliseconds(250), 53.5461234, -9.9663211, 12.3, 13.89, 271.25));

        Assert.Empty(problems);
        Assert.Equal(4, decoder.Decoded);
        var fix = Assert.Single(fixes);
        Assert.Equal(Noon.AddMilliseconds(250), fix.Time);
        Assert.Equal(GpsMode.Fix3D, fix.Mode);
        Assert.Equal(53.5461234, fix.Latitude!.Value, 6);
        Assert.Equal(-9.9663211, fix.Longitude!.Value, 6);
        Assert.Equal(12.3, fix.Altitude!.Value, 6);
        Assert.Equal(13.89, fix.Speed!.Value, 3);
        Assert.Equal(271.25, fix.Track!.Value, 6);
        Assert.Equal((1, 9, 0.9, 1.6, 1.3), (fix.Quality, fix.SatellitesUsed, fix.Hdop, fix.Pdop, fix.Vdop));
        Assert.Equal("GP", fix.Talker);

        var position = fix.ToPosition();
        Assert.Equal((53.546123, 12.3, 4.5), (Math.Round(position.Latitude, 6), position.Altitude, position.Accuracy));
    }

    [Theory]
    [InlineData("GP")]
    [InlineData("GN")]
    [InlineData("GL")]
    [InlineData("GA")]
    [InlineData("GB")]
    [InlineData("BD")]
    [InlineData("QZ")]
    public void Every_talker_should_be_decoded(string talker)
    {
        var (fixes, _, problems) = Decode(NmeaText.Sentence($"{talker}GGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"));

        Assert.Empty(problems);
        var fix = Assert.Single(fixes);
        Assert.Equal(48.1173, fix.Latitude!.Value, 9);
        Assert.Equal(11.516666667, fix.Longitude!.Value, 9);
        Assert.Equal(talker, fix.Talker);
        Assert.Equal(new TimeSpan(12, 35, 19), fix.TimeOfDay);
        Assert.Null(fix.Time);
    }

    [Theory]
    [InlineData("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*48", "checksum mismatch")]
    [InlineData("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*4", "checksum is not two hex digits")]
    [InlineData("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*ZZ", "checksum is not two hex digits")]
    [InlineData("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,", "GGA without checksum")]
    [InlineData("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47", "no '$'")]
    public void Framing_errors_should_be_refused_with_the_reason(string line, string reason)
    {
        var (fixes, decoder, problems) = Decode(line);

        Assert.Empty(fixes);
        Assert.Equal(1, decoder.Malformed);
        Assert.Contains(reason, Assert.Single(problems));
    }

    [Fact]
    public void Sentence_without_checksum_should_pass_when_checksums_are_not_required()
    {
        var (fixes, _, problems) = Decode("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,", requireChecksum: false);
        Assert.Empty(problems);
        Assert.Single(fixes);
    }

    [Theory]
    [InlineData("GPGGA,123519,9107.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,", "latitude")]
    [InlineData("GPGGA,123519,4807.038,N,18131.000,E,1,08,0.9,545.4,M,46.9,M,,", "longitude")]
    [InlineData("GPGGA,123519,4807.038,X,01131.000,E,1,08,0.9,545.4,M,46.9,M,,", "latitude")]
    [InlineData("GPGGA,123519,4861.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,", "latitude")]
    [InlineData("GPGGA,256019,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,", "bad time")]
    [InlineData("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,5x5.4,M,46.9,M,,", "bad altitude")]
    [InlineData("GPRMC,123519,A,4807.038,N,01131.000,E,-022.4,084.4,230394,003.1,W", "bad speed")]
    [InlineData("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,320394,003.1,W", "bad date")]
    [InlineData("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,384.4,230394,003.1,W", "bad track")]
    [InlineData("GPGSA,A,4,04,05,,,,,,,,,,,2.5,1.3,2.1", "fix type")]
    [InlineData("GPGSV,2,3,08,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45", "sentence number")]
    [InlineData("GPZDA,201530.00,31,02,2026,00,00", "date out of range")]
    public void Impossible_values_should_be_refused_with_the_reason(string body, string reason)
    {
        var (fixes, _, problems) = Decode(NmeaText.Sentence(body));

        Assert.Empty(fixes);
        Assert.Contains(reason, Assert.Single(problems));
    }

    [Fact]
    public void Invalid_fixes_should_say_no_fix_without_a_position()
    {
        var text = NmeaText.Sentence("GPRMC,123519,V,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W")
                   + NmeaText.Sentence("GPGGA,123520,,,,,0,00,99.9,,M,,M,,")
                   + NmeaText.Sentence("GPGLL,4916.45,N,12311.12,W,225444,V,N");
        var (fixes, _, problems) = Decode(text);

        Assert.Empty(problems);
        Assert.Equal(3, fixes.Count);
        Assert.All(fixes, f => Assert.Equal(GpsMode.NoFix, f.Mode));
        Assert.All(fixes, f => Assert.False(f.HasPosition));
    }

    [Fact]
    public void VTG_should_be_read_in_both_the_old_and_the_NMEA_2_3_layout()
    {
        var old = Decode(NmeaText.Sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") + NmeaText.Sentence("GPVTG,054.7,034.4,005.5,010.2")).Fixes.Single();
        var modern = Decode(NmeaText.Sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") + NmeaText.Sentence("GPVTG,054.7,T,034.4,M,005.5,N,010.2,K,A")).Fixes.Single();

        Assert.Equal((54.7, 5.5 * 1852 / 3600), (old.Track, old.Speed));
        Assert.Equal((54.7, 5.5 * 1852 / 3600), (modern.Track, modern.Speed));
    }

    [Fact]
    public void GSV_groups_should_count_satellites_in_view_of_every_constellation_only_when_complete()
    {
        var text = NmeaText.Sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")
                   + NmeaText.Sentence("GPGSV,2,1,07,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45")
                   + NmeaText.Sentence("GPGSV,2,2,07,15,40,083,46,16,17,308,41,17,07,344,39")
                   + NmeaText.Sentence("GLGSV,1,1,03,65,40,083,46,66,17,308,41,67,07,344,39")
                   + NmeaText.Sentence("GPGGA,123520,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")
                   + NmeaText.Sentence("GPGSV,2,1,07,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45")
                   + NmeaText.Sentence("GPGGA,123521,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,");
        var (fixes, _, problems) = Decode(text);

        Assert.Empty(problems);
        Assert.Equal([10, null, null], fixes.Select(f => f.SatellitesInView));
    }

    [Fact]
    public void GSV_out_of_sequence_should_be_refused_but_a_group_joined_midway_ignored()
    {
        var text = NmeaText.Sentence("GPGSV,3,2,09,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45")
                   + NmeaText.Sentence("GPGSV,3,1,09,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45")
                   + NmeaText.Sentence("GPGSV,3,3,09,01,40,083,46");
        var (_, decoder, problems) = Decode(text);

        Assert.Contains("out of sequence", Assert.Single(problems));
        Assert.Equal(2, decoder.Decoded);
    }

    [Fact]
    public void Date_should_carry_over_midnight_for_epochs_without_RMC()
    {
        var text = NmeaText.Sentence("GPRMC,235959,A,4807.038,N,01131.000,E,0.0,0.0,311226,,")
                   + NmeaText.Sentence("GPGGA,000000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,");
        var (fixes, _, _) = Decode(text);

        Assert.Equal([new DateTimeOffset(2026, 12, 31, 23, 59, 59, TimeSpan.Zero), new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)],
            fixes.Select(f => f.Time!.Value));
    }

    [Fact]
    public void ZDA_should_date_the_epoch_and_GNS_give_a_fix()
    {
        var text = NmeaText.Sentence("GNGNS,014035.00,4332.69262,S,17235.48549,E,RR,13,0.9,25.63,11.24,,")
                   + NmeaText.Sentence("GPZDA,014035.00,22,11,2026,00,00");
        var fix = Assert.Single(Decode(text).Fixes);

        Assert.Equal(new DateTimeOffset(2026, 11, 22, 1, 40, 35, TimeSpan.Zero), fix.Time);
        Assert.Equal(GpsMode.Fix3D, fix.Mode);
        Assert.Equal(-43.544877, fix.Latitude!.Value, 6);
        Assert.Equal(13, fix.SatellitesUsed);
    }

    [Fact]
    public void Leading_noise_and_a_cut_off_sentence_should_not_hide_the_sentence_after_them()
    {
        var good = NmeaText.Sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,").TrimEnd();
        var (fixes, decoder, problems) = Decode($"\u0000\u00ffr{good}\n$GPRMC,1235{good}");

        Assert.Empty(problems);
        Assert.Equal(2, decoder.Decoded);
        Assert.Equal(48.1173, Assert.Single(fixes).Latitude!.Value, 9);
    }

    [Property(MaxTest = 500)]
    public bool Any_text_should_never_throw(string? text)
    {
        var decoder = new NmeaDecoder();
        var fixes = new List<GpsFix>();
        decoder.Decode(text ?? "", fixes, out _);
        decoder.Decode("$" + text, fixes, out _);
        decoder.Decode("$GPGGA," + text, fixes, out _);
        decoder.Flush(fixes);
        return true;
    }

    [Property(MaxTest = 300)]
    public Property Mutated_sentences_should_never_throw_and_never_yield_an_impossible_fix()
    {
        var sentences = Gen.Elements(
            NmeaText.Epoch(Noon, 53.5, 9.9, 10, 12, 90),
            NmeaText.Sentence("GPGSV,2,1,07,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45"),
            NmeaText.Sentence("GNGNS,014035.00,4332.69262,S,17235.48549,E,RR,13,0.9,25.63,11.24,,"),
            NmeaText.Sentence("GPZDA,014035.00,22,11,2026,00,00"),
            NmeaText.Sentence("GPGLL,4916.45,N,12311.12,W,225444,A,A"));
        var mutation = from text in sentences
                       from position in Gen.Choose(0, text.Length - 1)
                       from replacement in Gen.Elements(',', '*', '$', '.', '-', '9', 'A', 'N', '\r', '\0', 'x')
                       select text[..position] + replacement + text[(position + 1)..];
        return Prop.ForAll(mutation.ToArbitrary(), text =>
        {
            var decoder = new NmeaDecoder(requireChecksum: false);
            var fixes = new List<GpsFix>();
            foreach (var line in text.Split('\n')) decoder.Decode(line, fixes, out _);
            decoder.Flush(fixes);
            return fixes.All(f => f.Latitude is null or (>= -90 and <= 90) && f.Longitude is null or (>= -180 and <= 180)
                                  && f.Speed is null or >= 0 && f.Track is null or (>= 0 and <= 360));
        });
    }

    [Property(MaxTest = 300)]
    public Property Every_valid_epoch_should_come_out_as_a_fix_with_its_position()
    {
        var epochs = from count in Gen.Choose(1, 20)
                     from points in Gen.ArrayOf(
                         from lat in Gen.Choose(-89_999_999, 89_999_999)
                         from lon in Gen.Choose(-179_999_999, 179_999_999)
                         from speed in Gen.Choose(0, 60_000)
                         from track in Gen.Choose(0, 35_999)
                         select (Lat: lat / 1e6, Lon: lon / 1e6, Speed: speed / 1000.0, Track: track / 100.0), count)
                     select points;
        return Prop.ForAll(epochs.ToArbitrary(), points =>
        {
            var text = string.Concat(points.Select((p, i) => NmeaText.Epoch(Noon.AddSeconds(i), p.Lat, p.Lon, 100, p.Speed, p.Track)));
            var (fixes, decoder, problems) = Decode(text);
            return problems.Count == 0 && decoder.Malformed == 0 && fixes.Count == points.Length
                   && fixes.Zip(points).All(x => Math.Abs(x.Item1.Latitude!.Value - x.Item2.Lat) < 1e-6
                                                 && Math.Abs(x.Item1.Longitude!.Value - x.Item2.Lon) < 1e-6
                                                 && Math.Abs(x.Item1.Speed!.Value - x.Item2.Speed) < 0.001
                                                 && Math.Abs(x.Item1.Track!.Value - x.Item2.Track) < 0.01
                                                 && x.Item1.Mode == GpsMode.Fix3D);
        });
    }
}
