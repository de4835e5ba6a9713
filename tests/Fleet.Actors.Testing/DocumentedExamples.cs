using System.Diagnostics;

namespace Fleet.Actors.Testing;

/// <summary>What an external program did: its exit code and everything it printed.</summary>
public sealed record ProgramResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// The code examples of the documents, run as they stand: the repository's files, the code block
/// under a heading of a document, and the programs that run them (protoc, Debian's python3).
/// </summary>
public static class DocumentedExamples
{
    private static readonly Lazy<string> Root = new(FindRoot);

    /// <summary>The repository's top folder (the one holding Fleet.Actors.sln).</summary>
    public static string RepositoryRoot => Root.Value;

    /// <summary>Debian's interpreter, which sees Debian's python3-* packages even when another python3 comes first on PATH.</summary>
    public static string Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>
    /// The first <c>```<paramref name="language"/></c> block under the heading line <paramref name="heading"/>
    /// (e.g. <c>## Decoding example (Python)</c>) of <paramref name="document"/> (relative to the repository),
    /// up to the next heading of level two; null when there is none.
    /// </summary>
    public static string? CodeBlock(string document, string heading, string language)
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot, document));
        var section = lines.SkipWhile(l => l != heading).TakeWhile((l, i) => i == 0 || !l.StartsWith("## ", StringComparison.Ordinal));
        var code = section.SkipWhile(l => l != "```" + language).Skip(1).TakeWhile(l => l != "```").ToList();
        return code.Count == 0 ? null : string.Join('\n', code) + "\n";
    }

    /// <summary>
    /// Runs <paramref name="program"/> in <paramref name="workingDirectory"/> (at most 60 s) and returns what it did;
    /// <paramref name="log"/> gets the command line and its output. A program that is not installed throws,
    /// naming <paramref name="installHint"/>.
    /// </summary>
    public static async Task<ProgramResult> RunAsync(string workingDirectory, string installHint, Action<string> log, string program, params string[] args)
    {
        var start = new ProcessStartInfo(program, args)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"{program}: {ex.Message}. Install the peers: ./build.sh --target=Peers ({installHint})", ex);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            var result = new ProgramResult(process.ExitCode, await stdout, await stderr);
            log($"$ {Path.GetFileName(program)} {string.Join(' ', args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a))}\n" +
                $"exit code {result.ExitCode}\n{result.Stdout}{result.Stderr}");
            return result;
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Fleet.Actors.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No Fleet.Actors.sln above {AppContext.BaseDirectory}");
    }
}
