using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Core.Uplink;

/// <summary>Where and how to reach the MQTT broker (HOCON: <c>fleet.uplink.broker</c>).</summary>
public sealed record BrokerSettings
{
    /// <summary>Broker host name or address.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Broker TCP port.</summary>
    public int Port { get; init; } = 1883;

    /// <summary>Optional user name.</summary>
    public string? Username { get; init; }

    /// <summary>
    /// Optional password given directly (the <c>MQTT_PASSWORD</c> environment variable or a URL's
    /// user info; meant for development). <see cref="PasswordFile"/> is the production way.
    /// </summary>
    public string? Password { get; init; }

    /// <summary>
    /// File holding the password (its first line), read again at every connection attempt; it must
    /// not be readable by group or others. Wins over <see cref="Password"/>.
    /// </summary>
    public string? PasswordFile { get; init; }

    /// <summary>TLS (<c>mqtts://</c>); null for plain TCP.</summary>
    public BrokerTls? Tls { get; init; }

    /// <summary>MQTT keep-alive; a dead link is noticed within about 1.5 times this.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a connect (TCP and CONNACK) may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a PUBACK may take before the link is considered broken.</summary>
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The settings without the password (a record would print it), for logs and status.</summary>
    public override string ToString() =>
        $"BrokerSettings {{ Host = {Host}, Port = {Port}, Username = {Username}, Password = {(Password is null ? "" : "********")}, PasswordFile = {PasswordFile}, Tls = {Tls}, KeepAlive = {KeepAlive}, ConnectTimeout = {ConnectTimeout}, PublishTimeout = {PublishTimeout} }}";

    /// <summary>The TLS port of MQTT (<c>mqtts://host</c> without a port).</summary>
    public const int TlsPort = 8883;

    /// <summary>
    /// Parses <c>mqtt://host:port</c> (or <c>tcp://</c>, or a bare <c>host:port</c>) and
    /// <c>mqtts://host:port</c> (or <c>ssl://</c>, TLS, default port 8883) as used by the
    /// <c>MQTT_BROKER</c> environment variable. Returns null and a reason when it does not parse.
    /// </summary>
    public static BrokerSettings? TryParseUrl(string url, BrokerSettings defaults, out string? problem)
    {
        problem = null;
        var text = url.Contains("://", StringComparison.Ordinal) ? url : "mqtt://" + url;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            problem = $"'{url}' is not a broker address (expected mqtt://host:port)";
            return null;
        }
        if (uri.Scheme is not ("mqtt" or "tcp" or "mqtts" or "ssl"))
        {
            problem = $"scheme '{uri.Scheme}' is not supported (use mqtt:// or mqtts://)";
            return null;
        }
        var tls = uri.Scheme is "mqtts" or "ssl";
        var settings = defaults with
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port < 0 ? (tls ? TlsPort : 1883) : uri.Port,
            Tls = tls ? defaults.Tls ?? new BrokerTls() : null,
        };
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var parts = uri.UserInfo.Split(':', 2);
            settings = settings with
            {
                Username = Uri.UnescapeDataString(parts[0]),
                Password = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : null,
            };
        }
        return settings;
    }
}

/// <summary>TLS to the broker (HOCON: <c>fleet.uplink.broker.tls</c>, with an <c>mqtts://</c> URL).</summary>
public sealed record BrokerTls
{
    /// <summary>PEM file with the CA certificate(s) that sign the broker's certificate; null: the system store.</summary>
    public string? CaFile { get; init; }

    /// <summary>PEM file with the client certificate for mutual TLS (optional).</summary>
    public string? ClientCertificateFile { get; init; }

    /// <summary>PEM file with the client certificate's unencrypted private key; must not be readable by group or others.</summary>
    public string? ClientKeyFile { get; init; }

    /// <summary>The name the broker's certificate must carry; null: the broker's host.</summary>
    public string? ServerName { get; init; }

    /// <summary>
    /// How often the uplink checks whether the CA, client certificate and key files changed on disk; when
    /// they did and the new ones load, it reconnects at once to use them. Zero turns the check off.
    /// </summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>Settings of the uplink from the log to the broker (HOCON: <c>fleet.uplink</c>).</summary>
public sealed record UplinkSettings
{
    /// <summary>The broker.</summary>
    public BrokerSettings Broker { get; init; } = new();

    /// <summary>Topic of telemetry batches; placeholders <c>{tenant}</c> and <c>{vehicle_id}</c>.</summary>
    public string TelemetryTopic { get; init; } = "fleet/{tenant}/{vehicle_id}/telemetry";

    /// <summary>Retained online/offline status topic; same placeholders.</summary>
    public string StatusTopic { get; init; } = "fleet/{tenant}/{vehicle_id}/status";

    /// <summary>
    /// Topic of the high-priority lane: every alert the log accepted is published there at once, on
    /// its own, besides travelling in the telemetry stream (docs/alerts.md); same placeholders.
    /// </summary>
    public string AlertsTopic { get; init; } = "fleet/{tenant}/{vehicle_id}/alerts";

    /// <summary>Whether accepted alerts are also published at once on <see cref="AlertsTopic"/> (the high-priority lane).</summary>
    public bool PriorityLane { get; init; } = true;

    /// <summary>Alerts waiting for the lane (while offline); beyond it the oldest are dropped and counted (they still travel in the telemetry stream).</summary>
    public int PriorityLaneMaxPending { get; init; } = 1000;

    /// <summary>Most records in one MQTT message.</summary>
    public int MaxBatchRecords { get; init; } = 5_000;

    /// <summary>Most uncompressed record bytes in one MQTT message.</summary>
    public int MaxBatchBytes { get; init; } = 256 * 1024;

    /// <summary>A batch with at least this many records goes out without waiting for <see cref="Linger"/>.</summary>
    public int MinBatchRecords { get; init; } = 32;

    /// <summary>How long a smaller batch may wait for more records; zero sends as soon as the link is free.</summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Payload compression.</summary>
    public PayloadCompression Compression { get; init; } = PayloadCompression.Zstd;

    /// <summary>zstd level, 1..19.</summary>
    public int CompressionLevel { get; init; } = 3;

    /// <summary>Batches published and awaiting PUBACK at once (capped by the broker's receive maximum).</summary>
    public int MaxInFlight { get; init; } = 4;

    /// <summary>Bytes of entries asked from the log at a time.</summary>
    public int ReadChunkBytes { get; init; } = 1024 * 1024;

    /// <summary>How long the uplink waits for the log to answer before asking again.</summary>
    public TimeSpan ReadRetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>First reconnect delay.</summary>
    public TimeSpan ReconnectMinBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest reconnect delay.</summary>
    public TimeSpan ReconnectMaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Random extra delay as a fraction of the backoff (jitter).</summary>
    public double ReconnectRandomFactor { get; init; } = 0.2;

    /// <summary>
    /// While waiting out a reconnect backoff longer than this, the uplink checks this often whether
    /// the broker accepts TCP connections again, and reconnects at once when it comes back after
    /// having been unreachable. Zero turns the probe off.
    /// </summary>
    public TimeSpan ReconnectProbeInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Whether the status topic and the last will are retained; the uplink turns it off for a broker
    /// that keeps no retained messages (CONNACK Retain Available 0 or RetainNotSupported).
    /// </summary>
    public bool RetainStatus { get; init; } = true;

    /// <summary>Publish <see cref="UplinkProtocol.BatchAcknowledged"/> on the event stream (benchmarks, tests).</summary>
    public bool PublishAcknowledgements { get; init; }

    /// <summary>Checks the settings; returns the problems as (key, message) pairs, empty when valid.</summary>
    public IEnumerable<(string Key, string Problem)> Validate()
    {
        if (string.IsNullOrWhiteSpace(Broker.Host)) yield return ("broker.host", "must not be empty");
        if (Broker.Port is < 1 or > 65535) yield return ("broker.port", "must be between 1 and 65535");
        if (Broker.KeepAlive < TimeSpan.FromSeconds(1)) yield return ("broker.keep-alive", "must be at least 1s");
        if (Broker.ConnectTimeout <= TimeSpan.Zero) yield return ("broker.connect-timeout", "must be positive");
        if (Broker.PublishTimeout <= TimeSpan.Zero) yield return ("broker.publish-timeout", "must be positive");
        if (Broker.Tls is { } tls)
        {
            if (tls.ClientCertificateFile is null != tls.ClientKeyFile is null)
                yield return tls.ClientCertificateFile is null
                    ? ("broker.tls.client-key-file", "is set but client-cert-file is not (mutual TLS needs both)")
                    : ("broker.tls.client-cert-file", "is set but client-key-file is not (mutual TLS needs both)");
            if (tls.CheckInterval < TimeSpan.Zero) yield return ("broker.tls.check-interval", "must not be negative");
        }
        foreach (var (key, template) in new[] { ("topics.telemetry", TelemetryTopic), ("topics.status", StatusTopic), ("topics.alerts", AlertsTopic) })
            if (TopicTemplate.Check(template) is { } problem) yield return (key, problem);
        if (PriorityLane && AlertsTopic == TelemetryTopic) yield return ("topics.alerts", "must differ from topics.telemetry (a consumer tells the lane's copies from the stream by topic)");
        if (PriorityLaneMaxPending is < 1 or > 1_000_000) yield return ("priority-lane.max-pending", "must be between 1 and 1000000");
        if (MaxBatchRecords < 1) yield return ("batch.max-records", "must be at least 1");
        if (MaxBatchBytes < 1024) yield return ("batch.max-bytes", "must be at least 1 KiB");
        if (Linger < TimeSpan.Zero) yield return ("batch.linger", "must not be negative");
        if (MinBatchRecords < 1) yield return ("batch.min-records", "must be at least 1");
        if (MinBatchRecords > MaxBatchRecords) yield return ("batch.min-records", "must not exceed max-records");
        if (CompressionLevel is < 1 or > 19) yield return ("compression.level", "must be between 1 and 19");
        if (MaxInFlight is < 1 or > 1000) yield return ("max-in-flight", "must be between 1 and 1000");
        if (ReadChunkBytes < 1024) yield return ("read-chunk-bytes", "must be at least 1 KiB");
        if (ReadRetryInterval <= TimeSpan.Zero) yield return ("read-retry-interval", "must be positive");
        if (ReconnectMinBackoff <= TimeSpan.Zero) yield return ("reconnect.min-backoff", "must be positive");
        if (ReconnectMaxBackoff < ReconnectMinBackoff) yield return ("reconnect.max-backoff", "must not be less than min-backoff");
        if (ReconnectRandomFactor is < 0 or > 1) yield return ("reconnect.random-factor", "must be between 0 and 1");
        if (ReconnectProbeInterval < TimeSpan.Zero) yield return ("reconnect.probe-interval", "must not be negative");
    }
}

/// <summary>Who the uplink speaks for.</summary>
/// <param name="VehicleId">The vehicle id (topic placeholder <c>{vehicle_id}</c>).</param>
/// <param name="Tenant">The tenant (topic placeholder <c>{tenant}</c>).</param>
public sealed record VehicleIdentity(string VehicleId, string Tenant);
