using Fleet.Actors.Devices.Can;
using Fleet.Actors.Testing;

namespace Fleet.Actors.PeerTests.Can;

/// <summary>
/// Plays an SLCAN USB-CAN adapter on the device end of a <see cref="SocatPty"/>: acknowledges the
/// set-up commands with CR, as a Lawicel adapter does, then streams frames from a J1939 bus.
/// </summary>
internal sealed class SlcanAdapterPeer(PtyPeer peer)
{
    /// <summary>Answers the next <paramref name="count"/> commands with CR and returns them; null entries time out.</summary>
    public IReadOnlyList<string?> AnswerSetup(int count, TimeSpan timeout)
    {
        var commands = new List<string?>();
        for (var i = 0; i < count; i++)
        {
            var command = peer.ReadUntil('\r', timeout);
            commands.Add(command);
            if (command is null) break;
            peer.Write("\r");
        }
        return commands;
    }

    /// <summary>Sends frames as the adapter received them from the bus, one line each.</summary>
    public void Send(IEnumerable<CanFrame> frames)
    {
        foreach (var frame in frames) peer.Write(Slcan.Encode(frame) + "\r");
    }

    /// <summary>
    /// The frames of a small J1939 bus: engine speed, wheel speed, coolant, a two-fault DM1 over BAM,
    /// a proprietary message nobody decodes, and a tyre.
    /// </summary>
    public static IReadOnlyList<CanFrame> TruckBus() =>
    [
        J1939Frames.Single(J1939Pgns.Eec1, 0x00, [0xF0, 0x7D, 0x96, 0x68, 0x13, 0x00, 0xF0, 0x7D], priority: 3),
        J1939Frames.Single(J1939Pgns.Ccvs, 0x00, [0xF0, 0x00, 0x50, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        J1939Frames.Single(J1939Pgns.Et1, 0x00, [0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        // DM1, MIL on: SPN 110 FMI 0 (3 times) and SPN 100 FMI 1 (once): 10 bytes in 2 packets.
        .. J1939Frames.Bam(J1939Pgns.Dm1, 0x00, [0x40, 0xFF, 0x6E, 0x00, 0x00, 0x03, 0x64, 0x00, 0x01, 0x01]),
        J1939Frames.Single(0xFF00, 0x00, [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]),
        J1939Frames.Single(J1939Pgns.Tire, 0x33, [0x12, 0xC8, 0x20, 0x27, 0xFF, 0xFF, 0xFF, 0xFF]),
    ];
}
