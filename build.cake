// Fleet.Actors build: ./build.sh --target=<Build|Test|Bench|Microbench|Publish|Peers|Clean>
using System.Xml.Linq;

var target = Argument("target", "Build");
var configuration = Argument("configuration", "Release");
var solution = "./Fleet.Actors.sln";
var artifacts = MakeAbsolute(Directory("./artifacts"));
var testResults = artifacts.Combine("test-results");

// Test projects run one after the other: the integration tests time real processes and must
// not compete with the unit tests for the machine's two cores.
var testProjects = new[]
{
    "tests/Fleet.Actors.Core.Tests",
    "tests/Fleet.Actors.Devices.Tests",
    "tests/Fleet.Actors.PeerTests",
    "tests/Fleet.Actors.Host.Tests",
    "tests/Fleet.Actors.IntegrationTests",
};

Task("Clean").Does(() =>
{
    CleanDirectories("./src/**/bin/" + configuration);
    CleanDirectories("./tests/**/bin/" + configuration);
    CleanDirectory(artifacts);
});

Task("Build").Does(() =>
{
    DotNetBuild(solution, new DotNetBuildSettings { Configuration = configuration });
});

// The real peers the tests and benchmarks talk to, from Debian's packages when missing.
Task("Peers").Does(() =>
{
    // The Modbus peer tests compile a libmodbus server with gcc and cross-check with mbpoll.
    var missing = new[]
        {
            ("mosquitto", "/usr/sbin/mosquitto"), ("socat", "/usr/bin/socat"), ("gcc", "/usr/bin/gcc"),
            ("libmodbus-dev", "/usr/include/modbus/modbus.h"), ("mbpoll", "/usr/bin/mbpoll"),
        }
        .Where(p => !System.IO.File.Exists(p.Item2))
        .Select(p => p.Item1)
        .ToArray();
    if (missing.Length == 0)
    {
        Information("Test peers present: mosquitto, socat, gcc, libmodbus-dev, mbpoll");
        return;
    }
    Information($"Installing test peers with apt-get: {string.Join(", ", missing)}");
    var sudo = Environment.UserName == "root" ? "" : "sudo ";
    var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
    foreach (var command in new[] { "apt-get update -qq", "apt-get install -y -qq --no-install-recommends " + string.Join(" ", missing) })
    {
        var exit = StartProcess("bash", new ProcessSettings { Arguments = $"-c \"{sudo}{command}\"", EnvironmentVariables = env });
        if (exit != 0) throw new Exception($"'{command}' failed with exit code {exit}; install {string.Join(", ", missing)} by hand");
    }
});

Task("Test")
    .IsDependentOn("Build")
    .IsDependentOn("Peers")
    .Does(() =>
{
    CleanDirectory(testResults);
    var failedProjects = new List<string>();
    foreach (var project in testProjects)
    {
        var name = System.IO.Path.GetFileName(project);
        try
        {
            DotNetTest(project, new DotNetTestSettings
            {
                Configuration = configuration,
                NoBuild = true,
                ResultsDirectory = testResults,
                Loggers = new[] { $"trx;LogFileName={name}.trx", "console;verbosity=normal" },
                // A test that hangs is killed (with a dump of where) instead of holding CI until its limit.
                ArgumentCustomization = args => args.Append("--blame-hang-timeout").Append("5m"),
            });
        }
        catch (Exception ex)
        {
            Error($"{name}: {ex.Message}");
            failedProjects.Add(name);
        }
    }

    int passed = 0, failed = 0, skipped = 0;
    foreach (var trx in GetFiles(testResults.FullPath + "/*.trx"))
    {
        var counters = XDocument.Load(trx.FullPath).Descendants().First(e => e.Name.LocalName == "Counters");
        passed += int.Parse(counters.Attribute("passed").Value);
        failed += int.Parse(counters.Attribute("failed").Value) + int.Parse(counters.Attribute("error").Value) + int.Parse(counters.Attribute("timeout").Value);
        skipped += int.Parse(counters.Attribute("notExecuted").Value);
        // Repeat every failure at the end, where a CI log's tail shows it.
        foreach (var result in XDocument.Load(trx.FullPath).Descendants().Where(e => e.Name.LocalName == "UnitTestResult" && (string)e.Attribute("outcome") != "Passed" && (string)e.Attribute("outcome") != "NotExecuted"))
        {
            var message = result.Descendants().FirstOrDefault(e => e.Name.LocalName == "Message")?.Value ?? "";
            var firstLines = string.Join(" | ", message.Split('\n').Take(6).Select(l => l.Trim()));
            Error($"FAILED {(string)result.Attribute("testName")}: {firstLines}");
        }
    }
    // A project that crashed before writing results still counts as a failure.
    var missingResults = testProjects.Count(p => !FileExists(testResults.CombineWithFilePath(System.IO.Path.GetFileName(p) + ".trx")));
    failed += missingResults;
    var summary = skipped > 0 ? $"{passed} passed, {failed} failed, {skipped} skipped" : $"{passed} passed, {failed} failed";
    System.IO.File.WriteAllText(testResults.CombineWithFilePath("summary.txt").FullPath, summary + "\n");
    Information(summary);
    if (failed > 0 || failedProjects.Count > 0) throw new Exception($"Tests failed: {summary}");
});

// The whole pipeline against mosquitto with a raw MQTTnet baseline in the same run (docs/benchmarks.md).
Task("Bench")
    .IsDependentOn("Build")
    .IsDependentOn("Peers")
    .Does(() =>
{
    var exit = StartProcess("dotnet", new ProcessSettings
    {
        Arguments = $"src/Fleet.Actors.Host/bin/{configuration}/net10.0/fleet-agent.dll bench --output {artifacts}/bench.md " + Argument("bench-args", ""),
    });
    if (exit != 0) throw new Exception($"bench failed with exit code {exit}");
});

// BenchmarkDotNet for hot code (encoding, serializer, batching).
Task("Microbench").Does(() =>
{
    DotNetRun("tests/Fleet.Actors.Benchmarks/Fleet.Actors.Benchmarks.csproj", new ProcessArgumentBuilder().Append("--filter").Append(Argument("filter", "*")),
        new DotNetRunSettings { Configuration = "Release" });
});

Task("Publish").Does(() =>
{
    foreach (var rid in new[] { "linux-x64", "linux-arm64" })
    {
        DotNetPublish("src/Fleet.Actors.Host", new DotNetPublishSettings
        {
            Configuration = configuration,
            Runtime = rid,
            SelfContained = false,
            OutputDirectory = artifacts.Combine("publish").Combine(rid),
        });
    }
});

RunTarget(target);
