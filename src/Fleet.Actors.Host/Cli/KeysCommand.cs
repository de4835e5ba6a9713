using System.CommandLine;
using Fleet.Actors.Core.Commands;

namespace Fleet.Actors.Host.Cli;

/// <summary>
/// <c>fleet-agent keys generate</c>: an issuer key pair for signed commands. The private key
/// (PKCS#8 PEM) is written with mode 0600 and never overwritten; the public key (SubjectPublicKeyInfo
/// PEM) goes to the vehicles' configuration (<c>fleet.commands.issuers</c>).
/// </summary>
public static class KeysCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "The issuer's key id (what commands name in 'issuer')", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for NAME.key (private, 0600) and NAME.pub", DefaultValueFactory = _ => "." };
        var generate = new Command("generate", "Make an issuer key pair (ECDSA P-256) for signing commands");
        generate.Options.Add(name);
        generate.Options.Add(output);
        generate.SetAction(parse => Generate(parse.GetValue(name)!, parse.GetValue(output)!));
        var keys = new Command("keys", "Issuer keys for signed commands");
        keys.Subcommands.Add(generate);
        return keys;
    }

    private static int Generate(string name, string folder)
    {
        if (name.Length == 0 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')))
        {
            Console.Error.WriteLine($"fleet-agent keys generate: --name: '{name}' must be letters, digits, '.', '_' or '-'");
            return 1;
        }
        Directory.CreateDirectory(folder);
        var privatePath = Path.Combine(folder, name + ".key");
        var publicPath = Path.Combine(folder, name + ".pub");
        if (File.Exists(privatePath) || File.Exists(publicPath))
        {
            Console.Error.WriteLine($"fleet-agent keys generate: {(File.Exists(privatePath) ? privatePath : publicPath)} exists; not overwriting a key");
            return 1;
        }
        using var key = CommandKeys.Generate();
        // Created with 0600 from the start: the private key is never readable by others, not even briefly.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(privatePath, options))
        using (var writer = new StreamWriter(stream))
            writer.Write(key.ExportPkcs8PrivateKeyPem() + "\n");
        File.WriteAllText(publicPath, key.ExportSubjectPublicKeyInfoPem() + "\n");
        Console.WriteLine($"private key: {privatePath} (mode 0600; keep it on the fleet side)");
        Console.WriteLine($"public key:  {publicPath}");
        Console.WriteLine("Trust it on a vehicle (agent.conf):");
        Console.WriteLine($"  fleet.commands.issuers = [ {{ id = \"{name}\", public-key-file = \"{Path.GetFullPath(publicPath)}\", types = [\"*\"] }} ]");
        return 0;
    }
}
