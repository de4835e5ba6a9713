using System.Net.Sockets;
using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Can;

namespace Fleet.Actors.Devices.Tests.Can;

/// <summary>
/// This machine has no CAN interface and no vcan module, so the real open path is only tested for
/// its failures; the reader thread, hand-off and decoding are tested over a Unix datagram socket pair
/// that carries <c>struct can_frame</c>s exactly as a raw CAN socket delivers them.
/// </summary>
public sealed class SocketCanDriverTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"can-{Guid.NewGuid():N}.sock");
    private readonly Socket _listener;
    private readonly Socket _bus;
    private readonly Socket _driverEnd;

    public SocketCanDriverTests()
    {
        _listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(_path));
        _listener.Listen(1);
        _bus = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        _bus.Connect(new UnixDomainSocketEndPoint(_path));
        _driverEnd = _listener.Accept();
    }

    public void Dispose()
    {
        _bus.Dispose();
        _driverEnd.Dispose();
        _listener.Dispose();
        File.Delete(_path);
    }

    private static SocketCanOptions Options(int handOff = 4096) =>
        new("test0", new J1939Options()) { HandOffFrames = handOff };

    private SocketCanDriver PairedDriver(int handOff = 4096) =>
        new(Options(handOff), TimeProvider.System, null, () => _driverEnd.SafeHandle);

    private void Send(CanFrame frame)
    {
        var raw = new byte[SocketCanNative.FrameSize];
        SocketCanNative.FormatFrame(frame, raw);
        _bus.Send(raw);
    }

    private static CanFrame Eec1(int rpmEighths) =>
        J1939Frames.Single(J1939Pgns.Eec1, 0x00, [0xFF, 0xFF, 0xFF, (byte)rpmEighths, (byte)(rpmEighths >> 8), 0xFF, 0xFF, 0xFF]);

    [Fact]
    public async Task Missing_interface_should_fail_to_open_with_an_IOException_naming_it()
    {
        await using var driver = new SocketCanDriver(new SocketCanOptions("can-missing0", new J1939Options()), TimeProvider.System);

        var error = await Assert.ThrowsAsync<IOException>(() => driver.OpenAsync(CancellationToken.None));

        Assert.Contains("CAN interface 'can-missing0' does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Interface_that_is_not_CAN_should_fail_to_open_with_an_IOException_naming_it()
    {
        await using var driver = new SocketCanDriver(new SocketCanOptions("lo", new J1939Options()), TimeProvider.System);

        var error = await Assert.ThrowsAsync<IOException>(() => driver.OpenAsync(CancellationToken.None));

        Assert.Contains("CAN interface 'lo'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Raw_frames_should_round_trip_and_flags_should_be_read()
    {
        var raw = new byte[SocketCanNative.FrameSize];
        foreach (var frame in new[] { Eec1(4968), new CanFrame(0x123, false, [1, 2]), CanFrame.Remote(0x18EA00FE, true, 3) })
        {
            SocketCanNative.FormatFrame(frame, raw);
            Assert.Equal(RawFrameKind.Frame, SocketCanNative.ParseFrame(raw, out var parsed));
            Assert.Equal(frame, parsed);
        }
        // EFF flag set and id 0x0CF00400, length 8: what the kernel hands over for EEC1.
        SocketCanNative.FormatFrame(new CanFrame(0x0CF00400, true, [1, 2, 3, 4, 5, 6, 7, 8]), raw);
        Assert.Equal([0x00, 0x04, 0xF0, 0x8C, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], raw);
        Assert.Equal(RawFrameKind.Error, SocketCanNative.ParseFrame(ToRaw(0x2000_0004, 8), out _));
        Assert.Equal(RawFrameKind.Invalid, SocketCanNative.ParseFrame(ToRaw(0x123, 9), out _));
    }

    private static byte[] ToRaw(uint canId, byte length)
    {
        var raw = new byte[SocketCanNative.FrameSize];
        BitConverter.TryWriteBytes(raw, canId);
        raw[4] = length;
        return raw;
    }

    [Fact]
    public async Task Frames_from_the_socket_should_be_decoded_and_error_frames_skipped()
    {
        await using var driver = PairedDriver();
        await driver.OpenAsync(CancellationToken.None);

        _bus.Send(ToRaw(0x2000_0004, 8));
        Send(new CanFrame(0x123, false, [1]));
        Send(Eec1(0x1368));
        using var timeout = new CancellationTokenSource(Generous);
        var values = new List<ReadingValue>();
        while (values.Count == 0) values.AddRange((await driver.ReadAsync(timeout.Token)).Values.Select(v => v.Value));

        Assert.Equal([new MeasurementValue("engine_rpm", 621, "rpm")], values);
        Assert.Equal(1, driver.ErrorFrames);
        Assert.Equal(1, driver.Decoder.NotJ1939);
    }

    [Fact]
    public async Task Full_hand_off_should_drop_the_oldest_frames_and_report_them_as_missed()
    {
        await using var driver = PairedDriver(handOff: 16);
        await driver.OpenAsync(CancellationToken.None);

        for (var i = 1; i <= 40; i++) Send(Eec1(i * 8));
        var deadline = DateTime.UtcNow + Generous;
        while (driver.DroppedFrames < 24 && DateTime.UtcNow < deadline) await Task.Delay(20);
        var read = await driver.ReadAsync(CancellationToken.None);

        Assert.Equal(24, read.Missed);
        // The newest 16 survived: 25..40 rpm.
        Assert.Equal(Enumerable.Range(25, 16).Select(i => (double)i), read.Values.Select(v => ((MeasurementValue)v.Value).Value));
    }

    [Fact]
    public async Task Closed_socket_should_fail_the_next_read_with_an_IOException()
    {
        await using var driver = PairedDriver();
        await driver.OpenAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(Generous);
        var read = driver.ReadAsync(timeout.Token);

        _bus.Shutdown(SocketShutdown.Both);
        _bus.Close();

        await Assert.ThrowsAsync<IOException>(() => read);
    }

    [Fact]
    public async Task Dispose_should_stop_the_reader_and_close_the_socket()
    {
        var driver = PairedDriver();
        await driver.OpenAsync(CancellationToken.None);

        await driver.DisposeAsync();

        Assert.True(_driverEnd.SafeHandle.IsClosed);
    }
}
