using FsCheck;
using FsCheck.Xunit;
using Fleet.Actors.Devices.Simulation;

namespace Fleet.Actors.Devices.Tests.Simulation;

/// <summary>The route geometry under the vehicle model: a closed loop with corners driven as arcs.</summary>
public sealed class RouteTests
{
    private const double CornerRadius = 40;
    private static readonly Route Hamburg = Route.HamburgPort;

    [Fact]
    public void Route_should_be_a_closed_loop_of_about_7_km()
    {
        // The haversine lengths of its twelve legs add up to 7.28 km (Route.cs documents "about 9 km").
        Assert.InRange(Hamburg.Length, 7_200, 7_400);
        Assert.Same(Hamburg, Route.Known["hamburg-port"]);

        // One lap later the vehicle is where it started.
        var start = Hamburg.At(123);
        var lapLater = Hamburg.At(123 + Hamburg.Length);
        Assert.Equal(start.Lat, lapLater.Lat, 9);
        Assert.Equal(start.Lon, lapLater.Lon, 9);
        Assert.Equal(start.Heading, lapLater.Heading, 6);
    }

    [Property(MaxTest = 200, EndSize = 10_000)]
    public void Route_should_wrap_negative_and_long_distances_onto_the_loop(NonNegativeInt metres, PositiveInt laps)
    {
        var d = metres.Get % (int)Hamburg.Length + 0.25;
        var here = Hamburg.At(d);
        var ahead = Hamburg.At(d + laps.Get % 50 * Hamburg.Length);
        var behind = Hamburg.At(d - Hamburg.Length);

        Assert.Equal(here.Lat, ahead.Lat, 6);
        Assert.Equal(here.Lon, ahead.Lon, 6);
        Assert.Equal(here.Lat, behind.Lat, 9);
        Assert.Equal(here.Lon, behind.Lon, 9);
        Assert.InRange(here.Heading, 0, 359.999999999);
    }

    [Fact]
    public void Route_should_turn_smoothly_through_corners()
    {
        // An arc of radius R turns 180/(πR) degrees per metre; a corner taken as a kink would jump.
        var maxPerMetre = 180 / (Math.PI * CornerRadius) + 1e-6;
        var previous = Hamburg.At(0).Heading;
        var largest = 0.0;
        for (var d = 0.25; d <= Hamburg.Length + 1; d += 0.25)
        {
            var heading = Hamburg.At(d).Heading;
            largest = Math.Max(largest, Math.Abs(SignedTurn(previous, heading)));
            previous = heading;
        }
        Assert.True(largest <= maxPerMetre * 0.25, $"heading jumped {largest:F3}° in a quarter metre");
        Assert.True(largest > 0.1, "the route never turns");
    }

    [Fact]
    public void Route_should_have_curvature_only_in_its_corners_with_the_corner_radius()
    {
        var corners = 0;
        var inCorner = false;
        double? previousHeading = null;
        for (var d = 0.0; d < Hamburg.Length; d += 0.5)
        {
            var (_, _, heading, curvature) = Hamburg.At(d);
            if (curvature != 0)
            {
                Assert.Equal(1 / CornerRadius, Math.Abs(curvature), 9);
                if (!inCorner) corners++;
            }
            else if (previousHeading is { } p)
            {
                // Straight: the heading does not change.
                Assert.Equal(p, heading, 9);
            }
            inCorner = curvature != 0;
            previousHeading = curvature == 0 ? heading : null;
        }
        // Twelve waypoints, each a real turn (the loop's start is one of them).
        Assert.InRange(corners, 12, 13);
    }

    [Fact]
    public void Route_should_refuse_fewer_than_three_waypoints()
    {
        Assert.Throws<ArgumentException>(() => new Route("line", [(53.5, 9.9), (53.6, 9.9)]));
    }

    private static double SignedTurn(double from, double to)
    {
        var d = (to - from) % 360;
        if (d > 180) d -= 360;
        if (d < -180) d += 360;
        return d;
    }
}
