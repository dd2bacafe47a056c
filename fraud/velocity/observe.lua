-- One assessment's velocity, in one round trip and atomically (a Lua script runs alone).
--
-- KEYS[1]         seen: the charge's first sighting and its answer,
--                 "at|amount|subjects|value,value,..." (retries return it)
-- KEYS[2..n+1]    one sorted set per subject (card, customer, email, ip): member
--                 "charge_id|amount", score = the first sighting's clock in ms
-- KEYS[n+2..m]    distinct-card sets of the subjects other than the card: member = card
--                 fingerprint, score = last time seen
-- KEYS[#KEYS]     the card's blocks: member = charge id, score = time
-- ARGV[1]         charge_id, at_ms, amount, n_subjects, card_fingerprint, subjects (the
--                 present ones as a bit mask, kept for a retry to name its values),
--                 max_age_ms, cap, window_ms..., joined by commas: one argument, not ten
--                 (the client packs each argument in Python, and that cost more than the
--                 script ran)
--
-- Scripts run one at a time, and that order decides what a charge counts: on its first
-- sighting it counts the charges of its subjects already in their sets whose time is in
-- the window ending at its own clock *or later* (one recorded before it by a process whose
-- clock runs ahead still counts), and the blocks likewise; then it records itself at its
-- own clock, and keeps its answer. A retried assessment of the same charge id returns that
-- answer as it is, counting and recording nothing. Members older than max_age are
-- trimmed, each set keeps at most `cap` members, and every key expires after max_age of
-- quiet.
local first = redis.call('GET', KEYS[1])
local at, amount
if first then
    local sep = string.find(first, '|', 1, true)
    local answered = string.find(first, '|', sep + 1, true)
    if answered then
        return first
    end
    -- "at|amount": a first sighting of before answers were kept; answered from there.
    at = tonumber(string.sub(first, 1, sep - 1))
    amount = string.sub(first, sep + 1)
end

local args = {}
for part in string.gmatch(ARGV[1], '[^,]+') do
    args[#args + 1] = part
end
local charge_id = args[1]
at = at or tonumber(args[2])
amount = amount or args[3]
local n = tonumber(args[4])
local card = args[5]
local subjects = args[6]
local max_age = tonumber(args[7])
local cap = tonumber(args[8])
local windows = {}
for i = 9, #args do
    windows[#windows + 1] = tonumber(args[i])
end
local ttl = math.floor(max_age / 1000) + 60
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

-- A subject's set read whole, once, and trimmed as `trim` does from what that read holds:
-- three calls when there is nothing to drop, not five (with the blocks read once, the
-- script's time on the server went from 82 to 75 µs an assessment).
local function read_and_trim(key)
    redis.call('ZADD', key, 'NX', at, me)
    redis.call('EXPIRE', key, ttl)
    local rows = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
    -- Ascending by score then member, as ranks are: what is max_age old comes first.
    local first = 1
    while first < #rows and tonumber(rows[first + 1]) <= at - max_age do
        first = first + 2
    end
    if first > 1 then
        redis.call('ZREMRANGEBYSCORE', key, '-inf', at - max_age)
    end
    local size = (#rows - first + 1) / 2
    if size > cap then
        redis.call('ZREMRANGEBYRANK', key, 0, size - cap - 1)
        first = first + 2 * (size - cap)
    end
    return rows, first
end

for k = 2, n + 1 do
    local counts, sums = {}, {}
    for w = 1, #windows do
        counts[w], sums[w] = 0, 0
    end
    -- Every other member left, later clocks included.
    local rows, first = read_and_trim(KEYS[k])
    for r = first, #rows, 2 do
        local member, score = rows[r], tonumber(rows[r + 1])
        if member ~= me then
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

-- The card's blocks in every window but the widest, read once from the widest of them on.
local blocked = {}
for w = 1, #windows - 1 do
    blocked[w] = 0
end
local since = '(' .. (at - windows[#windows - 1])
local blocks = redis.call('ZRANGEBYSCORE', KEYS[#KEYS], since, '+inf', 'WITHSCORES')
for r = 2, #blocks, 2 do
    local score = tonumber(blocks[r])
    for w = 1, #windows - 1 do
        if score > at - windows[w] then
            blocked[w] = blocked[w] + 1
        end
    end
end
for w = 1, #windows - 1 do
    out[#out + 1] = blocked[w]
end
-- One bulk string, not an array: the client parses one reply instead of ~30 (%.0f keeps
-- sums past 1e14 whole, where tostring would write an exponent).
for i = 1, #out do
    out[i] = string.format('%.0f', out[i])
end
local answer = string.format('%.0f', at) .. '|' .. amount .. '|' .. subjects .. '|'
    .. table.concat(out, ',')
-- Expires max_age after the first sighting; a retry neither moves nor renews it.
redis.call('SET', KEYS[1], answer, 'PX', max_age)
return answer
