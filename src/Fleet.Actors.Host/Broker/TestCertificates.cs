using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fleet.Actors.Host.Broker;

/// <summary>A certificate and its private key as PEM files.</summary>
/// <param name="CertificateFile">The certificate (PEM).</param>
/// <param name="KeyFile">The unencrypted PKCS#8 private key (PEM), mode 0600.</param>
public sealed record PemFiles(string CertificateFile, string KeyFile);

/// <summary>
/// A throwaway certificate authority for test brokers, made with .NET's <see cref="CertificateRequest"/>
/// (ECDSA P-256) on every run: it issues server certificates (for 127.0.0.1 and localhost, or any
/// name) and client certificates (the common name is the MQTT user name), valid, expired or not yet
/// valid, written as PEM files. Never for production.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private readonly ECDsa _key;

    /// <summary>Creates a CA named <paramref name="name"/>, valid from a day ago for ten years.</summary>
    public TestCertificateAuthority(string name)
    {
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(10));
    }

    /// <summary>The CA's certificate.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Writes the CA certificate as PEM (readable by all: the broker reads it after dropping to its own user).</summary>
    public string WriteCertificate(string path)
    {
        File.WriteAllText(path, Certificate.ExportCertificatePem() + "\n");
        SetMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return path;
    }

    /// <summary>A server certificate for <paramref name="names"/> (DNS names or IP addresses); the default is 127.0.0.1 and localhost.</summary>
    public PemFiles IssueServer(string directory, string fileName, IReadOnlyList<string>? names = null,
        DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, bool keyReadableByAll = true)
    {
        names ??= ["127.0.0.1", "localhost"];
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var address)) san.AddIpAddress(address);
            else san.AddDnsName(name);
        }
        return Issue(directory, fileName, names[0], new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication"), san.Build(), notBefore, notAfter, keyReadableByAll);
    }

    /// <summary>A client certificate whose common name is <paramref name="commonName"/> (the MQTT user name with use_identity_as_username).</summary>
    public PemFiles IssueClient(string directory, string fileName, string commonName, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null) =>
        Issue(directory, fileName, commonName, new Oid("1.3.6.1.5.5.7.3.2", "Client Authentication"), null, notBefore, notAfter, keyReadableByAll: false);

    private PemFiles Issue(string directory, string fileName, string commonName, Oid usage, X509Extension? san,
        DateTimeOffset? notBefore, DateTimeOffset? notAfter, bool keyReadableByAll)
    {
        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        if (san is not null) request.CertificateExtensions.Add(san);
        var from = notBefore ?? DateTimeOffset.UtcNow.AddHours(-1);
        var to = notAfter ?? DateTimeOffset.UtcNow.AddDays(30);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var certificate = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), from, to, serial);
        var certificateFile = Path.Combine(directory, fileName + ".crt");
        var keyFile = Path.Combine(directory, fileName + ".key");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem() + "\n");
        SetMode(certificateFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        // Written empty with the final mode first, so the key is never readable by others, not even for a moment.
        File.WriteAllText(keyFile, "");
        SetMode(keyFile, keyReadableByAll
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead
            : UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        return new PemFiles(certificateFile, keyFile);
    }

    private static void SetMode(string file, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, mode);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }
}
