# The device agent's socket table (SPEC section 4.4) over REAL sockets: every socket is
# non-blocking and sits in the agent's one poll loop; received bytes are pushed as DATA/DGRAM
# events within the host's credit, a SEND is answered once all its bytes were written (the rest
# waits here and is written on POLLOUT), a connect in progress ends with one CONNECTED event.
# This file: ids, poll interest, connect, servers, options, POLL; the data path is ncp_flow.py.
#
# Memory is bounded: stream bytes stay in the OS/lwIP buffers until the host has credit (the
# socket is simply not polled for POLLIN), at most DGRAM_QUEUE datagrams wait here, and unsent
# SEND payloads are bounded by the txWindow the host respects.
#
#   t = SocketTable(agent, socket_module, Poller())
#   sid = t.open(2, 1, 6)            # wire numbers: AF_INET, SOCK_STREAM, IPPROTO_TCP
#   t.connect(t.get(sid), ('127.0.0.1', 7))   # DeviceError(EINPROGRESS) -> CONNECTED event later

import sys

from ncp_flow import CONNECTED, CONNECTING, DGRAM_QUEUE, LISTENING, NEW, DataPath
from ncp_link import ticks_diff, ticks_ms
from ncp_wire import DeviceError

IS_CPYTHON = sys.implementation.name == 'cpython'

# Poll bits: the wire values (constants.ts) equal select's on Linux and on MicroPython.
POLLIN = 1
POLLOUT = 4
POLLERR = 8
POLLHUP = 16
POLLNVAL = 32

# Options: (wire level, wire option) -> (native level name, native option name, value is an int).
# Unknown options are accepted and ignored, as MicroPython does (SPEC section 4.4).
OPTIONS = {
    (1, 4): ('SOL_SOCKET', 'SO_REUSEADDR', True),
    (1, 8): ('SOL_SOCKET', 'SO_KEEPALIVE', True),
    (1, 0x20): ('SOL_SOCKET', 'SO_BROADCAST', True),
    (6, 1): ('IPPROTO_TCP', 'TCP_NODELAY', True),
    (0, 0x400): ('IPPROTO_IP', 'IP_ADD_MEMBERSHIP', False),
    (0, 0x401): ('IPPROTO_IP', 'IP_DROP_MEMBERSHIP', False),
}


# CPython's errno.errorcode may name a number by its alias (95 -> 'ENOTSUP' on Linux).
ALIASES = {'EWOULDBLOCK': 'EAGAIN', 'ENOTSUP': 'EOPNOTSUPP'}


class Poller:
    """One select.poll with a callback per registered object; mask 0 unregisters.

    CPython's poll answers file descriptors, MicroPython's answers the objects: both are mapped
    back to the callback here, so the rest of the agent never sees the difference.
    """

    def __init__(self):
        import select
        self.p = select.poll()
        self.cbs = {}
        self.masks = {}

    def _key(self, obj):
        if isinstance(obj, int):
            return obj
        return obj.fileno() if IS_CPYTHON else id(obj)

    def set(self, obj, mask, cb=None):
        k = self._key(obj)
        old = self.masks.get(k)
        if not mask:
            if old is not None:
                # Bookkeeping first: a signal (SIGTERM -> SystemExit) between the two steps must not
                # leave a mask for an object the poll no longer has.
                del self.masks[k]
                del self.cbs[k]
                try:
                    self.p.unregister(obj)
                except (KeyError, ValueError):
                    pass  # already gone from the poll (closed elsewhere)
            return
        if cb is not None:
            self.cbs[k] = cb
        if old is None:
            self.p.register(obj, mask)
        elif old != mask:
            self.p.modify(obj, mask)
        self.masks[k] = mask

    def wait(self, timeout_ms):
        for r in self.p.poll(timeout_ms):
            o = r[0]
            cb = self.cbs.get(o if isinstance(o, int) else self._key(o))
            if cb is not None:
                cb(r[1])


class Slot:
    """One entry of the table: a real socket and what the protocol knows about it."""

    def __init__(self, sid, sock, udp, credit):
        self.id = sid
        self.sock = sock
        self.udp = udp
        self.state = NEW
        self.credit = credit
        self.finished = False  # EOF or SOCKERR sent: no more DATA
        self.fail = 0  # status that ended the connection; later SENDs answer it
        self.txq = []  # [seq, memoryview, written] of unanswered SENDs, in order
        self.shut = None  # SHUTDOWN: None = not asked, seq = waiting for txq, -1 = done
        self.peer = None  # UDP default peer (native address)
        self.dgrams = []  # (data, wire addr) waiting for credit
        self.backlog = 1
        self.accepted = []  # (socket, wire addr) queued for ACCEPT
        self.mask = 0
        self.cb = None
        self.connect_at = 0  # ticks_ms() when a TCP connect started (for the connect timeout)


class SocketTable(DataPath):
    """The table: ids, real sockets, poll interest, connect, servers, options, POLL."""

    def __init__(self, agent, net, poller, max_sockets):
        self.agent = agent
        self.net = net
        self.poller = poller
        self.E = agent.E
        self.slots = [None] * max_sockets

    # ---- errors ----

    def status_of(self, exc):
        """An exception from the stack -> a status in the agent's numbering (negative = resolver)."""
        if isinstance(exc, DeviceError):
            return exc.status
        code = exc.args[0] if exc.args else None
        if not isinstance(code, int):
            return self.E['EIO']
        if code < 0 or not IS_CPYTHON:
            return code
        import errno
        name = ALIASES.get(errno.errorcode.get(code), errno.errorcode.get(code))
        return self.E.get(name, code)  # CPython reports Linux numbers, whatever the host OS

    def fail(self, name, message=''):
        return DeviceError(self.E[name], message)

    def _blocked(self, st):
        return st == self.E['EAGAIN']

    # ---- wire <-> native ----

    def native_addr(self, addr):
        if ':' in addr[0]:
            raise self.fail('EAFNOSUPPORT', 'IPv6 is not supported by this agent')
        return (addr[0], addr[1])

    def wire_addr(self, a):
        if isinstance(a, tuple):
            return (a[0], a[1])
        # The unix port hands out a raw struct sockaddr_in: family (host order), port, address.
        b = bytes(a)
        return ('%d.%d.%d.%d' % (b[4], b[5], b[6], b[7]), (b[2] << 8) | b[3])

    def _const(self, name, default):
        return getattr(self.net, name, default)

    # ---- table ----

    def get(self, sid):
        s = self.slots[sid] if 0 <= sid < len(self.slots) else None
        if s is None:
            raise self.fail('EBADF', 'socket %d is not open' % sid)
        return s

    def free_id(self):
        for i in range(len(self.slots)):
            if self.slots[i] is None:
                return i
        raise self.fail('ENFILE', 'socket table full (%d sockets)' % len(self.slots))

    def open(self, family, type_, proto):
        if family != 2:
            raise self.fail('EAFNOSUPPORT', 'address family %d not supported' % family)
        if type_ not in (1, 2):
            raise self.fail('EINVAL', 'socket type %d not supported' % type_)
        udp = type_ == 2
        if proto not in (0, 17 if udp else 6):
            msg = 'TLS on the device (IPPROTO_SEC) is not implemented by this agent' if proto == 100 else ''
            raise self.fail('EPROTONOSUPPORT', msg or 'protocol %d not supported' % proto)
        sid = self.free_id()
        n = self.net
        if udp:
            sock = n.socket(self._const('AF_INET', 2), self._const('SOCK_DGRAM', 2), self._const('IPPROTO_UDP', 17))
        else:
            sock = n.socket(self._const('AF_INET', 2), self._const('SOCK_STREAM', 1), self._const('IPPROTO_TCP', 6))
        sock.setblocking(False)
        self.adopt(sid, sock, udp, NEW)
        return sid

    def adopt(self, sid, sock, udp, state):
        s = Slot(sid, sock, udp, self.agent.rx_window)
        s.state = state
        s.cb = lambda ev: self.on_event(s, ev)
        self.slots[sid] = s
        self.sync(s)
        return s

    def close(self, sid, answer=True):
        """Frees the id at once; unanswered SENDs are answered EBADF (SPEC section 4.4)."""
        s = self.get(sid)
        self.slots[sid] = None
        self.poller.set(s.sock, 0)
        if answer:
            self._fail_sends(s, self.E['EBADF'], 'socket closed')
        for c in s.accepted:
            c[0].close()
        s.sock.close()

    def close_all(self):
        """A new session: the old host's SENDs are not answered (their seq numbers mean nothing now)."""
        for s in self.slots:
            if s is not None:
                self.close(s.id, False)

    # ---- poll interest ----

    def sync(self, s):
        """Polls a socket only for what can be acted on now, so a full credit never spins the loop."""
        m = 0
        if s.state == CONNECTING:
            m = POLLOUT
        elif s.state == LISTENING:
            m = POLLIN if len(s.accepted) < s.backlog else 0
        elif s.udp:
            m = POLLIN if len(s.dgrams) < DGRAM_QUEUE else 0
        elif s.state == CONNECTED:
            if not s.finished and s.credit > 0 and self.agent.can_push():
                m = POLLIN
            if s.txq:
                m |= POLLOUT
        if m != s.mask:
            s.mask = m
            self.poller.set(s.sock, m, s.cb)

    def resume(self):
        """The link drained: pushes that waited for it may go on."""
        for s in self.slots:
            if s is not None:
                if s.udp:
                    self.pump_dgrams(s)
                self.sync(s)

    def on_event(self, s, ev):
        if self.slots[s.id] is not s:
            return
        if s.state == CONNECTING:
            self._connect_done(s, ev)
        elif s.state == LISTENING:
            self._accept_ready(s)
        elif s.udp:
            self._read_dgram(s)
        else:
            if s.txq and ev & (POLLOUT | POLLERR | POLLHUP):
                self._write(s)
            if ev & (POLLIN | POLLERR | POLLHUP):
                self._read_stream(s)
        if self.slots[s.id] is s:
            self.sync(s)

    # ---- connect ----

    def connect(self, s, addr):
        if s.udp:
            s.peer = self.native_addr(addr)  # a UDP "connect" only records the default peer
            return
        if s.state == CONNECTING:
            raise self.fail('EALREADY', 'connect already in progress')
        if s.state == CONNECTED:
            raise self.fail('EISCONN', 'socket already connected')
        if s.state == LISTENING:
            raise self.fail('EINVAL', 'socket is listening')
        try:
            s.sock.connect(self.native_addr(addr))
        except OSError as e:
            st = self.status_of(e)
            if st not in (self.E['EINPROGRESS'], self.E['EAGAIN'], self.E['EALREADY']):
                raise DeviceError(st, 'connect failed')
            s.state = CONNECTING
            s.connect_at = ticks_ms()
            self.sync(s)
            raise self.fail('EINPROGRESS')
        self._connected(s)

    def expire_connects(self, limit_ms):
        """Ends connects older than `limit_ms` with CONNECTED ETIMEDOUT (SPEC section 4.4, rev 1.1),
        as lwIP does when its SYN retries run out; returns ms until the next one is due, or -1."""
        now = ticks_ms()
        nearest = -1
        for s in self.slots:
            if s is None or s.state != CONNECTING:
                continue
            left = limit_ms - ticks_diff(now, s.connect_at)
            if left > 0:
                nearest = left if nearest < 0 or left < nearest else nearest
                continue
            # The native socket is still trying: drop it for a fresh one the host may connect again.
            self.poller.set(s.sock, 0)
            s.mask = 0
            s.sock.close()
            n = self.net
            s.sock = n.socket(self._const('AF_INET', 2), self._const('SOCK_STREAM', 1), self._const('IPPROTO_TCP', 6))
            s.sock.setblocking(False)
            s.state = NEW
            self.sync(s)
            self.agent.emit_connected(s.id, self.E['ETIMEDOUT'])
        return nearest

    def _connected(self, s):
        s.state = CONNECTED
        s.finished = False
        s.fail = 0
        self.sync(s)

    def _connect_done(self, s, ev):
        st = self._connect_status(s, ev)
        if st is None:
            return
        if st == 0:
            self._connected(s)
        else:
            s.state = NEW
        # Always after the CONNECT response: that was queued before this poll round ran.
        self.agent.emit_connected(s.id, st)

    def _connect_status(self, s, ev):
        """0, an errno, or None (not finished). SO_ERROR where the stack has it (CPython, unix)."""
        so_error = getattr(self.net, 'SO_ERROR', None)
        if so_error is not None:
            try:
                code = s.sock.getsockopt(self._const('SOL_SOCKET', 1), so_error)
            except OSError as e:
                return self.status_of(e)
            return self.status_of(OSError(code)) if code else 0
        if ev & (POLLERR | POLLHUP):
            # MicroPython has no SO_ERROR: a failed connect shows as ERR/HUP without a reason.
            return self.E['ECONNREFUSED']
        return 0 if ev & POLLOUT else None

    # ---- servers ----

    def bind(self, s, addr):
        s.sock.bind(self.native_addr(addr))
        if hasattr(s.sock, 'getsockname'):
            return self.wire_addr(s.sock.getsockname())
        return addr  # MicroPython has no getsockname: port 0 stays 0 in the answer

    def listen(self, s, backlog):
        if s.udp:
            raise self.fail('EOPNOTSUPP', 'listen on a UDP socket')
        s.backlog = max(backlog, 1)
        s.sock.listen(s.backlog)
        s.state = LISTENING
        self.sync(s)

    def _accept_ready(self, s):
        if len(s.accepted) >= s.backlog:
            return
        try:
            conn, a = s.sock.accept()
        except OSError:
            return
        conn.setblocking(False)
        s.accepted.append((conn, self.wire_addr(a)))
        self.agent.emit_acceptable(s.id, len(s.accepted))

    def accept(self, s):
        if s.state != LISTENING:
            raise self.fail('EINVAL', 'socket is not listening')
        if not s.accepted:
            raise self.fail('EAGAIN', 'no connection queued')
        sid = self.free_id()
        conn, a = s.accepted.pop(0)
        self.adopt(sid, conn, False, CONNECTED)
        self.sync(s)
        return sid, a

    # ---- options, poll ----

    def setsockopt(self, s, level, option, value):
        if len(value) > 64:
            raise self.fail('EINVAL', 'option value longer than 64 bytes')  # SPEC section 4.4, known or not
        known = OPTIONS.get((level, option))
        if known is None:
            return  # not implemented here: accepted, as MicroPython warns and goes on
        lvl = self._const(known[0], None)
        opt = self._const(known[1], None)
        if known[2]:
            if len(value) != 4:
                raise self.fail('EINVAL', 'option value must be 4 bytes (a big-endian int)')
            v = (value[0] << 24) | (value[1] << 16) | (value[2] << 8) | value[3]
            value = v - (1 << 32) if v & 0x80000000 else v
        elif len(value) != 8:
            raise self.fail('EINVAL', 'membership value must be 8 bytes (group, interface)')
        if lvl is None or opt is None:
            return  # this stack has no such option: accepted, like an unknown one
        s.sock.setsockopt(lvl, opt, value)

    def poll_view(self, sid, events):
        """POLL (SPEC section 4.4): the device's own view of one socket."""
        s = self.slots[sid] if 0 <= sid < len(self.slots) else None
        if s is None:
            return POLLNVAL
        r = 0
        if s.state == LISTENING:
            r = POLLIN if s.accepted else 0
        elif s.udp:
            r = POLLOUT | (POLLIN if s.dgrams or self._readable(s) else 0)
        elif s.state == CONNECTED:
            if not s.fail:
                r |= POLLOUT
            if not s.finished and self._readable(s):
                r |= POLLIN
            if s.finished:
                r |= POLLHUP | (POLLERR if s.fail else 0)
        elif s.state == NEW:
            r = POLLOUT | POLLHUP  # as modlwip reports a fresh socket (20)
        return r & (events | POLLERR | POLLHUP)

    def _readable(self, s):
        import select
        p = select.poll()
        p.register(s.sock, POLLIN)
        ready = p.poll(0)
        p.unregister(s.sock)
        return bool(ready) and bool(ready[0][1] & (POLLIN | POLLHUP | POLLERR))
