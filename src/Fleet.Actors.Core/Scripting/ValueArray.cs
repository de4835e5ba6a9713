using System.Collections;
using System.Collections.Immutable;

namespace Fleet.Actors.Core.Scripting;

/// <summary>
/// An immutable list with value equality, so that records holding lists (scripts, conditions)
/// compare by content: a script parsed from JSON equals the same script parsed from HOCON.
/// </summary>
public readonly struct ValueArray<T> : IEquatable<ValueArray<T>>, IReadOnlyList<T>
{
    private readonly ImmutableArray<T> _items;

    /// <summary>Wraps the given items.</summary>
    public ValueArray(IEnumerable<T> items) => _items = items.ToImmutableArray();

    /// <summary>An empty list.</summary>
    public static ValueArray<T> Empty => new([]);

    private ImmutableArray<T> Items => _items.IsDefault ? ImmutableArray<T>.Empty : _items;

    /// <inheritdoc />
    public T this[int index] => Items[index];

    /// <inheritdoc />
    public int Count => Items.Length;

    /// <inheritdoc />
    public bool Equals(ValueArray<T> other) => Items.SequenceEqual(other.Items);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ValueArray<T> other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in Items) hash.Add(item);
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)Items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Lists the items, for logs and test failures.</summary>
    public override string ToString() => $"[{string.Join(", ", Items)}]";

    /// <summary>Equality by content.</summary>
    public static bool operator ==(ValueArray<T> left, ValueArray<T> right) => left.Equals(right);

    /// <summary>Inequality by content.</summary>
    public static bool operator !=(ValueArray<T> left, ValueArray<T> right) => !left.Equals(right);
}

/// <summary>Factory for <see cref="ValueArray{T}"/>.</summary>
public static class ValueArray
{
    /// <summary>A value list of the given items.</summary>
    public static ValueArray<T> Of<T>(params T[] items) => new(items);

    /// <summary>A value list of the given items.</summary>
    public static ValueArray<T> ToValueArray<T>(this IEnumerable<T> items) => new(items);
}
