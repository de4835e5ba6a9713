using System.Device.Gpio;

namespace Fleet.Actors.Devices.Gpio;

/// <summary>
/// A GPIO chip in memory, usable through <see cref="GpioController"/> like a real one: pins open and
/// close, have a mode, read and write, and raise value-changed callbacks. Inputs are driven from
/// outside (<see cref="Drive"/>, <see cref="Bounce"/>: tests, the fleet simulation); faults are
/// injected with <see cref="FailOpens"/> and <see cref="FailIo"/>. Thread-safe; callbacks run on
/// the thread that drives the level, outside the driver's lock, like libgpiod's event thread.
/// Disposing it (through its controller) closes every pin but keeps the driven levels and fault
/// knobs, so a restarted GPIO supervisor can use the same simulated chip again.
/// </summary>
public sealed class SimulatedGpioDriver : GpioDriver
{
    private readonly object _lock = new();
    private readonly int _pinCount;
    private readonly Dictionary<int, PinState> _open = new();
    private readonly Dictionary<int, PinValue> _driven = new();
    private readonly Dictionary<int, int> _openFailures = new();
    private readonly HashSet<int> _ioFailures = new();
    private readonly Dictionary<int, List<PinValue>> _written = new();

    /// <summary>A chip with <paramref name="pinCount"/> lines (offsets 0 to pinCount - 1).</summary>
    public SimulatedGpioDriver(int pinCount = GpioConfig.MaxPin + 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pinCount);
        _pinCount = pinCount;
    }

    /// <inheritdoc />
    protected override int PinCount => _pinCount;

    /// <summary>True while <paramref name="pin"/> is open.</summary>
    public bool IsOpen(int pin)
    {
        lock (_lock) return _open.ContainsKey(pin);
    }

    /// <summary>How many times pins were opened successfully, for tests of reopening.</summary>
    public int OpenCount { get; private set; }

    /// <summary>The next <paramref name="count"/> opens of <paramref name="pin"/> fail (int.MaxValue: every open).</summary>
    public void FailOpens(int pin, int count)
    {
        lock (_lock) _openFailures[pin] = count;
    }

    /// <summary>While on, reads and writes of <paramref name="pin"/> throw <see cref="IOException"/>.</summary>
    public void FailIo(int pin, bool failing)
    {
        lock (_lock)
        {
            if (failing) _ioFailures.Add(pin);
            else _ioFailures.Remove(pin);
        }
    }

    /// <summary>
    /// Sets the electrical level at an input from outside; when the pin is open as an input and the
    /// level changes, the registered callbacks run on the calling thread.
    /// </summary>
    public void Drive(int pin, PinValue level)
    {
        CheckPin(pin);
        List<(PinEventTypes, PinChangeEventHandler)>? callbacks = null;
        PinEventTypes change;
        lock (_lock)
        {
            var before = LevelOf(pin);
            _driven[pin] = level;
            if (before == level || !_open.TryGetValue(pin, out var state) || state.Mode == PinMode.Output) return;
            change = level == PinValue.High ? PinEventTypes.Rising : PinEventTypes.Falling;
            callbacks = state.Callbacks.Where(c => (c.Events & change) != 0).ToList();
        }
        foreach (var (_, callback) in callbacks) callback(this, new PinValueChangedEventArgs(change, pin));
    }

    /// <summary>
    /// Contact bounce: from the current level, the input flips to <paramref name="finalLevel"/> and
    /// back <paramref name="bounces"/> times before settling at <paramref name="finalLevel"/>
    /// (2 × bounces + 1 edges when the level changes), <paramref name="spacing"/> apart.
    /// Blocks the calling thread for the spacing: call it from a test or simulation thread.
    /// </summary>
    public void Bounce(int pin, PinValue finalLevel, int bounces, TimeSpan spacing = default)
    {
        var other = finalLevel == PinValue.High ? PinValue.Low : PinValue.High;
        for (var i = 0; i < bounces; i++)
        {
            Drive(pin, finalLevel);
            Pause(spacing);
            Drive(pin, other);
            Pause(spacing);
        }
        Drive(pin, finalLevel);
    }

    /// <summary>The electrical level of a pin: what was written to an output, or what drives an input.</summary>
    public PinValue LevelOf(int pin)
    {
        lock (_lock)
        {
            if (_open.TryGetValue(pin, out var state) && state.Mode == PinMode.Output) return state.Output;
            if (_driven.TryGetValue(pin, out var driven)) return driven;
            // Nothing drives it: the bias decides.
            return _open.TryGetValue(pin, out var input) && input.Mode == PinMode.InputPullUp ? PinValue.High : PinValue.Low;
        }
    }

    /// <summary>
    /// Every level written to <paramref name="pin"/> as an output, in order (electrical levels, the
    /// initial one at open included): what a test watches when an output moves faster than it polls.
    /// </summary>
    public IReadOnlyList<PinValue> WrittenLevels(int pin)
    {
        lock (_lock) return _written.TryGetValue(pin, out var levels) ? levels.ToList() : [];
    }

    /// <inheritdoc />
    protected override void OpenPin(int pinNumber)
    {
        CheckPin(pinNumber);
        lock (_lock)
        {
            if (_openFailures.TryGetValue(pinNumber, out var failures) && failures > 0)
            {
                if (failures != int.MaxValue) _openFailures[pinNumber] = failures - 1;
                throw new IOException($"simulated GPIO line {pinNumber} failed to open");
            }
            if (_open.ContainsKey(pinNumber)) throw new InvalidOperationException($"GPIO line {pinNumber} is already open");
            _open[pinNumber] = new PinState();
            OpenCount++;
        }
    }

    /// <inheritdoc />
    protected override void ClosePin(int pinNumber)
    {
        lock (_lock) _open.Remove(pinNumber);
    }

    /// <inheritdoc />
    protected override void SetPinMode(int pinNumber, PinMode mode) => SetPinMode(pinNumber, mode, PinValue.Low);

    /// <inheritdoc />
    protected override void SetPinMode(int pinNumber, PinMode mode, PinValue initialValue)
    {
        lock (_lock)
        {
            var state = Opened(pinNumber);
            state.Mode = mode;
            if (mode == PinMode.Output) state.Output = initialValue;
        }
    }

    /// <inheritdoc />
    protected override PinMode GetPinMode(int pinNumber)
    {
        lock (_lock) return Opened(pinNumber).Mode;
    }

    /// <inheritdoc />
    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) =>
        mode is PinMode.Input or PinMode.InputPullUp or PinMode.InputPullDown or PinMode.Output;

    /// <inheritdoc />
    protected override PinValue Read(int pinNumber)
    {
        lock (_lock)
        {
            Opened(pinNumber);
            CheckIo(pinNumber);
        }
        return LevelOf(pinNumber);
    }

    /// <inheritdoc />
    protected override void Toggle(int pinNumber) => Write(pinNumber, Read(pinNumber) == PinValue.High ? PinValue.Low : PinValue.High);

    /// <inheritdoc />
    protected override void Write(int pinNumber, PinValue value)
    {
        lock (_lock)
        {
            var state = Opened(pinNumber);
            CheckIo(pinNumber);
            if (state.Mode != PinMode.Output) throw new InvalidOperationException($"GPIO line {pinNumber} is not an output");
            state.Output = value;
            if (!_written.TryGetValue(pinNumber, out var written)) _written[pinNumber] = written = new List<PinValue>();
            written.Add(value);
        }
    }

    /// <inheritdoc />
    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback)
    {
        lock (_lock) Opened(pinNumber).Callbacks.Add((eventTypes, callback));
    }

    /// <inheritdoc />
    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback)
    {
        lock (_lock)
        {
            if (_open.TryGetValue(pinNumber, out var state)) state.Callbacks.RemoveAll(c => c.Callback == callback);
        }
    }

    /// <inheritdoc />
    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken)
    {
        using var changed = new ManualResetEventSlim();
        var result = new WaitForEventResult { TimedOut = true, EventTypes = PinEventTypes.None };
        void OnChange(object sender, PinValueChangedEventArgs e)
        {
            result = new WaitForEventResult { TimedOut = false, EventTypes = e.ChangeType };
            changed.Set();
        }
        AddCallbackForPinValueChangedEvent(pinNumber, eventTypes, OnChange);
        try
        {
            changed.Wait(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // A cancelled wait is reported as a timeout, as the real drivers do.
        }
        finally
        {
            RemoveCallbackForPinValueChangedEvent(pinNumber, OnChange);
        }
        return result;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        lock (_lock) _open.Clear();
        base.Dispose(disposing);
    }

    private PinState Opened(int pin) =>
        _open.TryGetValue(pin, out var state) ? state : throw new InvalidOperationException($"GPIO line {pin} is not open");

    private void CheckIo(int pin)
    {
        if (_ioFailures.Contains(pin)) throw new IOException($"simulated I/O error on GPIO line {pin}");
    }

    private void CheckPin(int pin)
    {
        if (pin < 0 || pin >= _pinCount) throw new ArgumentOutOfRangeException(nameof(pin), pin, $"the simulated chip has lines 0 to {_pinCount - 1}");
    }

    private static void Pause(TimeSpan spacing)
    {
        if (spacing > TimeSpan.Zero) Thread.Sleep(spacing);
    }

    private sealed class PinState
    {
        public PinMode Mode { get; set; } = PinMode.Input;
        public PinValue Output { get; set; } = PinValue.Low;
        public List<(PinEventTypes Events, PinChangeEventHandler Callback)> Callbacks { get; } = new();
    }
}
