namespace Fleet.Actors.Devices.Imu;

/// <summary>
/// How an IMU is mounted: which sensor axis, with which sign, points to the vehicle's forward,
/// left and up directions (the wire format's x, y and z). Written as three comma-separated
/// entries in that order, e.g. <c>"x,y,z"</c> (mounted square, chip marking forward) or
/// <c>"-y,x,z"</c> (turned a quarter anticlockwise seen from above: the sensor's x points left and
/// its -y forward). A mounting is
/// a rotation: every sensor axis appears once, and mirror images (an odd number of sign flips
/// over an even permutation) are refused.
/// </summary>
public sealed class AxisMapping : IEquatable<AxisMapping>
{
    private static readonly char[] Names = ['x', 'y', 'z'];

    // For vehicle axis i (forward, left, up): the sensor axis and the sign applied to it.
    private readonly int[] _axis;
    private readonly int[] _sign;

    private AxisMapping(int[] axis, int[] sign)
    {
        _axis = axis;
        _sign = sign;
    }

    /// <summary>Sensor axes are vehicle axes: <c>"x,y,z"</c>.</summary>
    public static AxisMapping Identity { get; } = new([0, 1, 2], [1, 1, 1]);

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="problem"/> says why (for the configuration error).</summary>
    public static bool TryParse(string? text, out AxisMapping mapping, out string problem)
    {
        mapping = Identity;
        problem = "";
        var parts = (text ?? "").Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 3)
        {
            problem = $"must be three axes for forward, left and up, such as \"x,y,z\" or \"-y,x,z\" (got \"{text}\")";
            return false;
        }
        var axis = new int[3];
        var sign = new int[3];
        for (var i = 0; i < 3; i++)
        {
            var part = parts[i].ToLowerInvariant();
            var negative = part.StartsWith('-');
            var name = part.TrimStart('+', '-');
            var index = name.Length == 1 ? Array.IndexOf(Names, name[0]) : -1;
            if (index < 0 || part.Length - name.Length > 1)
            {
                problem = $"entry \"{parts[i]}\" is not an axis (x, y or z with an optional sign) in \"{text}\"";
                return false;
            }
            axis[i] = index;
            sign[i] = negative ? -1 : 1;
        }
        if (axis.Distinct().Count() != 3)
        {
            problem = $"must name each of x, y and z once (got \"{text}\")";
            return false;
        }
        if (Determinant(axis, sign) != 1)
        {
            problem = $"\"{text}\" is a mirror image, not a mounting: flip the sign of one axis (a rotation keeps the frame right-handed)";
            return false;
        }
        mapping = new AxisMapping(axis, sign);
        return true;
    }

    /// <summary>Parses <paramref name="text"/>; throws <see cref="FormatException"/> when it is not a mounting.</summary>
    public static AxisMapping Parse(string text) =>
        TryParse(text, out var mapping, out var problem) ? mapping : throw new FormatException(problem);

    /// <summary>A vector in sensor axes, expressed in vehicle axes (forward, left, up).</summary>
    public (double Forward, double Left, double Up) ToVehicle(double x, double y, double z)
    {
        ReadOnlySpan<double> sensor = [x, y, z];
        return (_sign[0] * sensor[_axis[0]], _sign[1] * sensor[_axis[1]], _sign[2] * sensor[_axis[2]]);
    }

    /// <summary>The inverse of <see cref="ToVehicle"/>: what the sensor measures of a vehicle-frame vector.</summary>
    public (double X, double Y, double Z) ToSensor(double forward, double left, double up)
    {
        ReadOnlySpan<double> vehicle = [forward, left, up];
        Span<double> sensor = stackalloc double[3];
        for (var i = 0; i < 3; i++) sensor[_axis[i]] = _sign[i] * vehicle[i];
        return (sensor[0], sensor[1], sensor[2]);
    }

    /// <inheritdoc />
    public override string ToString() =>
        string.Join(",", Enumerable.Range(0, 3).Select(i => (_sign[i] < 0 ? "-" : "") + Names[_axis[i]]));

    /// <inheritdoc />
    public bool Equals(AxisMapping? other) => other is not null && _axis.SequenceEqual(other._axis) && _sign.SequenceEqual(other._sign);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as AxisMapping);

    /// <inheritdoc />
    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);

    // The determinant of a signed permutation matrix: the permutation's parity times the signs.
    private static int Determinant(int[] axis, int[] sign)
    {
        var inversions = 0;
        for (var i = 0; i < 3; i++)
            for (var j = i + 1; j < 3; j++)
                if (axis[i] > axis[j]) inversions++;
        return (inversions % 2 == 0 ? 1 : -1) * sign[0] * sign[1] * sign[2];
    }
}
