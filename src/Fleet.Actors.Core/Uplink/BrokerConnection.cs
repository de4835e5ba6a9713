using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;

namespace Fleet.Actors.Core.Uplink;

/// <summary>Why a connection attempt or a link ended; decides how the uplink reports it and how long it waits.</summary>
public enum LinkFailure
{
    /// <summary>Network trouble, a timeout, a lost link: reconnect with the growing backoff.</summary>
    Transient,

    /// <summary>The broker refused the credentials (CONNACK NotAuthorized, BadUserNameOrPassword, Banned, ...).</summary>
    Refused,

    /// <summary>The TLS handshake failed (the broker's certificate, or the broker refused ours).</summary>
    Tls,

    /// <summary>A credentials or certificate file of this agent could not be read.</summary>
    Credentials,

    /// <summary>The broker cannot do what the uplink needs (QoS 1).</summary>
    Unsupported,

    /// <summary>The broker answered a publish with an error reason code (PUBACK NotAuthorized, ...).</summary>
    PublishRefused,

    /// <summary>The broker keeps no retained messages and refused the retained last will (CONNACK RetainNotSupported).</summary>
    RetainUnavailable,
}

/// <summary>
/// Everything about reaching the broker that is not MQTT session handling: the endpoint, TLS 1.2/1.3
/// with the broker's certificate checked against the configured CA file (or the system store) and
/// its name, the optional client certificate (mutual TLS), and the credentials. One instance per
/// connection attempt: the password, CA and client certificate files are read again every time (or
/// the <see cref="TlsFiles"/> the uplink read for it are used), so a renewed certificate or password on
/// disk is used by the next connection without a restart. Secrets never appear in what it reports.
/// </summary>
internal sealed class BrokerConnection(BrokerSettings broker, TimeProvider? time = null, TlsFiles? tlsFiles = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private string? _certificateProblem;

    /// <summary>host:port, for messages.</summary>
    public string Endpoint => $"{broker.Host}:{broker.Port}";

    /// <summary>Sets the server, TLS and credentials on <paramref name="builder"/>; throws <see cref="MqttLinkException"/> when a file cannot be read.</summary>
    public MqttClientOptionsBuilder Configure(MqttClientOptionsBuilder builder)
    {
        builder = builder.WithTcpServer(broker.Host, broker.Port);
        if (broker.Tls is { } tls) builder = builder.WithTlsOptions(TlsOptions(tls));
        if (broker.Username is { } user) builder = builder.WithCredentials(user, Password());
        return builder;
    }

    /// <summary>
    /// A one-line explanation of a failed connection attempt when it is about TLS, or null: what the
    /// certificate check found, or the handshake's own reason (the broker refused our certificate).
    /// </summary>
    public MqttLinkException? Explain(Exception failure)
    {
        if (_certificateProblem is { } problem)
            return new MqttLinkException($"TLS handshake with {Endpoint} failed: {problem}", failure, LinkFailure.Tls);
        if (broker.Tls is null) return null;
        for (var cause = failure; cause is not null; cause = cause.InnerException)
        {
            if (cause is AuthenticationException)
                return new MqttLinkException($"TLS handshake with {Endpoint} failed: {failure.GetBaseException().Message}", failure, LinkFailure.Tls);
        }
        return null;
    }

    /// <summary>
    /// Connects a fleet-side client (<c>command send</c>, <c>verify</c>) with the same one-line
    /// reasons as the agent's uplink: TLS problems explained, a refused CONNACK named, an unreachable
    /// broker with its address; every failure is an <see cref="MqttLinkException"/>.
    /// </summary>
    public async Task<MqttClientConnectResult> ConnectAsync(IMqttClient client, MqttClientOptions options, CancellationToken cancellationToken)
    {
        try
        {
            var result = await client.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success) throw Refused(result);
            return result;
        }
        catch (Exception ex) when (ex is not (MqttLinkException or OperationCanceledException))
        {
            throw Explain(ex) ?? Unreachable(ex);
        }
    }

    /// <summary>A connection attempt that failed for a reason that is not TLS: the address, the reason, and a hint when it looks like a TLS port.</summary>
    public MqttLinkException Unreachable(Exception failure)
    {
        var reason = failure.GetBaseException().Message;
        // A TLS listener closes a plain MQTT connection without a word.
        var hint = broker.Tls is null && reason.Contains("closed", StringComparison.OrdinalIgnoreCase) ? " (does the broker expect TLS there? then use mqtts://)" : "";
        return new MqttLinkException($"Cannot reach broker {Endpoint}: {reason}{hint}", failure);
    }

    /// <summary>The exception for a CONNACK that is not Success, with its kind.</summary>
    public MqttLinkException Refused(MqttClientConnectResult result)
    {
        var kind = result.ResultCode switch
        {
            MqttClientConnectResultCode.NotAuthorized or MqttClientConnectResultCode.BadUserNameOrPassword
                or MqttClientConnectResultCode.Banned or MqttClientConnectResultCode.BadAuthenticationMethod
                or MqttClientConnectResultCode.ClientIdentifierNotValid => LinkFailure.Refused,
            MqttClientConnectResultCode.RetainNotSupported => LinkFailure.RetainUnavailable,
            MqttClientConnectResultCode.QoSNotSupported or MqttClientConnectResultCode.UnsupportedProtocolVersion => LinkFailure.Unsupported,
            _ => LinkFailure.Transient,
        };
        var who = broker.Username is { } user ? $" user '{user}'" : broker.Tls?.ClientCertificateFile is { } cert ? $" certificate {cert}" : "";
        var reason = string.IsNullOrEmpty(result.ReasonString) ? "" : $" ({result.ReasonString})";
        if (result.ResultCode == MqttClientConnectResultCode.QoSNotSupported) reason += ": " + BrokerLimits.QoS0Only;
        if (result.ResultCode == MqttClientConnectResultCode.RetainNotSupported) reason += ": the broker does not keep retained messages, and the last will is retained";
        return new MqttLinkException($"Broker {Endpoint} refused the connection{(kind == LinkFailure.Refused ? " of" + who : "")}: {result.ResultCode}{reason}", null, kind);
    }

    private string? Password()
    {
        if (broker.PasswordFile is not { } file) return broker.Password;
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MqttLinkException($"Cannot read the password file {file} (fleet.uplink.broker.password-file): {ex.Message}", ex, LinkFailure.Credentials);
        }
        var password = text.Split('\n', 2)[0].TrimEnd('\r');
        if (password.Length == 0)
            throw new MqttLinkException($"The password file {file} (fleet.uplink.broker.password-file) is empty", null, LinkFailure.Credentials);
        return password;
    }

    private MqttClientTlsOptions TlsOptions(BrokerTls tls)
    {
        var files = tlsFiles ?? TlsFiles.Read(tls);
        var trusted = files.LoadCa();
        var builder = new MqttClientTlsOptionsBuilder()
            .WithSslProtocols(SslProtocols.Tls12 | SslProtocols.Tls13)
            .WithTargetHost(tls.ServerName ?? broker.Host)
            // No CRL or OCSP: a vehicle often has no route to a CA's revocation service.
            .WithRevocationMode(X509RevocationMode.NoCheck)
            .WithIgnoreCertificateRevocationErrors()
            .WithCertificateValidationHandler(args => Validate(args, trusted, tls));
        if (files.LoadClientCertificate() is { } certificate)
        {
            // The broker would only close the connection, without saying why: say it here.
            if (files.ValidityProblem(certificate, _time.GetUtcNow()) is { } problem)
            {
                certificate.Dispose();
                throw new MqttLinkException($"TLS to {Endpoint} not attempted: {problem}", null, LinkFailure.Tls);
            }
            builder = builder.WithClientCertificates(new X509Certificate2Collection(certificate));
        }
        return builder.Build();
    }

    /// <summary>
    /// A trial TLS handshake with the broker using these files, without MQTT: renewed files must get
    /// through it before a working connection is dropped for them. Null when it succeeds, else the
    /// reason (a broker certificate the new CA does not sign, a client certificate the broker refuses).
    /// </summary>
    public async Task<string?> TrialHandshakeAsync(CancellationToken cancellationToken)
    {
        if (broker.Tls is not { } tls) return null;
        try
        {
            var files = tlsFiles ?? TlsFiles.Read(tls);
            var trusted = files.LoadCa();
            using var certificate = files.LoadClientCertificate();
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(broker.Host, broker.Port, cancellationToken).ConfigureAwait(false);
            await using var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false,
                (_, serverCertificate, chain, errors) => CheckServer(serverCertificate, chain, errors, trusted, tls));
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = tls.ServerName ?? broker.Host,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                ClientCertificates = certificate is null ? null : new X509CertificateCollection { certificate },
            }, cancellationToken).ConfigureAwait(false);
            // With TLS 1.3 a broker refuses a client certificate after the handshake: listen briefly for that.
            using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            quiet.CancelAfter(TimeSpan.FromMilliseconds(500));
            try
            {
                if (await ssl.ReadAsync(new byte[1], quiet.Token).ConfigureAwait(false) == 0)
                    return $"{Endpoint} closed the connection right after the handshake (does it refuse the client certificate?)";
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Quiet: the broker waits for MQTT's CONNECT, as it should.
            }
            return null;
        }
        catch (MqttLinkException ex)
        {
            return ex.Message;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException)
        {
            return _certificateProblem ?? $"TLS handshake with {Endpoint} failed: {ex.GetBaseException().Message}";
        }
    }

    /// <summary>Runs inside the TLS handshake: accept only a certificate that chains to the trusted CA and carries the expected name.</summary>
    private bool Validate(MqttClientCertificateValidationEventArgs args, X509Certificate2Collection? trusted, BrokerTls tls) =>
        CheckServer(args.Certificate, args.Chain, args.SslPolicyErrors, trusted, tls);

    private bool CheckServer(X509Certificate? serverCertificate, X509Chain? serverChain, SslPolicyErrors errors, X509Certificate2Collection? trusted, BrokerTls tls)
    {
        using var certificate = serverCertificate is null ? null : X509CertificateLoader.LoadCertificate(serverCertificate.GetRawCertData());
        IReadOnlyList<X509ChainStatus> status = serverChain?.ChainStatus ?? [];
        if (trusted is not null && certificate is not null)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
            // Intermediate certificates the broker sent along.
            if (serverChain is not null)
                foreach (var element in serverChain.ChainElements) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            var valid = chain.Build(certificate);
            status = chain.ChainStatus;
            errors &= ~SslPolicyErrors.RemoteCertificateChainErrors;
            if (!valid) errors |= SslPolicyErrors.RemoteCertificateChainErrors;
        }
        if (errors == SslPolicyErrors.None)
        {
            _certificateProblem = null;
            return true;
        }
        _certificateProblem = TlsFailure.Describe(errors, status, certificate, tls.ServerName ?? broker.Host,
            trusted is null ? "the system store" : $"{tls.CaFile} (fleet.uplink.broker.tls.ca-file)", _time.GetUtcNow()) ?? errors.ToString();
        return false;
    }
}
