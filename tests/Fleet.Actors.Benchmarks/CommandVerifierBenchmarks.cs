using System.Collections.Immutable;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Core.Uplink;
using Google.Protobuf;

namespace Fleet.Actors.Benchmarks;

/// <summary>
/// What the agent pays to verify one command from the fleet (<see cref="CommandVerifier.Verify"/>):
/// size, decoding, issuer, the ECDSA P-256 signature, addressing, type, expiry and payload. Baseline:
/// the signature check alone (<c>ECDsa.VerifyData</c> with the same public key over the same command bytes), which no
/// verifier can skip. A refusal at the signature costs as much as an acceptance, so a flood of
/// forged commands costs what the same number of valid ones would.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class CommandVerifierBenchmarks
{
    private static readonly VehicleIdentity Vehicle = new("truck-7", "acme");
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000);
    private ECDsa _issuer = null!;
    private ECDsa _trusted = null!;
    private CommandVerifier _verifier = null!;
    private byte[] _valid = [];
    private byte[] _forged = [];
    private byte[] _commandBytes = [];
    private byte[] _signature = [];

    [GlobalSetup]
    public void Setup()
    {
        _issuer = CommandKeys.Generate();
        _trusted = ECDsa.Create();
        _trusted.ImportSubjectPublicKeyInfo(_issuer.ExportSubjectPublicKeyInfo(), out _);
        _verifier = new CommandVerifier(new CommandSettings { Issuers = [new TrustedIssuer("ops", _trusted, CommandPayloads.AllTypes.ToImmutableHashSet())] }, Vehicle);

        // A typical fleet command: a mission assignment with a uuid id and a route.
        var command = new Command
        {
            CommandId = "5f0c6d2e-8a4b-4c1e-9d3f-2b7a6e1c0d94", VehicleId = Vehicle.VehicleId, Tenant = Vehicle.Tenant,
            IssuedAt = Now.ToUnixTimeMilliseconds(), ExpiresAt = Now.AddMinutes(5).ToUnixTimeMilliseconds(),
            Type = CommandType.AssignMission, Priority = Priority.Normal, Issuer = "ops",
            AssignMission = new AssignMission { MissionId = "mission-2026-12-06-0042", RouteId = "hamburg-port-7" },
        };
        _commandBytes = command.ToByteArray();
        _signature = CommandKeys.Sign(_issuer, _commandBytes);
        _valid = new SignedCommand { Command = ByteString.CopyFrom(_commandBytes), Signature = ByteString.CopyFrom(_signature) }.ToByteArray();
        // A well-formed signature by the trusted key, but of other bytes: refused at the signature check.
        var other = command.Clone();
        other.CommandId = "another-id";
        _forged = new SignedCommand { Command = ByteString.CopyFrom(_commandBytes), Signature = ByteString.CopyFrom(CommandKeys.Sign(_issuer, other.ToByteArray())) }.ToByteArray();
        if (_verifier.Verify(_valid, Now).Verified is null) throw new InvalidOperationException("the valid command is refused");
        if (_verifier.Verify(_forged, Now).Refusal?.Reason != CommandRefusals.BadSignature) throw new InvalidOperationException("the forged command is not refused at the signature");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _issuer.Dispose();
        _trusted.Dispose();
    }

    [Benchmark(Baseline = true)]
    public bool RawEcdsaVerify() => CommandKeys.Verify(_trusted, _commandBytes, _signature);

    [Benchmark]
    public bool VerifyValid() => _verifier.Verify(_valid, Now).Verified is not null;

    [Benchmark]
    public bool VerifyBadSignature() => _verifier.Verify(_forged, Now).Refusal is not null;
}
