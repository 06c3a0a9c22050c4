import { type LuaScript, luaScript } from "./lua-script.js";

/*
 * The store's Lua scripts. Each runs atomically in one organization's slot and names every key
 * it touches in KEYS (built in Node from RedisKeys). Per-account id lists are JSON arrays in a
 * hash field, so that the keys of a script are known before it reads anything.
 */

const IDS = `
local function ids_of(key, owner)
  local raw = redis.call("HGET", key, owner)
  if not raw then return {} end
  return cjson.decode(raw)
end
local function ids_save(key, owner, ids)
  if #ids == 0 then redis.call("HDEL", key, owner) else redis.call("HSET", key, owner, cjson.encode(ids)) end
end
local function ids_add(key, owner, id)
  local ids = ids_of(key, owner)
  for _, x in ipairs(ids) do if x == id then return end end
  ids[#ids + 1] = id
  ids_save(key, owner, ids)
end
local function ids_remove(key, owner, id)
  local ids = ids_of(key, owner)
  for i = #ids, 1, -1 do if ids[i] == id then table.remove(ids, i) end end
  ids_save(key, owner, ids)
end
local function named(key, name)
  for _, raw in ipairs(redis.call("HVALS", key)) do
    local record = cjson.decode(raw)
    if record.name == name then return record.id end
  end
  return false
end
`;

/*
 * The last-owner guard of owner-guard.ts, in the delete scripts' own atomic step. An active owner:
 * a service account with an organization-wide owner binding and a token not expired at `now`.
 * `removed` names what the delete takes away: { binding = id }, { account = id } or { token = id }.
 */
const OWNERS = `
local function active_owner(bindings, account_tokens, tokens, now, removed)
  local seen = {}
  for _, raw in ipairs(redis.call("HVALS", bindings)) do
    local b = cjson.decode(raw)
    local sa = b.serviceAccountId
    local org_wide = b.projectId == nil or b.projectId == cjson.null
    if b.role == "owner" and org_wide and b.id ~= removed.binding and sa ~= removed.account and not seen[sa] then
      seen[sa] = true
      for _, id in ipairs(ids_of(account_tokens, sa)) do
        local token = id ~= removed.token and redis.call("HGET", tokens, id)
        if token then
          local expires = cjson.decode(token).expiresAt
          if type(expires) ~= "number" or expires > now then return true end
        end
      end
    end
  end
  return false
end
local function takes_last_owner(bindings, account_tokens, tokens, now, removed)
  return not active_owner(bindings, account_tokens, tokens, now, removed)
    and active_owner(bindings, account_tokens, tokens, now, {})
end
`;

const script = (name: string, body: string): LuaScript => luaScript(name, `${IDS}\n${OWNERS}\n${body}`);

/**
 * KEYS: accounts. ARGV: id, json, max, name. Returns "ok", "quota", or { "exists", id } when
 * an account of the organization has that name (a scan: at most the quota's 50 records).
 */
export const CREATE_ACCOUNT = script(
  "create-account",
  `local taken = named(KEYS[1], ARGV[4])
if taken then return { "exists", taken } end
if redis.call("HLEN", KEYS[1]) >= tonumber(ARGV[3]) then return "quota" end
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
return "ok"`,
);

/**
 * KEYS: projects. ARGV: id, json, name. Returns "ok", or { "exists", id } when a project of
 * the organization has that name (a scan: creating a project is rare).
 */
export const CREATE_PROJECT = script(
  "create-project",
  `local taken = named(KEYS[1], ARGV[3])
if taken then return { "exists", taken } end
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
return "ok"`,
);

/**
 * KEYS: accounts, tokens, token-used, account-tokens, bindings, account-bindings. ARGV: id, now.
 * Returns false, "last_owner", or { account, token1, used1, token2, used2, ... } ("" for never used).
 */
export const DELETE_ACCOUNT = script(
  "delete-account",
  `local account = redis.call("HGET", KEYS[1], ARGV[1])
if not account then return false end
if takes_last_owner(KEYS[5], KEYS[4], KEYS[2], tonumber(ARGV[2]), { account = ARGV[1] }) then
  return "last_owner"
end
redis.call("HDEL", KEYS[1], ARGV[1])
local out = { account }
for _, id in ipairs(ids_of(KEYS[4], ARGV[1])) do
  local token = redis.call("HGET", KEYS[2], id)
  if token then
    out[#out + 1] = token
    out[#out + 1] = redis.call("HGET", KEYS[3], id) or ""
    redis.call("HDEL", KEYS[2], id)
    redis.call("HDEL", KEYS[3], id)
  end
end
redis.call("HDEL", KEYS[4], ARGV[1])
for _, id in ipairs(ids_of(KEYS[6], ARGV[1])) do redis.call("HDEL", KEYS[5], id) end
redis.call("HDEL", KEYS[6], ARGV[1])
return out`,
);

/** KEYS: accounts, tokens, account-tokens. ARGV: account id, token id, json, max. "ok", "no_account" or "quota". */
export const CREATE_TOKEN = script(
  "create-token",
  `if redis.call("HEXISTS", KEYS[1], ARGV[1]) == 0 then return "no_account" end
if #ids_of(KEYS[3], ARGV[1]) >= tonumber(ARGV[4]) then return "quota" end
redis.call("HSET", KEYS[2], ARGV[2], ARGV[3])
ids_add(KEYS[3], ARGV[1], ARGV[2])
return "ok"`,
);

/**
 * KEYS: tokens, token-used, account-tokens, bindings. ARGV: id, now. Returns false, "last_owner"
 * or { token, used }.
 */
export const DELETE_TOKEN = script(
  "delete-token",
  `local token = redis.call("HGET", KEYS[1], ARGV[1])
if not token then return false end
if takes_last_owner(KEYS[4], KEYS[3], KEYS[1], tonumber(ARGV[2]), { token = ARGV[1] }) then
  return "last_owner"
end
local used = redis.call("HGET", KEYS[2], ARGV[1]) or ""
redis.call("HDEL", KEYS[1], ARGV[1])
redis.call("HDEL", KEYS[2], ARGV[1])
ids_remove(KEYS[3], cjson.decode(token).serviceAccountId, ARGV[1])
return { token, used }`,
);

/** KEYS: tokens, token-used, account-tokens. ARGV: account id. Returns { token1, used1, ... }. */
export const LIST_TOKENS = script(
  "list-tokens",
  `local out = {}
for _, id in ipairs(ids_of(KEYS[3], ARGV[1])) do
  local token = redis.call("HGET", KEYS[1], id)
  if token then
    out[#out + 1] = token
    out[#out + 1] = redis.call("HGET", KEYS[2], id) or ""
  end
end
return out`,
);

/**
 * KEYS: tokens, token-used, accounts, bindings, account-bindings, org. ARGV: token id, token hash.
 * Returns false (unknown, or the index pointed elsewhere), or
 * { token, used, account, organization, bindings... }: one round trip for all a principal needs.
 */
export const RESOLVE = script(
  "resolve",
  `local token = redis.call("HGET", KEYS[1], ARGV[1])
if not token then return false end
local t = cjson.decode(token)
if t.hash ~= ARGV[2] then return false end
local account = redis.call("HGET", KEYS[3], t.serviceAccountId)
if not account then return false end
local out = { token, redis.call("HGET", KEYS[2], ARGV[1]) or "", account, redis.call("GET", KEYS[6]) or "" }
for _, id in ipairs(ids_of(KEYS[5], t.serviceAccountId)) do
  local binding = redis.call("HGET", KEYS[4], id)
  if binding then out[#out + 1] = binding end
end
return out`,
);

/** KEYS: tokens, token-used. ARGV: id1, at1, id2, at2, ... Unknown ids are skipped; never goes back. */
export const RECORD_USES = script(
  "record-uses",
  `for i = 1, #ARGV, 2 do
  if redis.call("HEXISTS", KEYS[1], ARGV[i]) == 1 then
    local current = tonumber(redis.call("HGET", KEYS[2], ARGV[i]) or "0")
    if current < tonumber(ARGV[i + 1]) then redis.call("HSET", KEYS[2], ARGV[i], ARGV[i + 1]) end
  end
end
return 0`,
);

/**
 * KEYS: accounts, projects, bindings, account-bindings. ARGV: account id, binding id, json,
 * role, [project id]. Returns "ok", "no_account", "no_project", or { "exists", id } when the
 * account already has the role in that scope.
 */
export const CREATE_BINDING = script(
  "create-binding",
  `if redis.call("HEXISTS", KEYS[1], ARGV[1]) == 0 then return "no_account" end
if ARGV[5] and redis.call("HEXISTS", KEYS[2], ARGV[5]) == 0 then return "no_project" end
for _, id in ipairs(ids_of(KEYS[4], ARGV[1])) do
  local raw = redis.call("HGET", KEYS[3], id)
  if raw then
    local b = cjson.decode(raw)
    if b.role == ARGV[4] and (b.projectId or "") == (ARGV[5] or "") then return { "exists", id } end
  end
end
redis.call("HSET", KEYS[3], ARGV[2], ARGV[3])
ids_add(KEYS[4], ARGV[1], ARGV[2])
return "ok"`,
);

/**
 * KEYS: bindings, account-bindings, account-tokens, tokens. ARGV: id, now. Returns false,
 * "last_owner" or the deleted binding.
 */
export const DELETE_BINDING = script(
  "delete-binding",
  `local binding = redis.call("HGET", KEYS[1], ARGV[1])
if not binding then return false end
local b = cjson.decode(binding)
if b.role == "owner" and takes_last_owner(KEYS[1], KEYS[3], KEYS[4], tonumber(ARGV[2]), { binding = ARGV[1] }) then
  return "last_owner"
end
redis.call("HDEL", KEYS[1], ARGV[1])
ids_remove(KEYS[2], b.serviceAccountId, ARGV[1])
return binding`,
);

/**
 * KEYS: projects, bindings, account-bindings. ARGV: id. Deletes the project and the bindings
 * scoped to it (a scan of the organization's bindings: project deletion is rare). Returns false
 * or the deleted project.
 */
export const DELETE_PROJECT = script(
  "delete-project",
  `local project = redis.call("HGET", KEYS[1], ARGV[1])
if not project then return false end
redis.call("HDEL", KEYS[1], ARGV[1])
local all = redis.call("HGETALL", KEYS[2])
for i = 1, #all, 2 do
  local b = cjson.decode(all[i + 1])
  if b.projectId == ARGV[1] then
    redis.call("HDEL", KEYS[2], all[i])
    ids_remove(KEYS[3], b.serviceAccountId, all[i])
  end
end
return project`,
);

/** KEYS: an index key. ARGV: the value it must still hold. Deletes it only then. */
export const DELETE_IF_EQUAL = luaScript(
  "delete-if-equal",
  `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`,
);

/**
 * KEYS: a hash of records. ARGV: record id, field name, the field's JSON value ("" removes it).
 * Returns the updated record, or false when there is no such record.
 */
export const SET_RECORD_FIELD = luaScript(
  "set-record-field",
  `local raw = redis.call("HGET", KEYS[1], ARGV[1])
if not raw then return false end
local record = cjson.decode(raw)
if ARGV[3] == "" then record[ARGV[2]] = nil else record[ARGV[2]] = cjson.decode(ARGV[3]) end
local updated = cjson.encode(record)
redis.call("HSET", KEYS[1], ARGV[1], updated)
return updated`,
);
