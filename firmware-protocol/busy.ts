/**
 * What a serial-over-TCP port (the emulator's socket:// and rfc2217:// transports) sends a second
 * host before closing it, while another host is attached. Shared so the host library can turn it
 * into OSError(EBUSY) instead of a bare "link closed".
 *
 * ```
 * D: netcoproc: busy, another host is attached\r\n   (then the port closes the connection)
 * ```
 */
export const BUSY_NOTE = 'netcoproc: busy, another host is attached\r\n';

/** The note without its line end, as it reads in an error message. */
export const BUSY_TEXT = BUSY_NOTE.trim().replace(/^netcoproc: /, '');
