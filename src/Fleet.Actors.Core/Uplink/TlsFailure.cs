using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Fleet.Actors.Core.Uplink;

/// <summary>
/// Puts why the broker's certificate was not accepted into words an operator can act on
/// (expired, not signed by a trusted CA, issued for another name), from what the TLS handshake's
/// validation callback sees: <see cref="SslPolicyErrors"/> and the chain's <see cref="X509ChainStatus"/>.
/// </summary>
public static class TlsFailure
{
    /// <summary>
    /// One line naming every reason, or null when there is none. <paramref name="trustedBy"/> says what
    /// the chain was checked against (the CA file, or "the system store").
    /// </summary>
    public static string? Describe(SslPolicyErrors errors, IEnumerable<X509ChainStatus> chainStatus, X509Certificate2? certificate,
        string expectedName, string trustedBy, DateTimeOffset now)
    {
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable)) return "the broker sent no certificate";
        var reasons = new List<string>();
        var flags = chainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
        if (flags.HasFlag(X509ChainStatusFlags.NotTimeValid) && certificate is not null)
        {
            reasons.Add(certificate.NotAfter.ToUniversalTime() < now.UtcDateTime
                ? $"the broker's certificate expired on {Time(certificate.NotAfter)}"
                : $"the broker's certificate is not valid before {Time(certificate.NotBefore)}");
        }
        else if (flags.HasFlag(X509ChainStatusFlags.NotTimeValid))
        {
            reasons.Add("a certificate of the broker's chain is expired or not yet valid");
        }
        if (flags.HasFlag(X509ChainStatusFlags.Revoked)) reasons.Add("the broker's certificate is revoked");
        if ((flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
            reasons.Add($"unknown CA: the broker's certificate (issued by {certificate?.Issuer ?? "?"}) is not signed by a CA in {trustedBy}");
        if (flags.HasFlag(X509ChainStatusFlags.NotSignatureValid)) reasons.Add("a signature in the broker's certificate chain is invalid");
        var known = X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.Revoked | X509ChainStatusFlags.UntrustedRoot
            | X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NotSignatureValid;
        var other = chainStatus.Where(s => (s.Status & ~known) != 0).Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct().ToList();
        if (other.Count > 0) reasons.Add("certificate chain: " + string.Join(", ", other));
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors) && flags == X509ChainStatusFlags.NoError)
            reasons.Add($"the broker's certificate chain does not verify against {trustedBy}");
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            reasons.Add($"host name mismatch: expected {expectedName}, the certificate is for {Names(certificate)}");
        return reasons.Count == 0 ? null : string.Join("; ", reasons);
    }

    /// <summary>The DNS names and addresses a certificate is valid for (its subject alternative names, else its common name).</summary>
    public static string Names(X509Certificate2? certificate)
    {
        if (certificate is null) return "?";
        var names = new List<string>();
        foreach (var extension in certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>())
        {
            names.AddRange(extension.EnumerateDnsNames());
            names.AddRange(extension.EnumerateIPAddresses().Select(a => a.ToString()));
        }
        if (names.Count == 0) names.Add(certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        return string.Join(", ", names);
    }

    private static string Time(DateTime time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
}
