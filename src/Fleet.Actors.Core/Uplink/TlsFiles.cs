using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Fleet.Actors.Core.Uplink;

/// <summary>
/// What the TLS files (CA, client certificate, client key) held at one moment: a SHA-256 of each
/// file's bytes, or that it could not be read; null for a file that is not configured. Two reads of
/// unchanged files give equal fingerprints, whatever their timestamps.
/// </summary>
/// <param name="Ca">The CA file's digest.</param>
/// <param name="Certificate">The client certificate file's digest.</param>
/// <param name="Key">The client key file's digest.</param>
internal sealed record TlsFingerprint(string? Ca, string? Certificate, string? Key);

/// <summary>
/// The TLS files of the uplink, read once: their content, its <see cref="TlsFingerprint"/>, and the
/// loading a connection attempt does with them (the CA parses, the client certificate and key load
/// and belong together, the certificate is within its validity). A connection attempt uses exactly
/// the bytes whose fingerprint the uplink keeps as its baseline, and the periodic check of the files
/// loads new content the same way before the uplink reconnects to use it.
/// </summary>
internal sealed class TlsFiles
{
    private readonly BrokerTls _tls;
    private readonly Content? _ca;
    private readonly Content? _certificate;
    private readonly Content? _key;

    private TlsFiles(BrokerTls tls, Content? ca, Content? certificate, Content? key)
    {
        _tls = tls;
        _ca = ca;
        _certificate = certificate;
        _key = key;
        Fingerprint = new TlsFingerprint(ca?.Digest, certificate?.Digest, key?.Digest);
    }

    /// <summary>What the files held when they were read.</summary>
    public TlsFingerprint Fingerprint { get; }

    /// <summary>Whether any TLS file is configured (without one there is nothing to check).</summary>
    public static bool AnyConfigured(BrokerTls tls) => tls.CaFile is not null || tls.ClientCertificateFile is not null;

    /// <summary>Reads the configured files (small; blocking I/O, so not on an actor's thread). Never throws: a file that cannot be read is remembered as such.</summary>
    public static TlsFiles Read(BrokerTls tls) => new(tls, Content.Read(tls.CaFile), Content.Read(tls.ClientCertificateFile),
        tls.ClientCertificateFile is null ? null : Content.Read(tls.ClientKeyFile));

    /// <summary>The CA certificates to trust, or null for the system store; throws <see cref="MqttLinkException"/> (Credentials) when they do not load.</summary>
    public X509Certificate2Collection? LoadCa()
    {
        if (_ca is null) return null;
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPem(_ca.Text());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new MqttLinkException($"Cannot read the CA file {_ca.Path} (fleet.uplink.broker.tls.ca-file): {ex.Message}", ex, LinkFailure.Credentials);
        }
        if (certificates.Count == 0)
            throw new MqttLinkException($"The CA file {_ca.Path} (fleet.uplink.broker.tls.ca-file) holds no PEM certificate", null, LinkFailure.Credentials);
        return certificates;
    }

    /// <summary>
    /// The client certificate with its private key, or null without mutual TLS; throws
    /// <see cref="MqttLinkException"/> (Credentials) when the files do not load or the key is not the certificate's.
    /// </summary>
    public X509Certificate2? LoadClientCertificate()
    {
        if (_certificate is null || _key is null) return null;
        try
        {
            using var pem = X509Certificate2.CreateFromPem(_certificate.Text(), _key.Text());
            // A certificate whose key came from PEM has an ephemeral key, which TLS cannot use on every platform; a PKCS#12 round trip gives it a usable one.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            // .NET's "(Parameter 'privateKey')" is for programmers, not operators.
            var reason = ex is ArgumentException { ParamName: { } parameter } ? ex.Message.Replace($" (Parameter '{parameter}')", "", StringComparison.Ordinal) : ex.Message;
            throw new MqttLinkException($"Cannot load the client certificate {_certificate.Path} with the key {_key.Path} (fleet.uplink.broker.tls): {reason}", ex,
                LinkFailure.Credentials);
        }
    }

    /// <summary>Why <paramref name="certificate"/> (the client certificate) cannot be presented at <paramref name="now"/>, or null when it is within its validity.</summary>
    public string? ValidityProblem(X509Certificate2 certificate, DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        if (certificate.NotAfter.ToUniversalTime() < utc)
            return $"the client certificate {_tls.ClientCertificateFile} expired on {Time(certificate.NotAfter)} (renew it; the next attempt reads the file again)";
        if (certificate.NotBefore.ToUniversalTime() > utc)
            return $"the client certificate {_tls.ClientCertificateFile} is not valid before {Time(certificate.NotBefore)} (is the clock right?)";
        return null;
    }

    /// <summary>
    /// Loads everything as a connection attempt would. Returns what changed since <paramref name="before"/>
    /// in words ("client certificate CN=..., valid until ...") and null, or null and why the files cannot be used.
    /// </summary>
    public (string? Changes, string? Problem) Check(TlsFingerprint? before, DateTimeOffset now)
    {
        try
        {
            var changes = new List<string>();
            var ca = LoadCa();
            if (ca is not null)
            {
                if (before?.Ca != Fingerprint.Ca) changes.Add($"CA file {_ca!.Path}: {ca.Count} certificate{(ca.Count == 1 ? "" : "s")}");
                foreach (var certificate in ca) certificate.Dispose();
            }
            using var client = LoadClientCertificate();
            if (client is not null)
            {
                if (ValidityProblem(client, now) is { } problem) return (null, problem);
                if (before?.Certificate != Fingerprint.Certificate || before?.Key != Fingerprint.Key)
                    changes.Add($"client certificate {client.Subject}, valid until {Time(client.NotAfter)}");
            }
            return (changes.Count == 0 ? "TLS files" : string.Join("; ", changes), null);
        }
        catch (MqttLinkException ex)
        {
            return (null, ex.Message);
        }
    }

    private static string Time(DateTime time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>One file's bytes, or why it could not be read.</summary>
    private sealed class Content
    {
        private readonly byte[]? _bytes;
        private readonly Exception? _error;

        private Content(string path, byte[]? bytes, Exception? error)
        {
            Path = path;
            _bytes = bytes;
            _error = error;
            Digest = bytes is null ? $"unreadable: {error!.GetType().Name}" : Convert.ToHexStringLower(SHA256.HashData(bytes));
        }

        public string Path { get; }

        public string Digest { get; }

        public static Content? Read(string? path)
        {
            if (path is null) return null;
            try
            {
                return new Content(path, File.ReadAllBytes(path), null);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return new Content(path, null, ex);
            }
        }

        /// <summary>The text; throws the read error again (as the loaders expect it) when the file could not be read.</summary>
        public string Text() => _bytes is not null ? Encoding.UTF8.GetString(_bytes) : throw _error!;
    }
}
