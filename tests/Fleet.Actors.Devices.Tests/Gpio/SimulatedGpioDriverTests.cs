using System.Device.Gpio;
using Fleet.Actors.Devices.Gpio;

namespace Fleet.Actors.Devices.Tests.Gpio;

/// <summary>The simulated chip used the way the agent uses a real one: through <see cref="GpioController"/>.</summary>
public sealed class SimulatedGpioDriverTests
{
    private readonly SimulatedGpioDriver _driver = new(64);

    [Fact]
    public void Controller_should_open_set_modes_and_close_pins()
    {
        using var controller = new GpioController(_driver);
        controller.OpenPin(17, PinMode.InputPullUp);
        controller.OpenPin(27, PinMode.Output, PinValue.High);

        Assert.True(controller.IsPinOpen(17));
        Assert.Equal(PinMode.InputPullUp, controller.GetPinMode(17));
        Assert.Equal(PinMode.Output, controller.GetPinMode(27));
        Assert.True(_driver.IsOpen(27));

        controller.ClosePin(27);
        Assert.False(_driver.IsOpen(27));
        Assert.Throws<InvalidOperationException>(() => controller.Read(27));
    }

    [Fact]
    public void Inputs_should_read_the_bias_until_driven_then_the_driven_level()
    {
        using var controller = new GpioController(_driver);
        controller.OpenPin(5, PinMode.InputPullUp);
        controller.OpenPin(6, PinMode.InputPullDown);
        Assert.Equal(PinValue.High, controller.Read(5));
        Assert.Equal(PinValue.Low, controller.Read(6));

        _driver.Drive(5, PinValue.Low);
        _driver.Drive(6, PinValue.High);
        Assert.Equal(PinValue.Low, controller.Read(5));
        Assert.Equal(PinValue.High, controller.Read(6));
    }

    [Fact]
    public void Outputs_should_read_back_what_was_written_and_writes_never_change_an_input()
    {
        using var controller = new GpioController(_driver);
        controller.OpenPin(27, PinMode.Output, PinValue.Low);
        controller.OpenPin(17, PinMode.Input);

        controller.Write(27, PinValue.High);
        Assert.Equal(PinValue.High, controller.Read(27));
        Assert.Equal(PinValue.High, _driver.LevelOf(27));
        controller.Write(27, PinValue.Low);
        Assert.Equal(PinValue.Low, controller.Read(27));
        // GpioController ignores a write to an input (System.Device.Gpio 4.x); the driven level stands.
        _driver.Drive(17, PinValue.Low);
        controller.Write(17, PinValue.High);
        Assert.Equal(PinValue.Low, controller.Read(17));
    }

    [Fact]
    public void Callbacks_should_see_every_change_of_the_registered_kinds_and_nothing_after_unregistering()
    {
        using var controller = new GpioController(_driver);
        controller.OpenPin(17, PinMode.Input);
        var both = new List<PinEventTypes>();
        var falling = new List<PinEventTypes>();
        PinChangeEventHandler onBoth = (_, e) => both.Add(e.ChangeType);
        controller.RegisterCallbackForPinValueChangedEvent(17, PinEventTypes.Rising | PinEventTypes.Falling, onBoth);
        controller.RegisterCallbackForPinValueChangedEvent(17, PinEventTypes.Falling, (_, e) => falling.Add(e.ChangeType));

        _driver.Drive(17, PinValue.High);
        _driver.Drive(17, PinValue.High); // no change, no event
        _driver.Drive(17, PinValue.Low);
        controller.UnregisterCallbackForPinValueChangedEvent(17, onBoth);
        _driver.Drive(17, PinValue.High);

        Assert.Equal([PinEventTypes.Rising, PinEventTypes.Falling], both);
        Assert.Equal([PinEventTypes.Falling], falling);
    }

    [Fact]
    public void Bounce_should_give_an_odd_burst_of_edges_ending_at_the_final_level()
    {
        using var controller = new GpioController(_driver);
        controller.OpenPin(17, PinMode.InputPullUp);
        var edges = new List<PinEventTypes>();
        controller.RegisterCallbackForPinValueChangedEvent(17, PinEventTypes.Rising | PinEventTypes.Falling, (_, e) => edges.Add(e.ChangeType));

        _driver.Bounce(17, PinValue.Low, bounces: 3, TimeSpan.FromMilliseconds(1));

        Assert.Equal(7, edges.Count);
        Assert.Equal(PinEventTypes.Falling, edges[^1]);
        Assert.Equal(PinValue.Low, controller.Read(17));
    }

    [Fact]
    public void WaitForEvent_should_return_the_edge_or_time_out()
    {
        using var controller = new GpioController(_driver);
        controller.OpenPin(17, PinMode.Input);
        var waiting = Task.Run(() => controller.WaitForEvent(17, PinEventTypes.Rising, TimeSpan.FromSeconds(10)));
        // Drive until the waiter has registered (a drive before that is not an edge it can see).
        var level = PinValue.Low;
        while (!waiting.Wait(TimeSpan.FromMilliseconds(20)))
        {
            level = level == PinValue.High ? PinValue.Low : PinValue.High;
            _driver.Drive(17, level);
        }
        Assert.Equal(new WaitForEventResult { TimedOut = false, EventTypes = PinEventTypes.Rising }, waiting.Result);

        var timedOut = controller.WaitForEvent(17, PinEventTypes.Falling, TimeSpan.FromMilliseconds(50));
        Assert.True(timedOut.TimedOut);
    }

    [Fact]
    public void Fault_knobs_should_fail_opens_a_number_of_times_and_fail_io_while_on()
    {
        using var controller = new GpioController(_driver);
        _driver.FailOpens(17, 2);
        Assert.Throws<IOException>(() => controller.OpenPin(17, PinMode.Input));
        Assert.Throws<IOException>(() => controller.OpenPin(17, PinMode.Input));
        controller.OpenPin(17, PinMode.Input);

        _driver.FailIo(17, true);
        Assert.Throws<IOException>(() => controller.Read(17));
        _driver.FailIo(17, false);
        Assert.Equal(PinValue.Low, controller.Read(17));
    }

    [Fact]
    public void Disposing_the_controller_should_close_pins_but_keep_the_chip_usable()
    {
        var first = new GpioController(_driver);
        first.OpenPin(17, PinMode.Input);
        _driver.Drive(17, PinValue.High);
        first.Dispose();
        Assert.False(_driver.IsOpen(17));

        using var second = new GpioController(_driver);
        second.OpenPin(17, PinMode.Input);
        Assert.Equal(PinValue.High, second.Read(17));
    }
}
