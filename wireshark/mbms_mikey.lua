-- mbms_mikey.lua: Wireshark dissector for MBMS key management over MIKEY (3GPP TS 33.246 clause 6.3).
--
-- Wireshark's own MIKEY dissector knows RFC 3830: it shows the payloads, but not the MBMS Key ID
-- extension of RFC 4563 (General Extension type 3: Key Domain ID, MSK ID, MTK ID), and nothing of what a
-- message means in TS 33.246. This plugin finds MIKEY datagrams on any UDP port by their structure (a
-- heuristic: version 1, a known data type, and a payload chain that ends exactly at the end of the
-- datagram), hands them to Wireshark's MIKEY dissector for the RFC 3830 tree, and adds an
-- "MBMS MIKEY" tree with:
--   mbms_mikey.kind           MSK message | MTK message | solicited-pull trigger | verification message
--                             | error message (TS 33.246 6.3.1-6.3.3), classified as mbms-conform's
--                             analyzer does: data type 1 = verification message, 6 = error; data type 0
--                             with a non-zero MTK ID = MTK message, else with an MSK ID of 0 (or none) =
--                             solicited-pull trigger, else MSK message
--   mbms_mikey.key_domain_id  Key Domain ID (RFC 4563 Key ID type 0; MCC||MNC, 3 octets)
--   mbms_mikey.msk_id         MSK ID (Key ID type 1: key group 2 octets, key number 2 octets)
--   mbms_mikey.mtk_id         MTK ID (Key ID type 2)
--   mbms_mikey.counter        TS COUNTER (RFC 3830 6.6, TS type 2), the replay counter of 33.246
--   mbms_mikey.ts_type, mbms_mikey.v, mbms_mikey.csb_id, mbms_mikey.data_type
--
-- Install: copy this file into Wireshark's personal plugins folder (Help > About Wireshark > Folders >
-- Personal Lua Plugins; on Linux ~/.local/lib/wireshark/plugins/) and restart Wireshark. For one run of
-- tshark: tshark -X lua_script:mbms_mikey.lua -r capture.pcap -Y mbms_mikey
-- Filters: mbms_mikey.kind == "MTK message", mbms_mikey.msk_id == 00:01:00:01, mbms_mikey.counter > 5.

local mbms = Proto("mbms_mikey", "MBMS MIKEY (3GPP TS 33.246)")

local DATA_TYPES = { [0] = "Pre-shared key (initiator)", [1] = "PSK verification", [6] = "Error" }
local TS_TYPES = { [0] = "NTP-UTC", [1] = "NTP", [2] = "COUNTER" }

local f = mbms.fields
f.kind = ProtoField.string("mbms_mikey.kind", "Message kind")
f.data_type = ProtoField.uint8("mbms_mikey.data_type", "Data type", base.DEC, DATA_TYPES)
f.v = ProtoField.bool("mbms_mikey.v", "Verification requested (V)")
f.csb_id = ProtoField.uint32("mbms_mikey.csb_id", "CSB ID", base.HEX)
f.key_domain_id = ProtoField.bytes("mbms_mikey.key_domain_id", "Key Domain ID")
f.msk_id = ProtoField.bytes("mbms_mikey.msk_id", "MSK ID")
f.mtk_id = ProtoField.bytes("mbms_mikey.mtk_id", "MTK ID")
f.ts_type = ProtoField.uint8("mbms_mikey.ts_type", "TS type", base.DEC, TS_TYPES)
f.counter = ProtoField.uint32("mbms_mikey.counter", "TS counter", base.DEC)

-- Payload types of RFC 3830 Table 6.1.b that MBMS messages use, and the octets each occupies from its
-- first octet (RFC 3830 6.1-6.15). Other types (PKE, DH, SIGN, CERT, CHASH) are not used by 33.246: a
-- datagram holding one is left to other dissectors.
local EXT, T, RAND, ID, SP, KEMAC, V, ERR = 21, 5, 11, 6, 10, 1, 9, 12
local function payload_length(tvb, off, ptype)
  local left = tvb:len() - off
  local function need(n) if left < n then return nil end return true end
  if ptype == EXT then
    if not need(4) then return nil end
    return 4 + tvb(off + 2, 2):uint()
  elseif ptype == T then
    if not need(2) then return nil end
    local ts = tvb(off + 1, 1):uint()
    if ts == 2 then return 6 elseif ts == 0 or ts == 1 then return 10 end
    return nil
  elseif ptype == RAND then
    if not need(2) then return nil end
    return 2 + tvb(off + 1, 1):uint()
  elseif ptype == ID then
    if not need(4) then return nil end
    return 4 + tvb(off + 2, 2):uint()
  elseif ptype == SP then
    if not need(5) then return nil end
    return 5 + tvb(off + 3, 2):uint()
  elseif ptype == KEMAC then
    if not need(4) then return nil end
    local enc = tvb(off + 2, 2):uint()
    if not need(5 + enc) then return nil end
    local mac = tvb(off + 4 + enc, 1):uint()
    if mac == 0 then return 5 + enc elseif mac == 1 then return 25 + enc end
    return nil
  elseif ptype == V then
    if not need(2) then return nil end
    local alg = tvb(off + 1, 1):uint()
    if alg == 0 then return 2 elseif alg == 1 then return 22 end
    return nil
  elseif ptype == ERR then
    return 4
  end
  return nil
end

-- Walks HDR and the payload chain (RFC 3830 6.1: each payload's first octet names the next one's type,
-- 0 = last). Returns the payloads' offsets and types when the chain ends exactly at the datagram's end.
local function walk(tvb)
  local len = tvb:len()
  if len < 10 then return nil end
  if tvb(0, 1):uint() ~= 1 then return nil end                    -- version 1
  local data_type = tvb(1, 1):uint()
  if not DATA_TYPES[data_type] then return nil end
  if bit.band(tvb(3, 1):uint(), 0x7f) ~= 0 then return nil end     -- PRF: MIKEY-1 only
  local map_type = tvb(9, 1):uint()
  local off
  if map_type == 0 then off = 10 + 9 * tvb(8, 1):uint()            -- SRTP-ID map: 9 octets per CS
  elseif map_type == 1 then off = 10                              -- empty map (RFC 4563 5)
  else return nil end
  local next_type = tvb(2, 1):uint()
  local payloads = {}
  while next_type ~= 0 do
    if off >= len then return nil end
    local plen = payload_length(tvb, off, next_type)
    if not plen or off + plen > len then return nil end
    payloads[#payloads + 1] = { type = next_type, offset = off, length = plen }
    next_type = tvb(off, 1):uint()
    off = off + plen
  end
  if off ~= len or #payloads == 0 then return nil end
  return { data_type = data_type, payloads = payloads }
end

local function all_zero(range)
  for i = 0, range:len() - 1 do
    if range(i, 1):uint() ~= 0 then return false end
  end
  return true
end

local mikey_dissector = Dissector.get("mikey")

local function dissect(tvb, pinfo, tree, message)
  -- Wireshark's RFC 3830 tree first, then ours beside it
  mikey_dissector:call(tvb, pinfo, tree)
  local subtree = tree:add(mbms, tvb(), "MBMS MIKEY (3GPP TS 33.246)")
  subtree:add(f.data_type, tvb(1, 1))
  subtree:add(f.v, tvb(3, 1), bit.band(tvb(3, 1):uint(), 0x80) ~= 0)
  subtree:add(f.csb_id, tvb(4, 4))
  local ids = {}
  local counter
  for _, p in ipairs(message.payloads) do
    if p.type == EXT and tvb(p.offset + 1, 1):uint() == 3 then      -- RFC 4563 4: EXT type 3, Key ID
      local off, stop = p.offset + 4, p.offset + p.length
      while off + 2 <= stop do
        local id_type, id_len = tvb(off, 1):uint(), tvb(off + 1, 1):uint()
        if off + 2 + id_len > stop then break end
        local value = tvb(off + 2, id_len)
        -- every Key ID is shown; the first of each type names the message (as mbms-conform reads it)
        if id_type == 0 then subtree:add(f.key_domain_id, value); ids.key_domain_id = ids.key_domain_id or value
        elseif id_type == 1 then subtree:add(f.msk_id, value); ids.msk_id = ids.msk_id or value
        elseif id_type == 2 then subtree:add(f.mtk_id, value); ids.mtk_id = ids.mtk_id or value end
        off = off + 2 + id_len
      end
    elseif p.type == T then
      local ts_type = tvb(p.offset + 1, 1):uint()
      subtree:add(f.ts_type, tvb(p.offset + 1, 1))
      if ts_type == 2 then
        counter = tvb(p.offset + 2, 4):uint()
        subtree:add(f.counter, tvb(p.offset + 2, 4))
      end
    end
  end
  local kind
  if message.data_type == 1 then kind = "verification message"
  elseif message.data_type == 6 then kind = "error message"
  elseif ids.mtk_id and not all_zero(ids.mtk_id) then kind = "MTK message"
  elseif not ids.msk_id or all_zero(ids.msk_id) then kind = "solicited-pull trigger"   -- key IDs 0 (33.246 6.3.2.1)
  else kind = "MSK message" end
  subtree:add(f.kind, kind):set_generated()
  subtree:append_text(": " .. kind)
  pinfo.cols.protocol = "MBMS-MIKEY"
  local info = kind
  if ids.msk_id then info = info .. ", MSK ID " .. tostring(ids.msk_id:bytes():tohex()) end
  if ids.mtk_id then info = info .. ", MTK ID " .. tostring(ids.mtk_id:bytes():tohex()) end
  if counter then info = info .. ", counter " .. counter end
  if bit.band(tvb(3, 1):uint(), 0x80) ~= 0 then info = info .. ", V=1" end
  pinfo.cols.info = info
end

-- As a heuristic on UDP: MBMS MIKEY uses port 4359 by default but any port by profile (O1), and the
-- captures of mbms-conform carry ephemeral ports; no Decode As is needed.
local function heuristic(tvb, pinfo, tree)
  local message = walk(tvb)
  if not message then return false end
  dissect(tvb, pinfo, tree, message)
  return true
end
mbms:register_heuristic("udp", heuristic)

-- Also by port, for "Decode As" on a datagram the heuristic leaves alone.
function mbms.dissector(tvb, pinfo, tree)
  local message = walk(tvb)
  if not message then return 0 end
  dissect(tvb, pinfo, tree, message)
  return tvb:len()
end
DissectorTable.get("udp.port"):add_for_decode_as(mbms)
