using Akka.Actor;
using Akka.TestKit.Xunit2;
using Fleet.Actors.Core.Commands;
using Fleet.Actors.Core.Commands.Wire;
using Fleet.Actors.Devices.Commands;
using static Fleet.Actors.Core.Commands.CommandProtocol;

namespace Fleet.Actors.Devices.Tests.Commands;

public sealed class SystemCommandsTests : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static Execute Reboot() => new("r-1", new Command { CommandId = "r-1", Type = CommandType.Reboot });

    [Fact]
    public void The_configured_program_should_run_with_its_fixed_arguments_after_the_ACK()
    {
        var marker = Path.Combine(Path.GetTempPath(), "fleet-reboot-" + Guid.NewGuid().ToString("N"));
        var system = Sys.ActorOf(SystemCommands.Props(new SystemCommandSettings { Reboot = ["/usr/bin/touch", marker] }));

        system.Tell(Reboot());

        ExpectMsg<Accept>(Wait);
        Assert.Contains("done", ExpectMsg<Succeed>(Wait).Message);
        Assert.True(File.Exists(marker));
        File.Delete(marker);
    }

    [Fact]
    public void A_program_that_fails_should_make_the_command_fail_with_its_exit_code()
    {
        var system = Sys.ActorOf(SystemCommands.Props(new SystemCommandSettings { Reboot = ["/usr/bin/ls", "/no/such/folder"] }));

        system.Tell(Reboot());

        ExpectMsg<Accept>(Wait);
        var failed = ExpectMsg<Fail>(Wait);
        Assert.Equal(CommandRefusals.ExecutionFailed, failed.Reason);
        Assert.Contains("exit code 2", failed.Message);
        Assert.Contains("No such file", failed.Message);
    }

    [Theory]
    [InlineData("systemctl", "absolute path")]
    [InlineData("/bin/sh", "shell")]
    [InlineData("/usr/bin/bash", "shell")]
    [InlineData("/usr/bin/env", "shell")]
    public void Relative_programs_and_shells_should_be_refused_in_the_configuration(string program, string problem) =>
        Assert.Contains(problem, SystemCommandSettings.Check([program, "reboot"]));

    [Fact]
    public void Types_without_a_program_should_have_no_owner()
    {
        Assert.Empty(new SystemCommandSettings().Types);
        Assert.Equal([CommandType.ServiceRestart], new SystemCommandSettings { ServiceRestart = ["/usr/bin/true"] }.Types);
    }
}
