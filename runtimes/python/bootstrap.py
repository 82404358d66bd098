#!/usr/bin/env python3
"""Portico's AWS Lambda Runtime API client for Python handlers.

Portico starts it as `python3 bootstrap.py` in the function's code directory, with
the environment a Lambda execution environment has (AWS_LAMBDA_RUNTIME_API, _HANDLER,
LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, ...). It imports the handler, then loops:
GET the next invocation, call handler(event, context), POST the result or the error.
What a handler sees and what the Runtime API receives follow AWS's own client,
awslambdaric (same error types and messages, same context object, same log format).

Standard library only; Python 3.9 or newer. See README.md beside this file.
"""

import importlib
import json
import logging
import os
import re
import signal
import socket
import sys
import time
import traceback

_API = "/2018-06-01/runtime"
_USER_AGENT = "portico-python-runtime/1 (python/%d.%d.%d)" % sys.version_info[:3]
# An X-Ray cause this large or larger is not sent. awslambdaric's limit is 1 MiB;
# Portico's Runtime API takes request heads up to 64 KiB.
_MAX_XRAY_HEADER = 32 * 1024

# Error types, as awslambdaric names them (lambda_runtime_exception.py).
MARSHAL_ERROR = "Runtime.MarshalError"
UNMARSHAL_ERROR = "Runtime.UnmarshalError"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"


class Fault(Exception):
    """A failure the runtime itself classifies (the error type is not the exception's)."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


def _fail(message):
    """Ends the process because the Runtime API cannot be used."""
    try:
        sys.stdout.flush()
    except Exception:
        pass
    sys.stderr.write("portico python runtime: %s\n" % message)
    sys.stderr.flush()
    sys.exit(1)


# --------------------------------------------------------------------------- JSON

def _json_settings():
    # AWS's python3.12 and later runtimes write non-ASCII characters as they are;
    # older ones escape them (awslambdaric picks by AWS_EXECUTION_ENV, and escapes
    # when it is not set). An unversioned "AWS_Lambda_python" goes by this interpreter.
    execution_env = os.environ.get("AWS_EXECUTION_ENV", "")
    if execution_env == "AWS_Lambda_python":
        return sys.version_info >= (3, 12)
    m = re.match(r"AWS_Lambda_python(\d+)\.(\d+)$", execution_env)
    return bool(m) and (int(m.group(1)), int(m.group(2))) >= (3, 12)


_RAW_UNICODE = _json_settings()
# A Decimal is written as its exact digits, as awslambdaric's encoder does. The
# stdlib encoder has no raw values, so a Decimal becomes a marked string that is
# replaced after encoding; the mark holds a NUL (always escaped by the encoder) and
# a per-process random token, so no string a handler returns can look like it.
_DECIMAL_TOKEN = "pd" + os.urandom(6).hex()
_DECIMAL_OPEN = "\x00" + _DECIMAL_TOKEN + ":"
_DECIMAL_FOUND = "\\u0000" + _DECIMAL_TOKEN + ":"
_DECIMAL_RE = re.compile(r'"\\u0000' + _DECIMAL_TOKEN + r':([^"\\]*)\\u0000"')


class _Encoder(json.JSONEncoder):
    def default(self, o):
        # A Decimal exists only once its module is imported: no need to import it here.
        decimal = sys.modules.get("decimal")
        if decimal is not None and isinstance(o, decimal.Decimal):
            if o.is_nan():
                return float("nan")
            return _DECIMAL_OPEN + str(o) + "\x00"
        asdict = getattr(o, "_asdict", None)  # simplejson writes these as objects
        if callable(asdict):
            return asdict()
        return super().default(o)  # TypeError: Object of type X is not JSON serializable


_encoder = _Encoder(ensure_ascii=not _RAW_UNICODE, allow_nan=True)
_ascii_encoder = json.JSONEncoder(ensure_ascii=True, allow_nan=True, default=str)  # X-Ray cause
_log_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=True, default=str)  # JSON log lines


def to_json(obj):
    text = _encoder.encode(obj)
    if _DECIMAL_FOUND in text:
        text = _DECIMAL_RE.sub(r"\1", text)
    return text


def marshal_response(result):
    """The response body and its Content-Type, as awslambdaric's marshaller gives them."""
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return to_json(result).encode("utf-8"), "application/json"
    except Exception as e:
        raise Fault(MARSHAL_ERROR, "Unable to marshal response: {}".format(e))


def unmarshal_event(body, content_type):
    # awslambdaric decodes the event only when the Content-Type is application/json
    # and passes other bodies as bytes; a missing Content-Type is taken as JSON here.
    if content_type and content_type.split(";", 1)[0].strip().lower() != "application/json":
        return body
    try:
        return json.loads(body)
    except Exception as e:
        raise Fault(UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(e))


# --------------------------------------------------------------------------- HTTP

class _ConnectionLost(Exception):
    pass


class RuntimeAPIClient:
    """HTTP/1.1 to the Runtime API over one persistent connection (no timeouts: the
    next-invocation request is a long poll). A request that fails because the
    connection dropped is sent once more on a new connection."""

    def __init__(self, address):
        self.address = address
        host, sep, port = address.rpartition(":")
        if not sep or not port.isdigit():
            host, port = address, "80"
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        self.host = host or "127.0.0.1"
        # As bytes, so resolving it does not import the idna codec (a cold-start cost).
        self.host_b = self.host.encode("ascii") if self.host.isascii() else self.host.encode("idna")
        self.port = int(port)
        self.sock = None
        self.rfile = None

    def close(self):
        if self.rfile is not None:
            try:
                self.rfile.close()
            except OSError:
                pass
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = self.rfile = None

    def _connect(self):
        sock = socket.create_connection((self.host_b, self.port))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.sock = sock
        self.rfile = sock.makefile("rb")

    def request(self, method, path, body=None, headers=None):
        head = "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n" % (
            method, path, self.address, _USER_AGENT)
        if headers:
            for name, value in headers.items():
                head += "%s: %s\r\n" % (name, value)
        if body is not None:
            head += "Content-Length: %d\r\n" % len(body)
        data = head.encode("latin-1", "replace") + b"\r\n"
        if body:
            data += body
        error = None
        for _ in range(2):
            try:
                if self.sock is None:
                    self._connect()
                try:
                    self.sock.sendall(data)
                except OSError as e:
                    # The server may have answered before reading the whole body and
                    # closed (413 for a payload over the limit): read that answer.
                    try:
                        answer = self._read_response()
                    except (OSError, _ConnectionLost, ValueError):
                        raise e from None
                    self.close()
                    return answer
                return self._read_response()
            except (OSError, _ConnectionLost, ValueError) as e:
                self.close()
                error = e
        _fail("cannot reach the Runtime API at %s (%s %s): %s" % (
            self.address, method, path, error or "connection closed"))

    def _read_response(self):
        rfile = self.rfile
        while True:
            line = rfile.readline(65537)
            if not line:
                raise _ConnectionLost("connection closed")
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
                raise _ConnectionLost("bad status line %r" % line[:100])
            version, status = parts[0], int(parts[1])
            headers = {}
            while True:
                line = rfile.readline(65537)
                if not line:
                    raise _ConnectionLost("connection closed")
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.partition(b":")
                value = value.strip()
                try:
                    text = value.decode("utf-8")
                except UnicodeDecodeError:
                    text = value.decode("latin-1")
                headers[name.strip().decode("latin-1").lower()] = text
            if status >= 200 or status == 101:
                break  # 1xx interim responses are skipped
        connection = headers.get("connection", "").lower()
        keep = ("close" not in connection) if version == b"HTTP/1.1" else ("keep-alive" in connection)
        if status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked()
        elif "content-length" in headers:
            length = int(headers["content-length"])
            body = rfile.read(length) if length else b""
            if len(body) < length:
                raise _ConnectionLost("connection closed in the body")
        else:
            body = rfile.read()
            keep = False
        if not keep:
            self.close()
        return status, headers, body

    def _read_chunked(self):
        rfile = self.rfile
        chunks = []
        while True:
            line = rfile.readline(65537)
            if not line:
                raise _ConnectionLost("connection closed in the body")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                break
            chunk = rfile.read(size)
            if len(chunk) < size:
                raise _ConnectionLost("connection closed in the body")
            chunks.append(chunk)
            rfile.readline(65537)  # the CRLF after the chunk
        while True:  # trailers, up to the empty line
            line = rfile.readline(65537)
            if not line or line in (b"\r\n", b"\n"):
                break
        return b"".join(chunks)

    # Runtime API calls

    def next_invocation(self):
        status, headers, body = self.request("GET", _API + "/invocation/next")
        if status != 200:
            _fail("GET %s/invocation/next answered %d: %s" % (
                _API, status, body[:1000].decode("utf-8", "replace")))
        if not headers.get("lambda-runtime-aws-request-id"):
            _fail("GET %s/invocation/next answered without Lambda-Runtime-Aws-Request-Id" % _API)
        return headers, body

    def _post(self, path, body, headers):
        status, _, answer = self.request("POST", path, body, headers)
        if not 200 <= status < 300:
            # The invocation is the Runtime API's to settle now; say so and go on.
            sys.stderr.write("portico python runtime: POST %s answered %d: %s\n" % (
                path, status, answer[:1000].decode("utf-8", "replace")))
            sys.stderr.flush()
        return status

    def post_response(self, request_id, body, content_type):
        return self._post("%s/invocation/%s/response" % (_API, request_id), body,
                          {"Content-Type": content_type})

    def post_invocation_error(self, request_id, error, xray_cause):
        headers = {"Content-Type": "application/json"}
        if xray_cause and len(xray_cause) < _MAX_XRAY_HEADER:
            headers["Lambda-Runtime-Function-XRay-Error-Cause"] = xray_cause
        return self._post("%s/invocation/%s/error" % (_API, request_id),
                          to_json(error).encode("utf-8"), headers)

    def post_init_error(self, error):
        return self._post(_API + "/init/error", to_json(error).encode("utf-8"), {
            "Content-Type": "application/json",
            "Lambda-Runtime-Function-Error-Type": error["errorType"],
        })


# --------------------------------------------------------------------------- context

class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity=None):
        identity = identity if isinstance(identity, dict) else {}
        self.cognito_identity_id = identity.get("cognitoIdentityId")
        self.cognito_identity_pool_id = identity.get("cognitoIdentityPoolId")

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id, self.cognito_identity_pool_id)


class Client:
    __slots__ = ("installation_id", "app_title", "app_version_name",
                 "app_version_code", "app_package_name")

    def __init__(self, client):
        for name in self.__slots__:
            setattr(self, name, client.get(name))

    def __repr__(self):
        return "Client([%s])" % ",".join(
            "%s=%s" % (name, getattr(self, name)) for name in self.__slots__)


class ClientContext:
    __slots__ = ("custom", "env", "client")

    def __init__(self, context):
        self.custom = context.get("custom")
        self.env = context.get("env")
        client = context.get("client")
        self.client = Client(client) if isinstance(client, dict) else client

    def __repr__(self):
        return "ClientContext([custom=%s,env=%s,client=%s])" % (self.custom, self.env, self.client)


class LambdaContext:
    """The handler's context: the attributes and methods of awslambdaric's LambdaContext."""

    def __init__(self, request_id, client_context, cognito_identity, deadline_ms,
                 invoked_function_arn=None, tenant_id=None):
        env = os.environ
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")  # a string, as on AWS
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self.client_context = ClientContext(client_context) if isinstance(client_context, dict) else None
        self.identity = CognitoIdentity(cognito_identity)
        self._epoch_deadline_time_in_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
            "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
            "invoked_function_arn=%s,client_context=%s,identity=%s,tenant_id=%s])" % (
                self.aws_request_id, self.log_group_name, self.log_stream_name,
                self.function_name, self.memory_limit_in_mb, self.function_version,
                self.invoked_function_arn, self.client_context, self.identity, self.tenant_id))


def _parse_json_header(value, what):
    try:
        return json.loads(value)
    except Exception as e:
        raise Fault(LAMBDA_CONTEXT_UNMARSHAL_ERROR, "Unable to parse {} JSON: {}".format(what, e))


# --------------------------------------------------------------------------- logging

_request_id = None  # of the invocation being handled (None between invocations)
_tenant_id = None
_LOG_FORMAT_JSON = os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"
_JSON_DATEFMT = "%Y-%m-%dT%H:%M:%SZ"


class _RequestFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id or ""
        record.tenant_id = _tenant_id
        return True


class _StdoutHandler(logging.Handler):
    def emit(self, record):
        try:
            sys.stdout.write(self.format(record))  # the format ends the line
        except Exception:
            self.handleError(record)


_STANDARD_RECORD_FIELDS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
        "message", "asctime", "aws_request_id", "tenant_id"}


class _JsonFormatter(logging.Formatter):
    """AWS_LAMBDA_LOG_FORMAT=JSON: one JSON object a line, with Lambda's field names."""

    def __init__(self):
        super().__init__(datefmt=_JSON_DATEFMT)

    def format(self, record):
        level = min(50, max(0, record.levelno)) // 10 * 10
        out = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": logging.getLevelName(level),
            "message": record.getMessage(),
            "logger": record.name,
        }
        exc = record.exc_info
        if exc and exc[0] is not None:
            out["stackTrace"] = traceback.format_tb(exc[2])
            out["errorType"] = exc[0].__name__
            out["errorMessage"] = str(exc[1])
        out["requestId"] = getattr(record, "aws_request_id", None)
        if exc and exc[0] is not None:
            out["location"] = "%s:%s:%s" % (record.pathname, record.funcName, record.lineno)
        if getattr(record, "tenant_id", None) is not None:
            out["tenantId"] = record.tenant_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_RECORD_FIELDS and key not in out:
                out[key] = value
        return _log_encoder.encode({k: v for k, v in out.items() if v is not None}) + "\n"


def _setup_logging():
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    if _LOG_FORMAT_JSON:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(_RequestFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    level = "DEBUG" if level == "TRACE" else level
    if level in ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL"):
        root.setLevel(level)


def log_error(error):
    """Writes an error as Lambda's Python runtime does: one log entry, its lines
    joined by CR, the stack trace's indentation in no-break spaces."""
    if _LOG_FORMAT_JSON:
        entry = {"timestamp": time.strftime(_JSON_DATEFMT, time.gmtime()), "log_level": "ERROR"}
        entry.update(error)
        sys.stdout.write(to_json(entry) + "\n")
        return
    first = "[ERROR]"
    if error.get("errorType"):
        first += " " + error["errorType"]
    if error.get("errorMessage"):
        first += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
    lines = [first]
    trace = error.get("stackTrace")
    if trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in trace:
            if element == "":
                lines.append("")
                continue
            for line in element.splitlines():
                stripped = line.lstrip(" ")
                lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    sys.stdout.write("\r".join(lines) + "\n")


# --------------------------------------------------------------------------- errors

def make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace or [],
    }


def _user_frames(tb):
    """The traceback's frames from the first one not in this file on."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if frame[0] != _THIS_FILE:
            return frames[i:]
    return frames


def _xray_cause(error_type, message, frames):
    return _ascii_encoder.encode({
        "working_directory": os.getcwd(),
        "exceptions": [{
            "message": message,
            "type": error_type,
            "stack": [{"label": name, "path": path, "line": line} for path, line, name, _ in frames],
        }],
        "paths": list(dict.fromkeys(path for path, _, _, _ in frames)),
    })


def _exception_error(exc, request_id=None):
    frames = _user_frames(exc.__traceback__)
    error_type = type(exc).__name__
    error = make_error(str(exc), error_type, traceback.format_list(frames), request_id)
    return error, _xray_cause(error_type, str(exc), frames)


# --------------------------------------------------------------------------- init

def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise Fault(MALFORMED_HANDLER_NAME, "Bad handler '{}': {}".format(handler, e))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise Fault(BUILT_IN_MODULE_CONFLICT,
                        "Cannot use built-in module {} as a handler module".format(modname))
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise Fault(IMPORT_MODULE_ERROR, "Unable to import module '{}': {}".format(modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise Fault(USER_CODE_SYNTAX_ERROR, "Syntax error in module '{}': {}".format(modname, e), trace)
    try:
        return getattr(module, fname)
    except AttributeError:
        raise Fault(HANDLER_NOT_FOUND, "Handler '{}' missing on module '{}'".format(fname, modname))


def _setup_stdio():
    # Lambda shows output as it is printed: write whole lines at once, not blocks.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(line_buffering=True)
            except Exception:
                pass


def _flush_stdio():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _on_signal(signum, frame):
    # Ends the process at once, whatever the main thread is doing (blocked in the long
    # poll, or in the handler): a SystemExit could be caught by the handler's code or
    # wait on its threads. Lambda itself does not run exit hooks at shutdown either.
    _flush_stdio()
    os._exit(0 if signum == signal.SIGTERM else 128 + signum)


def _setup_sys_path():
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    here = os.path.dirname(os.path.abspath(__file__))
    # `python3 /path/bootstrap.py` put this file's folder first; user code must not
    # import from it, and the function's code comes first, as on Lambda.
    if sys.path and sys.path[0] and os.path.abspath(sys.path[0]) == here and here != os.path.abspath(task_root):
        del sys.path[0]
    sys.path.insert(0, task_root)


# --------------------------------------------------------------------------- loop

def handle_invocation(client, handler, headers, body):
    global _request_id, _tenant_id
    request_id = headers["lambda-runtime-aws-request-id"]
    _request_id = request_id
    _tenant_id = headers.get("lambda-runtime-aws-tenant-id") or None
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)

    error = None
    try:
        client_context = headers.get("lambda-runtime-client-context")
        client_context = _parse_json_header(client_context, "Client Context") if client_context else None
        identity = headers.get("lambda-runtime-cognito-identity")
        identity = _parse_json_header(identity, "Cognito Identity") if identity else None
        try:
            deadline = int(headers.get("lambda-runtime-deadline-ms", "0"))
        except ValueError:
            deadline = 0
        context = LambdaContext(request_id, client_context, identity, deadline,
                                headers.get("lambda-runtime-invoked-function-arn"), _tenant_id)
        event = unmarshal_event(body, headers.get("content-type"))
        result = handler(event, context)
        payload, content_type = marshal_response(result)
    except Fault as e:
        error = make_error(e.message, e.error_type, e.trace, request_id)
        xray = _xray_cause("LambdaValidationError", e.message, [])
    except Exception as e:
        error, xray = _exception_error(e, request_id)

    if error is not None:
        log_error(error)
        _flush_stdio()
        client.post_invocation_error(request_id, error, xray)
    else:
        _flush_stdio()
        client.post_response(request_id, payload, content_type)


def main():
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    _setup_stdio()
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        _fail("AWS_LAMBDA_RUNTIME_API is not set")
    client = RuntimeAPIClient(address)
    _setup_logging()
    _setup_sys_path()
    handler_name = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("_HANDLER", "")

    error = None
    try:
        handler = load_handler(handler_name)
    except Fault as e:
        error = make_error(e.message, e.error_type, e.trace)
    except Exception as e:
        error, _ = _exception_error(e)
    if error is not None:
        log_error(error)
        _flush_stdio()
        client.post_init_error(error)
        sys.exit(1)

    while True:
        headers, body = client.next_invocation()
        handle_invocation(client, handler, headers, body)


_THIS_FILE = main.__code__.co_filename

if __name__ == "__main__":
    main()
