using Fleet.Actors.Core.Configuration;
using Fleet.Actors.Core.Scripting;
using Fleet.Actors.Devices.Gpio;
using Fleet.Actors.Devices.Plc;

namespace Fleet.Actors.Devices.Scripting;

/// <summary>The vehicle's script engine (HOCON <c>fleet.scripting</c>).</summary>
public sealed record ScriptingSettings
{
    /// <summary>
    /// The arbitration cycle: conflicting writes to one GPIO line, register or coil within a cycle
    /// are resolved by priority (docs/scripting.md); a new cycle starts with no writes held.
    /// </summary>
    public TimeSpan Cycle { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a GPIO or Modbus write may take before it counts as failed.</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(6);

    /// <summary>
    /// Writes that may wait at once for the log to confirm their records (write-ahead); one more fails
    /// at once, not sent, with the reason (the log is far behind).
    /// </summary>
    public int MaxWritesAwaitingLog { get; init; } = 1_000;

    /// <summary>Journaled store events between snapshots of the installed scripts.</summary>
    public int SnapshotEvery { get; init; } = 100;

    /// <summary>
    /// The limits of every run, and the scripts of the configuration: installed at start when the
    /// store does not hold them, replaced when it holds another definition of the same id.
    /// </summary>
    public ScriptDocument Document { get; init; } = new(ScriptLimits.Default, ValueArray<ScriptDefinition>.Empty);
}

/// <summary>Reads and validates HOCON <c>fleet.scripting</c> into <see cref="ScriptingSettings"/>.</summary>
public static class ScriptingConfig
{
    /// <summary>
    /// Reads the section under <paramref name="fleet"/>. Besides the script model's own checks, every
    /// GPIO and Modbus reference of a configured script must name a configured line or PLC: a write
    /// to an output line, a trigger on an input line, a write to a PLC.
    /// </summary>
    public static ScriptingSettings Read(ConfigReader fleet, GpioSettings gpio, IReadOnlyList<PlcSettings> plcs)
    {
        var section = fleet.Section("scripting");
        var cycle = section.Duration("cycle", TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(10));
        var writeTimeout = section.Duration("write-timeout", TimeSpan.FromSeconds(6), TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1));
        var maxAwaitingLog = section.Int("max-writes-awaiting-log", 1_000, 1, 100_000);
        var snapshotEvery = section.Int("snapshot-every", 100, 1, 100_000);
        // References are checked on every trigger and action that parsed, also when others did not: one pass, every problem.
        var parsed = ScriptParser.FromReader(section, references: new HardwareReferences(gpio, plcs));
        var document = parsed.Document ?? new ScriptDocument(ScriptLimits.Default, ValueArray<ScriptDefinition>.Empty);
        return new ScriptingSettings { Cycle = cycle, WriteTimeout = writeTimeout, MaxWritesAwaitingLog = maxAwaitingLog, SnapshotEvery = snapshotEvery, Document = document };
    }

    /// <summary>A GPIO trigger needs a configured input line; a GPIO write an output line; a Modbus write a configured PLC.</summary>
    private sealed class HardwareReferences(GpioSettings gpio, IReadOnlyList<PlcSettings> plcs) : IScriptReferences
    {
        // Pins shared by several lines are reported by the GPIO section; the first line stands for the pin here.
        private readonly Dictionary<int, GpioLineSettings> _lines = gpio.Lines.GroupBy(l => l.Pin).ToDictionary(g => g.Key, g => g.First());
        private readonly HashSet<string> _plcIds = plcs.Select(p => p.Id).ToHashSet(StringComparer.Ordinal);

        public IEnumerable<(string Key, string Problem)> Check(ScriptTrigger trigger)
        {
            if (trigger is not GpioEdgeTrigger edge) yield break;
            if (!_lines.TryGetValue(edge.Line, out var line))
                yield return ("line", $"no GPIO line on pin {edge.Line} is configured (fleet.gpio.lines)");
            else if (line.Direction != GpioDirection.Input)
                yield return ("line", $"pin {edge.Line} is the output line \"{line.Id}\"; an edge trigger needs an input");
        }

        public IEnumerable<(string Key, string Problem)> Check(ScriptAction action)
        {
            switch (action)
            {
                case GpioWriteAction write when !_lines.ContainsKey(write.Line):
                    yield return ("line", $"no GPIO line on pin {write.Line} is configured (fleet.gpio.lines)");
                    break;
                case GpioWriteAction write when _lines[write.Line].Direction != GpioDirection.Output:
                    yield return ("line", $"pin {write.Line} is the input line \"{_lines[write.Line].Id}\"; only outputs can be written");
                    break;
                case ModbusWriteRegisterAction register when !_plcIds.Contains(register.Device):
                    yield return ("device", $"no PLC \"{register.Device}\" is configured (fleet.plcs)");
                    break;
                case ModbusWriteCoilAction coil when !_plcIds.Contains(coil.Device):
                    yield return ("device", $"no PLC \"{coil.Device}\" is configured (fleet.plcs)");
                    break;
            }
        }
    }
}
