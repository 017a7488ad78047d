# The reliable link of SPEC section 7 for the device agent: numbered frames, cumulative
# acknowledgements riding on every frame, frames after a gap kept until it is filled, and a
# sender that resends only the oldest lost frame - at once on a duplicate ACK (fast retransmit;
# a serial line never reorders), on each partial acknowledgement after that (the next hole),
# else at the adaptive timeout (RFC 6298, not sampled from resent frames) - with bounded
# retries. Pure: no I/O, time passed in (ms ticks), frames in and out as unescaped bytes.
#
#   link = ReliableLink(window=8)
#   frames = link.send(KIND_EVENT, 7, 0x81, body, now)   # numbered; [] while the window is full
#   ready, frames = link.receive(flags, (lseq, lack), frame, now)  # raw frames to process, in order
#   frames = link.tick(now)                              # at link.deadline(); link.dead after 8 timeouts
#
# Memory is bounded by `window`, both ways: at most that many sent frames (their bodies) are kept
# for resending, at most that many received frames wait for a gap to be filled. More outgoing
# frames wait in `queued`, which the agent keeps short by pausing DATA pushes while the window is
# full (Agent.can_push). Integer arithmetic only: ports without floats (the WiPy) run it too.

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
MIN_RTO = 20
MAX_RTO = 2000
MAX_RETRIES = 8
ACK_DELAY = 5
GAP = 0  # an ACK frame's linkSeq: a frame after a gap arrived (a loss report)
PLAIN = 1  # an ACK frame's linkSeq: a plain acknowledgement (delayed, or for a duplicate)


def before(a, b):
    """a comes before b in 16-bit sequence space."""
    d = (a - b) & 0xFFFF
    return d != 0 and d >= 0x8000


class ReliableLink:
    """One end's state: numbering, frames kept both ways, timers (SPEC section 7)."""

    def __init__(self, window):
        self.window = window
        self.next_seq = 0
        self.expected = 0
        self.unacked = []  # [lseq, kind, seq, op, body, sent_at, resent]
        self.queued = []  # (kind, seq, op, body) waiting for the window
        self.early = {}  # lseq -> raw frame received after a gap
        self.rto = INITIAL_RTO
        self.srtt = None
        self.rttvar = 0
        self.rto_at = None
        self.ack_at = None
        self.retries = 0
        self.dead = False
        self.last_ack = 0xFFFF
        self.dup_acks = 0
        self.recover_until = None  # in recovery until this frame is acknowledged
        self.by_timeout = False  # that recovery began at a timeout, not at a reported gap
        self.clean_acks = 0
        # SPEC section 7 "Frame size": less payload per frame while resending
        self.payload_limit = 65536
        self.resent = 0

    def ack(self):
        """The last frame received in order (65535 before any)."""
        return (self.expected - 1) & 0xFFFF

    def backlog(self):
        return len(self.unacked) + len(self.queued)

    def full(self):
        return self.backlog() >= self.window

    def _frame(self, kind, seq, op, body, lseq):
        return encode_frame(kind, seq, op, body, FLAG_LINK, (lseq, self.ack()))

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

    def receive(self, flags, link, frame, now):
        """-> (ready, frames). `ready`: raw frames to process now, in order (this one, then kept
        ones it completes). A duplicate is dropped unprocessed; a frame after a gap is kept;
        both are answered at once with an ACK."""
        # Only an ACK frame reporting a gap (linkSeq GAP) is a loss signal (SPEC section 7).
        out = self._on_ack(link[1], now, (flags & FLAG_UNNUMBERED) and link[0] != PLAIN)
        if flags & FLAG_UNNUMBERED:
            return [], out
        ahead = (link[0] - self.expected) & 0xFFFF
        if ahead >= 0x8000:
            # A duplicate: acknowledged like an accepted frame, within ACK_DELAY, not at once
            # (SPEC section 7: an immediate answer reads as a loss and feeds a resend storm).
            if self.ack_at is None:
                self.ack_at = ticks_add(now, ACK_DELAY)
            return [], out
        if ahead:
            if ahead < self.window and link[0] not in self.early:
                self.early[link[0]] = frame
            out.append(self._ack_frame(GAP))  # a loss report: it says what is missing
            return [], out
        ready = [frame]
        self.expected = (self.expected + 1) & 0xFFFF
        while self.expected in self.early:
            ready.append(self.early.pop(self.expected))
            self.expected = (self.expected + 1) & 0xFFFF
        if self.ack_at is None:
            self.ack_at = ticks_add(now, ACK_DELAY)
        return ready, out

    def _on_ack(self, ack, now, pure):
        progressed = False
        while self.unacked and not before(ack, self.unacked[0][0]):
            done = self.unacked.pop(0)
            if not done[6]:
                self._sample(ticks_diff(now, done[5]))
                self.clean_acks += 1
                if self.clean_acks >= 32:
                    self.clean_acks = 0
                    self.payload_limit = min(65536, self.payload_limit + (self.payload_limit + 3) // 4)
            progressed = True
        out = []
        if not progressed:
            # Only ACK frames count as duplicates: a data frame repeats the ack when nothing new came.
            if pure and ack == self.last_ack and self.unacked:
                self.dup_acks += 1
                first = self.dup_acks == 1 and self.recover_until is None
                # still duplicates 1.5 round trips after the resend: that resend was lost too
                lost = self.recover_until is not None and \
                    ticks_diff(now, self.unacked[0][5]) > (3 * (self.srtt if self.srtt is not None else self.rto)) // 2
                if first or lost:
                    if self.recover_until is None:
                        self.recover_until = (self.next_seq - 1) & 0xFFFF
                    self.by_timeout = False  # the receiver reported a hole
                    out.append(self._resend_oldest(now))
            return out
        self.last_ack = ack
        self.dup_acks = 0
        self.retries = 0
        self.rto = self._estimated()  # progress clears the back-off: losses here are noise
        if self.recover_until is not None:
            if not before(ack, self.recover_until) or not self.unacked:
                self.recover_until = None
            elif not self.by_timeout:
                # A partial ack names the next hole; after a timeout it names nothing (on a paced
                # line the frames were mostly queued, not lost; a real hole sends its own gap ACK).
                out.append(self._resend_oldest(now))
        self.rto_at = ticks_add(now, self.rto) if self.unacked else None
        while self.queued and len(self.unacked) < self.window:
            q = self.queued.pop(0)
            out.append(self._transmit(q[0], q[1], q[2], q[3], now))
        return out

    def _resend_oldest(self, now):
        self.payload_limit = max(256, min(self.payload_limit, 8192) // 2)
        self.clean_acks = 0
        u = self.unacked[0]
        u[5] = now
        u[6] = True
        self.resent += 1
        return self._frame(u[1], u[2], u[3], u[4], u[0])

    def _estimated(self):
        if self.srtt is None:
            return INITIAL_RTO
        return min(MAX_RTO, max(MIN_RTO, self.srtt + 4 * self.rttvar))

    def _sample(self, r):
        if self.srtt is None:
            self.srtt = r
            self.rttvar = r // 2
        else:
            self.rttvar = (3 * self.rttvar + abs(self.srtt - r)) // 4
            self.srtt = (7 * self.srtt + r) // 8
        self.rto = self._estimated()

    def ack_now(self):
        """A bare ACK for what was delivered, at once (the delayed one is then not needed)."""
        return self._ack_frame()

    def _ack_frame(self, why=PLAIN):
        """An ACK frame; its linkSeq says why (SPEC section 7): GAP = a loss report, PLAIN = otherwise."""
        self.ack_at = None
        return encode_frame(KIND_EVENT, 0, OP_ACK, b'', FLAG_LINK | FLAG_UNNUMBERED, (why, self.ack()))

    def deadline(self):
        """When tick() must run next (a ticks value), or None."""
        if self.rto_at is None:
            return self.ack_at
        if self.ack_at is None or ticks_diff(self.rto_at, self.ack_at) < 0:
            return self.rto_at
        return self.ack_at

    def tick(self, now):
        """Due timers: at the timeout the oldest frame again (RTO doubled), or a delayed ACK."""
        out = []
        if self.rto_at is not None and ticks_diff(now, self.rto_at) >= 0 and self.unacked:
            self.retries += 1
            if self.retries > MAX_RETRIES:
                self.dead = True
                return out
            self.rto = min(MAX_RTO, self.rto * 2)
            out.append(self._resend_oldest(now))
            self.recover_until = (self.next_seq - 1) & 0xFFFF
            self.by_timeout = True
            self.ack_at = None
            self.rto_at = ticks_add(now, self.rto)
        if self.ack_at is not None and ticks_diff(now, self.ack_at) >= 0:
            out.append(self._ack_frame())
        return out
