using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Fleet.Actors.Host.Chaos;
using Fleet.Actors.Testing;
using Xunit.Abstractions;

namespace Fleet.Actors.IntegrationTests;

/// <summary>
/// The files of deploy/ and docs/operations.md as an operator installs them: the unit passes
/// systemd-analyze verify with the program where ExecStart looks for it (in a scratch root: systemd
/// does not run here) and keeps its hardening rating, the site template passes fleet-agent check,
/// and the document's Prometheus scrape configuration passes promtool.
/// </summary>
public sealed partial class DeployFilesTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fleet-deploy-").FullName;

    private static string Deploy(string file) => Path.Combine(DocumentedExamples.RepositoryRoot, "deploy", file);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>
    /// A root with this machine's systemd units, kill(1), the user, and the unit, its Raspberry Pi
    /// drop-in and the program installed where docs/operations.md puts them.
    /// </summary>
    private void Install()
    {
        foreach (var (link, target) in new[] { ("lib", "usr/lib"), ("bin", "usr/bin"), ("sbin", "usr/sbin") })
            File.CreateSymbolicLink(Path.Combine(_root, link), target);
        Directory.CreateDirectory(Path.Combine(_root, "usr/lib/systemd"));
        CopyDirectory("/usr/lib/systemd/system", Path.Combine(_root, "usr/lib/systemd/system"));
        Directory.CreateDirectory(Path.Combine(_root, "usr/bin"));
        File.Copy("/usr/bin/kill", Path.Combine(_root, "usr/bin/kill"));
        Directory.CreateDirectory(Path.Combine(_root, "opt/fleet-agent"));
        var program = AgentProcess.Program;
        var executable = program.EndsWith(".dll", StringComparison.Ordinal) ? Path.Combine(Path.GetDirectoryName(program)!, "fleet-agent") : program;
        File.Copy(executable, Path.Combine(_root, "opt/fleet-agent/fleet-agent"));
        var units = Path.Combine(_root, "etc/systemd/system");
        Directory.CreateDirectory(Path.Combine(units, "fleet-agent.service.d"));
        File.Copy(Deploy("fleet-agent.service"), Path.Combine(units, "fleet-agent.service"));
        File.Copy(Deploy("raspberry-pi.conf"), Path.Combine(units, "fleet-agent.service.d", "raspberry-pi.conf"));
        Directory.CreateDirectory(Path.Combine(_root, "usr/lib/sysusers.d"));
        File.Copy(Deploy("fleet-agent.sysusers"), Path.Combine(_root, "usr/lib/sysusers.d/fleet-agent.conf"));
        // The groups of SupplementaryGroups= exist on the vehicle (gpio and i2c on Raspberry Pi OS).
        File.WriteAllText(Path.Combine(_root, "etc/group"), File.ReadAllText("/etc/group") + "gpio:x:997:\ni2c:x:998:\n");
        File.Copy("/etc/passwd", Path.Combine(_root, "etc/passwd"));
    }

    [Fact]
    public async Task The_unit_should_pass_systemd_analyze_verify_and_keep_its_hardening_rating()
    {
        Install();
        var users = await RunAsync("systemd-sysusers", $"--root={_root}");
        Assert.True(users.ExitCode == 0, users.ToString());
        Assert.Contains("fleet-agent:", await File.ReadAllTextAsync(Path.Combine(_root, "etc/passwd")), StringComparison.Ordinal);

        var verify = await RunAsync("systemd-analyze", $"--root={_root}", "verify", "fleet-agent.service");
        // verify also reports unknown keys and bad values, with exit code 0: any output is a defect.
        Assert.True(verify.ExitCode == 0 && verify.Stdout.Trim().Length == 0 && verify.Stderr.Trim().Length == 0, verify.ToString());

        var security = await RunAsync("systemd-analyze", "security", "--offline=true", $"--root={_root}", "fleet-agent.service");
        var exposure = ExposureLevel().Match(security.Stdout + security.Stderr);
        Assert.True(exposure.Success, security.ToString());
        var level = double.Parse(exposure.Groups[1].Value, CultureInfo.InvariantCulture);
        output.WriteLine($"exposure level {level}");
        Assert.True(level <= 2.5, $"the unit's exposure level rose to {level} (docs/operations.md says 2.1)");

        var enable = await RunAsync("systemctl", $"--root={_root}", "enable", "fleet-agent.service");
        Assert.True(enable.ExitCode == 0, enable.ToString());
        Assert.True(File.Exists(Path.Combine(_root, "etc/systemd/system/multi-user.target.wants/fleet-agent.service")));
    }

    [Fact]
    public async Task The_site_template_should_pass_fleet_agent_check_on_the_shipped_defaults()
    {
        var check = await FleetAgentCli.RunAsync("check", "--config-dir", AgentProcess.ConfigDirectory, "--config", Deploy("site.conf"));

        Assert.True(check.Exit == 0, check.ToString());
        Assert.StartsWith("# fleet-agent check: the configuration is valid.", check.Out, StringComparison.Ordinal);
        Assert.Contains("id = truck-042", check.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_Prometheus_scrape_configuration_of_the_document_should_pass_promtool()
    {
        var block = DocumentedExamples.CodeBlock("docs/operations.md", "## Metrics with Prometheus", "yaml")
                    ?? throw new InvalidOperationException("docs/operations.md has no ```yaml block under '## Metrics with Prometheus'");
        var file = Path.Combine(_root, "prometheus.yml");
        await File.WriteAllTextAsync(file, block);

        var check = await RunAsync("promtool", "check", "config", file);

        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains("'127.0.0.1:9480'", block, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"Overall exposure level for fleet-agent\.service: ([0-9.]+)")]
    private static partial Regex ExposureLevel();

    private static void CopyDirectory(string from, string to)
    {
        // cp -a keeps the units' symbolic links (aliases) as links.
        using var copy = Process.Start(new ProcessStartInfo("cp", ["-a", from, to]))!;
        copy.WaitForExit();
        if (copy.ExitCode != 0) throw new InvalidOperationException($"cp -a {from} {to}: exit {copy.ExitCode}");
    }

    private static async Task<ProgramResult> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new ProgramResult(process.ExitCode, await stdout, await stderr);
    }
}
