using Fleet.Actors.Core.Telemetry;
using Fleet.Actors.Devices.Obd;
using Fleet.Actors.Testing;
using FsCheck;
using FsCheck.Fluent;

namespace Fleet.Actors.Devices.Tests.Obd;

/// <summary>
/// Properties of the parser and decoders: no answer, however broken, makes them throw; and every
/// value an adapter encodes, in any layout it can print (the <see cref="Elm327Simulator"/>, written
/// independently, plays the adapter), decodes back to that value.
/// </summary>
public sealed class ElmPropertyTests
{
    private static readonly string[] Commands = ["010C", "0100", "0120", "0101", "0902", "03", "04", "ATZ", "ATDPN", "", "0105"];

    private static readonly Gen<Layout> Layouts =
        from protocol in Gen.Elements('1', '3', '5', '6', '7', '8', '9')
        from headers in Gen.Elements(false, true)
        from spaces in Gen.Elements(false, true)
        from echo in Gen.Elements(false, true)
        from linefeeds in Gen.Elements(false, true)
        from knownFraming in Gen.Elements(false, true)
        select new Layout(protocol, headers, spaces, echo, linefeeds, knownFraming);

    private static void DecodeEverything(string text, string command)
    {
        foreach (var framing in Enum.GetValues<ElmFraming>())
        {
            var response = ElmResponse.Parse(text, command, framing);
            _ = response.Excerpt + response.IsOk;
            foreach (var pid in ObdPids.All) ObdDecoder.TryDecodePid(pid, response, out _, out _);
            ObdDecoder.TrySupportedPids(0x00, response, out _, out _);
            ObdDecoder.TryVin(response, out _, out _);
            ObdDecoder.TryTroubleCodes(response, null, out _, out _);
            ObdDecoder.TryTroubleCodes(response, true, out _, out _);
            ObdDecoder.TryClearConfirmed(response, out _);
            ElmProtocols.ParseNumber(response);
        }
    }

    [Fact]
    public void Random_answers_should_never_make_the_parser_or_decoders_throw()
    {
        var token = Gen.Elements("41", "0C", "7E8", "7E9", "18DAF110", "10", "14", "21", "2", "0:", "1:", "F:", "014", "FFF", "000",
            " ", "\r", "\n", ":", ">", "NO DATA", "?", "SEARCHING...", "BUS INIT: ...", "OK", "ERROR", "<DATA ERROR", "ELM327 v1.5",
            "49 02 01", "43", "7F", "00", "FF", "\u0000", "\u00FC");
        var structured = token.ListOf().Select(t => string.Concat(t));
        var anything = ArbMap.Default.GeneratorFor<NonNull<string>>().Select(s => s.Get);
        var cases = from text in Gen.Frequency((4, structured), (1, anything))
                    from command in Gen.Elements(Commands)
                    select (text, command);
        Prop.ForAll(cases.ToArbitrary(), c => DecodeEverything(c.text, c.command)).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
    }

    [Fact]
    public void Mutated_valid_answers_should_never_make_the_parser_or_decoders_throw()
    {
        var cases = from layout in Layouts
                    from command in Gen.Elements("010C", "0100", "0902", "03", "0101")
                    from edits in (from position in Gen.Choose(0, 1000)
                                   from kind in Gen.Choose(0, 2)
                                   from value in Gen.Choose(0, 23)
                                   select (position, kind, value)).ListOf()
                    select (layout, command, edits);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var adapter = c.layout.Adapter();
            adapter.SetPid(0x0C, 0x1A, 0xF8);
            adapter.SetPid(0x01, 0x83, 0x07, 0x65, 0x04);
            adapter.Vin = "1FTFW1ET5DFA12345";
            foreach (var code in new[] { "P0133", "C0123", "U0158", "B0001" }) adapter.TroubleCodes.Enqueue(code);
            var text = c.layout.Ask(adapter, c.command).ToCharArray().ToList();
            foreach (var (position, kind, value) in c.edits)
            {
                // Insert, delete or replace one character somewhere.
                var at = text.Count == 0 ? 0 : position % text.Count;
                const string Alphabet = "0123456789ABCDEF \r\n:>?<";
                var character = Alphabet[value % Alphabet.Length];
                switch (kind % 3)
                {
                    case 0: text.Insert(at, character); break;
                    case 1 when text.Count > 0: text.RemoveAt(at); break;
                    case 2 when text.Count > 0: text[at] = character; break;
                }
            }
            DecodeEverything(new string(text.ToArray()), c.command);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void Every_encoded_PID_value_should_decode_back_in_every_layout()
    {
        var pids = ObdPids.All.Where(p => !p.IsMonitorStatus).ToArray();
        var cases = from layout in Layouts
                    from pid in Gen.Elements(pids)
                    from a in Gen.Choose(0, 255)
                    from b in Gen.Choose(0, 255)
                    select (layout, pid, data: pid.Bytes == 1 ? new[] { (byte)a } : new[] { (byte)a, (byte)b });
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var adapter = c.layout.Adapter();
            adapter.SetPid(c.pid.Number, c.data);
            var response = c.layout.Parse(adapter.Respond(c.pid.Command), c.pid.Command);

            Assert.True(ObdDecoder.TryDecodePid(c.pid, response, out var values, out var problem), $"{c.layout}: {problem}");
            var value = Assert.Single(values);
            var raw = c.data.Aggregate(0, (acc, x) => (acc << 8) | x);
            Assert.Equal(Math.Round(raw * c.pid.Scale + c.pid.Offset, 2), value.Value);
            // The decoded value encodes back to the very bytes the vehicle sent.
            Assert.Equal(c.data, c.pid.Encode(value.Value));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void Every_encoded_VIN_should_decode_back_in_every_layout()
    {
        var characters = Gen.Elements("ABCDEFGHJKLMNPRSTUVWXYZ0123456789".ToCharArray());
        var cases = from layout in Layouts
                    from vin in characters.ArrayOf(17)
                    select (layout, vin: new string(vin));
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var adapter = c.layout.Adapter();
            adapter.Vin = c.vin;
            var response = c.layout.Parse(adapter.Respond("0902"), "0902");
            Assert.True(ObdDecoder.TryVin(response, out var vin, out var problem), $"{c.layout}: {problem}");
            Assert.Equal(c.vin, vin);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void Every_encoded_set_of_trouble_codes_should_decode_back_in_every_layout()
    {
        var code = from letter in Gen.Elements('P', 'C', 'B', 'U')
                   from number in Gen.Choose(1, 0x3FFF)
                   select $"{letter}{number:X4}";
        var cases = from layout in Layouts
                    from codes in code.ListOf()
                    select (layout, codes: codes.Distinct().Take(40).ToList());
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var adapter = c.layout.Adapter();
            foreach (var fault in c.codes) adapter.TroubleCodes.Enqueue(fault);
            var response = c.layout.Parse(adapter.Respond("03"), "03");
            var isCan = c.layout.KnownFraming ? ElmProtocols.IsCan(c.layout.Protocol) : (bool?)null;
            Assert.True(ObdDecoder.TryTroubleCodes(response, isCan, out var faults, out var problem), $"{c.layout}: {problem}");
            Assert.Equal(c.codes, faults.Select(f => f.Code));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void Every_supported_PID_set_should_decode_back_from_its_bitmaps()
    {
        var cases = from layout in Layouts
                    from pids in Gen.Choose(1, 0xDF).Select(p => (byte)p).Where(p => p % 0x20 != 0).ListOf()
                    select (layout, pids: pids.Distinct().Order().ToList());
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var adapter = c.layout.Adapter();
            foreach (var pid in c.pids) adapter.SetPid(pid, 0);
            var supported = new SortedSet<byte>();
            for (var range = 0; range <= 0xE0; range += 0x20)
            {
                var command = $"01{range:X2}";
                Assert.True(ObdDecoder.TrySupportedPids((byte)range, c.layout.Parse(adapter.Respond(command), command), out var set, out var problem), $"{c.layout}: {problem}");
                supported.UnionWith(set);
                if (!set.Contains((byte)(range + 0x20))) break;
            }
            Assert.Equal(c.pids, supported.Where(p => p % 0x20 != 0));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    /// <summary>An adapter set-up: protocol, headers, spaces, echo, linefeeds, and whether the parser is told the layout.</summary>
    private sealed record Layout(char Protocol, bool Headers, bool Spaces, bool Echo, bool Linefeeds, bool KnownFraming)
    {
        public Elm327Simulator Adapter()
        {
            var adapter = new Elm327Simulator { VehicleProtocol = Protocol };
            adapter.Respond(Echo ? "ATE1" : "ATE0");
            adapter.Respond(Linefeeds ? "ATL1" : "ATL0");
            adapter.Respond(Spaces ? "ATS1" : "ATS0");
            adapter.Respond(Headers ? "ATH1" : "ATH0");
            adapter.Respond($"ATSP{Protocol}");
            return adapter;
        }

        public string Ask(Elm327Simulator adapter, string command) => Text(adapter.Respond(command));

        public ElmResponse Parse(IReadOnlyList<(TimeSpan Delay, string Text)> answer, string command) =>
            ElmResponse.Parse(Text(answer), command, KnownFraming ? ElmProtocols.FramingOf(Headers, Protocol) : ElmFraming.Auto);

        private static string Text(IReadOnlyList<(TimeSpan Delay, string Text)> answer) => string.Concat(answer.Select(a => a.Text)).TrimEnd('>');
    }
}
