-- wrk script: every request a new won deal (unique lead ids across
-- threads), urlencoded exactly as AmoCRM sends it, a mix of campaigns
-- (Cyrillic among them) so every targetologist and Unknown are matched.
-- BENCH_PATH: where to POST (default /webhook/amocrm/traffic);
-- BENCH_KIND=update: a leads[update] of a deal in progress (status 141),
-- the request a busy account sends most, instead of a sale.
-- done() prints "BENCH ok=N bad=N p50=MS p99=MS p999=MS".
local threads = {}
local next_tid = 0

function setup(thread)
    next_tid = next_tid + 1
    thread:set("tid", next_tid)
    table.insert(threads, thread)
end

local campaigns = {
    "tripwire_dec20",                                   -- Kenesary
    "arystan_jan",                                      -- Arystan
    "%D0%97%D0%B0%D0%BF%D1%83%D1%81%D0%BA_%D0%B2%D0%B5%D1%81%D0%BD%D0%B0", -- Muha
    "traf4_retarget",                                   -- Traf4
    "%D0%B1%D0%B5%D0%B7_%D0%BC%D0%B5%D1%82%D0%BA%D0%B8", -- Unknown
}

local path = os.getenv("BENCH_PATH") or "/webhook/amocrm/traffic"
local update = os.getenv("BENCH_KIND") == "update"

function init(args)
    base = tonumber(os.getenv("BENCH_LEAD_BASE")) + tid * 10000000
    n = 0
    ok = 0
    bad = 0
end

function request()
    n = n + 1
    local id = base + n
    local p = update and "leads%5Bupdate%5D%5B0%5D%5B"
        or "leads%5Bstatus%5D%5B0%5D%5B"
    local cf = p .. "custom_fields%5D%5B"
    local body = p .. "id%5D=" .. id
        .. "&" .. p .. "name%5D=Bench+deal+" .. id
        .. "&" .. p .. "status_id%5D=" .. (update and "141" or "142")
        .. "&" .. p .. "old_status_id%5D=" .. (update and "141" or "143")
        .. "&" .. p .. "pipeline_id%5D=10418746"
        .. "&" .. p .. "price%5D=" .. (1000 + n % 500000)
        .. "&" .. p .. "responsible_user_id%5D=8000001"
        .. "&" .. cf .. "0%5D%5Bid%5D=700001"
        .. "&" .. cf .. "0%5D%5Bname%5D=utm_source"
        .. "&" .. cf .. "0%5D%5Bvalues%5D%5B0%5D%5Bvalue%5D=instagram"
        .. "&" .. cf .. "0%5D%5Bcode%5D=UTM_SOURCE"
        .. "&" .. cf .. "1%5D%5Bid%5D=700002"
        .. "&" .. cf .. "1%5D%5Bname%5D=utm_campaign"
        .. "&" .. cf .. "1%5D%5Bvalues%5D%5B0%5D%5Bvalue%5D="
        .. campaigns[n % #campaigns + 1]
        .. "&" .. cf .. "1%5D%5Bcode%5D=UTM_CAMPAIGN"
        .. "&account%5Bsubdomain%5D=onaiagencykz&account%5Bid%5D=31000001"
    return wrk.format("POST", path,
        {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end

function response(status, headers, body)
    if status == 200 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
    local o, b = 0, 0
    for _, t in ipairs(threads) do
        o = o + t:get("ok")
        b = b + t:get("bad")
    end
    io.write(string.format("BENCH ok=%d bad=%d p50=%.3f p99=%.3f p999=%.3f\n",
        o, b, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        latency:percentile(99.9) / 1000))
end
