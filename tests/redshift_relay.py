"""A loopback relay that lets the real ``redshift_connector`` driver talk to the stand-in.

Why it exists: the connector transport must be exercised with its production
driver, whose exceptions, transaction handling and parameter style are what
the transport's translation has to understand. The driver cannot reach the
embedded PostgreSQL on its own: it speaks only TCP while the stand-in listens
on a Unix socket, and its start-up packet carries Redshift-only parameters
(``client_protocol_version``, ``driver_version``, ``os_version``,
``driver_discovery_version``...) that PostgreSQL refuses with ``FATAL 42704``.

What the relay does, per accepted connection (a thread each, 127.0.0.1 only):

* It rewrites the start-up message: only ``user``, ``database`` and
  ``application_name`` are kept (the names dropped are recorded in
  :attr:`Relay.dropped`), and the session is asked to read string literals
  as Redshift does (``standard_conforming_strings = off``), as
  :class:`~s3redshift.local.standin.StandInConnector` does for pg8000.
  Authentication is the server's own and is relayed as it comes (the
  embedded server trusts local connections, so it answers AuthenticationOk).
* Every later message goes to PostgreSQL byte for byte and every answer comes
  back byte for byte, one Sync-terminated exchange at a time; so the server's
  errors reach the driver as the server sent them and the driver raises its
  own exception classes.
* Except the statements the stand-in emulates (its
  :meth:`~s3redshift.local.standin.StandInConnection.emulates`: COPY from
  S3, carried out from the command the test's transport handed over
  (:func:`~s3redshift.local.standin.hand_over_copy`), the load-error reads
  and ``pg_last_copy_id()``, the ledger's SORTKEY DDL, names longer than
  PostgreSQL keeps): for those the relay plays the
  server. It runs them through the stand-in's own code
  (:class:`~s3redshift.local.standin.StandInCursor`) on the same PostgreSQL
  session, over a minimal client of the backend socket, and answers the
  driver with the protocol messages a server would send. An error there
  aborts the PostgreSQL transaction, as the server would have.

With ``tls`` (see :func:`loopback_tls`), it answers the driver's SSLRequest
and terminates TLS with a certificate for 127.0.0.1 that the driver is made
to trust, so the production arguments (``ssl=True``, ``sslmode='verify-full'``)
run unchanged; without, it refuses TLS (the driver then gives up).

What it does not prove: Redshift's own authentication (trust here), and
Redshift's wording of errors raised inside the emulated COPY by the
stand-in itself (an S3 failure is answered as ``XX000`` with the stand-in's
message). The driver falls back to its base
protocol, since PostgreSQL announces no ``server_protocol_version``.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import struct
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import pg8000.dbapi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from s3redshift.credentials import StaticCredentials
from s3redshift.errors import S3RedshiftError
from s3redshift.identifiers import quote_literal
from s3redshift.local.standin import LoadErrorTable, StandInConnection, StandInCursor
from s3redshift.transports.connector import PasswordAuth, RedshiftConnector

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PROTOCOL_3 = 196608
SSL_REQUEST = 80877103
KEPT_STARTUP = frozenset({"user", "database", "application_name"})
REDSHIFT_READING = {"standard_conforming_strings": "off", "escape_string_warning": "off"}
_INTEGER_OIDS = frozenset({20, 21, 23, 26})
# The stand-in's answers as Redshift types them (bigint line numbers, int copy id);
# every other column is text.
_ANSWER_OIDS = {"line_number": 20, "pg_last_copy_id": 23}
_ABORT_SQL = (
    "DO $$ BEGIN RAISE EXCEPTION 'the emulated statement failed' USING ERRCODE = 'XX000'; END $$"
)


def backend_address(dsn: str) -> str | tuple[str, int]:
    """The stand-in's Unix socket path (or host and port) from its ``postgresql://`` URI."""
    parts = urlsplit(dsn)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    port = int(params.get("port") or parts.port or 5432)
    host = params.get("host") or parts.hostname or "localhost"
    if host.startswith("/"):
        return f"{host}/.s.PGSQL.{port}"
    return (host, port)


# --- the wire format ------------------------------------------------------------------


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError("the peer closed the connection")
        data += chunk
    return bytes(data)


def read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    """One typed protocol message: its code and its body."""
    head = _recv_exact(sock, 5)
    (length,) = struct.unpack("!i", head[1:])
    return head[:1], _recv_exact(sock, length - 4)


def message(code: bytes, body: bytes = b"") -> bytes:
    return code + struct.pack("!i", len(body) + 4) + body


def _cstrings(body: bytes) -> list[bytes]:
    return body.split(b"\x00")


def _cstring(text: str) -> bytes:
    return text.encode() + b"\x00"


def error_fields(body: bytes) -> dict[str, str]:
    """An ErrorResponse body as the drivers' field dict (``C``, ``M``, ``D``...)."""
    fields: dict[str, str] = {}
    for part in _cstrings(body):
        if part:
            fields[part[:1].decode()] = part[1:].decode("utf-8", "replace")
    return fields


def error_response(fields: dict[str, str]) -> bytes:
    body = b"".join(key.encode() + _cstring(value) for key, value in fields.items())
    return message(b"E", body + b"\x00")


def startup_parameters(body: bytes) -> dict[str, str]:
    """The name/value pairs of a start-up message body (after the protocol number)."""
    parts = [p.decode() for p in _cstrings(body[4:])]
    pairs = zip(parts[0::2], parts[1::2], strict=False)
    return {name: value for name, value in pairs if name}


def startup_message(parameters: dict[str, str]) -> bytes:
    body = struct.pack("!i", PROTOCOL_3)
    body += b"".join(_cstring(k) + _cstring(v) for k, v in parameters.items()) + b"\x00"
    return struct.pack("!i", len(body) + 4) + body


# --- a minimal client of the backend, for the stand-in's emulation ------------------


class BackendCursor:
    """What the stand-in's emulation needs of a cursor, over the relayed backend socket.

    Simple-query protocol only: ``execute`` (a ``%s`` argument is written as a
    literal), ``fetchall``, ``rowcount``, ``description`` and COPY FROM STDIN
    from an iterable of text. A server error is raised as pg8000's
    ``ProgrammingError`` with the server's field dict, which is what the
    emulation reads.
    """

    def __init__(self, session: RelayedSession) -> None:
        self._session = session
        self._rows: list[tuple[Any, ...]] = []
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1

    def execute(self, sql: str, args: Any = None, stream: Iterable[str] | None = None) -> None:
        if args is not None:
            sql = sql % tuple(quote_literal(str(a)) for a in args)
        backend = self._session.backend
        backend.sendall(message(b"Q", _cstring(sql)))
        self._rows, self.description, self.rowcount = [], None, -1
        oids: list[int] = []
        error: dict[str, str] | None = None
        while True:
            code, body = read_message(backend)
            if code == b"T":
                oids = self._describe(body)
            elif code == b"D":
                self._rows.append(self._row(body, oids))
            elif code == b"G":
                self._copy_in(stream or ())
            elif code == b"C":
                tag = body.rstrip(b"\x00").decode().split()
                self.rowcount = int(tag[-1]) if tag and tag[-1].isdigit() else -1
            elif code == b"E":
                error = error_fields(body)
            elif code == b"Z":
                self._session.status = body
                break
        if error is not None:
            raise pg8000.dbapi.ProgrammingError(error)

    def _describe(self, body: bytes) -> list[int]:
        (count,) = struct.unpack("!h", body[:2])
        at, oids, self.description = 2, [], []
        for _ in range(count):
            end = body.index(b"\x00", at)
            name = body[at:end].decode()
            oid = struct.unpack("!i", body[end + 7 : end + 11])[0]
            oids.append(oid)
            self.description.append((name, oid, None, None, None, None, None))
            at = end + 19
        return oids

    @staticmethod
    def _row(body: bytes, oids: list[int]) -> tuple[Any, ...]:
        at, values = 2, []
        for oid in oids:
            (size,) = struct.unpack("!i", body[at : at + 4])
            at += 4
            if size < 0:
                values.append(None)
                continue
            text = body[at : at + size].decode()
            at += size
            values.append(int(text) if oid in _INTEGER_OIDS else text == "t" if oid == 16 else text)
        return tuple(values)

    def _copy_in(self, stream: Iterable[str]) -> None:
        backend = self._session.backend
        for chunk in stream:
            backend.sendall(message(b"d", chunk.encode()))
        backend.sendall(message(b"c"))

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        self._rows = []


# --- one relayed session -------------------------------------------------------------


@dataclass
class _Prepared:
    sql: str
    result_formats: tuple[int, ...] = ()


@dataclass
class RelayedSession:
    """One driver connection and its PostgreSQL session."""

    client: socket.socket
    backend: socket.socket
    stand_in: StandInConnection
    status: bytes = b"I"
    statements: dict[bytes, str] = field(default_factory=dict)
    portals: dict[bytes, _Prepared] = field(default_factory=dict)

    def serve(self) -> None:
        """Relay exchanges until either side closes."""
        while True:
            unit = self._read_unit()
            if not unit:
                return
            if unit[-1][0] == b"X":
                self.backend.sendall(b"".join(message(c, b) for c, b in unit))
                return
            if self._emulated(unit):
                self.client.sendall(self._answer(unit))
            else:
                self._forward(unit)

    def _read_unit(self) -> list[tuple[bytes, bytes]]:
        """Client messages up to and including a Sync, Query or Terminate."""
        unit: list[tuple[bytes, bytes]] = []
        while True:
            try:
                code, body = read_message(self.client)
            except (EOFError, OSError):
                return []
            unit.append((code, body))
            if code in (b"S", b"Q", b"X"):
                return unit

    def _emulated(self, unit: list[tuple[bytes, bytes]]) -> bool:
        """Whether the exchange concerns a statement the stand-in answers itself."""
        for code, body in unit:
            if code == b"P":
                name, sql, rest = body.split(b"\x00", 2)
                # The driver reuses statement names after a rollback: a Parse decides anew.
                if rest[:2] == b"\x00\x00" and self.stand_in.emulates(sql.decode()):
                    self.statements[name] = sql.decode()
                else:
                    self.statements.pop(name, None)
            elif code == b"Q" and self.stand_in.emulates(body.rstrip(b"\x00").decode()):
                return True
        return any(self._names(code, body) & set(self.statements) for code, body in unit)

    @staticmethod
    def _names(code: bytes, body: bytes) -> set[bytes]:
        if code == b"P":
            return {body.split(b"\x00", 1)[0]}
        if code == b"B":
            return {body.split(b"\x00", 2)[1]}
        if code in (b"D", b"C") and body[:1] == b"S":
            return {body[1:].split(b"\x00", 1)[0]}
        return set()

    def _forward(self, unit: list[tuple[bytes, bytes]]) -> None:
        self.backend.sendall(b"".join(message(c, b) for c, b in unit))
        answer = bytearray()
        while True:
            try:
                code, body = read_message(self.backend)
            except EOFError:
                self.client.sendall(answer)  # the server's last words (a FATAL), then EOF
                raise
            answer += message(code, body)
            if code == b"Z":
                self.status = body
                self.client.sendall(answer)  # one write: small packets would wait on Nagle
                return

    def _answer(self, unit: list[tuple[bytes, bytes]]) -> bytes:
        out = bytearray()
        failed = False
        for code, body in unit:
            if code == b"S" or (code == b"Q" and failed):
                break
            if failed:
                continue  # the server skips to Sync after an error
            if code == b"P":
                out += message(b"1")
            elif code == b"D":
                out += self._describe(body)
            elif code == b"B":
                portal, name, rest = body.split(b"\x00", 2)
                self.portals[portal] = _Prepared(self.statements[name], _result_formats(rest))
                out += message(b"2")
            elif code == b"E":
                portal = body.split(b"\x00", 1)[0]
                answer, failed = self._execute(self.portals[portal])
                out += answer
            elif code == b"Q":
                answer, failed = self._execute(_Prepared(body.rstrip(b"\x00").decode()))
                out += self._row_description(body.rstrip(b"\x00").decode()) + answer
            elif code == b"C":
                out += message(b"3")
        return bytes(out + message(b"Z", self.status))

    def _describe(self, body: bytes) -> bytes:
        name = body[1:].split(b"\x00", 1)[0]
        if body[:1] == b"S":
            return message(b"t", b"\x00\x00") + self._row_description(self.statements[name])
        return self._row_description(self.portals[name].sql)

    def _row_description(self, sql: str) -> bytes:
        answer = self.stand_in.answer(sql)
        if answer is None:
            return message(b"n")
        columns = answer[0]
        body = struct.pack("!h", len(columns))
        for column in columns:
            oid = _ANSWER_OIDS.get(column, 25)
            body += _cstring(column) + struct.pack("!ihihih", 0, 0, oid, -1, -1, 0)
        return message(b"T", body)

    def _execute(self, prepared: _Prepared) -> tuple[bytes, bool]:
        """Run an emulated statement through the stand-in's cursor; its answer and failure."""
        cursor = StandInCursor(self.stand_in, BackendCursor(self))
        self.stand_in.aborted = False  # PostgreSQL's session state is the one that counts
        try:
            cursor.execute(prepared.sql)
        except Exception as exc:
            self._abort()
            return error_response(_fields_of(exc)), True
        out = bytearray()
        if cursor.description is not None:
            rows = cursor.fetchall()
            for row in rows:
                out += _data_row(row, [d[0] for d in cursor.description], prepared.result_formats)
            out += message(b"C", _cstring(f"SELECT {len(rows)}"))
        elif prepared.sql.startswith("COPY "):
            out += message(b"C", _cstring(f"COPY {cursor.rowcount}"))
        else:
            out += message(b"C", _cstring(" ".join(prepared.sql.split()[:2]).upper()))
        return bytes(out), False

    def _abort(self) -> None:
        """Leave PostgreSQL's transaction failed, as an error of the server itself would."""
        if self.status == b"T":
            with contextlib.suppress(pg8000.dbapi.ProgrammingError):
                BackendCursor(self).execute(_ABORT_SQL)


def _result_formats(rest: bytes) -> tuple[int, ...]:
    """The result-column format codes at the end of a Bind body (after the names)."""
    at = 0
    (count,) = struct.unpack("!h", rest[at : at + 2])
    at += 2 + 2 * count
    (values,) = struct.unpack("!h", rest[at : at + 2])
    at += 2
    for _ in range(values):
        (size,) = struct.unpack("!i", rest[at : at + 4])
        at += 4 + max(size, 0)
    (formats,) = struct.unpack("!h", rest[at : at + 2])
    return struct.unpack(f"!{formats}h", rest[at + 2 : at + 2 + 2 * formats])


def _data_row(row: tuple[Any, ...], columns: list[str], formats: tuple[int, ...]) -> bytes:
    body = struct.pack("!h", len(row))
    for index, value in enumerate(row):
        if value is None:
            body += struct.pack("!i", -1)
            continue
        binary = (formats[index] if len(formats) > 1 else formats[0] if formats else 0) == 1
        oid = _ANSWER_OIDS.get(columns[index], 25)
        if binary and oid == 20:
            data = struct.pack("!q", int(value))
        elif binary and oid == 23:
            data = struct.pack("!i", int(value))
        else:
            data = str(value).encode()
        body += struct.pack("!i", len(data)) + data
    return message(b"D", body)


def _fields_of(exc: BaseException) -> dict[str, str]:
    """The server error fields for an error of the emulation."""
    if exc.args and isinstance(exc.args[0], dict):
        return {str(k): str(v) for k, v in exc.args[0].items()}
    text = exc.message if isinstance(exc, S3RedshiftError) else f"{type(exc).__name__}: {exc}"
    return {"S": "ERROR", "V": "ERROR", "C": "XX000", "M": text}


# --- the relay -----------------------------------------------------------------------


class Relay:
    """Listens on 127.0.0.1 and relays each connection to the stand-in (see the module)."""

    def __init__(
        self,
        dsn: str,
        *,
        s3_client: S3Client,
        load_error_tables: tuple[LoadErrorTable, ...] = ("sys",),
        tls: ssl.SSLContext | None = None,
        rewrite_startup: bool = True,
    ) -> None:
        self._backend = backend_address(dsn)
        self._tls = tls
        self._rewrite = rewrite_startup
        self.tls_sessions = 0
        """Sessions whose driver asked for TLS and got it."""
        self._s3 = s3_client
        self._tables = load_error_tables
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.dropped: set[str] = set()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._accepting = threading.Thread(target=self._accept, name="redshift-relay", daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(
                target=self._serve, args=(client,), name="redshift-relay-session", daemon=True
            )
            with self._lock:
                self._sockets.add(client)
                self._threads.append(thread)
            thread.start()

    def _connect_backend(self) -> socket.socket:
        if isinstance(self._backend, str):
            backend = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            backend.connect(self._backend)
            return backend
        return socket.create_connection(self._backend)

    def _serve(self, client: socket.socket) -> None:
        backend: socket.socket | None = None
        try:
            backend = self._connect_backend()
            with self._lock:
                self._sockets.add(backend)
            client = self._start(client, backend)
            if client is not None:
                session = RelayedSession(
                    client,
                    backend,
                    StandInConnection(None, s3_client=self._s3, load_error_tables=self._tables),
                )
                session.serve()
        except (EOFError, OSError):
            pass
        finally:
            for sock in (client, backend):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()

    def _start(self, client: socket.socket, backend: socket.socket) -> socket.socket | None:
        """Relay the start-up, rewritten, and the authentication.

        Returns the client's socket (TLS-wrapped if it asked and ``tls`` was
        given), or None when the server refused the session.
        """
        while True:
            (length,) = struct.unpack("!i", _recv_exact(client, 4))
            body = _recv_exact(client, length - 4)
            if struct.unpack("!i", body[:4])[0] != SSL_REQUEST:
                break
            if self._tls is None:
                client.sendall(b"N")
                continue
            client.sendall(b"S")
            client = self._tls.wrap_socket(client, server_side=True)
            with self._lock:
                self._sockets.add(client)
                self.tls_sessions += 1
        parameters = startup_parameters(body)
        if self._rewrite:
            self.dropped.update(set(parameters) - KEPT_STARTUP)
            parameters = {k: v for k, v in parameters.items() if k in KEPT_STARTUP}
        backend.sendall(startup_message(parameters | REDSHIFT_READING))
        for code, reply in _until_ready(backend):
            client.sendall(message(code, reply))
            if code == b"E":
                return None
            if code == b"R" and struct.unpack("!i", reply[:4])[0] in (3, 5, 10, 11):
                answer_code, answer = read_message(client)  # the driver's password or SASL step
                backend.sendall(message(answer_code, answer))
        return client

    def close(self) -> None:
        """Stop listening, end every relayed session and wait for their threads."""
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        self._accepting.join(timeout=5)
        for thread in threads:
            thread.join(timeout=5)

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _until_ready(backend: socket.socket) -> Iterator[tuple[bytes, bytes]]:
    while True:
        code, body = read_message(backend)
        yield code, body
        if code in (b"Z", b"E"):
            return


def real_driver(relay: Relay, *, database: str, user: str = "postgres") -> RedshiftConnector:
    """The production connection factory, pointed at ``relay``: the real driver, real arguments.

    TLS with ``verify-full`` needs the relay's ``tls`` and its CA trusted
    (``SSL_CERT_FILE``; the ``relays`` fixture does both). The password is
    sent but not checked (the stand-in trusts local sessions).
    """
    return RedshiftConnector(
        host="127.0.0.1",
        port=relay.port,
        database=database,
        auth=PasswordAuth(StaticCredentials(user, "not-checked-by-the-stand-in")),
    )


def loopback_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 and the file of the CA the driver must trust.

    One self-signed certificate (a CA that is also the server's), made fresh
    with a throw-away key. ``redshift_connector`` trusts the system's
    certificates (``load_default_certs``, which honours ``SSL_CERT_FILE``)
    plus its bundled Redshift CA; pointing ``SSL_CERT_FILE`` at the returned
    file makes it trust this one, and ``verify-full`` then checks the name
    127.0.0.1 against the certificate's IP address.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s3redshift test relay")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "relay-ca.pem"
    key_file = directory / "relay-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
