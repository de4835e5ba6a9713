using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;
using Fleet.Actors.Core.Configuration;

namespace Fleet.Actors.Core.Scripting;

/// <summary>
/// Serializer for everything the script store persists. Rows carry only the short manifests below
/// (never CLR type names) and a UTF-8 JSON body, so types can be renamed without breaking replay
/// and a row can be read with any SQLite tool. A row that does not decode becomes a
/// <see cref="CorruptScriptRecord"/> instead of an exception.
/// </summary>
/// <remarks>
/// Bodies: installed ("SI1") and replaced ("SR1") hold one script object exactly as
/// <see cref="ScriptJson.Write(ScriptDefinition, bool)"/> writes it (no limits: those belong to the
/// engine's configuration); enabled ("SE1"), disabled ("SD1") and removed ("SX1") hold
/// <c>{"id":"..."}</c>; the snapshot ("SS1") holds <c>{"scripts":[...]}</c>, every installed script
/// with its enabled flag. A new body layout gets a new manifest; old ones stay readable.
/// </remarks>
public sealed class ScriptSerializer : SerializerWithStringManifest
{
    /// <summary>Serializer id; stable, stored in every journal row (<c>WalSerializer</c> is 1701).</summary>
    public const int SerializerId = 1702;

    internal const string InstalledManifest = "SI1";
    internal const string ReplacedManifest = "SR1";
    internal const string EnabledManifest = "SE1";
    internal const string DisabledManifest = "SD1";
    internal const string RemovedManifest = "SX1";
    internal const string SnapshotManifest = "SS1";

    // Strict decoding: a row with invalid UTF-8 is corrupt, not silently repaired.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Creates the serializer; Akka calls this with the system.</summary>
    public ScriptSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    /// <inheritdoc />
    public override int Identifier => SerializerId;

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        ScriptInstalled => InstalledManifest,
        ScriptReplaced => ReplacedManifest,
        ScriptEnabled => EnabledManifest,
        ScriptDisabled => DisabledManifest,
        ScriptRemoved => RemovedManifest,
        ScriptStoreSnapshot => SnapshotManifest,
        _ => throw new ArgumentException($"{o.GetType()} is not persisted by the script store", nameof(o)),
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => obj switch
    {
        ScriptInstalled e => ScriptJson.WriteUtf8(e.Script),
        ScriptReplaced e => ScriptJson.WriteUtf8(e.Script),
        ScriptEnabled e => WriteId(e.ScriptId),
        ScriptDisabled e => WriteId(e.ScriptId),
        ScriptRemoved e => WriteId(e.ScriptId),
        ScriptStoreSnapshot s => ScriptJson.WriteScripts(s.Scripts),
        _ => throw new ArgumentException($"{obj.GetType()} is not persisted by the script store", nameof(obj)),
    };

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        try
        {
            return manifest switch
            {
                InstalledManifest => new ScriptInstalled(ReadScript(bytes)),
                ReplacedManifest => new ScriptReplaced(ReadScript(bytes)),
                EnabledManifest => new ScriptEnabled(ReadId(bytes)),
                DisabledManifest => new ScriptDisabled(ReadId(bytes)),
                RemovedManifest => new ScriptRemoved(ReadId(bytes)),
                SnapshotManifest => ReadSnapshot(bytes),
                _ => new CorruptScriptRecord(manifest, bytes.Length, $"unknown manifest '{manifest}'"),
            };
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or ArgumentException or InvalidOperationException)
        {
            return new CorruptScriptRecord(manifest, bytes.Length, ex.Message);
        }
    }

    private static ScriptDefinition ReadScript(byte[] bytes)
    {
        var (script, problems) = ScriptParser.ParseStoredScript(Utf8(bytes));
        return script ?? throw Invalid("script", problems);
    }

    private static ScriptStoreSnapshot ReadSnapshot(byte[] bytes)
    {
        var (scripts, problems) = ScriptParser.ParseStoredScripts(Utf8(bytes));
        return scripts is null ? throw Invalid("snapshot", problems) : new ScriptStoreSnapshot(scripts.ToValueArray());
    }

    private static byte[] WriteId(string id)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", id);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static string ReadId(byte[] bytes)
    {
        using var document = JsonDocument.Parse(bytes);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("body is not a JSON object");
        string? id = null;
        foreach (var property in root.EnumerateObject())
        {
            if (property.Name != "id") throw new InvalidDataException($"unknown key \"{property.Name}\"");
            if (property.Value.ValueKind == JsonValueKind.String) id = property.Value.GetString();
        }
        return string.IsNullOrWhiteSpace(id) ? throw new InvalidDataException("body has no script id") : id;
    }

    private static string Utf8(byte[] bytes) => StrictUtf8.GetString(bytes);

    private static InvalidDataException Invalid(string what, IReadOnlyList<SettingsProblem> problems) =>
        new($"{what} does not parse: {string.Join("; ", problems.Select(p => p.Key.Length == 0 ? p.Problem : $"{p.Key}: {p.Problem}"))}");
}
