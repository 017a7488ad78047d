# The reliable link of SPEC section 7 for the device agent: go-back-N over numbered frames,
# cumulative acknowledgements riding on every frame, an adaptive retransmission timeout
# (RFC 6298 estimator, not sampled from retransmitted frames) and bounded retries. Pure: no
# I/O, time passed in (ms ticks), frames in and out as unescaped bytes.
#
#   link = ReliableLink(window=8)
#   frames = link.send(KIND_EVENT, 7, 0x81, body, now)   # numbered; [] while the window is full
#   deliver, frames = link.receive(flags, (lseq, lack), now)
#   frames = link.tick(now)                              # at link.deadline(); link.dead after 8 rounds
#
# Memory is bounded by `window`: only that many frames (their bodies) are kept for
# retransmission; more wait in `queued`, which the agent keeps short by pausing DATA pushes
# while the window is full (Agent.can_push).

from ncp_wire import KIND_EVENT, encode_frame

try:
    from time import ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython
    import time

    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

    def ticks_add(a, d):
        return a + d

FLAG_LINK = 1
FLAG_RELIABLE = 2
FLAG_UNNUMBERED = 4
OP_ACK = 0x91

INITIAL_RTO = 500
MIN_RTO = 60
MAX_RTO = 4000
MAX_RETRIES = 8
ACK_DELAY = 5


def before(a, b):
    """a comes before b in 16-bit sequence space."""
    d = (a - b) & 0xFFFF
    return d != 0 and d >= 0x8000


class ReliableLink:
    """One end's state: numbering, the unacknowledged frames, timers (SPEC section 7)."""

    def __init__(self, window):
        self.window = window
        self.next_seq = 0
        self.expected = 0
        self.unacked = []  # [lseq, kind, seq, op, body, sent_at, retransmitted]
        self.queued = []  # (kind, seq, op, body) waiting for the window
        self.rto = INITIAL_RTO
        self.srtt = None
        self.rttvar = 0
        self.rto_at = None
        self.ack_at = None
        self.retries = 0
        self.dead = False
        self.retransmitted = 0

    def ack(self):
        """The last frame received in order (65535 before any)."""
        return (self.expected - 1) & 0xFFFF

    def backlog(self):
        return len(self.unacked) + len(self.queued)

    def full(self):
        return self.backlog() >= self.window

    def _frame(self, kind, seq, op, body, lseq, flags=FLAG_LINK):
        return encode_frame(kind, seq, op, body, flags, (lseq, self.ack()))

    def send(self, kind, seq, op, body, now):
        """Numbers a frame and returns it for the wire, or queues it while the window is full."""
        if len(self.unacked) >= self.window:
            self.queued.append((kind, seq, op, body))
            return []
        return [self._transmit(kind, seq, op, body, now)]

    def _transmit(self, kind, seq, op, body, now):
        lseq = self.next_seq
        self.next_seq = (lseq + 1) & 0xFFFF
        self.unacked.append([lseq, kind, seq, op, body, now, False])
        self.ack_at = None  # the acknowledgement rides on this frame
        if self.rto_at is None:
            self.rto_at = ticks_add(now, self.rto)
        return self._frame(kind, seq, op, body, lseq)

    def receive(self, flags, link, now):
        """-> (deliver, frames). Only the next numbered frame in order is delivered; a duplicate or
        a frame after a gap is dropped unprocessed and answered at once with an ACK."""
        out = self._on_ack(link[1], now)
        if flags & FLAG_UNNUMBERED:
            return False, out
        if link[0] != self.expected:
            out.append(self._ack_frame())
            return False, out
        self.expected = (self.expected + 1) & 0xFFFF
        if self.ack_at is None:
            self.ack_at = ticks_add(now, ACK_DELAY)
        return True, out

    def _on_ack(self, ack, now):
        progressed = False
        while self.unacked and not before(ack, self.unacked[0][0]):
            done = self.unacked.pop(0)
            if not done[6]:
                self._sample(ticks_diff(now, done[5]))
            progressed = True
        if not progressed:
            return []
        self.retries = 0
        self.rto_at = ticks_add(now, self.rto) if self.unacked else None
        out = []
        while self.queued and len(self.unacked) < self.window:
            q = self.queued.pop(0)
            out.append(self._transmit(q[0], q[1], q[2], q[3], now))
        return out

    def _sample(self, r):
        # Integer ms throughout: ports without floats (the WiPy) run this too.
        if self.srtt is None:
            self.srtt = r
            self.rttvar = r // 2
        else:
            self.rttvar = (3 * self.rttvar + abs(self.srtt - r)) // 4
            self.srtt = (7 * self.srtt + r) // 8
        self.rto = min(MAX_RTO, max(MIN_RTO, self.srtt + 4 * self.rttvar))

    def _ack_frame(self):
        self.ack_at = None
        return encode_frame(KIND_EVENT, 0, OP_ACK, b'', FLAG_LINK | FLAG_UNNUMBERED, (0, self.ack()))

    def deadline(self):
        """When tick() must run next (a ticks value), or None."""
        if self.rto_at is None:
            return self.ack_at
        if self.ack_at is None or ticks_diff(self.rto_at, self.ack_at) < 0:
            return self.rto_at
        return self.ack_at

    def tick(self, now):
        """Due timers: go-back-N (every unacknowledged frame again, RTO doubled), or a delayed ACK."""
        out = []
        if self.rto_at is not None and ticks_diff(now, self.rto_at) >= 0 and self.unacked:
            self.retries += 1
            if self.retries > MAX_RETRIES:
                self.dead = True
                return out
            self.rto = min(MAX_RTO, self.rto * 2)
            for u in self.unacked:
                u[5] = now
                u[6] = True
                self.retransmitted += 1
                out.append(self._frame(u[1], u[2], u[3], u[4], u[0]))
            self.ack_at = None
            self.rto_at = ticks_add(now, self.rto)
        if self.ack_at is not None and ticks_diff(now, self.ack_at) >= 0:
            out.append(self._ack_frame())
        return out
