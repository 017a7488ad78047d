# The data path of the device agent's socket table (SPEC section 4.4, flow control both ways):
# received stream bytes pushed as DATA within the host's credit, EOF/SOCKERR once, SENDs
# answered only when every byte was written (the rest written on POLLOUT), datagrams pushed as
# DGRAM with at most DGRAM_QUEUE waiting. SocketTable (ncp_table.py) inherits these methods.
#
#   table.send(slot, seq, b'GET / HTTP/1.0\r\n\r\n')  # None: the SEND is answered later
#   table.credit(sid, 16384)                           # CREDIT from the host: reads resume

from ncp_wire import DeviceError

DGRAM_QUEUE = 4

# Slot states
NEW = 0
CONNECTING = 1
CONNECTED = 2
LISTENING = 3


class DataPath:
    """Mixed into SocketTable: uses its agent, status_of, fail, _blocked, native_addr, wire_addr, sync."""

    # ---- streams ----

    def _read_stream(self, s):
        if s.finished or s.credit <= 0 or not self.agent.can_push():
            return
        try:
            data = s.sock.recv(min(s.credit, self.agent.payload_cap()))
        except OSError as e:
            st = self.status_of(e)
            if not self._blocked(st):
                self._finish(s, st)
            return
        if data is None:  # some MicroPython ports answer None instead of raising EAGAIN
            return
        if not data:
            s.finished = True
            self.agent.emit_eof(s.id)
            return
        s.credit -= len(data)
        self.agent.emit_data(s.id, data)

    def _finish(self, s, st):
        if not s.finished:
            s.finished = True
            s.fail = st
            self.agent.emit_sockerr(s.id, st)

    def send(self, s, seq, data):
        """SEND: answered once every byte was written (maybe later, from the poll loop)."""
        if s.udp:
            if s.peer is None:
                raise self.fail('ENOTCONN', 'no default peer: connect() first or use sendto()')
            return self._sendto(s, data, s.peer)
        if s.fail:
            raise DeviceError(s.fail, 'connection failed')
        if s.state != CONNECTED:
            raise self.fail('ENOTCONN', 'socket not connected')
        if s.shut is not None:
            raise self.fail('EPIPE', 'sending side shut down')
        s.txq.append([seq, memoryview(data), 0])
        if len(s.txq) == 1:
            self._write(s)
        self.sync(s)
        return None  # deferred: _write answers

    def _write(self, s):
        while s.txq:
            item = s.txq[0]
            try:
                n = s.sock.send(item[1][item[2]:])
            except OSError as e:
                st = self.status_of(e)
                if self._blocked(st):
                    return
                self._fail_sends(s, st, 'send failed')
                s.fail = st
                self._finish(s, st)
                return
            if not n:
                return
            item[2] += n
            if item[2] < len(item[1]):
                return  # the rest goes out on POLLOUT
            s.txq.pop(0)
            self.agent.answer(item[0], self.agent.op_send, (len(item[1]),))
        if s.shut is not None and s.shut >= 0:
            self._shut_now(s)

    # ---- half-close (SPEC revision 1.2) ----

    def shutdown(self, s, seq, how):
        """SHUTDOWN: FIN after every unanswered SEND; answered once it is queued (maybe later)."""
        if how > 2:
            raise self.fail('EINVAL', 'how must be 0, 1 or 2')
        if s.udp or s.state != CONNECTED:
            raise self.fail('ENOTCONN', 'socket not connected')
        if how == 0 or s.shut is not None:
            return ()
        s.shut = seq
        if s.txq:
            return None  # _write shuts down once the queue is empty
        s.shut = -1
        self._shutdown_sock(s)
        return ()

    def _shut_now(self, s):
        seq = s.shut
        s.shut = -1
        try:
            self._shutdown_sock(s)
        except OSError as e:
            return self.agent.answer_error(seq, self.agent.op_shutdown, self.status_of(e), 'shutdown failed')
        self.agent.answer(seq, self.agent.op_shutdown, ())

    def _shutdown_sock(self, s):
        s.sock.shutdown(1)  # SHUT_WR: the FIN goes after what the stack holds

    def _fail_sends(self, s, st, why):
        q = s.txq
        s.txq = []
        for item in q:
            self.agent.answer_error(item[0], self.agent.op_send, st, why)
        if s.shut is not None and s.shut >= 0:
            seq = s.shut
            s.shut = -1
            self.agent.answer_error(seq, self.agent.op_shutdown, st, why)

    # ---- datagrams ----

    def sendto(self, s, seq, data, addr):
        if not s.udp:
            return self.send(s, seq, data)
        return self._sendto(s, data, self.native_addr(addr))

    def _sendto(self, s, data, peer):
        try:
            n = s.sock.sendto(data, peer)
        except OSError as e:
            raise DeviceError(self.status_of(e), 'sendto failed')
        return (len(data) if n is None else n,)

    def _read_dgram(self, s):
        if len(s.dgrams) < DGRAM_QUEUE:
            try:
                # recvfrom(n) truncates a larger datagram, as SPEC section 4.4 asks.
                data, a = s.sock.recvfrom(self.agent.payload_cap() - 19)
            except OSError:
                return  # EAGAIN, or an ICMP error for an earlier datagram: nothing to deliver
            s.dgrams.append((data, self.wire_addr(a)))
        self.pump_dgrams(s)

    def pump_dgrams(self, s):
        while s.dgrams and self.agent.can_push() and len(s.dgrams[0][0]) <= s.credit:
            data, a = s.dgrams.pop(0)
            s.credit -= len(data)
            self.agent.emit_dgram(s.id, a, data)

    def credit(self, sid, n):
        s = self.slots[sid] if 0 <= sid < len(self.slots) else None
        if s is None:
            return
        s.credit += n
        if s.udp:
            self.pump_dgrams(s)
        self.sync(s)
