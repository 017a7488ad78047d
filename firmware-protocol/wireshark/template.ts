/**
 * The hand-written part of netcoproc.lua: fields and the dissector function. The tables it
 * uses (OPS, ERRNO_*, SOCK_FIRST, RECORD_KINDS) are generated above it by generate.ts.
 * Frame layout: firmware-protocol/frame.ts; record layout: trace/serial-records.ts.
 */
export const LUA_BODY = String.raw`local MSG_KINDS = { [0] = "request", [1] = "response", [2] = "event" }
local DIRECTIONS = { [0] = "host → device", [1] = "device → host" }
local ARROWS = { [0] = "→", [1] = "←" }
local FLAG_LINK, FLAG_UNNUMBERED = 0x01, 0x04

local proto = Proto("netcoproc", "netcoproc serial line")
local f = proto.fields
f.dir = ProtoField.uint8("netcoproc.dir", "Direction", base.DEC, DIRECTIONS)
f.record = ProtoField.uint8("netcoproc.record", "Record", base.DEC, RECORD_KINDS)
f.version = ProtoField.uint8("netcoproc.version", "Version")
f.kind = ProtoField.uint8("netcoproc.kind", "Kind", base.DEC, MSG_KINDS)
f.seq = ProtoField.uint16("netcoproc.seq", "Sequence")
f.op = ProtoField.uint8("netcoproc.op", "Opcode", base.HEX, OPS)
f.opname = ProtoField.string("netcoproc.opname", "Operation")
f.flags = ProtoField.uint8("netcoproc.flags", "Flags", base.HEX)
f.linkseq = ProtoField.uint16("netcoproc.link.seq", "Link sequence")
f.linkack = ProtoField.uint16("netcoproc.link.ack", "Link acknowledgement")
f.status = ProtoField.int16("netcoproc.status", "Status")
f.errno = ProtoField.string("netcoproc.errno", "Error")
f.message = ProtoField.string("netcoproc.message", "Message")
f.sock = ProtoField.uint8("netcoproc.sock", "Socket")
f.body = ProtoField.bytes("netcoproc.body", "Body")
f.crc = ProtoField.uint32("netcoproc.crc", "CRC-32", base.HEX)
f.line = ProtoField.string("netcoproc.line", "AT line")
f.data = ProtoField.bytes("netcoproc.data", "Data")
f.datalen = ProtoField.uint32("netcoproc.datalen", "Data length")
f.note = ProtoField.string("netcoproc.note", "Note")

-- The device's errno numbering, learnt from the HELLO response (errnoBase: 0 linux, 1 newlib).
local errno_newlib = false

local function errno_name(status)
  if status < 0 then return "resolver error " .. status end
  local name = (errno_newlib and ERRNO_NEWLIB or ERRNO_LINUX)[status]
  return name or ("errno " .. status)
end

local function dissect_frame(tvb, pinfo, tree, dir)
  local len = tvb:len()
  if len < 10 then
    tree:add(f.body, tvb())
    pinfo.cols.info:set(ARROWS[dir] .. " short frame")
    return
  end
  tree:add(f.version, tvb(0, 1))
  local kind = tvb(1, 1):uint()
  local op = tvb(4, 1):uint()
  local flags = tvb(5, 1):uint()
  local name = OPS[op] or string.format("0x%02x", op)
  tree:add(f.kind, tvb(1, 1))
  tree:add(f.seq, tvb(2, 2))
  tree:add(f.op, tvb(4, 1))
  tree:add(f.opname, tvb(4, 1), name)
  tree:add(f.flags, tvb(5, 1))
  local at = 6
  if bit.band(flags, FLAG_LINK) ~= 0 and len >= 14 then
    tree:add(f.linkseq, tvb(6, 2))
    tree:add(f.linkack, tvb(8, 2))
    at = 10
  end
  local body_end = len - 4
  local info = ARROWS[dir] .. " " .. name .. " " .. (MSG_KINDS[kind] or "?")
  if kind ~= 2 then info = info .. " #" .. tvb(2, 2):uint() end
  if kind == 1 and body_end - at >= 2 then
    local status = tvb(at, 2):int()
    tree:add(f.status, tvb(at, 2))
    if name == "HELLO" and status == 0 and body_end - at >= 2 + 1 then
      local plen = tvb(at + 3, 1):uint()
      local base_at = at + 2 + 1 + 1 + plen + 4 + 4 + 4 + 1
      if base_at < body_end then errno_newlib = tvb(base_at, 1):uint() == 1 end
    end
    if status ~= 0 then
      local e = errno_name(status)
      tree:add(f.errno, tvb(at, 2), e)
      if body_end > at + 2 then tree:add(f.message, tvb(at + 2, body_end - at - 2)) end
      info = info .. " " .. e
      at = body_end
    else
      at = at + 2
    end
  end
  if at < body_end then
    if SOCK_FIRST[kind] and SOCK_FIRST[kind][op] then
      tree:add(f.sock, tvb(at, 1))
      info = info .. " sock " .. tvb(at, 1):uint()
    end
    tree:add(f.body, tvb(at, body_end - at))
    info = info .. " (" .. (body_end - at) .. " bytes)"
  end
  tree:add(f.crc, tvb(body_end, 4))
  pinfo.cols.info:set(info)
end

function proto.dissector(tvb, pinfo, tree)
  if tvb:len() < 2 then return 0 end
  local dir = tvb(0, 1):uint()
  local record = tvb(1, 1):uint()
  pinfo.cols.protocol:set("NETCOPROC")
  local subtree = tree:add(proto, tvb(), "netcoproc " .. (RECORD_KINDS[record] or "record"))
  subtree:add(f.dir, tvb(0, 1))
  subtree:add(f.record, tvb(1, 1))
  if tvb:len() == 2 then return 2 end
  local rest = tvb(2):tvb()
  if record == 1 then
    dissect_frame(rest, pinfo, subtree, dir)
  elseif record == 2 then
    local text = rest():string():gsub("[\r\n]+$", "")
    subtree:add(f.line, rest(), text)
    pinfo.cols.info:set(ARROWS[dir] .. " " .. text)
  elseif record == 3 then
    subtree:add(f.datalen, rest(), rest:len())
    subtree:add(f.data, rest())
    pinfo.cols.info:set(ARROWS[dir] .. " data " .. rest:len() .. " bytes")
  else
    subtree:add(f.note, rest())
    pinfo.cols.info:set(ARROWS[dir] .. " " .. rest():string())
  end
  return tvb:len()
end

local encaps = wtap_encaps or wtap
DissectorTable.get("wtap_encap"):add(encaps.USER0, proto)
`;
