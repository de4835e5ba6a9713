namespace Fleet.Actors.Devices.Gpio;

/// <summary>
/// Messages of the GPIO domain, sent to the vehicle's <c>gpio</c> supervisor, which routes them to
/// the line by id. Ask with a timeout: a request that reaches a line just as it fails gets no answer.
/// </summary>
public static class GpioProtocol
{
    /// <summary>A message about one line.</summary>
    public interface IWithLineId
    {
        /// <summary>The configured line id.</summary>
        string LineId { get; }
    }

    /// <summary>Sets an output line to a logical level (after <c>invert</c>); answers a <see cref="Result"/>.</summary>
    /// <param name="LineId">The output line.</param>
    /// <param name="Level">The logical level.</param>
    /// <param name="RequestedBy">Who asks (a script, a remote command, an alert), for the log.</param>
    public sealed record Write(string LineId, bool Level, string RequestedBy) : IWithLineId;

    /// <summary>Asks for the current logical level of a line; answers <see cref="LevelRead"/> or another <see cref="Result"/>.</summary>
    public sealed record Read(string LineId) : IWithLineId;

    /// <summary>The answer to <see cref="Write"/> or <see cref="Read"/>.</summary>
    public abstract record Result(string LineId);

    /// <summary>The output now has this logical level.</summary>
    public sealed record Written(string LineId, bool Level) : Result(LineId);

    /// <summary>The current logical level (the debounced one for inputs, read back for outputs).</summary>
    public sealed record LevelRead(string LineId, bool Level) : Result(LineId);

    /// <summary>Not attempted: the line is unknown, or a write was sent to an input.</summary>
    public sealed record Refused(string LineId, string Reason) : Result(LineId);

    /// <summary>Attempted and failed, or the line is down and reopening.</summary>
    public sealed record Failed(string LineId, string Reason) : Result(LineId);
}
