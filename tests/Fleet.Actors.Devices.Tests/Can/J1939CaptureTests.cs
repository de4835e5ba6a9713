using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Can;

namespace Fleet.Actors.Devices.Tests.Can;

public sealed class J1939CaptureTests
{
    private static string Line(CanFrame frame, int? timestamp = null) => Slcan.Encode(frame, timestamp);

    [Fact]
    public void Capture_should_give_values_and_malformed_lines_with_line_numbers_and_timestamps()
    {
        var eec1 = J1939Frames.Single(J1939Pgns.Eec1, 0x00, [0xF0, 0x7D, 0x96, 0x68, 0x13, 0x00, 0xF0, 0x7D]);
        string[] lines =
        [
            "# captured on the yard truck",
            Line(eec1, 59_990) + "\r",
            "",
            "t12",
            "\a",
            Line(J1939Frames.Single(J1939Pgns.Et1, 0x00, [0x82]), 10),
            Line(J1939Frames.Single(J1939Pgns.Lfe, 0x00, [0x40, 0x01])),
        ];

        var items = J1939Capture.DecodeSlcan(lines).ToList();

        Assert.Equal(
            [
                new J1939CaptureItem(2, 59_990, new MeasurementValue("engine_torque", 25, "%"), null),
                new J1939CaptureItem(2, 59_990, new MeasurementValue("engine_rpm", 621, "rpm"), null),
                // 10 after 59990: the adapter's clock wrapped at 60 s.
                new J1939CaptureItem(6, 60_010, new MeasurementValue("coolant_temp", 90, "°C"), null),
                new J1939CaptureItem(7, null, new MeasurementValue("fuel_rate", 16, "L/h"), null),
            ],
            items.Where(i => i.Value is not null));
        var bad = Assert.Single(items, i => i.Malformed is not null);
        Assert.Equal(4, bad.Line);
        Assert.Contains("too short", bad.Malformed!.Reason, StringComparison.Ordinal);
        Assert.Equal("t12", bad.Malformed.Excerpt);
    }

    [Fact]
    public void Capture_should_reassemble_BAM_and_time_it_out_on_the_line_timestamps()
    {
        byte[] payload = [0x40, 0xFF, 0x6E, 0x00, 0x00, 0x01, 0x64, 0x00, 0x01, 0x02];
        var frames = J1939Frames.Bam(J1939Pgns.Dm1, 0x00, payload);
        string[] complete = [Line(frames[0], 100), Line(frames[1], 150), Line(frames[2], 200)];
        string[] late = [Line(frames[0], 100), Line(frames[1], 150), Line(frames[2], 1_000)];

        var dm1 = Assert.Single(J1939Capture.DecodeSlcan(complete));
        Assert.Equal(3, dm1.Line);
        Assert.Equal(["SPN 110 FMI 0", "SPN 100 FMI 1"], Assert.IsType<FaultCodesValue>(dm1.Value).Faults.Select(f => f.Code));

        var timedOut = Assert.Single(J1939Capture.DecodeSlcan(late));
        Assert.Contains("timeout 750 ms", timedOut.Malformed!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Capture_with_16_bit_timestamps_should_wrap_at_65536()
    {
        var et1 = J1939Frames.Single(J1939Pgns.Et1, 0x00, [0x82]);
        var items = J1939Capture.DecodeSlcan([Line(et1, 65_000), Line(et1, 5)]).ToList();

        Assert.Equal([65_000L, 65_541L], items.Select(i => i.TimestampMs!.Value));
    }
}
