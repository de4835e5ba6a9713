namespace Fleet.Actors.Devices.Simulation;

/// <summary>
/// A closed route (a loop of waypoints) that a simulated vehicle drives round. Corners are driven as
/// arcs, so heading turns smoothly and the vehicle feels lateral acceleration there.
/// </summary>
public sealed class Route
{
    private const double EarthRadius = 6_371_000;
    private const double CornerRadius = 40;
    private readonly (double Lat, double Lon)[] _points;
    private readonly double[] _cumulative;
    private readonly double[] _bearings;

    /// <summary>Creates a loop through <paramref name="waypoints"/> (the last joins the first).</summary>
    public Route(string name, IReadOnlyList<(double Lat, double Lon)> waypoints)
    {
        if (waypoints.Count < 3) throw new ArgumentException("A route needs at least three waypoints", nameof(waypoints));
        Name = name;
        _points = waypoints.ToArray();
        _cumulative = new double[_points.Length + 1];
        _bearings = new double[_points.Length];
        for (var i = 0; i < _points.Length; i++)
        {
            var a = _points[i];
            var b = _points[(i + 1) % _points.Length];
            _cumulative[i + 1] = _cumulative[i] + Distance(a, b);
            _bearings[i] = Bearing(a, b);
        }
        Length = _cumulative[^1];
    }

    /// <summary>A loop of about 7.3 km through the port of Hamburg.</summary>
    public static Route HamburgPort { get; } = new("hamburg-port",
    [
        (53.5461, 9.9663), (53.5440, 9.9590), (53.5405, 9.9520), (53.5362, 9.9495), (53.5318, 9.9530),
        (53.5290, 9.9610), (53.5283, 9.9720), (53.5301, 9.9825), (53.5340, 9.9890), (53.5385, 9.9905),
        (53.5425, 9.9860), (53.5450, 9.9770),
    ]);

    /// <summary>Known routes by name.</summary>
    public static IReadOnlyDictionary<string, Route> Known { get; } = new Dictionary<string, Route> { [HamburgPort.Name] = HamburgPort };

    /// <summary>The route's name.</summary>
    public string Name { get; }

    /// <summary>Length of one lap in metres.</summary>
    public double Length { get; }

    /// <summary>Where a vehicle is after <paramref name="distance"/> metres: position, heading (degrees) and signed curvature (1/m, positive to the right).</summary>
    public (double Lat, double Lon, double Heading, double Curvature) At(double distance)
    {
        var s = distance % Length;
        if (s < 0) s += Length;
        var i = Array.BinarySearch(_cumulative, s);
        if (i < 0) i = ~i - 1;
        i = Math.Clamp(i, 0, _points.Length - 1);

        var segmentLength = _cumulative[i + 1] - _cumulative[i];
        var f = segmentLength <= 0 ? 0 : (s - _cumulative[i]) / segmentLength;
        var a = _points[i];
        var b = _points[(i + 1) % _points.Length];
        var lat = a.Lat + (b.Lat - a.Lat) * f;
        var lon = a.Lon + (b.Lon - a.Lon) * f;

        var heading = _bearings[i];
        var curvature = 0.0;
        // Near the waypoint at the start or end of this segment, turn along an arc.
        var intoSegment = s - _cumulative[i];
        var toNext = _cumulative[i + 1] - s;
        if (CornerAt(i, out var turnIn, out var halfArcIn) && intoSegment < halfArcIn)
        {
            var progress = 0.5 + intoSegment / (2 * halfArcIn);
            heading = Normalize(_bearings[Prev(i)] + turnIn * progress);
            curvature = turnIn * Math.PI / 180 / (2 * halfArcIn);
        }
        else if (CornerAt(i + 1, out var turnOut, out var halfArcOut) && toNext < halfArcOut)
        {
            var progress = 0.5 - toNext / (2 * halfArcOut);
            heading = Normalize(_bearings[i] + turnOut * progress);
            curvature = turnOut * Math.PI / 180 / (2 * halfArcOut);
        }
        return (lat, lon, heading, curvature);
    }

    private bool CornerAt(int waypoint, out double turnDegrees, out double halfArc)
    {
        var index = waypoint % _points.Length;
        turnDegrees = SignedTurn(_bearings[Prev(index)], _bearings[index]);
        halfArc = Math.Abs(turnDegrees) * Math.PI / 180 * CornerRadius / 2;
        return halfArc > 0.5;
    }

    private int Prev(int i) => (i - 1 + _points.Length) % _points.Length;

    private static double SignedTurn(double from, double to)
    {
        var d = (to - from) % 360;
        if (d > 180) d -= 360;
        if (d < -180) d += 360;
        return d;
    }

    private static double Normalize(double degrees) => ((degrees % 360) + 360) % 360;

    private static double Distance((double Lat, double Lon) a, (double Lat, double Lon) b)
    {
        var dLat = ToRad(b.Lat - a.Lat);
        var dLon = ToRad(b.Lon - a.Lon);
        var h = Math.Sin(dLat / 2) * Math.Sin(dLat / 2)
            + Math.Cos(ToRad(a.Lat)) * Math.Cos(ToRad(b.Lat)) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2);
        return 2 * EarthRadius * Math.Asin(Math.Sqrt(h));
    }

    private static double Bearing((double Lat, double Lon) a, (double Lat, double Lon) b)
    {
        var dLon = ToRad(b.Lon - a.Lon);
        var y = Math.Sin(dLon) * Math.Cos(ToRad(b.Lat));
        var x = Math.Cos(ToRad(a.Lat)) * Math.Sin(ToRad(b.Lat)) - Math.Sin(ToRad(a.Lat)) * Math.Cos(ToRad(b.Lat)) * Math.Cos(dLon);
        return Normalize(Math.Atan2(y, x) * 180 / Math.PI);
    }

    private static double ToRad(double degrees) => degrees * Math.PI / 180;
}
