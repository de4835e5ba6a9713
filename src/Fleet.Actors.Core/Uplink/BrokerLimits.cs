using System.Text;
using Fleet.Actors.Core.Telemetry;
using MQTTnet;
using MQTTnet.Protocol;

namespace Fleet.Actors.Core.Uplink;

/// <summary>
/// What a broker announced in its CONNACK that the uplink must respect on that connection.
/// Topic aliases are not used, so the broker's Topic Alias Maximum does not matter.
/// </summary>
/// <param name="MaximumPacketSize">The largest MQTT packet the broker takes, or null for no limit.</param>
/// <param name="MaxPayloadBytes">The largest telemetry payload that fits into such a packet with its topic and properties.</param>
/// <param name="RetainAvailable">False when the broker does not keep retained messages (the status topic then is not retained).</param>
/// <param name="MaximumQoS">The highest QoS the broker accepts.</param>
internal sealed record BrokerLimits(long? MaximumPacketSize, int MaxPayloadBytes, bool RetainAvailable, MqttQualityOfServiceLevel MaximumQoS)
{
    /// <summary>Why the uplink cannot work with this broker at all, or null.</summary>
    public string? Problem => MaximumQoS < MqttQualityOfServiceLevel.AtLeastOnce ? "CONNACK Maximum QoS 0: " + QoS0Only : null;

    /// <summary>What a broker that takes only QoS 0 means for the uplink.</summary>
    internal const string QoS0Only = "the broker accepts only QoS 0, so telemetry cannot be delivered at QoS 1; nothing is sent and the log keeps it";

    /// <summary>The limits of a connection.</summary>
    public static BrokerLimits From(MqttClientConnectResult connected, UplinkSettings settings, VehicleIdentity vehicle)
    {
        long? maximum = connected.MaximumPacketSize is null or 0 ? null : connected.MaximumPacketSize.Value;
        var payload = maximum is { } limit ? (int)Math.Clamp(limit - PublishOverhead(settings, vehicle), 0, int.MaxValue) : int.MaxValue;
        return new BrokerLimits(maximum, payload, connected.RetainAvailable, connected.MaximumQoS);
    }

    /// <summary>
    /// Bytes of a telemetry PUBLISH besides its payload, at most: fixed header, topic, packet id and
    /// the properties <see cref="MqttLink.PublishAsync"/> sets (content type, content-encoding, sequences).
    /// </summary>
    internal static int PublishOverhead(UplinkSettings settings, VehicleIdentity vehicle)
    {
        static int Utf8(string text) => 2 + Encoding.UTF8.GetByteCount(text);
        var topic = Utf8(TopicTemplate.Expand(settings.TelemetryTopic, vehicle));
        var properties = 1 + Utf8(BatchCodec.ContentType)
            + 1 + Utf8("content-encoding") + Utf8(BatchCodec.EncodingName(settings.Compression))
            + 1 + Utf8("sequences") + 2 + 2 * long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture).Length + 1;
        const int fixedHeader = 1 + 4, packetId = 2, propertyLength = 4;
        return fixedHeader + topic + packetId + propertyLength + properties;
    }
}
