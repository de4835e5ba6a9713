namespace Fleet.Actors.Core.Configuration;

/// <summary>
/// The settings a part of the agent runs with now, shared by the one that changes them (the vehicle
/// agent, when a configuration change is applied) and every incarnation of the actor that reads them
/// when it starts: an actor its backoff supervisor starts again (from the same <c>Props</c>) keeps a
/// change applied while its predecessor ran, instead of going back to the settings of the agent's start.
/// </summary>
public sealed class LiveSettings<T>(T initial)
    where T : class
{
    private T _value = initial;

    /// <summary>The settings to run with now.</summary>
    public T Value
    {
        get => Volatile.Read(ref _value);
        set => Volatile.Write(ref _value, value);
    }
}
