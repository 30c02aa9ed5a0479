"""serve(): go-plugin's handshake with AutoMTLS, the services the host calls, and Outbound
through the broker. docs/PROTOCOL.md says what each piece must do."""

import base64
import datetime
import json
import os
import sys
import tempfile
import threading
import time
from concurrent import futures

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from google.protobuf import any_pb2, duration_pb2

from ._action import Error, Logger, Request, Response
from ._pb import goplugin_pb2, health_pb2, plugin_pb2, status_pb2

MAGIC_KEY = "SWITCHBOARD_PLUGIN"
MAGIC_VALUE = "b7f4c2e1-switchboard-action-plugin"
PROTOCOL_VERSION = 1
MAX_MESSAGE = 32 << 20
SDK = "python/1"
_OPTIONS = [("grpc.max_send_message_length", MAX_MESSAGE), ("grpc.max_receive_message_length", MAX_MESSAGE)]


def _certificate():
    """A self-signed certificate and key, as go-plugin's AutoMTLS makes them."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(seconds=30)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_cert_sign=True, content_commitment=False,
                                         data_encipherment=False, key_agreement=False, crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    der = cert.public_bytes(serialization.Encoding.DER)
    return cert_pem, key_pem, der


def _error_status(context, e):
    """Ends the call with a typed error: a gRPC status whose one detail is an Error."""
    err = plugin_pb2.Error(code=e.code, message=e.message, http_status=e.status, retryable=e.retryable,
                           retry_after_ms=int(e.retry_after * 1000))
    detail = any_pb2.Any()
    detail.Pack(err)
    st = status_pb2.Status(code=grpc.StatusCode.UNKNOWN.value[0], message=e.message, details=[detail])
    context.set_trailing_metadata([("grpc-status-details-bin", st.SerializeToString())])
    context.abort(grpc.StatusCode.UNKNOWN, e.message)


def _typed_error(rpc_error):
    """The typed Error a failed call carries, if it carries one."""
    for key, value in (rpc_error.trailing_metadata() or ()):
        if key == "grpc-status-details-bin":
            st = status_pb2.Status.FromString(value)
            for d in st.details:
                err = plugin_pb2.Error()
                if d.Unpack(err):
                    return Error(err.http_status, err.code, err.message, err.retryable, err.retry_after_ms / 1000)
    return None


class _Broker:
    """go-plugin's broker, plugin side: the host sends ConnInfo on the stream it opens; the
    plugin dials the address it names."""

    def __init__(self):
        self._infos = {}
        self._cond = threading.Condition()
        self._closed = threading.Event()

    def start_stream(self, requests, context):
        def read():
            try:
                for info in requests:
                    with self._cond:
                        self._infos[info.service_id] = info
                        self._cond.notify_all()
            except grpc.RpcError:
                pass
        threading.Thread(target=read, daemon=True).start()
        while not self._closed.wait(1) and context.is_active():
            pass
        return iter(())

    def address(self, service_id, timeout=5.0):
        with self._cond:
            if not self._cond.wait_for(lambda: service_id in self._infos, timeout):
                raise Error(503, "broker_timeout", "the host did not say where its Outbound service is")
            return self._infos[service_id]

    def close(self):
        self._closed.set()


class _Host:
    """What the actions reach of the host: Outbound, once Describe named it."""

    def __init__(self, broker, cert_pem, key_pem, host_cert_pem):
        self._broker = broker
        self._creds = grpc.ssl_channel_credentials(root_certificates=host_cert_pem, private_key=key_pem, certificate_chain=cert_pem)
        self._broker_id = 0
        self._do = None
        self._lock = threading.Lock()

    def set_broker_id(self, broker_id):
        self._broker_id = broker_id

    def _outbound(self):
        with self._lock:
            if self._do is None:
                if not self._broker_id:
                    raise Error(503, "outbound_unavailable", "the host serves no Outbound to this plugin")
                info = self._broker.address(self._broker_id)
                channel = grpc.secure_channel("unix:" + info.address, self._creds,
                                              options=_OPTIONS + [("grpc.ssl_target_name_override", "localhost"), ("grpc.default_authority", "localhost")])
                self._do = channel.unary_unary("/switchboard.plugin.v1.Outbound/Do",
                                               request_serializer=plugin_pb2.OutboundRequest.SerializeToString,
                                               response_deserializer=plugin_pb2.OutboundResponse.FromString)
            return self._do

    def outbound(self, req, connection, method, path, template, headers, body):
        call = plugin_pb2.OutboundRequest(invocation_id=req.invocation_id, connection=connection, method=method, url=path,
                                          body=body, path_template=template)
        for name, value in headers.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            call.headers.add(name=name, values=[str(v) for v in values])
        remaining = req.remaining()
        if remaining is not None and remaining <= 0:
            raise Error(504, "timeout", "the invocation's deadline has passed")
        try:
            resp = self._outbound()(call, timeout=remaining)
        except grpc.RpcError as e:
            typed = _typed_error(e)
            if typed is not None:
                raise typed from None
            if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise Error(504, "timeout", "the downstream call ran out of time") from None
            raise Error(502, "outbound_failed", "the call through the host failed") from None
        hdrs = {}
        for h in resp.headers:
            hdrs.setdefault(h.name.lower(), []).extend(h.values)
        return Response(resp.status, hdrs, resp.body, resp.attempts)


def _describe(actions):
    out = plugin_pb2.DescribeResponse(sdk=SDK, version=os.environ.get("SWITCHBOARD_PLUGIN_VERSION", ""))
    for a in actions:
        pa = out.actions.add(name=a.name, version=a._version, description=a._description, connections=a._uses,
                             idempotent=a._idempotent, secure=a._secure)
        if a._input is not None:
            pa.input_schema = a._input.encode()
        if a._output is not None:
            pa.output_schema = a._output.encode()
        if a._timeout:
            pa.timeout.CopyFrom(duration_pb2.Duration(seconds=int(a._timeout), nanos=int((a._timeout % 1) * 1e9)))
        if a._cache is not None:
            c = a._cache
            pa.cache.ttl.FromNanoseconds(int(c.ttl * 1e9))
            pa.cache.stale_while_revalidate.FromNanoseconds(int(c.stale_while_revalidate * 1e9))
            pa.cache.stale_if_error.FromNanoseconds(int(c.stale_if_error * 1e9))
            pa.cache.key.extend(c.key)
    return out


def serve(*actions):
    """Serves the actions until the host stops the plugin. A mistake in them, or a start that
    is not the host's, is printed on standard error and exits 1."""
    errs = [e for a in actions for e in a.check()]
    names = [a.name for a in actions]
    errs += ["action %r is declared twice" % n for n in set(names) if names.count(n) > 1]
    if not actions:
        errs.append("no actions")
    if errs:
        sys.stderr.write("switchboard: " + "; ".join(errs) + "\n")
        sys.exit(1)
    if os.environ.get(MAGIC_KEY) != MAGIC_VALUE:
        sys.stderr.write("This is a Switchboard plugin: the host starts it. Put it in the host's plugins directory.\n")
        sys.exit(1)
    versions = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", str(PROTOCOL_VERSION)).split(",")
    if str(PROTOCOL_VERSION) not in versions:
        sys.stderr.write("switchboard: the host speaks plugin protocol %s, this plugin %d\n" % (",".join(versions), PROTOCOL_VERSION))
        sys.exit(1)
    Logger.level = os.environ.get("SWITCHBOARD_LOG_LEVEL", "info") or "info"
    host_cert = os.environ.get("PLUGIN_CLIENT_CERT", "").encode()
    if not host_cert:
        sys.stderr.write("switchboard: no PLUGIN_CLIENT_CERT: the host must use AutoMTLS\n")
        sys.exit(1)
    cert_pem, key_pem, der = _certificate()

    by_name = {a.name: a for a in actions}
    broker = _Broker()
    host = _Host(broker, cert_pem, key_pem, host_cert)
    stop = threading.Event()
    logger = Logger()

    def describe(request, context):
        host.set_broker_id(request.outbound_broker_id)
        return _describe(actions)

    def invoke(request, context):
        a = by_name.get(request.action)
        if a is None:
            _error_status(context, Error(404, "action_not_found", "this plugin has no action %r" % request.action))
        req = Request(request.action, request.request_id, request.metadata, request.input, request.invocation_id, context, host)
        try:
            out = a._handler(req)
        except Error as e:
            _error_status(context, e)
        except Exception as e:  # the host answers 500 action_failed, without the text
            req.logger.error("the handler failed", error=repr(e))
            _error_status(context, Error(500, "action_failed", "the action failed"))
        if out is None:
            out = {}
        raw = out.encode() if isinstance(out, str) else out if isinstance(out, bytes) else json.dumps(out, separators=(",", ":")).encode()
        return plugin_pb2.InvokeResponse(output=raw)

    def check(request, context):
        status = health_pb2.HealthCheckResponse.SERVING if request.service in ("", "plugin") else health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
        return health_pb2.HealthCheckResponse(status=status)

    def shutdown(request, context):
        stop.set()
        return goplugin_pb2.Empty()

    def stdio(request, context):
        stop.wait()
        return iter(())

    unary = grpc.unary_unary_rpc_method_handler
    handlers = [
        grpc.method_handlers_generic_handler("switchboard.plugin.v1.ActionPlugin", {
            "Describe": unary(describe, plugin_pb2.DescribeRequest.FromString, plugin_pb2.DescribeResponse.SerializeToString),
            "Invoke": unary(invoke, plugin_pb2.InvokeRequest.FromString, plugin_pb2.InvokeResponse.SerializeToString),
        }),
        grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
            "Check": unary(check, health_pb2.HealthCheckRequest.FromString, health_pb2.HealthCheckResponse.SerializeToString),
        }),
        grpc.method_handlers_generic_handler("plugin.GRPCBroker", {
            "StartStream": grpc.stream_stream_rpc_method_handler(broker.start_stream, goplugin_pb2.ConnInfo.FromString,
                                                                 goplugin_pb2.ConnInfo.SerializeToString),
        }),
        grpc.method_handlers_generic_handler("plugin.GRPCController", {
            "Shutdown": unary(shutdown, goplugin_pb2.Empty.FromString, goplugin_pb2.Empty.SerializeToString),
        }),
        grpc.method_handlers_generic_handler("plugin.GRPCStdio", {
            "StreamStdio": grpc.unary_stream_rpc_method_handler(stdio, goplugin_pb2.Empty.FromString, goplugin_pb2.StdioData.SerializeToString),
        }),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64), handlers=handlers, options=_OPTIONS)
    creds = grpc.ssl_server_credentials([(key_pem, cert_pem)], root_certificates=host_cert, require_client_auth=True)
    sock_dir = os.environ.get("PLUGIN_UNIX_SOCKET_DIR") or tempfile.mkdtemp()
    sock = os.path.join(sock_dir, "plugin-%d.sock" % os.getpid())
    if not server.add_secure_port("unix:" + sock, creds):
        sys.stderr.write("switchboard: cannot listen on %s\n" % sock)
        sys.exit(1)
    server.start()
    sys.stdout.write("1|%d|unix|%s|grpc|%s\n" % (PROTOCOL_VERSION, sock, base64.b64encode(der).decode().rstrip("=")))
    sys.stdout.flush()

    parent = os.getppid()

    def watch_parent():
        while not stop.wait(1):
            if os.getppid() != parent:
                logger.warn("the host is gone: stopping")
                stop.set()
    threading.Thread(target=watch_parent, daemon=True).start()
    stop.wait()
    broker.close()
    server.stop(grace=1).wait()
    try:
        os.unlink(sock)
    except OSError:
        pass
