# MicroPython board I/O layers of the device agent. Importing this module needs nothing a port
# may lack (machine, micropython and sys.stdin.buffer are touched only when a run_* is called),
# so it imports cleanly under CPython and on the WebAssembly port too. Put one line in main.py:
#
#   import ncp_board; ncp_board.run_stdio()                        # ESP32: the USB/REPL serial line
#   import ncp_board; ncp_board.run_uart(1, 115200, tx=17, rx=16)  # ESP32: a dedicated UART
#   import ncp_board; ncp_board.run_uart(1, 115200, pins=('GP3', 'GP4'))  # WiPy (UART1)
#
# NOT verified on hardware: these layers follow the MicroPython documentation (select.poll,
# machine.UART, micropython.kbd_intr, sys.stdin.buffer); see README.md for what was verified.

import sys

from agent import Agent
from ncp_table import POLLIN

READ_CHUNK = 256


class StreamLink:
    """A serial stream polled for POLLIN; writes go straight to the port (the driver's TX buffer).

    `read1`: the stream's read() returns what is buffered or None (machine.UART). Otherwise it
    blocks for exactly n bytes (sys.stdin.buffer), so one byte is read per readiness.
    """

    signals_writable = False  # UART writes are synchronous; the agent retries a short write itself

    def __init__(self, rx, tx, poll_obj, read1):
        self.rx = rx
        self.tx = tx
        self.poll_obj = poll_obj
        self.read1 = read1
        self.flush = getattr(tx, 'flush', None)  # buffered writers (CPython) must not sit on a frame

    def start(self, poller, agent):
        self.agent = agent
        import select
        self.probe = select.poll()  # a private zero-timeout poll to drain stdin byte by byte
        self.probe.register(self.poll_obj, POLLIN)
        poller.set(self.poll_obj, POLLIN, self._on_event)

    def _on_event(self, ev):
        if self.read1:
            data = self.rx.read()
        else:
            got = bytearray()
            while len(got) < READ_CHUNK and self.probe.poll(0):
                b = self.rx.read(1)
                if not b:
                    break  # end of input (only where stdin can end: not on a board)
                got.extend(b)
            data = bytes(got)
        if data:
            self.agent.feed(data)

    def write(self, mv):
        n = self.tx.write(mv)
        if self.flush is not None:
            self.flush()
        return len(mv) if n is None else n

    def want_write(self, flag):
        pass

    def close(self):
        pass


def run_stdio(config=None, grace_ms=2000):
    """ESP32 (and other ports with sys.stdin.buffer): serve on the REPL's serial line.

    Ctrl-C is disabled (kbd_intr(-1)), or a 0x03 byte inside a frame would stop the agent. For
    `grace_ms` after boot it still works: reset the board and interrupt with mpremote (or Ctrl-C)
    within that time to get the REPL back. print() must never be used: text output is cooked.
    """
    import micropython
    if grace_ms:
        import time
        time.sleep_ms(grace_ms)
    micropython.kbd_intr(-1)
    link = StreamLink(sys.stdin.buffer, sys.stdout.buffer, sys.stdin, False)
    _serve(link, config)


def run_uart(uart_id=1, baudrate=115200, config=None, **uart_args):
    """A machine.UART dedicated to the host (the REPL stays on its own port).

    ESP32: run_uart(1, 921600, tx=17, rx=16, rxbuf=4096). WiPy: run_uart(1, 115200,
    pins=('GP3', 'GP4')); its RX ring is 256 bytes, so keep the baud rate modest.
    """
    from machine import UART
    if sys.platform == 'esp32':
        uart_args.setdefault('timeout', 0)
    uart = UART(uart_id, baudrate, **uart_args)
    _serve(StreamLink(uart, uart, uart, True), config)


def _serve(link, config):
    agent = Agent(link, config=config)
    try:
        agent.run()
    finally:
        agent.close()
