using System.Text;
using Akka.Actor;
using Akka.Serialization;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Core.Wal;
using Fleet.Actors.Testing;
using static Fleet.Actors.Core.Tests.Scripting.TestScripts;

namespace Fleet.Actors.Core.Tests.Scripting;

public sealed class ScriptSerializerTests : IDisposable
{
    private static readonly ScriptDefinition Pump = Script("pump", ScriptPriority.Critical, new GpioWriteAction(17, 1), new CallScriptAction("helper")) with
    {
        Triggers = ValueArray.Of<ScriptTrigger>(new IntervalTrigger(TimeSpan.FromMilliseconds(250)), new GpioEdgeTrigger(4, GpioEdge.Falling)),
        Conditions = ValueArray.Of<ScriptCondition>(new CompareCondition("t", ComparisonOperator.GreaterOrEqual, new ConstantOperand(-0.125))),
    };

    private readonly WalFiles _files = new();
    private readonly ActorSystem _system;

    public ScriptSerializerTests() =>
        _system = ActorSystem.Create("script-serializer", WalHosting.Setup(_files.JournalPath, _files.SnapshotPath, SqliteSynchronous.Normal, ScriptStoreHosting.SerializationHocon));

    private SerializerWithStringManifest Serializer => (SerializerWithStringManifest)_system.Serialization.FindSerializerForType(typeof(ScriptInstalled));

    public static TheoryData<object, string> Persisted => new()
    {
        { new ScriptInstalled(Pump), "SI1" },
        { new ScriptReplaced(Pump with { Enabled = false, Name = "Pump \"2\" ✓" }), "SR1" },
        { new ScriptEnabled("pump"), "SE1" },
        { new ScriptDisabled("pump"), "SD1" },
        { new ScriptRemoved("a.b-c_d"), "SX1" },
        { new ScriptStoreSnapshot(ValueArray.Of(Script("helper", new PublishAction("t", "")), Pump with { Enabled = false })), "SS1" },
        { new ScriptStoreSnapshot(ValueArray<ScriptDefinition>.Empty), "SS1" },
    };

    [Theory]
    [MemberData(nameof(Persisted))]
    public void Every_persisted_type_should_round_trip_under_its_short_manifest(object persisted, string manifest)
    {
        var serializer = _system.Serialization.FindSerializerFor(persisted);
        Assert.IsType<ScriptSerializer>(serializer);
        Assert.Equal(ScriptSerializer.SerializerId, serializer.Identifier);
        Assert.Equal(manifest, Akka.Serialization.Serialization.ManifestFor(serializer, persisted));

        var bytes = serializer.ToBinary(persisted);

        Assert.Equal(persisted, _system.Serialization.Deserialize(bytes, serializer.Identifier, manifest));
    }

    [Fact]
    public void State_should_survive_a_snapshot()
    {
        var state = ScriptStoreState.Empty
            .Apply(new ScriptInstalled(Script("helper", new PublishAction("t", "p"))))
            .Apply(new ScriptInstalled(Pump))
            .Apply(new ScriptDisabled("helper"));

        var snapshot = Assert.IsType<ScriptStoreSnapshot>(Serializer.FromBinary(Serializer.ToBinary(state.ToSnapshot()), "SS1"));

        Assert.Equal(["helper", "pump"], snapshot.Scripts.Select(s => s.Id));
        Assert.Equal(state.Scripts.OrderBy(kv => kv.Key), ScriptStoreState.From(snapshot).Scripts.OrderBy(kv => kv.Key));
    }

    [Theory]
    [InlineData("SI1", "{\"id\":")]                                                            // truncated JSON
    [InlineData("SI1", "[1, 2]")]                                                              // not an object
    [InlineData("SI1", "{\"id\":\"a\",\"actions\":[{\"type\":\"gpio-write\",\"line\":1,\"level\":2}]}")] // invalid value
    [InlineData("SR1", "{\"id\":\"a\",\"actions\":[],\"shell\":\"rm -rf /\"}")]                   // unknown key
    [InlineData("SE1", "{}")]                                                                   // no id
    [InlineData("SD1", "{\"id\":\"a\",\"extra\":1}")]
    [InlineData("SX1", "\"a\"")]
    [InlineData("SS1", "{\"scripts\":[{\"id\":\"a\",\"actions\":[]},{\"id\":\"a\",\"actions\":[]}]}")] // duplicate ids
    [InlineData("SS1", "{\"limits\":{},\"scripts\":[]}")]
    [InlineData("ZZ9", "{}")]                                                                   // unknown manifest
    public void Rows_that_do_not_decode_should_become_corrupt_records_instead_of_exceptions(string manifest, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);

        var corrupt = Assert.IsType<CorruptScriptRecord>(Serializer.FromBinary(bytes, manifest));

        Assert.Equal(manifest, corrupt.Manifest);
        Assert.Equal(bytes.Length, corrupt.Length);
        Assert.False(string.IsNullOrEmpty(corrupt.Error));
    }

    [Fact]
    public void Invalid_utf8_and_garbage_bytes_should_become_corrupt_records()
    {
        byte[][] bodies = [[0xFF, 0xFE, 0x00], [0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D], [], [1, 2, 3, 4]];
        foreach (var manifest in new[] { "SI1", "SR1", "SE1", "SD1", "SX1", "SS1" })
        {
            foreach (var bytes in bodies) Assert.IsType<CorruptScriptRecord>(Serializer.FromBinary(bytes, manifest));
        }
    }

    [Fact]
    public void Types_the_store_does_not_persist_should_be_refused_when_writing()
    {
        Assert.Throws<ArgumentException>(() => Serializer.Manifest(new CorruptScriptRecord("SI1", 1, "x")));
        Assert.Throws<ArgumentException>(() => Serializer.ToBinary("text"));
    }

    public void Dispose()
    {
        _system.Terminate().Wait(TimeSpan.FromSeconds(10));
        _files.Dispose();
    }
}
