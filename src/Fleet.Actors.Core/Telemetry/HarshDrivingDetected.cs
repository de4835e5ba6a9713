namespace Fleet.Actors.Core.Telemetry;

/// <summary>
/// Published on the ActorSystem's EventStream by a sensor actor when one of its readings is a
/// driving event (harsh brake, acceleration or cornering) that passed validation, just after the
/// reading was handed to the write-ahead log. Alert rules and cameras subscribe to it with
/// <c>Context.System.EventStream.Subscribe(Self, typeof(HarshDrivingDetected))</c>.
/// It lives in Core so that actors without hardware (alerts) can subscribe without referencing the
/// device drivers.
/// </summary>
/// <param name="VehicleId">The vehicle whose sensor saw the event.</param>
/// <param name="SensorId">The sensor (the reading's device id).</param>
/// <param name="TimestampMs">The reading's timestamp (Unix ms): when the episode ended and was detected.</param>
/// <param name="Event">The event: type, peak magnitude (m/s²) and duration.</param>
public sealed record HarshDrivingDetected(string VehicleId, string SensorId, long TimestampMs, DrivingEventValue Event);
