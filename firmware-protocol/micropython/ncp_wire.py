# The pure wire layer of the netcoproc SLIP RPC (firmware-protocol/SPEC.md sections 1-2):
# SLIP framing, CRC-32, frames and body fields. No I/O, no sockets: it runs unchanged on
# CPython and on every MicroPython port (tested on CPython and on the MicroPython WebAssembly
# build), so the device agent's protocol logic can be checked away from a board.
#
# Written in the Python subset MicroPython and CPython share: no f-strings, no slice deletion,
# no int.from_bytes(signed=...), no BlockingIOError. Values of a body are positional lists,
# in the order of the layout (see agent.OPS).
#
#   >>> slip_encode(b'\x01\xc0\x02\xdb')
#   b'\xc0\x01\xdb\xdc\x02\xdb\xdd\xc0'
#   >>> SlipDecoder(64).feed(b'\xc0\x01\xdb\xdc\x02\xdb\xdd\xc0')
#   [b'\x01\xc0\x02\xdb']

try:
    import binascii
except ImportError:  # a port built without it
    binascii = None

END = b'\xc0'
ESC = b'\xdb'
VERSION = 1
HEADER = 6
CRC_SIZE = 4
OVERHEAD = HEADER + CRC_SIZE
KIND_REQUEST = 0
KIND_RESPONSE = 1
KIND_EVENT = 2

# Field types of a layout (SPEC section 2). A list is the tuple ('list8', sublayout).
U8 = 'u8'
U16 = 'u16'
U32 = 'u32'
I16 = 'i16'
STR8 = 'str8'
BLOB16 = 'blob16'
BYTES8 = 'bytes8'
ADDR = 'addr'
REST = 'rest'


class WireError(ValueError):
    """A body that does not match its layout (too short, trailing bytes, bad value)."""


class FrameError(ValueError):
    """A rejected frame. `seq`, `kind` and `op` are set when the header was readable (CRC ok)."""

    def __init__(self, reason, seq=None, kind=None, op=None):
        super().__init__(reason)
        self.reason = reason
        self.seq = seq
        self.kind = kind
        self.op = op


# ---- status numbers (SPEC section 3) ----

# name: (Linux/MicroPython number, newlib number as on the ESP32) - the rows of
# firmware-protocol/errno.ts; test/agent-table.test.ts fails if the two drift apart.
ERRNO = {
    'EPERM': (1, 1), 'ENOENT': (2, 2), 'EIO': (5, 5), 'EBADF': (9, 9), 'EAGAIN': (11, 11),
    'ENOMEM': (12, 12), 'EACCES': (13, 13), 'EBUSY': (16, 16), 'EEXIST': (17, 17), 'ENODEV': (19, 19),
    'ENOTDIR': (20, 20), 'EISDIR': (21, 21), 'EINVAL': (22, 22), 'ENFILE': (23, 23),
    'EMFILE': (24, 24), 'ENOTTY': (25, 25), 'ENOSPC': (28, 28), 'EPIPE': (32, 32), 'ENAMETOOLONG': (36, 91),
    'EMSGSIZE': (90, 122), 'ENOPROTOOPT': (92, 109),
    'EPROTONOSUPPORT': (93, 123), 'EOPNOTSUPP': (95, 95), 'EAFNOSUPPORT': (97, 106),
    'EADDRINUSE': (98, 112), 'EADDRNOTAVAIL': (99, 125), 'ENETUNREACH': (101, 114),
    'ECONNABORTED': (103, 113), 'ECONNRESET': (104, 104), 'ENOBUFS': (105, 105),
    'EISCONN': (106, 127), 'ENOTCONN': (107, 128), 'ETIMEDOUT': (110, 116),
    'ECONNREFUSED': (111, 111), 'EHOSTUNREACH': (113, 118), 'EALREADY': (114, 120),
    'EINPROGRESS': (115, 119),
}


def errno_numbers(base):
    """name -> number in one numbering: errno_numbers(1)['EINPROGRESS'] == 119 (newlib)."""
    out = {}
    for name in ERRNO:
        out[name] = ERRNO[name][base]
    return out


class DeviceError(Exception):
    """A request failed: `status` in the device's numbering (or a negative resolver code)."""

    def __init__(self, status, message=''):
        super().__init__(status, message)
        self.status = status
        self.message = message


# ---- CRC-32 (IEEE 802.3, as zlib) ----

_table = None


def _make_table():
    # array('L') keeps the 256 entries in 1 KiB; a list of big ints would cost ~6 KiB on a WiPy.
    try:
        from array import array
        t = array('L', [0] * 256)
    except ImportError:
        t = [0] * 256
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        t[i] = c
    return t


def crc32_py(data, crc=0):
    """Table-driven CRC-32 for ports without binascii.crc32 (the WiPy)."""
    global _table
    if _table is None:
        _table = _make_table()
    t = _table
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


if binascii is not None and hasattr(binascii, 'crc32'):
    def crc32(data):
        """CRC-32 of `data` as an unsigned int: crc32(b'123456789') == 0xcbf43926."""
        return binascii.crc32(data) & 0xFFFFFFFF
else:
    crc32 = crc32_py


# ---- SLIP (RFC 1055) ----

def slip_encode(frame):
    """END, the frame with C0 -> DB DC and DB -> DB DD, END. ESC first, or the DB of DB DC would be doubled."""
    if b'\xc0' in frame or b'\xdb' in frame:
        frame = frame.replace(b'\xdb', b'\xdb\xdd').replace(b'\xc0', b'\xdb\xdc')
    return END + frame + END


def slip_unescape(raw):
    """Escaped frame bytes -> frame, or None for DB followed by anything but DC/DD."""
    if b'\xdb' not in raw:
        return raw
    parts = raw.split(b'\xdb')
    out = [parts[0]]
    for p in parts[1:]:
        if not p:
            return None
        c = p[0]
        if c == 0xDC:
            out.append(b'\xc0')
        elif c == 0xDD:
            out.append(b'\xdb')
        else:
            return None
        out.append(p[1:])
    return b''.join(out)


class SlipDecoder:
    """Push decoder: feed(bytes) -> list of complete unescaped frames.

    Discards silently (SPEC section 1), counting in `dropped`: bytes before the first END, empty
    frames are skipped without counting, frames longer than `max_frame` (until the next END),
    frames with a bad escape. Memory is one preallocated buffer of 2 * max_frame bytes.
    """

    def __init__(self, max_frame):
        self.max_frame = max_frame
        self.buf = bytearray(2 * max_frame)
        self.mv = memoryview(self.buf)
        self.n = 0
        self.skip = True  # until the first END, and after an oversize frame
        self.skipped = False
        self.dropped = 0

    def feed(self, data):
        if not isinstance(data, (bytes, bytearray)):
            data = bytes(data)
        dmv = memoryview(data)
        out = []
        pos = 0
        size = len(data)
        while pos < size:
            end = data.find(b'\xc0', pos)
            stop = size if end < 0 else end
            if stop > pos:
                self._take(dmv, pos, stop)
            if end < 0:
                break
            self._end(out)
            pos = end + 1
        return out

    def _take(self, dmv, a, b):
        if self.skip:
            self.skipped = True
            return
        k = b - a
        if self.n + k > len(self.buf):
            self.skip = True  # longer than any valid frame can be escaped: drop until END
            self.skipped = True
            self.n = 0
            return
        self.mv[self.n:self.n + k] = dmv[a:b]
        self.n += k

    def _end(self, out):
        if self.skip:
            if self.skipped:
                self.dropped += 1
        elif self.n:
            frame = slip_unescape(bytes(self.mv[:self.n]))
            if frame is None or len(frame) > self.max_frame:
                self.dropped += 1
            else:
                out.append(frame)
        self.skip = False
        self.skipped = False
        self.n = 0


# ---- frames (SPEC section 2) ----

def _u32(v):
    return bytes(((v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255))


def encode_frame(kind, seq, op, body, flags=0, link=None):
    """Header + body + CRC, unescaped. encode_frame(0, 0x0102, 0x10, b'\\x02\\x01\\x06') -> SPEC section 5.

    `link` = (linkSeq, linkAck) adds the link header of SPEC section 7 (and flag LINK, 01).
    """
    if link is None:
        f = bytes((VERSION, kind, (seq >> 8) & 255, seq & 255, op, flags)) + body
    else:
        f = bytes((VERSION, kind, (seq >> 8) & 255, seq & 255, op, flags | 1, (link[0] >> 8) & 255, link[0] & 255,
                   (link[1] >> 8) & 255, link[1] & 255)) + body
    return f + _u32(crc32(f))


def decode_frame(f):
    """Unescaped frame -> (kind, seq, op, body, flags, link); FrameError('short'|'crc'|'version'|'kind').

    `link` is (linkSeq, linkAck) when flag LINK (01) is set (SPEC section 7), else None; `body`
    starts after the link header.
    """
    if len(f) < OVERHEAD:
        raise FrameError('short')
    end = len(f) - CRC_SIZE
    got = (f[end] << 24) | (f[end + 1] << 16) | (f[end + 2] << 8) | f[end + 3]
    if crc32(f[:end]) != got:
        raise FrameError('crc')
    seq = (f[2] << 8) | f[3]
    if f[0] != VERSION:
        raise FrameError('version', seq)
    if f[1] > KIND_EVENT:
        raise FrameError('kind', seq)
    flags = f[5]
    if not flags & 1:
        return f[1], seq, f[4], f[6:end], flags, None
    if end < 10:
        raise FrameError('short', seq)
    return f[1], seq, f[4], f[10:end], flags, ((f[6] << 8) | f[7], (f[8] << 8) | f[9])


# ---- addresses ----

def ip_to_bytes(ip):
    """'10.77.0.7' -> 4 bytes; an IPv6 literal (with '::' and embedded IPv4) -> 16; else WireError."""
    if ':' not in ip:
        parts = ip.split('.')
        if len(parts) != 4:
            raise WireError('not an IP literal: %s' % ip)
        try:
            vals = [int(p) for p in parts]
        except ValueError:
            raise WireError('not an IP literal: %s' % ip)
        for v in vals:
            if v < 0 or v > 255:
                raise WireError('not an IP literal: %s' % ip)
        return bytes(vals)
    return _ip6_to_bytes(ip)


def _ip6_groups(text):
    if not text:
        return []
    out = []
    items = text.split(':')
    for i in range(len(items)):
        g = items[i]
        if i == len(items) - 1 and '.' in g:
            b = ip_to_bytes(g)
            out.append((b[0] << 8) | b[1])
            out.append((b[2] << 8) | b[3])
        else:
            if not g or len(g) > 4:
                raise WireError('not an IP literal: %s' % text)
            out.append(int(g, 16))
    return out


def _ip6_to_bytes(ip):
    halves = ip.split('::')
    if len(halves) > 2:
        raise WireError('not an IP literal: %s' % ip)
    head = _ip6_groups(halves[0])
    tail = _ip6_groups(halves[1]) if len(halves) == 2 else []
    missing = 8 - len(head) - len(tail)
    if (len(halves) == 1 and missing != 0) or missing < 0:
        raise WireError('not an IP literal: %s' % ip)
    groups = head + [0] * missing + tail
    out = bytearray(16)
    for i in range(8):
        out[2 * i] = groups[i] >> 8
        out[2 * i + 1] = groups[i] & 255
    return bytes(out)


def bytes_to_ip(b):
    """4 bytes -> dotted quad; 16 bytes -> full-form IPv6 (no '::' compression; still a valid literal)."""
    if len(b) == 4:
        return '%d.%d.%d.%d' % (b[0], b[1], b[2], b[3])
    return ':'.join(['%x' % ((b[i] << 8) | b[i + 1]) for i in range(0, 16, 2)])


def pack_addr(addr):
    ip = ip_to_bytes(addr[0])
    port = addr[1]
    fam = 2 if len(ip) == 4 else 10
    return bytes((fam,)) + ip + bytes(((port >> 8) & 255, port & 255))


# ---- bodies: layout = tuple of (name, type) ----

def _need(b, pos, n):
    if pos + n > len(b):
        raise WireError('body too short: need %d bytes at offset %d' % (n, pos))
    return pos + n


def _read(t, b, pos):
    if t == U8:
        nxt = _need(b, pos, 1)
        return b[pos], nxt
    if t == U16 or t == I16:
        nxt = _need(b, pos, 2)
        v = (b[pos] << 8) | b[pos + 1]
        if t == I16 and v >= 0x8000:
            v -= 0x10000
        return v, nxt
    if t == U32:
        nxt = _need(b, pos, 4)
        return (b[pos] << 24) | (b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3], nxt
    if t == STR8 or t == BLOB16:
        if t == STR8:
            _need(b, pos, 1)
            n, pos = b[pos], pos + 1
        else:
            n, pos = _read(U16, b, pos)
        nxt = _need(b, pos, n)
        v = bytes(b[pos:nxt])
        if t == STR8:
            try:
                v = v.decode('utf-8')
            except UnicodeError:
                raise WireError('string is not valid UTF-8')
        return v, nxt
    if t == BYTES8:
        nxt = _need(b, pos, 8)
        return bytes(b[pos:nxt]), nxt
    if t == ADDR:
        _need(b, pos, 1)
        fam = b[pos]
        size = 4 if fam == 2 else 16 if fam == 10 else -1
        if size < 0:
            raise WireError('unknown address family %d' % fam)
        at = _need(b, pos + 1, size)
        port, nxt = _read(U16, b, at)
        return (bytes_to_ip(b[pos + 1:at]), port), nxt
    if t == REST:
        return bytes(b[pos:]), len(b)
    if isinstance(t, tuple) and t[0] == 'list8':
        _need(b, pos, 1)
        n, pos = b[pos], pos + 1
        items = []
        for _ in range(n):
            item, pos = unpack_at(t[1], b, pos)
            items.append(item)
        return items, pos
    raise WireError('unknown field type %r' % (t,))


def unpack_at(layout, b, pos):
    vals = []
    for field in layout:
        v, pos = _read(field[1], b, pos)
        vals.append(v)
    return vals, pos


def unpack(layout, b):
    """Body bytes -> list of values; WireError unless the body matches the layout exactly."""
    vals, pos = unpack_at(layout, b, 0)
    if pos != len(b):
        raise WireError('%d unexpected trailing bytes' % (len(b) - pos))
    return vals


def _write(t, v, out):
    if t == U8:
        out.append(bytes((v & 255,)))
    elif t == U16 or t == I16:
        out.append(bytes(((v >> 8) & 255, v & 255)))
    elif t == U32:
        out.append(_u32(v))
    elif t == STR8 or t == BLOB16:
        raw = v.encode('utf-8') if isinstance(v, str) else bytes(v)
        if t == STR8:
            out.append(bytes((len(raw),)))
        else:
            out.append(bytes(((len(raw) >> 8) & 255, len(raw) & 255)))
        out.append(raw)
    elif t == BYTES8 or t == REST:
        out.append(bytes(v))
    elif t == ADDR:
        out.append(pack_addr(v))
    elif isinstance(t, tuple) and t[0] == 'list8':
        out.append(bytes((len(v),)))
        for item in v:
            pack_into(t[1], item, out)
    else:
        raise WireError('unknown field type %r' % (t,))


def pack_into(layout, vals, out):
    for i in range(len(layout)):
        _write(layout[i][1], vals[i], out)


def pack(layout, vals):
    """List of values -> body bytes: pack(((('sock', U8),), [3]) == b'\\x03'."""
    out = []
    pack_into(layout, vals, out)
    return b''.join(out)
