# One sample frame for every layout of agent.OPS, with distinctive values (a negative i16, a
# u32 above 2**31, C0/DB bytes, a non-ASCII string), so a test can check the agent's opcode
# table against firmware-protocol/opcodes.ts byte for byte: the TypeScript codec must decode
# each frame to the same named values and re-encode it to the same bytes. Runs on CPython and
# MicroPython alike (test/agent-table.test.ts uses both); on a board: `import ncp_samples`.
#
#   >>> samples()[0]['name'], samples()[0]['kind']
#   ('ACCEPT', 'request')

import binascii
import json

from agent import OPS
from ncp_wire import (ADDR, BLOB16, BYTES8, I16, KIND_EVENT, KIND_REQUEST, KIND_RESPONSE, REST, STR8, U8,
                      U16, U32, encode_frame, pack)

VALUES = {
    U8: 0xA5,
    U16: 0xBEEF,
    U32: 0xDEADBEEF,
    I16: -2,
    STR8: 'h\u00e9llo',
    BLOB16: b'\x00\xc0\xdb\xff',
    BYTES8: b'\x01\x02\x03\x04\xc0\xdb\x07\x08',
    ADDR: ('10.77.0.7', 7),
    REST: b'\xc0\xdbrest',
}


def _hex(b):
    return binascii.hexlify(b).decode()


def values_for(layout):
    out = []
    for field in layout:
        t = field[1]
        out.append([values_for(t[1]), values_for(t[1])] if isinstance(t, tuple) else VALUES[t])
    return out


def named(layout, vals):
    """[[name, value], ...] with bytes as {'hex': ...} and addresses as [ip, port]: plain JSON."""
    out = []
    for i in range(len(layout)):
        t = layout[i][1]
        v = vals[i]
        if isinstance(t, tuple):
            v = [named(t[1], item) for item in v]
        elif isinstance(v, bytes):
            v = {'hex': _hex(v)}
        elif isinstance(v, tuple):
            v = [v[0], v[1]]
        out.append([layout[i][0], v])
    return out


def samples():
    out = []
    for name in sorted(OPS):
        code, req, resp, ev = OPS[name]
        for kind, k, layout in (('request', KIND_REQUEST, req), ('response', KIND_RESPONSE, resp),
                                ('event', KIND_EVENT, ev)):
            if layout is None:
                continue
            vals = values_for(layout)
            body = pack(layout, vals)
            if k == KIND_RESPONSE:
                body = b'\x00\x00' + body
            frame = encode_frame(k, 0x0102, code, body)
            out.append({'name': name, 'code': code, 'kind': kind, 'fields': named(layout, vals),
                        'frame': _hex(frame)})
    return out


def dump():
    return json.dumps(samples())
