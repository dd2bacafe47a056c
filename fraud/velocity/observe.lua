-- One assessment's velocity, in one round trip and atomically (a Lua script runs alone).
--
-- KEYS[1]         seen: the charge's first sighting "at|amount" (retries reuse it)
-- KEYS[2..n+1]    one sorted set per subject (card, customer, email, ip): member
--                 "charge_id|amount", score = first-seen time in ms
-- KEYS[n+2..m]    distinct-card sets of the subjects other than the card: member = card
--                 fingerprint, score = last time seen
-- KEYS[#KEYS]     the card's blocks: member = charge id, score = time
-- ARGV[1]         charge_id, at_ms, amount, n_subjects, card_fingerprint, max_age_ms, cap,
--                 window_ms..., joined by commas: one argument, not ten (the client packs
--                 each argument in Python, and that cost more than the script ran)
--
-- Scripts run one at a time, and that order is the order charges are counted in: on its
-- first sighting a charge's time is raised past the latest in its subjects' sets (at =
-- max(at_ms, latest + 1)), so it counts every charge of those subjects already recorded,
-- whatever the clocks of the assessments in flight said, and none recorded after it. A
-- retried assessment of the same charge id reuses that first time, so it answers exactly
-- as the first one did and counts nothing twice. Members older than max_age are trimmed,
-- each set keeps at most `cap` members, and every key expires after max_age of quiet.
local args = {}
for part in string.gmatch(ARGV[1], '[^,]+') do
    args[#args + 1] = part
end
local charge_id, amount = args[1], args[3]
local at = tonumber(args[2])
local n = tonumber(args[4])
local card = args[5]
local max_age = tonumber(args[6])
local cap = tonumber(args[7])
local windows = {}
for i = 8, #args do
    windows[#windows + 1] = tonumber(args[i])
end
local ttl = math.floor(max_age / 1000) + 60

-- The first sighting expires max_age after it was made; a retry neither moves nor renews it.
local first = redis.call('GET', KEYS[1])
if first then
    local sep = string.find(first, '|', 1, true)
    at = tonumber(string.sub(first, 1, sep - 1))
    amount = string.sub(first, sep + 1)
else
    -- After the latest charge of its subjects: an assessment whose clock was taken earlier
    -- (or runs behind another fraud process's) still counts those that got here first.
    for k = 2, n + 1 do
        local latest = redis.call('ZRANGE', KEYS[k], -1, -1, 'WITHSCORES')[2]
        if latest and tonumber(latest) >= at then
            at = tonumber(latest) + 1
        end
    end
    redis.call('SET', KEYS[1], string.format('%.0f', at) .. '|' .. amount, 'PX', max_age)
end
local me = charge_id .. '|' .. amount

local out = {}
-- Drops members max_age old or older and, past `cap`, the oldest; returns the size left.
local function trim(key)
    redis.call('ZREMRANGEBYSCORE', key, '-inf', at - max_age)
    redis.call('EXPIRE', key, ttl)
    local size = redis.call('ZCARD', key)
    if size > cap then
        redis.call('ZREMRANGEBYRANK', key, 0, size - cap - 1)
        size = cap
    end
    return size
end

for k = 2, n + 1 do
    local key = KEYS[k]
    redis.call('ZADD', key, 'NX', at, me)
    trim(key)
    local counts, sums = {}, {}
    for w = 1, #windows do
        counts[w], sums[w] = 0, 0
    end
    local rows = redis.call('ZRANGEBYSCORE', key, '(' .. (at - windows[#windows]), at, 'WITHSCORES')
    for r = 1, #rows, 2 do
        local member, score = rows[r], tonumber(rows[r + 1])
        if score < at or (score == at and member < me) then
            local sep = string.find(member, '|', 1, true)
            local value = tonumber(string.sub(member, sep + 1))
            for w = 1, #windows do
                if score > at - windows[w] then
                    counts[w] = counts[w] + 1
                    sums[w] = sums[w] + value
                end
            end
        end
    end
    for w = 1, #windows do
        out[#out + 1] = counts[w]
    end
    for w = 1, #windows do
        out[#out + 1] = sums[w]
    end
end

for k = n + 2, #KEYS - 1 do
    local key = KEYS[k]
    redis.call('ZADD', key, 'GT', at, card)  -- GT still adds a card not yet in the set
    -- Trimmed below at - max_age, so what is left is what was seen in the last week.
    out[#out + 1] = trim(key)
end

local blocks = KEYS[#KEYS]
for w = 1, #windows - 1 do
    local count = redis.call('ZCOUNT', blocks, '(' .. (at - windows[w]), '(' .. at)
    out[#out + 1] = count
end
-- One bulk string, not an array: the client parses one reply instead of ~30 (%.0f keeps
-- sums past 1e14 whole, where tostring would write an exponent).
for i = 1, #out do
    out[i] = string.format('%.0f', out[i])
end
return table.concat(out, ',')
