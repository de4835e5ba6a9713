namespace Fleet.Actors.Devices.Plc;

/// <summary>
/// Decides which decoded values are published: the first value of a point always; after that,
/// with a deadband, only a value at least the deadband away from the last published one; with
/// <see cref="ModbusPoint.OnChange"/>, any value different from the last published one; otherwise
/// every value. Not thread-safe: one per PLC actor.
/// </summary>
public sealed class DeadbandFilter
{
    private readonly Dictionary<string, (double Value, string? Text)> _published = new(StringComparer.Ordinal);

    /// <summary>True when <paramref name="value"/> is to be published (and then remembered as the last published).</summary>
    public bool ShouldPublish(in ModbusPointValue value)
    {
        var point = value.Point;
        if (_published.TryGetValue(point.Name, out var last))
        {
            var changed = !value.Value.Equals(last.Value) || !string.Equals(value.Text, last.Text, StringComparison.Ordinal);
            var publish = point.Deadband > 0
                ? changed && (double.IsNaN(value.Value) || double.IsNaN(last.Value) || Math.Abs(value.Value - last.Value) >= point.Deadband)
                : changed || !point.OnChange;
            if (!publish) return false;
        }
        _published[point.Name] = (value.Value, value.Text);
        return true;
    }

    /// <summary>Forgets every point's last value, so that the next value of each is published (after a reconnect).</summary>
    public void Reset() => _published.Clear();
}
