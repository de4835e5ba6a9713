using System.Security.Cryptography;

namespace Fleet.Actors.Core.Commands;

/// <summary>
/// The issuer keys of signed commands: ECDSA on NIST P-256 with SHA-256, signatures DER-encoded
/// (RFC 3279), keys as PEM (public: SubjectPublicKeyInfo, private: PKCS#8), the forms OpenSSL and
/// Python's cryptography read and write.
/// </summary>
public static class CommandKeys
{
    /// <summary>The signature format on the wire.</summary>
    public const DSASignatureFormat SignatureFormat = DSASignatureFormat.Rfc3279DerSequence;

    /// <summary>A new issuer key pair on P-256.</summary>
    public static ECDsa Generate() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>Reads a P-256 public key from PEM text; throws <see cref="FormatException"/> naming the problem.</summary>
    public static ECDsa PublicKeyFromPem(string pem)
    {
        if (pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            throw new FormatException("is a private key: a vehicle must only hold the issuer's public key (the .pub file); keep the private key on the fleet side");
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new FormatException("not a PEM public key (expected -----BEGIN PUBLIC KEY-----)", ex);
        }
        return RequireP256(key);
    }

    /// <summary>Reads a P-256 private key from PEM text (PKCS#8 or SEC1).</summary>
    public static ECDsa PrivateKeyFromPem(string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            _ = key.ExportParameters(includePrivateParameters: true);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new FormatException("not a PEM private key (expected -----BEGIN PRIVATE KEY-----)", ex);
        }
        return RequireP256(key);
    }

    /// <summary>Signs <paramref name="command"/> (the serialized Command bytes).</summary>
    public static byte[] Sign(ECDsa key, ReadOnlySpan<byte> command) =>
        key.SignData(command, HashAlgorithmName.SHA256, SignatureFormat);

    /// <summary>True when <paramref name="signature"/> is a valid signature of <paramref name="command"/> by <paramref name="key"/>.</summary>
    public static bool Verify(ECDsa key, ReadOnlySpan<byte> command, ReadOnlySpan<byte> signature)
    {
        try
        {
            return key.VerifyData(command, signature, HashAlgorithmName.SHA256, SignatureFormat);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static ECDsa RequireP256(ECDsa key)
    {
        var curve = key.ExportParameters(false).Curve;
        if (curve.Oid?.Value == ECCurve.NamedCurves.nistP256.Oid.Value || curve.Oid?.FriendlyName is "nistP256" or "ECDSA_P256") return key;
        key.Dispose();
        throw new FormatException($"the key is on curve {curve.Oid?.FriendlyName ?? curve.Oid?.Value ?? "?"}, not P-256");
    }
}
