namespace Fleet.Actors.Core.Commands;

/// <summary>The machine-readable reasons of NACK and FAILED responses (docs/commands.md lists them).</summary>
public static class CommandRefusals
{
    /// <summary>The bytes are not a SignedCommand holding a Command, or a required field is missing.</summary>
    public const string Malformed = "malformed";

    /// <summary>The message is larger than <c>fleet.commands.max-command-bytes</c>.</summary>
    public const string Oversize = "oversize";

    /// <summary>The issuer is not one the vehicle trusts.</summary>
    public const string UntrustedIssuer = "untrusted-issuer";

    /// <summary>The signature does not verify with the issuer's key.</summary>
    public const string BadSignature = "bad-signature";

    /// <summary>Addressed to another vehicle or tenant.</summary>
    public const string WrongVehicle = "wrong-vehicle";

    /// <summary>A type this agent does not know.</summary>
    public const string UnknownType = "unknown-type";

    /// <summary>The issuer may not send this type.</summary>
    public const string TypeNotAllowed = "type-not-allowed";

    /// <summary>Past its <c>expires_at</c>.</summary>
    public const string Expired = "expired";

    /// <summary><c>issued_at</c> lies further in the future than the allowed clock skew.</summary>
    public const string IssuedInFuture = "issued-in-future";

    /// <summary><c>expires_at - issued_at</c> is longer than <c>fleet.commands.max-validity</c> (or negative).</summary>
    public const string ValidityTooLong = "validity-too-long";

    /// <summary>The payload is missing, of another type, or its values are out of range.</summary>
    public const string InvalidPayload = "invalid-payload";

    /// <summary>A different command under a command id already seen.</summary>
    public const string Replayed = "replayed";

    /// <summary>
    /// Issued before the vehicle lost its command history (a damaged journal file was replaced) and
    /// not remembered: it may have run already, so it is not run; re-issue it under a new id.
    /// </summary>
    public const string HistoryLost = "history-lost";

    /// <summary>
    /// The command ledger (or the operational state a command needs) is not running: it is being
    /// started again after its journal failed (a damaged file, quarantined). Nothing was run; send it again shortly.
    /// </summary>
    public const string Unavailable = "unavailable";

    /// <summary>Too many commands remembered at once; try again later.</summary>
    public const string Busy = "busy";

    /// <summary>A type this agent knows but cannot carry out here (not available, or nothing configured for it).</summary>
    public const string Unsupported = "unsupported";

    /// <summary>The operational state does not allow it now (e.g. RESUME while not PAUSED).</summary>
    public const string IllegalTransition = "illegal-transition";

    /// <summary>A configuration update changes a part that is read only at start; nothing was applied.</summary>
    public const string RestartRequired = "restart-required";

    /// <summary>The owner did not answer within <c>fleet.commands.execution-timeout</c>.</summary>
    public const string Timeout = "timeout";

    /// <summary>The agent stopped while the command ran; it is not run again.</summary>
    public const string Interrupted = "interrupted";

    /// <summary>The owner tried and failed (the message says why).</summary>
    public const string ExecutionFailed = "execution-failed";

    /// <summary>The command was refused by the thing it addresses (unknown line, unknown script...).</summary>
    public const string Rejected = "rejected";
}
