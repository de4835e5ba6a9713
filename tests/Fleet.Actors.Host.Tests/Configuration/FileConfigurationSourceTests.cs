using Fleet.Actors.Devices.Configuration;
using Fleet.Actors.Host.Configuration;
using Fleet.Actors.Host.Tests.Support;

namespace Fleet.Actors.Host.Tests.Configuration;

/// <summary>The configuration files as the source of live changes: candidates checked as at start, parts that changed, overlays kept.</summary>
public sealed class FileConfigurationSourceTests : IDisposable
{
    private readonly ConfigFolder _folder = new();
    private readonly FileConfigurationSource _source;

    public FileConfigurationSourceTests()
    {
        var data = Path.Combine(_folder.Root, "data");
        _source = new FileConfigurationSource(_folder.Directory, [], data);
    }

    public void Dispose() => _folder.Dispose();

    private ConfigurationCandidate Running => FileConfigurationSource.Describe(_source.LoadSettings());

    [Fact]
    public void A_changed_sensor_should_be_the_only_changed_part()
    {
        var candidate = _source.Load("fleet.sensors = [ { id = gps, type = sim-gps, rate-hz = 1 }, { id = obd, type = sim-obd, rate-hz = 25 }, { id = imu, type = sim-imu, rate-hz = 10 } ]");

        Assert.Empty(candidate.Problems);
        Assert.Equal(["sensors/obd"], candidate.ChangedSince(Running));
        Assert.NotEqual(Running.Version, candidate.Version);
        Assert.All(candidate.ChangedSince(Running), part => Assert.True(LiveConfiguration.AppliesLive(part)));
    }

    [Fact]
    public void The_broker_should_be_a_part_of_its_own_that_applies_only_at_start()
    {
        var changed = _source.Load("fleet.uplink.broker.keep-alive = 20s").ChangedSince(Running);
        Assert.Equal(["uplink.broker"], changed);
        Assert.False(LiveConfiguration.AppliesLive(changed[0]));
        Assert.Equal(["uplink"], _source.Load("fleet.uplink.batch.min-records = 64").ChangedSince(Running));
        Assert.Equal(["wal"], _source.Load("fleet.wal.max-unsent-bytes = 64MiB").ChangedSince(Running));
    }

    [Fact]
    public void The_alert_rules_and_the_lane_should_apply_live()
    {
        var rules = _source.Load("fleet.alerts.rules = [ { id = brakes, kind = driving-event, event = harsh_brake } ]").ChangedSince(Running);
        Assert.Equal(["alerts"], rules);
        Assert.True(LiveConfiguration.AppliesLive(rules[0]));
        Assert.Equal(["uplink"], _source.Load("fleet.uplink.priority-lane.max-pending = 50").ChangedSince(Running));
    }

    [Fact]
    public void The_logs_limits_should_apply_live_and_its_storage_only_at_start()
    {
        var limits = _source.Load("fleet.wal { max-unsent-bytes = 64MiB, snapshot-every = 100 }").ChangedSince(Running);
        Assert.Equal(["wal"], limits);
        Assert.True(LiveConfiguration.AppliesLive(limits[0]));
        foreach (var overlay in new[] { "fleet.wal.synchronous = normal", "fleet.wal.segment-bytes = 2MiB", "fleet.wal.cache-bytes = 16MiB" })
        {
            var storage = _source.Load(overlay).ChangedSince(Running);
            Assert.Equal(["wal.storage"], storage);
            Assert.False(LiveConfiguration.AppliesLive(storage[0]), overlay);
        }
    }

    /// <summary>
    /// Found by a new user: an overlay by command added a replay sensor reading /etc/hostname and
    /// recording to a path of its choice, and the agent (a system service) read and wrote them.
    /// </summary>
    [Fact]
    public void An_overlay_from_a_command_should_not_point_the_agent_at_files_or_devices_it_does_not_already_use()
    {
        var trace = Path.Combine(_folder.Root, "drive.nmea");
        File.WriteAllText(trace, "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\n");
        const string shipped = "{ id = gps, type = sim-gps, rate-hz = 1 }, { id = obd, type = sim-obd, rate-hz = 5 }, { id = imu, type = sim-imu, rate-hz = 10 }";
        var replay = $"{{ id = gps2, type = gps-nmea, replay {{ file = \"{trace}\" }} }}";
        var source = new FileConfigurationSource(_folder.Directory, [_folder.Overlay($"fleet.sensors = [ {shipped}, {replay} ]\n", "site.conf")], Path.Combine(_folder.Root, "data"));

        var reading = source.Load($"fleet.sensors = [ {shipped}, {{ id = gps2, type = gps-nmea, replay {{ file = \"/etc/hostname\", loop = on }} }} ]");
        var recording = source.Load($"fleet.sensors = [ {shipped}, {replay.TrimEnd('}')} record-to = \"/tmp/pwn.trace\" }} ]");
        var serial = source.Load($"fleet.sensors = [ {shipped}, {{ id = gps3, type = gps-nmea, port = \"/dev/ttyS0\" }} ]");

        Assert.Null(reading.Settings);
        Assert.Contains(reading.Problems, p => p.StartsWith("the CONFIGURATION_UPDATE overlay: fleet.sensors[3].replay.file: a command may not point the agent at a file or device it does not already use (\"/etc/hostname\")", StringComparison.Ordinal));
        Assert.Contains(recording.Problems, p => p.Contains("fleet.sensors[3].record-to: a command may not point", StringComparison.Ordinal));
        Assert.Contains(serial.Problems, p => p.Contains("fleet.sensors[3].port: a command may not point", StringComparison.Ordinal));
        // What the vehicle's own files already use may be used again, at another rate or place in the list.
        var again = source.Load($"fleet.sensors = [ {{ id = gps2, type = gps-nmea, replay {{ file = \"{trace}\", speed = 2 }} }}, {shipped} ]");
        Assert.True(again.Problems.Count == 0, string.Join("; ", again.Problems));
        // Files change what the agent uses: a reload of the files is not a command.
        Assert.Empty(source.Load(null).Problems);
    }

    /// <summary>Found by a new user: a file edit of a key a command had set was silently overridden by the kept remote overlay.</summary>
    [Fact]
    public void A_reload_of_the_files_should_name_the_parts_a_kept_command_overlay_overrides()
    {
        Assert.Empty(_source.Load(null).OverriddenByCommands);
        _source.Keep("fleet.wal.max-unsent-bytes = 64MiB");

        Assert.Equal(["wal"], _source.Load(null).OverriddenByCommands);
        // A command's own candidate is not a file edit.
        Assert.Empty(_source.Load("fleet.uplink.batch.min-records = 64").OverriddenByCommands);
    }

    [Fact]
    public void Each_PLC_should_be_a_part_of_its_own_that_applies_live()
    {
        const string plc = "{ id = %ID%, host = 127.0.0.1, port = 1502, points = [ { name = speed, address = %A% } ] }";
        var two = "fleet.plcs = [ " + plc.Replace("%ID%", "press").Replace("%A%", "1") + ", " + plc.Replace("%ID%", "oven").Replace("%A%", "2") + " ]";
        var running = _source.Load(two);
        Assert.Empty(running.Problems);
        Assert.Equal(["plcs/oven", "plcs/press"], running.ChangedSince(Running));

        var mapChanged = _source.Load(two.Replace("address = 2", "address = 7"));
        Assert.Equal(["plcs/oven"], mapChanged.ChangedSince(running));
        var removed = _source.Load("fleet.plcs = [ " + plc.Replace("%ID%", "press").Replace("%A%", "1") + " ]");
        Assert.Equal("plcs/oven (removed)", removed.Describe(removed.ChangedSince(running), running));
        Assert.Equal("plcs/oven (added)", running.Describe(running.ChangedSince(removed), removed));
        Assert.Equal("plcs/oven", mapChanged.Describe(mapChanged.ChangedSince(running), running));
        Assert.True(LiveConfiguration.AppliesLive("plcs/oven"));
        Assert.Equal(["oven"], LiveConfiguration.ChangedPlcs(mapChanged.ChangedSince(running)));
    }

    [Fact]
    public void A_bad_candidate_should_be_refused_naming_the_overlay_key_and_problem_and_leave_no_file()
    {
        var candidate = _source.Load("fleet.sensors = [ { id = gps, type = sim-gps, rate-hz = -3 } ]");

        Assert.Null(candidate.Settings);
        Assert.StartsWith("the CONFIGURATION_UPDATE overlay: fleet.sensors[0].rate-hz: must be between", Assert.Single(candidate.Problems));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(_source.RemoteOverlayPath)!, "candidate-*"));
    }

    [Fact]
    public void An_overlay_from_a_command_should_not_read_the_vehicles_environment()
    {
        var candidate = _source.Load("fleet.uplink.topics.telemetry = ${?MQTT_PASSWORD}");

        Assert.Null(candidate.Settings);
        Assert.Contains("substitutions (${...}) are not allowed", Assert.Single(candidate.Problems));
    }

    [Fact]
    public void A_value_from_the_environment_should_never_be_repeated_in_a_problem()
    {
        var overlay = _folder.Overlay("fleet.sensors = [ { id = gps, type = sim-gps, rate-hz = ${?SECRET_RATE} } ]\n");
        var problem = Assert.Single(Assert.Throws<ConfigurationException>(() =>
            AgentConfiguration.Load(_folder.Directory, [overlay], name => name == "SECRET_RATE" ? "hunter2" : null)).Problems);

        Assert.StartsWith("environment variable SECRET_RATE (fleet.sensors[0].rate-hz", problem);
        Assert.DoesNotContain("hunter2", problem);
    }

    [Fact]
    public void Kept_overlays_should_add_up_be_private_and_be_read_at_the_next_start_with_the_same_version()
    {
        const string first = "fleet.uplink.batch.min-records = 64";
        const string second = "fleet.uplink.batch.linger = 2s";
        var expected = _source.Load(second + "\n" + first);
        _source.Keep(first);
        _source.Keep(second);

        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_source.RemoteOverlayPath));
        var settings = _source.LoadSettings();
        Assert.Equal((64, TimeSpan.FromSeconds(2)), (settings.Vehicle.Uplink.MinBatchRecords, settings.Vehicle.Uplink.Linger));
        Assert.Contains(_source.RemoteOverlayPath, settings.Files);
        // The version follows the settings, not the files' layout.
        Assert.Equal(expected.Version, settings.Vehicle.ConfigVersion);
        Assert.DoesNotContain(_source.RemoteOverlayPath, _source.WatchedFiles(settings));
    }
}
