using System.Globalization;
using System.Text;
using Fleet.Actors.Core.Telemetry;

namespace Fleet.Actors.Devices.Obd;

/// <summary>
/// Decodes parsed ELM327 answers into what they mean (SAE J1979): mode 01 PIDs, supported-PID
/// bitmaps, the VIN (mode 09 PID 02), stored trouble codes (mode 03) and the clear confirmation
/// (mode 04). Pure; every method says why it could not decode instead of throwing.
/// </summary>
public static class ObdDecoder
{
    /// <summary>The source of OBD-II fault codes on the wire.</summary>
    public const string FaultSource = "obd2";

    /// <summary>Measurement name of the MIL state (1 on, 0 off) from PID 0x01.</summary>
    public const string MilName = "mil_on";

    /// <summary>Measurement name of the stored trouble code count from PID 0x01.</summary>
    public const string DtcCountName = "dtc_count";

    private const byte NegativeResponse = 0x7F;

    /// <summary>The measurements of a mode 01 answer for <paramref name="pid"/> (the first ECU that answered it).</summary>
    public static bool TryDecodePid(ObdPid pid, ElmResponse response, out IReadOnlyList<MeasurementValue> values, out string problem)
    {
        values = [];
        if (pid.IsMonitorStatus)
        {
            if (!TryMonitorStatus(response, out var status, out problem)) return false;
            values = [new MeasurementValue(MilName, status.Mil ? 1 : 0, "bool"), new MeasurementValue(DtcCountName, status.DtcCount, "count")];
            return true;
        }
        if (!TryPositive(response, [0x41, pid.Number], 2 + pid.Bytes, out var messages, out problem)) return false;
        values = [new MeasurementValue(pid.Name, pid.Decode(messages[0].Data.AsSpan(2)), pid.Unit)];
        return true;
    }

    /// <summary>PID 0x01 over every answering ECU: the MIL is on when any ECU says so; the counts add up.</summary>
    public static bool TryMonitorStatus(ElmResponse response, out MonitorStatus status, out string problem)
    {
        status = new MonitorStatus(false, 0);
        if (!TryPositive(response, [0x41, 0x01], 3, out var messages, out problem)) return false;
        status = new MonitorStatus(messages.Any(m => (m.Data[2] & 0x80) != 0), messages.Sum(m => m.Data[2] & 0x7F));
        return true;
    }

    /// <summary>
    /// The PIDs a bitmap answer (<c>0100</c>, <c>0120</c>, ...) says are supported, over every ECU.
    /// PID <paramref name="basePid"/> + 0x20 is in the set when the next bitmap may be asked for.
    /// </summary>
    public static bool TrySupportedPids(byte basePid, ElmResponse response, out IReadOnlySet<byte> pids, out string problem)
    {
        var set = new SortedSet<byte>();
        pids = set;
        if (!TryPositive(response, [0x41, basePid], 6, out var messages, out problem)) return false;
        foreach (var message in messages)
        {
            for (var bit = 0; bit < 32; bit++)
            {
                if ((message.Data[2 + bit / 8] & (0x80 >> (bit % 8))) == 0) continue;
                var pid = basePid + bit + 1;
                if (pid <= byte.MaxValue) set.Add((byte)pid);
            }
        }
        return true;
    }

    /// <summary>
    /// The VIN of a mode 09 PID 02 answer, from the first ECU that gave it: one message in CAN
    /// (<c>49 02 01</c> + 17 characters) or numbered messages in legacy protocols (<c>49 02 01</c> ..
    /// <c>49 02 05</c>, four bytes each, the first padded with zeros).
    /// </summary>
    public static bool TryVin(ElmResponse response, out string vin, out string problem)
    {
        vin = "";
        if (!TryPositive(response, [0x49, 0x02], 4, out var messages, out problem)) return false;
        var ecu = messages[0].Ecu;
        var parts = messages.Where(m => m.Ecu == ecu).ToList();
        var bytes = parts.Count == 1
            ? parts[0].Data[3..]
            : parts.OrderBy(m => m.Data[2]).SelectMany(m => m.Data[3..]).ToArray();
        var text = bytes.AsSpan().Trim((byte)0);
        if (text.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E))
        {
            problem = $"VIN is not printable: {Convert.ToHexString(bytes)}";
            return false;
        }
        if (text.Length != 17)
        {
            problem = $"VIN has {text.Length} characters, not 17: \"{Encoding.ASCII.GetString(text)}\"";
            return false;
        }
        vin = Encoding.ASCII.GetString(text);
        return true;
    }

    /// <summary>
    /// The stored trouble codes of a mode 03 answer over every ECU, without zero padding and
    /// duplicates. CAN answers start with a count byte, legacy ones do not; <paramref name="isCan"/>
    /// says which (null: a count byte is assumed when the codes would otherwise not pair up).
    /// </summary>
    public static bool TryTroubleCodes(ElmResponse response, bool? isCan, out IReadOnlyList<FaultCode> faults, out string problem)
    {
        var codes = new List<FaultCode>();
        faults = codes;
        if (!TryPositive(response, [0x43], 1, out var messages, out problem)) return false;
        foreach (var message in messages)
        {
            var body = message.Data.AsSpan(1);
            if (isCan ?? body.Length % 2 == 1) body = body.IsEmpty ? body : body[1..];
            for (var i = 0; i + 1 < body.Length; i += 2)
            {
                if (body[i] == 0 && body[i + 1] == 0) continue;
                var code = new FaultCode(FormatDtc(body[i], body[i + 1]));
                if (!codes.Contains(code)) codes.Add(code);
            }
        }
        return true;
    }

    /// <summary>True when the ECUs confirmed a mode 04 clear (<c>44</c>).</summary>
    public static bool TryClearConfirmed(ElmResponse response, out string problem) =>
        TryPositive(response, [0x44], 1, out _, out problem);

    /// <summary>
    /// A trouble code from its two bytes: the first two bits are the letter (P, C, B, U), the next
    /// two the first digit, then three hex digits (<c>01 33</c> → P0133, <c>C1 58</c> → U0158).
    /// </summary>
    public static string FormatDtc(byte high, byte low) =>
        string.Create(CultureInfo.InvariantCulture, $"{"PCBU"[high >> 6]}{(high >> 4) & 0x03}{high & 0x0F:X}{low:X2}");

    /// <summary>The messages that answer positively (start with <paramref name="prefix"/>, at least <paramref name="minLength"/> bytes).</summary>
    private static bool TryPositive(ElmResponse response, byte[] prefix, int minLength, out List<EcuMessage> messages, out string problem)
    {
        messages = [];
        problem = "";
        if (response.Error is { } error)
        {
            problem = error.Text;
            return false;
        }
        messages = response.Messages.Where(m => m.Data.AsSpan().StartsWith(prefix) && m.Data.Length >= minLength).ToList();
        if (messages.Count > 0) return true;
        var negative = response.Messages.FirstOrDefault(m => m.Data.Length >= 3 && m.Data[0] == NegativeResponse && m.Data[1] == prefix[0] - 0x40);
        problem = negative is not null
            ? $"negative response {negative.Data[2]:X2} ({NegativeReason(negative.Data[2])})"
            : response.Messages.Any(m => m.Data.AsSpan().StartsWith(prefix))
                ? $"answer too short: {response.Excerpt}"
                : $"answer does not match the request: {response.Excerpt}";
        return false;
    }

    private static string NegativeReason(byte code) => code switch
    {
        0x10 => "general reject",
        0x11 => "service not supported",
        0x12 => "sub-function not supported",
        0x13 => "incorrect message length",
        0x21 => "busy, repeat request",
        0x22 => "conditions not correct",
        0x31 => "request out of range",
        0x78 => "response pending",
        _ => "refused",
    };
}
