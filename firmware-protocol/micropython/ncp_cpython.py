# CPython I/O layer of the device agent: the "UART" is a pty the agent creates, a TCP
# listener on loopback, or stdin/stdout pipes. `netcoproc agent` runs this through agent.py:
#
#   python3 agent.py --listen tcp://127.0.0.1:0      -> prints 'listening socket://127.0.0.1:41234'
#   python3 agent.py --pty [LINK]                     -> prints 'pty /dev/pts/5'
#   python3 agent.py --stdio                          -> frames on stdin/stdout (nothing printed)
#
# --pty and --listen may be combined, like `netcoproc emulate`: both feed the one agent, and its
# output goes to the attachment point the host spoke from last (BOOT, before anyone spoke, to all).
# CPython only (os, tty, signal); board layers are in ncp_board.py.

import errno
import os
import signal
import socket
import sys

from agent import Agent
from ncp_table import POLLIN, POLLOUT

USAGE = 'usage: agent.py [--pty [LINK]] [--listen tcp://127.0.0.1:PORT] | --stdio'
BUSY_NOTE = b'netcoproc: busy, another host is attached\r\n'


class FdEnd:
    """A non-blocking read fd and write fd (stdin/stdout, or a pty master twice)."""

    def __init__(self, rfd, wfd, eof_stops=False):
        self.rfd = rfd
        self.wfd = wfd
        self.eof_stops = eof_stops
        self.want_out = False
        self.poller = None
        for fd in {rfd, wfd}:
            os.set_blocking(fd, False)

    def start(self, poller, owner):
        self.poller = poller
        self.owner = owner
        self._sync()

    def _sync(self):
        if self.poller is None:
            return  # not started yet: start() registers
        if self.rfd == self.wfd:
            self.poller.set(self.rfd, POLLIN | (POLLOUT if self.want_out else 0), self._on_event)
            return
        self.poller.set(self.rfd, POLLIN, self._on_event)
        self.poller.set(self.wfd, POLLOUT if self.want_out else 0, self._on_event)

    def _on_event(self, ev):
        if ev & POLLOUT:
            self.owner.writable(self)
        if ev & ~POLLOUT:
            self._read()

    def _read(self):
        try:
            data = os.read(self.rfd, 65536)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: the pty has no host right now
                raise
            return
        if data:
            self.owner.received(self, data)
        elif self.eof_stops:
            self.owner.agent.stop()  # the host closed our stdin: the session is over

    def write(self, mv):
        try:
            return os.write(self.wfd, mv)
        except BlockingIOError:
            return 0
        except OSError as e:
            if e.errno in (errno.EIO, errno.EPIPE):
                return len(mv)  # nobody on the line: the bytes are lost, as on a UART
            raise

    def want_write(self, flag):
        if flag != self.want_out:
            self.want_out = flag
            self._sync()

    def close(self):
        pass


class PtyEnd(FdEnd):
    """A pseudo-terminal, raw; the agent holds the slave open so the path outlives host sessions."""

    def __init__(self, link=None):
        import tty
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no CR/LF mapping, no signals: every byte value passes
        self.path = os.ttyname(self.slave)
        self.link = link
        if link:
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(self.path, link)
        FdEnd.__init__(self, self.master, self.master)

    def close(self):
        if self.link and os.path.islink(self.link):
            os.unlink(self.link)
        os.close(self.master)
        os.close(self.slave)


class TcpEnd:
    """Raw TCP like QEMU's `-serial tcp::PORT,server`: one host at a time, a second one is told and closed."""

    def __init__(self, host, port):
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind((host, port))
        self.srv.listen(4)
        self.srv.setblocking(False)
        self.url = 'socket://%s:%d' % self.srv.getsockname()[:2]
        self.conn = None
        self.want_out = False

    def start(self, poller, owner):
        self.poller = poller
        self.owner = owner
        poller.set(self.srv, POLLIN, self._on_accept)

    def _on_accept(self, ev):
        try:
            c, _ = self.srv.accept()
        except BlockingIOError:
            return
        if self.conn is not None and not self._alive():
            self._detach()  # it left, and this accept came before we read its FIN
        if self.conn is not None:
            c.setblocking(True)
            c.sendall(BUSY_NOTE)
            c.close()
            return
        c.setblocking(False)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a UART has no Nagle
        self.conn = c
        self.want_out = False
        self.poller.set(c, POLLIN, self._on_event)

    def _on_event(self, ev):
        if ev & POLLOUT:
            self.owner.writable(self)
        if self.conn is not None and ev & ~POLLOUT:
            try:
                data = self.conn.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                data = b''
            if data:
                self.owner.received(self, data)
            else:
                self._detach()

    def _alive(self):
        import select
        p = select.poll()
        p.register(self.conn, POLLIN)
        ready = p.poll(0)
        if not ready:
            return True
        if ready[0][1] & (select.POLLHUP | select.POLLERR):
            return False
        try:
            return self.conn.recv(1, socket.MSG_PEEK) != b''
        except BlockingIOError:
            return True
        except OSError:
            return False

    def _detach(self):
        self.poller.set(self.conn, 0)
        self.conn.close()
        self.conn = None
        self.owner.detached(self)

    def write(self, mv):
        if self.conn is None:
            return len(mv)  # no host attached: dropped, like a UART nobody listens to
        try:
            return self.conn.send(mv)
        except BlockingIOError:
            return 0
        except OSError:
            self._detach()
            return len(mv)

    def want_write(self, flag):
        if self.conn is not None and flag != self.want_out:
            self.want_out = flag
            self.poller.set(self.conn, POLLIN | (POLLOUT if flag else 0), self._on_event)

    def close(self):
        if self.conn is not None:
            self._detach()
        self.poller.set(self.srv, 0)
        self.srv.close()


class Link:
    """The agent's one serial line over one or more attachment points (see the top of this file)."""

    signals_writable = True

    def __init__(self, ends):
        self.ends = ends
        self.active = ends[0] if len(ends) == 1 else None

    def start(self, poller, agent):
        self.agent = agent
        for e in self.ends:
            e.start(poller, self)

    def received(self, end, data):
        if end is not self.active:
            if self.active is not None:
                self.agent.drop_output()
                self.active.want_write(False)
            self.active = end
        self.agent.feed(data)

    def writable(self, end):
        if end is self.active:
            self.agent.flush()

    def detached(self, end):
        if end is self.active:
            self.active = None
            self.agent.drop_output()

    def write(self, mv):
        if self.active is not None:
            return self.active.write(mv)
        for e in self.ends:
            e.write(mv)  # nobody spoke yet (BOOT): best effort to every end
        return len(mv)

    def want_write(self, flag):
        if self.active is not None:
            self.active.want_write(flag)

    def close(self):
        for e in self.ends:
            e.close()


def parse_args(argv):
    """-> dict(pty=None|True|LINK, listen=[(host, port)], stdio=bool); ValueError with a reason."""
    opts = {'pty': None, 'listen': [], 'stdio': False}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '--pty':
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            opts['pty'] = nxt if nxt and not nxt.startswith('-') else True
            i += 1 if opts['pty'] is True else 2
        elif a == '--listen' and i + 1 < len(argv):
            opts['listen'].append(parse_listen(argv[i + 1]))
            i += 2
        elif a == '--stdio':
            opts['stdio'] = True
            i += 1
        else:
            raise ValueError('unexpected argument %r' % a)
    if opts['stdio'] and (opts['pty'] or opts['listen']):
        raise ValueError('--stdio cannot be combined with --pty or --listen')
    if not opts['stdio'] and not opts['pty'] and not opts['listen']:
        opts['listen'].append(('127.0.0.1', 0))
    return opts


def parse_listen(spec):
    if not spec.startswith('tcp://') or ':' not in spec[6:]:
        raise ValueError('--listen expects tcp://HOST:PORT, got %r' % spec)
    host, _, port = spec[6:].rpartition(':')
    if not port.isdigit() or int(port) > 65535:
        raise ValueError('--listen: bad port in %r' % spec)
    return host.strip('[]'), int(port)


def _stop(signum, frame):
    # Once: a second signal (a terminal's Ctrl-C reaches the parent too) must not break cleanup.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(0)


def main(argv):
    try:
        opts = parse_args(argv)
    except ValueError as e:
        sys.stderr.write('agent: %s\n%s\n' % (e, USAGE))
        return 2
    lines = []
    if opts['stdio']:
        ends = [FdEnd(sys.stdin.fileno(), sys.stdout.fileno(), eof_stops=True)]
    else:
        ends = []
        for host, port in opts['listen']:
            ends.append(TcpEnd(host, port))
            lines.append('listening ' + ends[-1].url)
        if opts['pty']:
            ends.append(PtyEnd(opts['pty'] if opts['pty'] is not True else None))
            lines.append('pty ' + ends[-1].path)
    link = Link(ends)
    config = {}
    if os.environ.get('NETCOPROC_AGENT_CONNECT_TIMEOUT_MS', '').isdigit():  # tests use short ones
        config['connect_timeout_ms'] = int(os.environ['NETCOPROC_AGENT_CONNECT_TIMEOUT_MS'])
    agent = Agent(link, config=config, log=lambda text: sys.stderr.write('agent: %s\n' % text))
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    for line in lines:
        sys.stdout.write(line + '\n')
    sys.stdout.flush()
    try:
        agent.run()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        agent.close()
    return 0
