using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Fleet.Actors.Devices.Can;

/// <summary>What a raw <c>struct can_frame</c> held.</summary>
internal enum RawFrameKind
{
    /// <summary>A data or remote frame.</summary>
    Frame,

    /// <summary>An error frame the controller generated (CAN_ERR_FLAG), not bus data.</summary>
    Error,

    /// <summary>A length code above 8 (not a classic CAN frame).</summary>
    Invalid,
}

/// <summary>
/// Linux SocketCAN through libc: a raw CAN socket (<c>socket(AF_CAN, SOCK_RAW, CAN_RAW)</c>) bound to
/// an interface, and the 16-byte <c>struct can_frame</c> it reads.
/// </summary>
internal static partial class SocketCanNative
{
    public const int AfCan = 29;
    public const int SockRaw = 3;
    public const int CanRaw = 1;

    /// <summary>Size of <c>struct can_frame</c>: can_id (4), len (1), pad, res, len8_dlc, data[8].</summary>
    public const int FrameSize = 16;

    public const uint EffFlag = 0x8000_0000;
    public const uint RtrFlag = 0x4000_0000;
    public const uint ErrFlag = 0x2000_0000;

    public const short PollIn = 0x001;
    public const short PollNval = 0x020;

    private const int EIntr = 4;
    private const int EAgain = 11;

    /// <summary>True for the errno values after which a read or poll is simply repeated.</summary>
    public static bool IsTransient(int errno) => errno is EIntr or EAgain;

    /// <summary>
    /// Opens a raw CAN socket bound to <paramref name="interfaceName"/>. Throws an
    /// <see cref="IOException"/> naming the interface when it does not exist, is not CAN, or the
    /// system has no SocketCAN.
    /// </summary>
    public static SafeHandle OpenRaw(string interfaceName)
    {
        try
        {
            var index = if_nametoindex(interfaceName);
            if (index == 0)
                throw new IOException($"CAN interface '{interfaceName}' does not exist ({LastError()}); check the name (ip link) and that the adapter is plugged in");
            var fd = socket(AfCan, SockRaw, CanRaw);
            if (fd < 0)
                throw new IOException($"CAN interface '{interfaceName}': cannot create a CAN socket ({LastError()}); is the can_raw kernel module loaded?");
            var handle = new FileDescriptorHandle(fd);
            var address = new SockAddrCan { Family = AfCan, InterfaceIndex = (int)index };
            if (bind(fd, in address, Marshal.SizeOf<SockAddrCan>()) < 0)
            {
                var error = LastError();
                handle.Dispose();
                throw new IOException($"CAN interface '{interfaceName}': cannot bind a CAN socket to it ({error}); is it a CAN interface?");
            }
            return handle;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new IOException($"CAN interface '{interfaceName}': SocketCAN is not available on this system ({ex.Message})", ex);
        }
    }

    /// <summary>Reads a <c>struct can_frame</c> (host byte order, little-endian on x86-64 and arm64).</summary>
    public static RawFrameKind ParseFrame(ReadOnlySpan<byte> raw, out CanFrame frame)
    {
        frame = default;
        var canId = BinaryPrimitives.ReadUInt32LittleEndian(raw);
        if ((canId & ErrFlag) != 0) return RawFrameKind.Error;
        var length = raw[4];
        if (length > CanFrame.MaxLength) return RawFrameKind.Invalid;
        var extended = (canId & EffFlag) != 0;
        var id = canId & (extended ? CanFrame.MaxExtendedId : CanFrame.MaxStandardId);
        frame = (canId & RtrFlag) != 0 ? CanFrame.Remote(id, extended, length) : new CanFrame(id, extended, raw.Slice(8, length));
        return RawFrameKind.Frame;
    }

    /// <summary>Writes a frame as a <c>struct can_frame</c> (what the kernel would deliver).</summary>
    public static void FormatFrame(CanFrame frame, Span<byte> raw)
    {
        raw[..FrameSize].Clear();
        var canId = frame.Id | (frame.IsExtended ? EffFlag : 0) | (frame.IsRemote ? RtrFlag : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(raw, canId);
        raw[4] = (byte)frame.Length;
        frame.CopyTo(raw[8..]);
    }

    public static string LastError()
    {
        var errno = Marshal.GetLastPInvokeError();
        return $"errno {errno}: {Marshal.GetPInvokeErrorMessage(errno)}";
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SockAddrCan
    {
        public ushort Family;
        public int InterfaceIndex;

        // The protocol-specific union (J1939 name, ISO-TP ids): 16 bytes, unused by CAN_RAW.
        public ulong Address0;
        public ulong Address1;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string name);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, in SockAddrCan address, int length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(ref PollFd fds, nuint count, int timeoutMs);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, ref byte buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    /// <summary>Owns a file descriptor; closing waits for every <c>DangerousAddRef</c> (the reader thread) to be released.</summary>
    private sealed class FileDescriptorHandle : SafeHandle
    {
        public FileDescriptorHandle(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

        public override bool IsInvalid => handle == -1;

        protected override bool ReleaseHandle() => close((int)handle) == 0;
    }
}
