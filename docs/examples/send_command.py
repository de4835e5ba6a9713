#!/usr/bin/env python3
"""Send one signed command to a Fleet.Actors vehicle and print its responses (docs/commands.md).

Needs only Debian's packages and the schema:

    apt-get install python3-cryptography python3-protobuf python3-paho-mqtt protobuf-compiler
    protoc --proto_path=src/Fleet.Actors.Core/Commands --python_out=docs/examples commands.proto

(commands_pb2.py must sit next to this file or on PYTHONPATH.) Examples:

    send_command.py --broker mqtt://127.0.0.1:1883 --key fleet-ops.key --tenant acme --vehicle truck-7 \
        --type ASSIGN_MISSION --payload '{"mission_id": "m-42", "route_id": "r-9"}'
    send_command.py --broker mqtt://127.0.0.1:1883 --key fleet-ops.key --tenant acme --vehicle truck-7 --type PAUSE

Exit code: 0 when the final response is SUCCEEDED; 2 on NACK or FAILED; 3 when no final response
came within --timeout (or the broker could not be reached); 1 on bad usage. The same codes as
`fleet-agent command send`.
"""

import argparse
import json
import queue
import sys
import time
import urllib.parse
import uuid

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf import json_format

import commands_pb2 as pb

# The payload field (the `payload` oneof of Command) that each type carries; None: no payload.
# CANCEL_MISSION and the three stop types take theirs optionally.
PAYLOAD_FIELD = {
    "ASSIGN_MISSION": "assign_mission",
    "CANCEL_MISSION": "cancel_mission",
    "PAUSE": None,
    "RESUME": None,
    "SAFE_STOP": "stop",
    "EMERGENCY_STOP": "stop",
    "RESET_EMERGENCY_STOP": "stop",
    "CHANGE_OPERATIONAL_MODE": "change_operational_mode",
    "UPDATE_ROUTE": "update_route",
    "DIAGNOSTICS": None,
    "OTA_UPDATE": None,
    "CONFIGURATION_UPDATE": "configuration_update",
    "REBOOT": None,
    "SERVICE_RESTART": None,
    "GPIO_WRITE": "gpio_write",
    "MODBUS_WRITE": "modbus_write",
    "DTC_CLEAR": "dtc_clear",
    "SCRIPT_INSTALL": "script_install",
    "SCRIPT_REMOVE": "script",
    "SCRIPT_ENABLE": "script",
    "SCRIPT_DISABLE": "script",
}

FINAL = {pb.NACK, pb.SUCCEEDED, pb.FAILED}
EXIT_SUCCEEDED, EXIT_USAGE, EXIT_REFUSED, EXIT_NO_ANSWER = 0, 1, 2, 3


def build_command(args):
    """The Command message: who it is for, when it is valid, what it does."""
    now_ms = int(time.time() * 1000)
    command = pb.Command(
        command_id=args.id or str(uuid.uuid4()),
        vehicle_id=args.vehicle,
        tenant=args.tenant,
        issued_at=now_ms,
        expires_at=now_ms + int(args.expires_in * 1000),
        type=pb.CommandType.Value(args.type),
        priority=pb.Priority.Value(args.priority),
        issuer=args.issuer,
    )
    field = PAYLOAD_FIELD[args.type]
    if args.payload is not None:
        if field is None:
            raise ValueError(f"{args.type} takes no payload")
        payload = getattr(command, field)
        payload.SetInParent()  # present even when every field keeps its default
        json_format.ParseDict(json.loads(args.payload), payload)
    return command


def sign(command, key):
    """SignedCommand: the serialized Command, and ECDSA P-256 / SHA-256 over exactly those bytes (DER)."""
    command_bytes = command.SerializeToString()
    signature = key.sign(command_bytes, ec.ECDSA(hashes.SHA256()))
    return pb.SignedCommand(command=command_bytes, signature=signature).SerializeToString()


def load_private_key(path):
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError(f"{path} is not an ECDSA P-256 private key")
    return key


def topic(template, tenant, vehicle):
    return template.replace("{tenant}", tenant).replace("{vehicle_id}", vehicle)


def describe(response):
    """One line per response, like `fleet-agent command send` prints it."""
    line = f"{pb.ResponseStatus.Name(response.status):<9} {response.command_id}"
    if response.reason:
        line += f" {response.reason}:"
    if response.message:
        line += f" {response.message}"
    if response.duplicate:
        line += " (repeated: the command was seen before)"
    if response.status == pb.PROGRESS:
        line += f" ({response.progress} %)"
    if response.operational_state:
        line += f" [state {response.operational_state}]"
    for name in sorted(response.details):
        line += f"\n  {name} = {response.details[name]}"
    return line


def send(args, signed, command_id):
    """Subscribes to the responses, publishes the signed bytes, returns the exit code."""
    url = urllib.parse.urlsplit(args.broker if "://" in args.broker else "mqtt://" + args.broker)
    events = queue.Queue()
    client = mqtt.Client(client_id="fleet-py-" + uuid.uuid4().hex[:12], clean_session=True, protocol=mqtt.MQTTv311)
    if url.username:
        client.username_pw_set(urllib.parse.unquote(url.username), urllib.parse.unquote(url.password or ""))
    if url.scheme == "mqtts":
        # TLS 1.2+ with the broker's certificate and name checked: against --ca-file, else the system store;
        # --client-cert and --client-key for mutual TLS.
        client.tls_set(ca_certs=args.ca_file, certfile=args.client_cert, keyfile=args.client_key)
    elif args.ca_file or args.client_cert:
        print("--ca-file and --client-cert need an mqtts:// broker", file=sys.stderr)
        return 1
    client.on_connect = lambda c, u, flags, rc: events.put(("connect", rc))
    client.on_subscribe = lambda c, u, mid, granted: events.put(("subscribe", granted))
    client.on_message = lambda c, u, message: events.put(("message", message.payload))

    deadline = time.monotonic() + args.timeout

    def next_event(what):
        # The network loop runs here, in this thread: a TLS or connection error is raised here (and
        # reported below), not lost in a background thread.
        while True:
            try:
                return events.get_nowait()
            except queue.Empty:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(what)
            rc = client.loop(timeout=min(left, 0.1))
            if rc != mqtt.MQTT_ERR_SUCCESS:
                raise ConnectionError(f"the connection ended ({mqtt.error_string(rc)})")

    try:
        client.connect(url.hostname, url.port or (8883 if url.scheme == "mqtts" else 1883), keepalive=30)
    except OSError as e:
        print(f"send_command: {args.broker}: {e}", file=sys.stderr)
        return EXIT_NO_ANSWER
    info = None
    try:
        kind, rc = next_event("connection")
        if rc != 0:
            print(f"send_command: the broker refused the connection: {mqtt.connack_string(rc)}", file=sys.stderr)
            return EXIT_NO_ANSWER
        # Subscribe first, so that no response can pass by before we listen.
        client.subscribe(topic(args.responses_topic, args.tenant, args.vehicle), qos=1)
        kind, granted = next_event("subscription")
        if granted[0] not in (1, 2):
            print(f"send_command: the broker refused the subscription (granted {granted[0]})", file=sys.stderr)
            return EXIT_NO_ANSWER
        info = client.publish(topic(args.commands_topic, args.tenant, args.vehicle), signed, qos=1)
        while True:
            kind, payload = next_event("final response")
            if kind != "message":
                continue
            response = pb.CommandResponse()
            response.ParseFromString(payload)
            # Refusals of bytes that did not decode far enough carry no command id.
            if response.command_id not in (command_id, ""):
                continue
            print(describe(response), flush=True)
            if response.status in FINAL:
                return EXIT_SUCCEEDED if response.status == pb.SUCCEEDED else EXIT_REFUSED
    except TimeoutError as e:
        published = "published" if info is not None and info.is_published() else "not even published"
        print(f"send_command: no {e} for {command_id} within {args.timeout:g} s (command {published}; is the vehicle online? "
              "a command sent to an offline vehicle runs when it reconnects, unless it has expired)", file=sys.stderr)
        return EXIT_NO_ANSWER
    except OSError as e:
        # A TLS handshake the broker ended (no or a wrong client certificate), a dropped connection.
        print(f"send_command: {args.broker}: {e}", file=sys.stderr)
        return EXIT_NO_ANSWER
    finally:
        try:
            client.disconnect()
        except OSError:
            pass  # the connection is gone already


class Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse exits 2 on bad usage; 2 means NACK or FAILED here.
        self.print_usage(sys.stderr)
        print(f"send_command: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def main():
    parser = Parser(description="Sign one command, send it to a vehicle and wait for its final response.")
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt://[user:password@]host:port, or mqtts:// for TLS")
    parser.add_argument("--ca-file", help="with mqtts://: the CA certificate (PEM) that signed the broker's (default: the system store)")
    parser.add_argument("--client-cert", help="with mqtts://: a client certificate (PEM) for mutual TLS")
    parser.add_argument("--client-key", help="its private key (PEM)")
    parser.add_argument("--key", help="the issuer's private key, PEM (PKCS#8), from `fleet-agent keys generate`")
    parser.add_argument("--issuer", help="the issuer's key id (default: the key file's name without .key)")
    parser.add_argument("--tenant", help="the vehicle's tenant")
    parser.add_argument("--vehicle", help="the vehicle id")
    parser.add_argument("--type", help="PAUSE, ASSIGN_MISSION, GPIO_WRITE, ... (docs/commands.md)")
    parser.add_argument("--payload", help="the type's payload as JSON, e.g. '{\"mission_id\": \"m-42\"}'")
    parser.add_argument("--id", help="command id (default: a new UUID)")
    parser.add_argument("--priority", default="NORMAL", choices=["LOW", "NORMAL", "HIGH", "CRITICAL", "EMERGENCY"])
    parser.add_argument("--expires-in", type=float, default=300, help="seconds the command stays valid (default 300)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for the final response (default 30)")
    parser.add_argument("--commands-topic", default="fleet/{tenant}/{vehicle_id}/commands")
    parser.add_argument("--responses-topic", default="fleet/{tenant}/{vehicle_id}/responses")
    parser.add_argument("--save", metavar="FILE", help="also write the signed bytes to FILE (to send them again with --resend)")
    parser.add_argument("--resend", metavar="FILE", help="send these signed bytes again instead of a new command (a retry)")
    args = parser.parse_args()

    if args.resend:
        with open(args.resend, "rb") as f:
            signed = f.read()
        command = pb.Command()
        command.ParseFromString(pb.SignedCommand.FromString(signed).command)
        args.tenant, args.vehicle = command.tenant, command.vehicle_id
        return send(args, signed, command.command_id)

    if not (args.key and args.tenant and args.vehicle):
        parser.error("--key, --tenant and --vehicle are required (unless --resend)")
    if args.type is None or args.type.upper().replace("-", "_") not in PAYLOAD_FIELD:
        parser.error(f"--type must be one of {', '.join(PAYLOAD_FIELD)}")
    args.type = args.type.upper().replace("-", "_")
    if args.issuer is None:
        args.issuer = args.key.rsplit("/", 1)[-1].removesuffix(".key")
    try:
        key = load_private_key(args.key)
        command = build_command(args)
    except (OSError, ValueError, json_format.ParseError) as e:
        print(f"send_command: {e}", file=sys.stderr)
        return EXIT_USAGE
    signed = sign(command, key)
    if args.save:
        with open(args.save, "wb") as f:
            f.write(signed)
    return send(args, signed, command.command_id)


if __name__ == "__main__":
    sys.exit(main())
