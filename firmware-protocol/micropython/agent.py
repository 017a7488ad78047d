# netcoproc device agent: the device side of the SLIP RPC (firmware-protocol/SPEC.md), doing
# real socket calls. Runs on MicroPython boards (ESP32, WiPy: see ncp_board.py and README.md)
# and under CPython (ncp_cpython.py: `python3 agent.py --listen tcp://127.0.0.1:0`).
#
#   agent = Agent(link)      # sends BOOT at once
#   agent.run()              # one poll loop over the link and every socket, forever
#
# Files: ncp_wire.py (SLIP, CRC-32, frames, fields), ncp_ops.py (the opcode table), ncp_link.py
# (the reliable link), ncp_table.py + ncp_flow.py (the socket table), this file (the session,
# one handler per request opcode, the output queue, the loop) and the I/O layers.

import sys

from ncp_wire import (
    KIND_EVENT, KIND_REQUEST, KIND_RESPONSE, OVERHEAD, VERSION, DeviceError, FrameError, SlipDecoder,
    WireError, decode_frame, encode_frame, errno_numbers, pack, slip_encode, unpack,
)
from ncp_link import FLAG_RELIABLE, ReliableLink, ticks_diff, ticks_ms
from ncp_ops import BY_CODE, CAP_PING_NONCE, CAP_SERVER, CAP_SHUTDOWN, CAP_TCP, CAP_UDP, OPS
from ncp_table import Poller, SocketTable


def default_config():
    """Per platform: frame size, windows and table size that fit its memory; errno numbering.

    errnoBase: 1 (newlib) on an ESP32 running MicroPython, 0 (Linux numbering) elsewhere -
    CPython maps its host's numbers to Linux ones, MicroPython's other ports use them natively.
    link_window: frames kept for retransmission on a reliable link (SPEC section 7), at most
    link_window * max_frame bytes; 0 = the reliable link is not offered (the WiPy's small heap).
    connect_timeout_ms: a TCP connect nobody answers ends with ETIMEDOUT after this long
    (docs/profiles.md), whatever the stack below would do (Linux retries SYNs for about 2 minutes).
    """
    plat = sys.platform
    if sys.implementation.name == 'cpython':
        return {'profile': 'cpython', 'max_frame': 4096 + OVERHEAD + 1, 'tx_window': 65536,
                'max_sockets': 8, 'errno_base': 0, 'link_window': 32, 'connect_timeout_ms': 20000}
    if plat == 'esp32':
        return {'profile': 'esp32', 'max_frame': 4096 + OVERHEAD + 1, 'tx_window': 4096,
                'max_sockets': 8, 'errno_base': 1, 'link_window': 4, 'connect_timeout_ms': 20000}
    if plat == 'WiPy':
        return {'profile': 'wipy', 'max_frame': 1536, 'tx_window': 1536, 'max_sockets': 6,
                'errno_base': 0, 'link_window': 0, 'connect_timeout_ms': 10000}
    return {'profile': plat, 'max_frame': 2048 + OVERHEAD + 1, 'tx_window': 4096,
            'max_sockets': 8, 'errno_base': 0, 'link_window': 4, 'connect_timeout_ms': 20000}


def boot_nonce():
    """8 random bytes: os.urandom where the port has it, else random.getrandbits (seeded by hardware)."""
    try:
        import os
        return bytes(os.urandom(8))
    except (ImportError, AttributeError, NotImplementedError):
        pass
    try:
        import random
        return bytes([random.getrandbits(8) for _ in range(8)])
    except ImportError:
        import machine  # the WiPy: hardware RNG
        return bytes([machine.rng() & 255 for _ in range(8)])


class Agent:
    """The device side of one serial link: session, dispatch, events, output queue, poll loop.

    `link` is an I/O layer (ncp_cpython, ncp_board): start(poller, agent), write(memoryview) ->
    bytes taken (non-blocking), want_write(flag), close(), and `signals_writable` (True when it
    can wake the loop on POLLOUT). `net` is the socket module, `poller` a ncp_table.Poller;
    both are injectable so the protocol logic runs without a network (see the tests).
    """

    def __init__(self, link, net=None, poller=None, config=None, log=None):
        cfg = default_config()
        if config:
            cfg.update(config)
        self.cfg = cfg
        self.link = link
        self.log = log or (lambda text: None)
        self.E = errno_numbers(cfg['errno_base'])
        if net is None:
            import socket as net
        self.net = net
        self.poller = poller if poller is not None else Poller()
        self.table = SocketTable(self, net, self.poller, cfg['max_sockets'])
        self.decoder = SlipDecoder(cfg['max_frame'] + 4)  # + a link header (SPEC section 7)
        self.hwm = cfg.get('out_hwm', 4 * cfg['max_frame'])
        self.nonce = boot_nonce()
        self.session = False
        self.rlink = None  # the reliable link (SPEC section 7), once a HELLO granted it
        self.hello_flags = 0
        self.host_max_frame = 1034
        self.rx_window = 0
        self.ev_seq = 0
        self.bad_frames = 0
        self.outq = []
        self.out_off = 0
        self.out_len = 0
        self.paused = False
        self.resume_pending = False
        self.running = False
        self.op_send = OPS['SEND'][0]
        self.op_shutdown = OPS['SHUTDOWN'][0]
        self.handlers = self._handlers()
        self.emit('BOOT', (VERSION, self.nonce))

    def _handlers(self):
        """The dispatch table: request opcode number -> handler(seq, *fields), from OPS: h_<name>.

        Operations without a handler here (TLS_WRAP, FILE_*) answer EOPNOTSUPP.
        """
        table = {}
        for name in OPS:
            if OPS[name][1] is not None:
                table[OPS[name][0]] = getattr(self, 'h_' + name.lower(), self.h_unsupported)
        return table

    # ---- input ----

    def feed(self, data):
        """Bytes from the host, any chunking."""
        before = self.decoder.dropped
        for frame in self.decoder.feed(data):
            self.on_frame(frame)
        if self.rlink is not None and self.rlink.ack_at is not None:
            # Acknowledge what this chunk delivered now rather than 5 ms later: a host's timeout
            # learnt from quick answers must not expire while a burst is being worked through.
            self.send_frame(self.rlink.ack_now())
        if self.decoder.dropped != before:
            self.bad(self.decoder.dropped - before, 'SLIP: oversize frame, bad escape or line noise')

    def bad(self, count, reason):
        self.bad_frames += count
        self.log('bad frame from host: %s' % reason)

    def on_frame(self, f):
        try:
            kind, seq, op, body, flags, link = decode_frame(f)
        except FrameError as e:
            return self.bad(1, e.reason)
        if kind == KIND_REQUEST and op == OPS['HELLO'][0]:
            self.rlink = None  # a HELLO resets the link; its answer says whether it is reliable
            self.hello_flags = flags & FLAG_RELIABLE
        elif link is not None and self.rlink is not None:
            ready, frames = self.rlink.receive(flags, link, f, ticks_ms())
            for fr in frames:
                self.send_frame(fr)
            if self.paused and not self.rlink.full():
                self.resume_pending = True  # acknowledgements made room: DATA may flow again
            for i in range(len(ready)):  # this frame, then those kept after the gap it filled
                r = (kind, seq, op, body) if i == 0 else decode_frame(ready[i])[:4]
                self.dispatch(r[0], r[1], r[2], r[3])
            return None
        return self.dispatch(kind, seq, op, body)

    def dispatch(self, kind, seq, op, body):
        """One frame from the host, in order (after the reliable link, if any)."""
        if kind == KIND_REQUEST:
            return self.on_request(seq, op, body)
        if kind == KIND_EVENT and op == OPS['CREDIT'][0]:
            try:
                sid, n = unpack(OPS['CREDIT'][3], body)
            except WireError as e:
                return self.bad(1, 'CREDIT: %s' % e)
            return self.table.credit(sid, n)
        if kind == KIND_EVENT and op == OPS['ACK'][0]:
            return None
        self.bad(1, 'unexpected kind %d opcode 0x%02x from the host' % (kind, op))

    def on_request(self, seq, op, body):
        name = BY_CODE.get(op)
        layout = OPS[name][1] if name else None
        if layout is None:
            self.bad(1, 'request with opcode 0x%02x' % op)
            return self.answer_error(seq, op, self.E['EINVAL'], 'unknown request opcode 0x%02x' % op)
        try:
            args = unpack(layout, body)
        except WireError as e:
            self.bad(1, '%s request: %s' % (name, e))
            return self.answer_error(seq, op, self.E['EINVAL'], '%s request: %s' % (name, e))
        if not self.session and name not in ('HELLO', 'PING'):
            return self.answer_error(seq, op, self.E['EPERM'], 'hello first')  # PING: a host probing for us
        try:
            res = self.handlers[op](seq, *args)
        except DeviceError as e:
            return self.answer_error(seq, op, e.status, e.message)
        except OSError as e:
            return self.answer_error(seq, op, self.table.status_of(e), '%s: %s' % (name, e))
        except MemoryError:
            return self.answer_error(seq, op, self.E['ENOMEM'], '%s: out of memory' % name)
        except Exception as e:  # a bug here must not take the link down: fail the one request
            self.log('%s failed: %r' % (name, e))
            return self.answer_error(seq, op, self.E['EINVAL'], '%s: %r' % (name, e))
        if res is not None:  # None: answered later (a SEND still being written)
            self.answer(seq, op, res)

    # ---- output ----

    def answer(self, seq, op, vals):
        body = b'\x00\x00' + pack(OPS[BY_CODE[op]][2], vals)
        if op == OPS['HELLO'][0]:
            return self.answer_hello(seq, op, body)
        self.send_msg(KIND_RESPONSE, seq, op, body)

    def answer_hello(self, seq, op, body):
        """Unnumbered; grants the reliable link if asked and this board has room for it (SPEC section 7)."""
        grant = self.hello_flags if self.cfg['link_window'] > 0 else 0
        self.send_frame(encode_frame(KIND_RESPONSE, seq, op, body, grant))
        if grant:
            self.rlink = ReliableLink(self.cfg['link_window'])

    def answer_error(self, seq, op, status, message=''):
        text = message.encode('utf-8')[:200]
        self.send_msg(KIND_RESPONSE, seq, op, bytes(((status >> 8) & 255, status & 255)) + text)

    def emit(self, name, vals):
        spec = OPS[name]
        body = pack(spec[3], vals)
        if name == 'BOOT':  # never numbered
            self.send_frame(encode_frame(KIND_EVENT, self.ev_seq, spec[0], body))
        else:
            self.send_msg(KIND_EVENT, self.ev_seq, spec[0], body)
        self.ev_seq = (self.ev_seq + 1) & 0xFFFF

    def send_msg(self, kind, seq, op, body):
        """Through the reliable link when it is on (numbered, kept until acknowledged), else straight out."""
        if self.rlink is None:
            return self.send_frame(encode_frame(kind, seq, op, body))
        for fr in self.rlink.send(kind, seq, op, body, ticks_ms()):
            self.send_frame(fr)

    def emit_data(self, sid, data):
        self.emit('DATA', (sid, data))

    def emit_dgram(self, sid, addr, data):
        self.emit('DGRAM', (sid, addr, data))

    def emit_eof(self, sid):
        self.emit('EOF', (sid,))

    def emit_sockerr(self, sid, status):
        self.emit('SOCKERR', (sid, status))

    def emit_connected(self, sid, status):
        self.emit('CONNECTED', (sid, status))

    def emit_acceptable(self, sid, pending):
        self.emit('ACCEPTABLE', (sid, pending))

    def send_frame(self, frame):
        w = slip_encode(frame)
        self.outq.append(w)
        self.out_len += len(w)
        self.flush()

    def flush(self):
        """Writes what the link takes now; the rest waits (and DATA pushes pause above the high-water mark)."""
        while self.outq:
            head = self.outq[0]
            n = self.link.write(memoryview(head)[self.out_off:])
            if not self.outq or self.outq[0] is not head:
                continue  # the write found the host gone and the queue was dropped
            self.out_off += n
            self.out_len -= n
            if self.out_off < len(head):
                self.link.want_write(True)
                return
            self.outq.pop(0)
            self.out_off = 0
        self.link.want_write(False)
        if self.paused:
            self.paused = False
            self.resume_pending = True  # resumed from the loop, not from inside an emit

    def drop_output(self):
        """A new host attached to the link: what was queued for the old one is worthless."""
        self.outq = []
        self.out_off = 0
        self.out_len = 0

    def can_push(self):
        if self.out_len < self.hwm and (self.rlink is None or not self.rlink.full()):
            return True
        self.paused = True
        return False

    def payload_cap(self):
        """Largest DATA payload: within the host's maxFrame and this device's own (smaller while
        the reliable link has to resend: a long frame on a noisy line is likely to be hit)."""
        cap = min(self.host_max_frame, self.cfg['max_frame']) - OVERHEAD - 1
        return cap if self.rlink is None else min(cap, self.rlink.payload_limit)

    # ---- the loop ----

    def run(self):
        """Serves the link until stop(): ONE poll over the link and every socket."""
        self.link.start(self.poller, self)
        self.running = True
        while self.running:
            if self.resume_pending:
                self.resume_pending = False
                self.table.resume()
            self.flush()
            wait = 2 if self.outq and not self.link.signals_writable else -1
            wait = self.link_timers(wait)
            due = self.table.expire_connects(self.cfg['connect_timeout_ms'])
            if due >= 0 and (wait < 0 or due < wait):
                wait = due
            try:
                self.poller.wait(wait)
            except Exception as e:  # a bug in one handler must not take the device down
                self.log('poll loop: %r' % (e,))

    def link_timers(self, wait):
        """Runs the reliable link's due timers; returns the poll timeout that wakes for the next one."""
        r = self.rlink
        if r is None:
            return wait
        now = ticks_ms()
        due = r.deadline()
        if due is not None and ticks_diff(due, now) <= 0:
            for fr in r.tick(now):
                self.send_frame(fr)
            if r.dead:  # SPEC section 7: no progress after 8 rounds; the host will say HELLO again
                self.log('reliable link dead: session ended')
                self.rlink = None
                self.session = False
                self.table.close_all()
                return wait
            due = r.deadline()
        if due is None:
            return wait
        left = max(0, ticks_diff(due, now))
        return left if wait < 0 or left < wait else wait

    def stop(self):
        self.running = False

    def close(self):
        self.table.close_all()
        self.link.close()

    # ---- handlers: one per request opcode (SPEC section 4.1) ----

    def h_hello(self, seq, version, max_frame, rx_window):
        if version != VERSION:
            raise DeviceError(self.E['EPROTONOSUPPORT'], 'protocol version %d not supported' % version)
        if max_frame < 64:
            raise DeviceError(self.E['EINVAL'], 'host maxFrame too small')
        self.table.close_all()  # a new session starts clean (SPEC section 4.4)
        self.session = True
        self.host_max_frame = max_frame
        self.rx_window = rx_window
        c = self.cfg
        caps = CAP_TCP | CAP_UDP | CAP_SERVER | CAP_PING_NONCE
        if hasattr(getattr(self.net, 'socket', None), 'shutdown'):
            caps |= CAP_SHUTDOWN  # MicroPython's socket has no shutdown(): FIN only with CLOSE there
        return (VERSION, c['profile'], caps, c['max_frame'], c['tx_window'], c['max_sockets'],
                c['errno_base'], self.nonce)

    def h_ping(self, seq, payload):
        # An empty PING is a host's keep-alive: the boot nonce says which boot of the board answers,
        # so a restart whose BOOT was lost is noticed (SPEC section 4.4, revision 1.1).
        return (payload if len(payload) else self.nonce,)

    def h_socket(self, seq, family, type_, proto):
        return (self.table.open(family, type_, proto),)

    def h_close(self, seq, sid):
        self.table.close(sid)
        return ()

    def h_bind(self, seq, sid, addr):
        return (self.table.bind(self.table.get(sid), addr),)

    def h_listen(self, seq, sid, backlog):
        self.table.listen(self.table.get(sid), backlog)
        return (0,)  # no forwarding: the listener is reachable at its own address

    def h_accept(self, seq, sid):
        return self.table.accept(self.table.get(sid))

    def h_connect(self, seq, sid, addr):
        self.table.connect(self.table.get(sid), addr)
        return ()

    def h_send(self, seq, sid, data):
        return self.table.send(self.table.get(sid), seq, data)

    def h_sendto(self, seq, sid, addr, data):
        return self.table.sendto(self.table.get(sid), seq, data, addr)

    def h_shutdown(self, seq, sid, how):
        return self.table.shutdown(self.table.get(sid), seq, how)

    def h_setsockopt(self, seq, sid, level, option, value):
        self.table.setsockopt(self.table.get(sid), level, option, value)
        return ()

    def h_getaddrinfo(self, seq, host, port, family, type_, proto, flags):
        return (self.resolve(host, port, family, type_),)

    def h_poll(self, seq, entries):
        return ([[e[0], self.table.poll_view(e[0], e[1])] for e in entries],)

    def h_unsupported(self, seq, *args):
        raise DeviceError(self.E['EOPNOTSUPP'], 'TLS on the device and the file store are not implemented by this agent')

    def resolve(self, host, port, family, type_):
        """GETADDRINFO: IPv4 entries of the platform resolver, one per address, as MicroPython gives them."""
        if family not in (0, 2):
            raise DeviceError(self.E['EAFNOSUPPORT'], 'only AF_INET is supported')
        dgram = type_ == 2
        net = self.net
        kind = getattr(net, 'SOCK_DGRAM', 2) if dgram else getattr(net, 'SOCK_STREAM', 1)
        try:
            infos = net.getaddrinfo(host, port, getattr(net, 'AF_INET', 2), kind)
        except TypeError:  # the WiPy takes (host, port) only
            infos = net.getaddrinfo(host, port)
        entries = []
        for info in infos:
            a = self.table.wire_addr(info[4])
            e = [2, 2 if dgram else 1, 17 if dgram else 6, info[3] or '', a]
            if ':' not in a[0] and e not in entries:
                entries.append(e)
        if not entries:
            raise DeviceError(-2, 'name not known: %s' % host)
        return entries[:255]


if __name__ == '__main__':
    from ncp_cpython import main
    sys.exit(main(sys.argv[1:]))
