"""The REST outbox: messages for REST users, read with a cursor and never lost to a read.

`canyu:outbox:{sender}` is a list of JSON messages, each with an `id` (a decimal string from the global counter
`canyu:delivery:outbox_seq`, so ids grow in list order), appended in one script. A client reads the messages
after its cursor (`read(after=id)`), which also acknowledges (removes) everything up to that cursor: reading
twice with the same cursor gives the same messages. A read without a cursor gives what is new since the last
such read (the mark `outbox_read` in `canyu:user:{sender}`), and acknowledges what the previous one gave,
so a client that lost a reply can still ask again with `after=`.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from bot import keys

__all__ = ["outbox_key", "append", "read"]

SEQ_KEY = keys.OUTBOX_SEQ
MARK_FIELD = "outbox_read"

_APPEND = """
local ids = {}
for i, body in ipairs(ARGV) do
  local id = redis.call('INCR', KEYS[2])
  redis.call('RPUSH', KEYS[1], '{"id": "' .. id .. '", ' .. string.sub(body, 2))
  ids[i] = tostring(id)
end
return ids
"""

_READ = """
local function idof(s)
  local m = string.match(s, '^{"id": "(%d+)"')
  if m then return tonumber(m) end
  return nil
end
local cursor = ARGV[2]
local mark = tonumber(redis.call('HGET', KEYS[2], 'outbox_read') or '0') or 0
local ack = mark
if cursor ~= '' then ack = tonumber(cursor) end
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then break end
  local id = idof(head)
  if id == nil or id > ack then break end
  redis.call('LPOP', KEYS[1])
end
local all = redis.call('LRANGE', KEYS[1], 0, -1)
local out = {}
local last = nil
local legacy = {}
for _, body in ipairs(all) do
  if #out >= tonumber(ARGV[1]) then break end
  local id = idof(body)
  if id == nil then
    table.insert(out, body)
    table.insert(legacy, body)
  elseif id > ack and (cursor ~= '' or id > mark) then
    table.insert(out, body)
    last = id
  end
end
for _, body in ipairs(legacy) do redis.call('LREM', KEYS[1], 1, body) end
if cursor ~= '' then
  if ack > mark then redis.call('HSET', KEYS[2], 'outbox_read', tostring(ack)) end
elseif last ~= nil and last > mark then
  redis.call('HSET', KEYS[2], 'outbox_read', tostring(last))
end
return out
"""


def outbox_key(sender_id: str) -> str:
    return keys.outbox(sender_id)


def _user_key(sender_id: str) -> str:
    return keys.user_route(sender_id)


def append(redis: Any, sender_id: str, messages: List[Dict[str, Any]]) -> List[str]:
    """Append messages (each gets `recipient_id` and an `id`); returns their ids."""
    bodies = [json.dumps({"recipient_id": sender_id, **{k: v for k, v in m.items() if k != "id"}},
                         ensure_ascii=False) for m in messages]
    if not bodies:
        return []
    ids = redis.eval(_APPEND, 2, outbox_key(sender_id), SEQ_KEY, *bodies)
    return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]


def read(redis: Any, sender_id: str, after: Optional[str] = None, limit: int = 100) -> List[Dict[str, Any]]:
    """Messages after the cursor `after` (acknowledging up to it), or, without one, what is new since the last
    read without one (see the module docstring). Oldest first, at most `limit`."""
    if after is not None and not str(after).isdigit():
        raise ValueError(f"outbox cursor {after!r} is not a message id")
    raw = redis.eval(_READ, 2, outbox_key(sender_id), _user_key(sender_id), int(limit),
                     "" if after is None else str(int(after)))
    return [json.loads(x) for x in raw]
