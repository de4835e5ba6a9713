using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Alerts;

namespace Fleet.Actors.Devices.Tests.Alerts;

/// <summary>The debounce and the raise/clear pairing of <see cref="AlertBook"/>, with time given by the test.</summary>
public sealed class AlertBookTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly AlertBook _book = new(TimeSpan.FromSeconds(10));

    private static AlertsProtocol.Raise Brake(AlertSeverity severity = AlertSeverity.Warning, string device = "imu") =>
        new("harsh-brake", severity, "rule:brakes", device, "harsh_brake", OneShot: true);

    private static AlertsProtocol.Raise Hot(AlertSeverity severity = AlertSeverity.Critical, string device = "obd") =>
        new("engine-overheat", severity, "rule:coolant", device, "coolant_temp at 106");

    private static AlertsProtocol.Clear Cool(string device = "obd") => new("engine-overheat", "rule:coolant", device, "coolant_temp back at 99");

    private static AlertValue Emitted(AlertBook.Outcome outcome) => Assert.IsType<AlertBook.Emit>(outcome).Value;

    [Fact]
    public void One_shot_alerts_within_the_window_should_be_suppressed_and_summarised_by_the_next_one_that_passes()
    {
        var first = Emitted(_book.Raise(Brake(), T0));
        Assert.Equal((AlertState.Event, 0), (first.State, first.Suppressed));
        Assert.IsType<AlertBook.Suppressed>(_book.Raise(Brake(), T0.AddSeconds(2)));
        Assert.IsType<AlertBook.Suppressed>(_book.Raise(Brake(), T0.AddSeconds(9.9)));

        var next = Emitted(_book.Raise(Brake(), T0.AddSeconds(10)));
        Assert.Equal(2, next.Suppressed);
        // The window starts again from the one that passed.
        Assert.IsType<AlertBook.Suppressed>(_book.Raise(Brake(), T0.AddSeconds(19)));
    }

    [Fact]
    public void The_debounce_should_be_per_type_and_device()
    {
        Emitted(_book.Raise(Brake(device: "imu"), T0));
        Emitted(_book.Raise(Brake(device: "imu-rear"), T0.AddSeconds(1)));
        Emitted(_book.Raise(Hot(), T0.AddSeconds(1)));
        Assert.IsType<AlertBook.Suppressed>(_book.Raise(Brake(device: "imu"), T0.AddSeconds(1)));
    }

    [Fact]
    public void An_escalation_should_not_wait_for_the_window()
    {
        Emitted(_book.Raise(Brake(AlertSeverity.Warning), T0));
        var critical = Emitted(_book.Raise(Brake(AlertSeverity.Critical), T0.AddSeconds(1)));
        Assert.Equal(AlertSeverity.Critical, critical.Severity);
        Assert.IsType<AlertBook.Suppressed>(_book.Raise(Brake(AlertSeverity.Warning), T0.AddSeconds(2)));
    }

    [Fact]
    public void A_raise_while_raised_should_change_nothing_and_its_clear_should_always_go_out()
    {
        var raised = Emitted(_book.Raise(Hot(), T0));
        Assert.Equal(AlertState.Raised, raised.State);
        Assert.Same(AlertBook.Ignored.Instance, _book.Raise(Hot(), T0.AddSeconds(1)));

        // A clear is never debounced, however soon it follows.
        var cleared = Emitted(_book.Clear(Cool(), T0.AddSeconds(1)));
        Assert.Equal((AlertState.Cleared, "engine-overheat", "obd", AlertSeverity.Critical, "rule:coolant"),
            (cleared.State, cleared.Name, cleared.DeviceId, cleared.Severity, cleared.Source));
        Assert.Same(AlertBook.Ignored.Instance, _book.Clear(Cool(), T0.AddSeconds(2)));
        Assert.Empty(_book.ActiveAlerts);
    }

    [Fact]
    public void A_condition_raised_within_the_window_should_go_out_when_it_ends_if_it_still_holds()
    {
        Emitted(_book.Raise(Hot(), T0));
        Emitted(_book.Clear(Cool(), T0.AddSeconds(1)));
        var held = Assert.IsType<AlertBook.Held>(_book.Raise(Hot(), T0.AddSeconds(3)));
        Assert.Equal(T0.AddSeconds(10), held.Until);
        Assert.Equal(T0.AddSeconds(10), _book.NextDue());
        Assert.Empty(_book.Due(T0.AddSeconds(9)));

        var late = Assert.Single(_book.Due(T0.AddSeconds(10)));
        Assert.Equal((AlertState.Raised, 0), (late.State, late.Suppressed));
        Assert.Contains("held back 7 s by the debounce", late.Message);
        Assert.Null(_book.NextDue());
        // It went out, so its clear does too.
        Assert.Equal(AlertState.Cleared, Emitted(_book.Clear(Cool(), T0.AddSeconds(11))).State);
    }

    [Fact]
    public void A_held_raise_that_clears_within_the_window_should_be_suppressed_and_its_clear_not_sent()
    {
        Emitted(_book.Raise(Hot(), T0));
        Emitted(_book.Clear(Cool(), T0.AddSeconds(1)));
        Assert.IsType<AlertBook.Held>(_book.Raise(Hot(), T0.AddSeconds(2)));
        var suppressed = Assert.IsType<AlertBook.Suppressed>(_book.Clear(Cool(), T0.AddSeconds(4)));
        Assert.Equal(AlertSeverity.Critical, suppressed.Severity);
        Assert.Null(_book.NextDue());
        Assert.Empty(_book.Due(T0.AddSeconds(20)));

        // The flap is summarised by the next raise that goes out.
        Assert.Equal(1, Emitted(_book.Raise(Hot(), T0.AddSeconds(30))).Suppressed);
    }

    [Fact]
    public void A_zero_debounce_should_let_everything_through()
    {
        var book = new AlertBook(TimeSpan.Zero);
        Assert.All(Enumerable.Range(0, 5), i => Emitted(book.Raise(Brake(), T0)));
    }
}
