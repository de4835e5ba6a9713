using System.Reflection;

namespace Fleet.Actors.Host.Tests.Support;

/// <summary>Where the repository, the shipped HOCON files and the built agent are, seen from the test assembly.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> Root = new(FindRoot);

    /// <summary>The folder holding Fleet.Actors.sln.</summary>
    public static string RepositoryRoot => Root.Value;

    /// <summary>The shipped configuration folder (<c>hocon/</c>).</summary>
    public static string ShippedHocon => Path.Combine(RepositoryRoot, "hocon");

    /// <summary>The build configuration of this test assembly (Debug or Release).</summary>
    public static string BuildConfiguration =>
        typeof(RepoPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>
    /// The <c>fleet-agent.dll</c> to run as a child process. The copy next to the test assembly comes
    /// first: the ProjectReference copies it (with its runtimeconfig and deps files) on every build of
    /// this project, so it is never older than the tests, even with <c>dotnet test -o</c>. The project's
    /// own output folder of the same configuration is the fallback.
    /// </summary>
    public static string AgentDll
    {
        get
        {
            var candidates = new[]
            {
                Path.Combine(AppContext.BaseDirectory, "fleet-agent.dll"),
                Path.Combine(RepositoryRoot, "src", "Fleet.Actors.Host", "bin", BuildConfiguration, "net10.0", "fleet-agent.dll"),
            };
            foreach (var candidate in candidates)
            {
                if (File.Exists(candidate) && File.Exists(Path.ChangeExtension(candidate, ".runtimeconfig.json"))) return candidate;
            }
            throw new FileNotFoundException("fleet-agent.dll was not built; looked at: " + string.Join(", ", candidates));
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Fleet.Actors.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException($"No Fleet.Actors.sln above {AppContext.BaseDirectory}");
    }
}
