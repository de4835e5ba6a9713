using System.Diagnostics;
using System.IO.Ports;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Fleet.Actors.Testing;

/// <summary>
/// A pseudo-terminal pair made by <c>socat</c>: the agent opens <see cref="DevicePath"/> as its
/// serial port, the test plays the device on <see cref="PeerPath"/>. Stopping socat unplugs the
/// device (the agent's port fails); starting it again plugs it back in under the same paths.
/// The fixture holds both ends open from creation to unplug: bytes sent towards an end that nobody
/// else has opened yet wait there instead of being lost, whatever socat does with the ends. An
/// unplug removes both paths first, so that nothing opens them while unplugged: the kernel hands
/// the freed pseudo-terminals to the next pair made, which may be another test's.
/// </summary>
public sealed class SocatPty : IAsyncDisposable
{
    private readonly string _directory;
    private Process? _socat;
    private SafeFileHandle[] _held = [];

    private SocatPty(string directory)
    {
        _directory = directory;
        DevicePath = Path.Combine(directory, "device");
        PeerPath = Path.Combine(directory, "peer");
    }

    /// <summary>The agent's end (a symlink to /dev/pts/N).</summary>
    public string DevicePath { get; }

    /// <summary>The simulated device's end.</summary>
    public string PeerPath { get; }

    /// <summary>Starts socat with both links in a fresh folder under <paramref name="parent"/> (default: temp).</summary>
    public static async Task<SocatPty> StartAsync(string? parent = null)
    {
        var directory = Path.Combine(parent ?? Path.GetTempPath(), $"pty-{Guid.NewGuid():N}"[..16]);
        Directory.CreateDirectory(directory);
        var pty = new SocatPty(directory);
        await pty.PlugAsync();
        return pty;
    }

    /// <summary>(Re)creates the pair under the same paths.</summary>
    public async Task PlugAsync()
    {
        if (_socat is { HasExited: false }) return;
        File.Delete(DevicePath);
        File.Delete(PeerPath);
        var start = new ProcessStartInfo("socat")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-d", "-d", $"pty,raw,echo=0,link={DevicePath}", $"pty,raw,echo=0,link={PeerPath}" })
            start.ArgumentList.Add(arg);
        var socat = Process.Start(start) ?? throw new InvalidOperationException("socat did not start");
        socat.ErrorDataReceived += (_, _) => { };
        socat.BeginErrorReadLine();
        socat.BeginOutputReadLine();
        _socat = socat;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!(File.Exists(DevicePath) && File.Exists(PeerPath)))
        {
            if (socat.HasExited) throw new InvalidOperationException($"socat exited with {socat.ExitCode}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException("socat did not create its pseudo-terminals");
            await Task.Delay(20);
        }
        _held = [Hold(DevicePath), Hold(PeerPath)];
    }

    /// <summary>Unplugs the device: both paths go, socat exits, both ends close.</summary>
    public async Task UnplugAsync()
    {
        if (_socat is not { } socat) return;
        _socat = null;
        File.Delete(DevicePath);
        File.Delete(PeerPath);
        if (!socat.HasExited) socat.Kill();
        await socat.WaitForExitAsync();
        socat.Dispose();
        foreach (var end in _held) end.Dispose();
        _held = [];
    }

    // Opened, never read: the end stays open (so what is sent to it waits) without taking its bytes.
    private static SafeFileHandle Hold(string path) => File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);

    /// <summary>Opens the device end as the simulated device.</summary>
    public PtyPeer OpenPeer() => new(PeerPath);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await UnplugAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Leftover links in temp are harmless.
        }
    }
}

/// <summary>The device's end of a <see cref="SocatPty"/>: write what the device sends, read what the agent sends.</summary>
public sealed class PtyPeer : IDisposable
{
    private readonly SerialPort _port;
    private readonly StringBuilder _pending = new();

    internal PtyPeer(string path)
    {
        _port = new SerialPort(path, 115200) { ReadTimeout = 100, WriteTimeout = 5000, Encoding = Encoding.Latin1 };
        _port.Open();
    }

    /// <summary>Sends text as the device.</summary>
    public void Write(string text) => Write(Encoding.Latin1.GetBytes(text));

    /// <summary>
    /// Sends bytes as the device. An unplugged line fails with an <see cref="IOException"/>, however
    /// the serial port reports it (a write error, or a port that closed under the writer).
    /// </summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        try
        {
            _port.BaseStream.Write(bytes);
            _port.BaseStream.Flush();
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
        {
            throw new IOException($"{_port.PortName}: the line is gone (unplugged)", ex);
        }
    }

    /// <summary>
    /// Waits for text from the agent up to and including <paramref name="terminator"/>; null when
    /// nothing complete arrived within <paramref name="timeout"/>.
    /// </summary>
    public string? ReadUntil(char terminator, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var buffer = new byte[256];
        while (true)
        {
            var text = _pending.ToString();
            var end = text.IndexOf(terminator);
            if (end >= 0)
            {
                _pending.Remove(0, end + 1);
                return text[..(end + 1)];
            }
            if (DateTime.UtcNow > deadline) return null;
            try
            {
                var count = _port.BaseStream.Read(buffer, 0, buffer.Length);
                _pending.Append(Encoding.Latin1.GetString(buffer, 0, count));
            }
            catch (TimeoutException)
            {
                // Poll again until the deadline.
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            _port.Dispose();
        }
        catch (IOException)
        {
            // The pair is already gone.
        }
    }
}
