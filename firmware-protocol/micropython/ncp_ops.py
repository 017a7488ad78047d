# THE opcode table of the device agent, mirrored from firmware-protocol/opcodes.ts (the source
# of truth; test/agent-table.test.ts fails when they drift), and the HELLO capability bits.
#
#   OPS['SOCKET'] == (0x10, (('family', U8), ('type', U8), ('proto', U8)), (('sock', U8),), None)
#   BY_CODE[0x10] == 'SOCKET'

from ncp_wire import ADDR, BLOB16, BYTES8, I16, REST, STR8, U8, U16, U32

# name: (code, request, response, event); None = no layout of that kind

SOCK = ('sock', U8)
ADDRINFO = (('family', U8), ('type', U8), ('proto', U8), ('canonname', STR8), ('addr', ADDR))
POLL_ENTRY = (('sock', U8), ('events', U8))
EMPTY = ()

OPS = {
    'HELLO': (0x01, (('version', U8), ('maxFrame', U32), ('rxWindow', U32)),
              (('version', U8), ('profile', STR8), ('capabilities', U32), ('maxFrame', U32),
               ('txWindow', U32), ('maxSockets', U8), ('errnoBase', U8), ('bootNonce', BYTES8)), None),
    'PING': (0x02, (('payload', REST),), (('payload', REST),), None),
    'UART_CONFIG': (0x03, (('baudRate', U32), ('dataBits', U8), ('parity', U8), ('stopBits', U8)), EMPTY, None),
    'SOCKET': (0x10, (('family', U8), ('type', U8), ('proto', U8)), (SOCK,), None),
    'CLOSE': (0x11, (SOCK,), EMPTY, None),
    'BIND': (0x12, (SOCK, ('addr', ADDR)), (('addr', ADDR),), None),
    'LISTEN': (0x13, (SOCK, ('backlog', U8)), (('forwardPort', U16),), None),
    'ACCEPT': (0x14, (SOCK,), (SOCK, ('addr', ADDR)), None),
    'CONNECT': (0x15, (SOCK, ('addr', ADDR)), EMPTY, None),
    'SEND': (0x16, (SOCK, ('data', REST)), (('count', U32),), None),
    'SENDTO': (0x17, (SOCK, ('addr', ADDR), ('data', REST)), (('count', U32),), None),
    'SETSOCKOPT': (0x18, (SOCK, ('level', U16), ('option', U16), ('value', BLOB16)), EMPTY, None),
    'GETADDRINFO': (0x19, (('host', STR8), ('port', U16), ('family', U8), ('type', U8), ('proto', U8),
                           ('flags', U8)), (('entries', ('list8', ADDRINFO)),), None),
    'POLL': (0x1A, (('entries', ('list8', POLL_ENTRY)),), (('entries', ('list8', POLL_ENTRY)),), None),
    # since SPEC revision 1.2 (capability bit 8): half-close, how 1 = SHUT_WR
    'SHUTDOWN': (0x1B, (SOCK, ('how', U8)), EMPTY, None),
    'TLS_WRAP': (0x20, (SOCK, ('serverSide', U8), ('certReqs', U8), ('sslVersion', U8), ('keyfile', STR8),
                        ('certfile', STR8), ('caCerts', STR8), ('serverHostname', STR8)), EMPTY, None),
    'FILE_WRITE': (0x40, (('path', STR8), ('offset', U32), ('truncate', U8), ('data', REST)), EMPTY, None),
    'FILE_READ': (0x41, (('path', STR8), ('offset', U32), ('length', U16)), (('data', REST),), None),
    'FILE_LIST': (0x42, (('dir', STR8),), (('entries', ('list8', (('name', STR8), ('size', U32)))),), None),
    'FILE_DELETE': (0x43, (('path', STR8),), EMPTY, None),
    'FILE_RENAME': (0x44, (('from', STR8), ('to', STR8)), EMPTY, None),
    'BOOT': (0x80, None, None, (('version', U8), ('bootNonce', BYTES8))),
    'DATA': (0x81, None, None, (SOCK, ('data', REST))),
    'DGRAM': (0x82, None, None, (SOCK, ('addr', ADDR), ('data', REST))),
    'CONNECTED': (0x83, None, None, (SOCK, ('status', I16))),
    'EOF': (0x84, None, None, (SOCK,)),
    'SOCKERR': (0x85, None, None, (SOCK, ('status', I16))),
    'ACCEPTABLE': (0x86, None, None, (SOCK, ('pending', U8))),
    'CREDIT': (0x90, None, None, (SOCK, ('bytes', U32))),
    # the reliable link's bare acknowledgement (SPEC section 7), flags LINK + UNNUMBERED
    'ACK': (0x91, None, None, EMPTY),
}

BY_CODE = {}
for _name in OPS:
    BY_CODE[OPS[_name][0]] = _name

CAP_TCP = 1
CAP_UDP = 2
CAP_SERVER = 4
CAP_PING_NONCE = 128  # revision 1.1: an empty PING answers the boot nonce (SPEC section 4.4)
CAP_SHUTDOWN = 256  # revision 1.2: SHUTDOWN, half-close (SPEC section 4.4)
