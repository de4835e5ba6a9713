using FsCheck;
using FsCheck.Fluent;
using Fleet.Actors.Devices.Can;

namespace Fleet.Actors.Devices.Tests.Can;

public sealed class SlcanTests
{
    public static TheoryData<string, uint, bool, bool, byte[], int?> ValidLines => new()
    {
        { "t1230", 0x123, false, false, [], null },
        { "t7FF811223344556677AA", 0x7FF, false, false, [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0xAA], null },
        { "t0002abCD", 0x000, false, false, [0xAB, 0xCD], null },
        { "t12320102EA5F", 0x123, false, false, [0x01, 0x02], 0xEA5F },
        { "T18FEF1008C0FF0000FFFFFFFF", 0x18FEF100, true, false, [0xC0, 0xFF, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF], null },
        { "T1FFFFFFF0", 0x1FFFFFFF, true, false, [], null },
        { "T0CF00400812345678AABBCCDD1234", 0x0CF00400, true, false, [0x12, 0x34, 0x56, 0x78, 0xAA, 0xBB, 0xCC, 0xDD], 0x1234 },
        { "r1238", 0x123, false, true, [], null },
        { "r1230FFFF", 0x123, false, true, [], 0xFFFF },
        { "R18EAFF003", 0x18EAFF00, true, true, [], null },
        { "R18EAFF0030001", 0x18EAFF00, true, true, [], 1 },
    };

    [Theory]
    [MemberData(nameof(ValidLines))]
    public void Parse_should_read_every_frame_form(string line, uint id, bool extended, bool remote, byte[] data, int? timestamp)
    {
        var parsed = Slcan.Parse(line);

        Assert.Equal(SlcanLineKind.Frame, parsed.Kind);
        Assert.Null(parsed.Problem);
        Assert.Equal((id, extended, remote), (parsed.Frame.Id, parsed.Frame.IsExtended, parsed.Frame.IsRemote));
        Assert.Equal(data, parsed.Frame.ToArray());
        Assert.Equal(timestamp, parsed.Timestamp);
        Assert.Equal(0, parsed.AdapterErrors);
    }

    [Fact]
    public void Remote_frame_should_keep_its_DLC_and_carry_no_data()
    {
        var frame = Slcan.Parse("r1238").Frame;
        Assert.Equal(8, frame.Length);
        Assert.Equal(0, frame.DataLength);
    }

    public static TheoryData<string, string> MalformedLines => new()
    {
        { "x1230", "starts with 'x'" },
        { "V1013", "starts with 'V'" },
        { "\u0001t1230", "starts with 0x01" },
        { "t12", "too short" },
        { "T18FEF1", "too short" },
        { "r12", "too short" },
        { "tG230", "id 'G23' is not hexadecimal" },
        { "t-120", "is not hexadecimal" },
        { "T18FEF10G0", "id '18FEF10G' is not hexadecimal" },
        { "t8000", "11-bit id 0x800 is above 0x7FF" },
        { "tFFF0", "11-bit id 0xFFF is above 0x7FF" },
        { "T200000000", "29-bit id 0x20000000 is above 0x1FFFFFFF" },
        { "TFFFFFFFF0", "29-bit id 0xFFFFFFFF is above 0x1FFFFFFF" },
        { "t1239", "DLC '9' is not 0..8" },
        { "t123F0011223344556677889900AABBCCDD", "DLC 'F' is not 0..8" },
        { "r123A", "DLC 'A' is not 0..8" },
        { "t1232011", "DLC 2 needs 4 data digits" },
        { "t123201122", "DLC 2 needs 4 data digits" },
        { "t12320112233445", "DLC 2 needs 4 data digits" },
        { "t12301", "DLC 0 needs 0 data digits" },
        { "t1231zz", "data byte 1 'zz' is not hexadecimal" },
        { "t12320 11", "data byte 1 '0 ' is not hexadecimal" },
        { "t1231AB12G4", "timestamp '12G4' is not hexadecimal" },
        { "r1238112233", "remote frame has 6 characters after the DLC" },
        { "r1238AB", "remote frame has 2 characters after the DLC" },
        { "r1238ABCDE", "remote frame has 5 characters after the DLC" },
        { "t1230\u0007", "DLC 0 needs 0 data digits" },
        { "zz", "starts with 'z'" },
    };

    [Theory]
    [MemberData(nameof(MalformedLines))]
    public void Parse_should_refuse_every_malformed_form_with_its_reason(string line, string reason)
    {
        var parsed = Slcan.Parse(line);

        Assert.Equal(SlcanLineKind.Malformed, parsed.Kind);
        Assert.NotNull(parsed.Problem);
        Assert.StartsWith("SLCAN: ", parsed.Problem, StringComparison.Ordinal);
        Assert.Contains(reason, parsed.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("z", 0)]
    [InlineData("Z", 0)]
    [InlineData("\a", 1)]
    [InlineData("\a\a", 2)]
    public void Adapter_replies_should_be_recognised_and_are_not_errors(string line, int bells)
    {
        var parsed = Slcan.Parse(line);

        Assert.Equal(SlcanLineKind.Reply, parsed.Kind);
        Assert.Equal(bells, parsed.AdapterErrors);
        Assert.Null(parsed.Problem);
    }

    [Fact]
    public void A_BEL_before_a_frame_should_count_as_a_refused_command_and_still_give_the_frame()
    {
        var parsed = Slcan.Parse("\at1231AB");

        Assert.Equal(SlcanLineKind.Frame, parsed.Kind);
        Assert.Equal(1, parsed.AdapterErrors);
        Assert.Equal([0xAB], parsed.Frame.ToArray());
    }

    [Fact]
    public void Encode_should_write_upper_case_hex_with_an_optional_timestamp()
    {
        Assert.Equal("T0CF004008FFFF7D6813FFFFFF",
            Slcan.Encode(new CanFrame(0x0CF00400, true, [0xFF, 0xFF, 0x7D, 0x68, 0x13, 0xFF, 0xFF, 0xFF])));
        Assert.Equal("t00A2ABCD0042", Slcan.Encode(new CanFrame(0x00A, false, [0xAB, 0xCD]), timestamp: 0x42));
        Assert.Equal("R18EA00FE3", Slcan.Encode(CanFrame.Remote(0x18EA00FE, true, 3)));
        Assert.Equal("r7FF0", Slcan.Encode(CanFrame.Remote(0x7FF, false, 0)));
    }

    [Theory]
    [InlineData(10_000, "S0")]
    [InlineData(125_000, "S4")]
    [InlineData(250_000, "S5")]
    [InlineData(500_000, "S6")]
    [InlineData(1_000_000, "S8")]
    public void Bitrate_command_should_map_each_rate(int bitrate, string command) =>
        Assert.Equal(command, Slcan.BitrateCommand(bitrate));

    [Fact]
    public void Setup_should_close_set_the_rate_turn_timestamps_off_and_open_listen_only() =>
        Assert.Equal(["C\r", "S5\r", "Z0\r", "L\r"], Slcan.SetupCommands(250_000, listenOnly: true));

    [Fact]
    public void Setup_without_listen_only_should_open_normally() =>
        Assert.Equal("O\r", Slcan.SetupCommands(500_000, listenOnly: false)[^1]);

    [Fact]
    public void Frame_constructor_should_refuse_ids_and_lengths_that_do_not_fit()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CanFrame(0x800, false, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CanFrame(0x2000_0000, true, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CanFrame(1, false, new byte[9]));
        Assert.Throws<ArgumentOutOfRangeException>(() => CanFrame.Remote(1, false, 9));
    }

    [Fact]
    public void Frames_with_the_same_content_should_be_equal()
    {
        Assert.Equal(new CanFrame(5, true, [1, 2]), new CanFrame(5, true, [1, 2]));
        Assert.NotEqual(new CanFrame(5, true, [1, 2]), new CanFrame(5, true, [1, 2, 0]));
        Assert.NotEqual(new CanFrame(5, true, []), new CanFrame(5, false, []));
        Assert.NotEqual(CanFrame.Remote(5, true, 0), new CanFrame(5, true, []));
        Assert.Equal("18FEF100#0102", new CanFrame(0x18FEF100, true, [1, 2]).ToString());
        Assert.Equal("123#R4", CanFrame.Remote(0x123, false, 4).ToString());
    }

    // ---- properties ----

    /// <summary>Any valid frame, with or without a timestamp.</summary>
    internal static readonly Gen<(CanFrame Frame, int? Timestamp)> AnyFrame =
        from extended in Gen.Elements(true, false)
        from id in extended ? Gen.Choose(0, (int)CanFrame.MaxExtendedId) : Gen.Choose(0, (int)CanFrame.MaxStandardId)
        from remote in Gen.Frequency((1, Gen.Constant(true)), (4, Gen.Constant(false)))
        from length in Gen.Choose(0, 8)
        from data in Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(length)
        from stamped in Gen.Elements(true, false)
        from timestamp in Gen.Choose(0, 0xFFFF)
        select (remote ? CanFrame.Remote((uint)id, extended, length) : new CanFrame((uint)id, extended, data), stamped ? timestamp : (int?)null);

    [Fact]
    public void Any_valid_frame_encoded_then_parsed_should_be_identical()
    {
        Prop.ForAll(AnyFrame.ToArbitrary(), sample =>
        {
            var parsed = Slcan.Parse(Slcan.Encode(sample.Frame, sample.Timestamp));
            Assert.Equal(SlcanLineKind.Frame, parsed.Kind);
            Assert.Equal(sample.Frame, parsed.Frame);
            Assert.Equal(sample.Timestamp, parsed.Timestamp);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Random_lines_should_never_throw()
    {
        var alphabet = Gen.Elements("t", "T", "r", "R", "z", "Z", "\a", "0", "1", "7", "8", "9", "F", "f", "G", " ", "\u00FF", "-", "FFFFFFFF");
        var lines = Gen.Frequency(
            (3, alphabet.ListOf().Select(parts => string.Concat(parts))),
            (1, ArbMap.Default.GeneratorFor<NonNull<string>>().Select(s => s.Get)));
        Prop.ForAll(lines.ToArbitrary(), line =>
        {
            var parsed = Slcan.Parse(line);
            Assert.True(parsed.Kind != SlcanLineKind.Malformed || !string.IsNullOrEmpty(parsed.Problem));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Mutated_valid_lines_should_never_throw_and_whatever_still_parses_should_encode_back()
    {
        var mutated =
            from sample in AnyFrame
            from position in Gen.Choose(0, 40)
            from replacement in Gen.Elements('0', '9', 'A', 'F', 'g', 'T', 't', 'r', ' ', '\a', '\u0080')
            from operation in Gen.Choose(0, 2)
            select Mutate(Slcan.Encode(sample.Frame, sample.Timestamp), position, replacement, operation);
        Prop.ForAll(mutated.ToArbitrary(), line =>
        {
            var parsed = Slcan.Parse(line);
            if (parsed.Kind == SlcanLineKind.Frame)
            {
                // Still a valid frame: it must be the same frame the line says (modulo BELs and hex case).
                var again = Slcan.Parse(Slcan.Encode(parsed.Frame, parsed.Timestamp));
                Assert.Equal(parsed.Frame, again.Frame);
            }
        }).QuickCheckThrowOnFailure();
    }

    private static string Mutate(string line, int position, char replacement, int operation)
    {
        var at = position % (line.Length + 1);
        return operation switch
        {
            0 => line.Insert(at, replacement.ToString()),
            1 when at < line.Length => line.Remove(at, 1),
            _ when at < line.Length => line.Remove(at, 1).Insert(at, replacement.ToString()),
            _ => line + replacement,
        };
    }
}
