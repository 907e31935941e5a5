# The stack the benchmarks measure, on loopback, sourced by bench/run and
# bench/status: a private PostgreSQL with its default durability, nginx
# with the shipped snippet (plus a fake Telegram answering at once), the
# pool (spawn-fcgi and the supervisor), and the env file.  Needs $src (the
# source tree), $run (a scratch directory, emptied) and $workers.  Every
# process it starts is stopped on exit, by pid.
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as=()
[ "$(id -u)" -eq 0 ] && as=(runuser -u nobody --)
pids=()

bench_cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$run/nginx.pid" ] && kill "$(cat "$run/nginx.pid")" 2>/dev/null || true
    "${as[@]}" "$pgbin/pg_ctl" -D "$run/pg/data" -m fast -w stop >/dev/null 2>&1 || true
}

# bench_build: the packages (wrk among them), then an -O2 build in
# build-bench/.
bench_build() {
    scripts/deps build run bench
    [ -x configure ] || autoreconf -fi >/dev/null
    mkdir -p build-bench
    (cd build-bench && { [ -f Makefile ] || ../configure -q CFLAGS="-O2 -g"; } &&
        make -s -j"$(nproc)")
}

# bench_pg: initdb, start, the traffic database with pg_stat_statements.
# Sets psql (an array) and url.
bench_pg() {
    trap bench_cleanup EXIT
    rm -rf "$run"
    mkdir -p "$run/pg" "$run/nginx-tmp" "$run/spool"
    chmod 755 "$run"
    [ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$run/pg"
    "${as[@]}" "$pgbin/initdb" -D "$run/pg/data" -U traffic --auth=trust -E UTF8 \
        --no-locale >/dev/null
    cat >>"$run/pg/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$run/pg'
port = 5432
max_connections = 100
shared_preload_libraries = 'pg_stat_statements'
CONF
    "${as[@]}" "$pgbin/pg_ctl" -D "$run/pg/data" -l "$run/pg/log" -w start >/dev/null
    psql=("$pgbin/psql" -X -q -h "$run/pg" -U traffic)
    "${psql[@]}" -d postgres -c "CREATE DATABASE traffic"
    "${psql[@]}" -d traffic -c "CREATE EXTENSION pg_stat_statements"
    url="postgresql:///traffic?host=$run/pg&user=traffic"
}

# bench_wal: WAL segments ready for reuse, as on a server that has been
# running.  Such a server renames its old segments for reuse; a new cluster
# has none and creates each 16 MB segment as the last one fills, writing it
# with zeros and syncing it while every commit waits (here 50 to 65 ms,
# every request in flight at once, each time ours' sales had written
# another 16 MB: every 1.2 s at c=8).  So 256 of them are created first
# (about 15 s) and kept (min_wal_size); measure says of each run how many it
# still had to create.
bench_wal() {
    "${psql[@]}" -d postgres -c "ALTER SYSTEM SET max_wal_size = '8GB'" \
        -c "ALTER SYSTEM SET min_wal_size = '4GB'" -c "SELECT pg_reload_conf()" \
        -c "DO \$\$ BEGIN FOR i IN 1..256 LOOP
        PERFORM pg_logical_emit_message(false, 'bench', 'wal');
        PERFORM pg_switch_wal(); END LOOP; END \$\$" -c CHECKPOINT >/dev/null
}

# wal_new SINCE: how many WAL segments were created (not renamed for reuse:
# a renamed one keeps its birth time) since SINCE (unix seconds)
wal_new() {
    stat -c %W "$run/pg/data/pg_wal/"0* 2>/dev/null | awk -v t="$1" '$1 >= t {n++}
        END {print n + 0}'
}

# bench_nginx [SERVER-EXTRA]: nginx on $port with the shipped snippet (and
# SERVER-EXTRA in its server block), a fake Telegram on $tgport.
bench_nginx() {
    tgport=$((20000 + RANDOM % 20000))
    port=$((tgport + 1))
    # (the webhook's own access log: bench's, whose latencies it reads)
    sed -e "s|unix:/run/traffic-webhook/traffic-webhook.sock|unix:$run/tw.sock|" \
        -e "s|access_log /var/log/nginx/access.log traffic_webhook;|access_log $run/access.log bench;|" \
        -e "s|/var/log/nginx/error.log|$run/nginx-error.log|" \
        nginx/traffic-webhook.conf >"$run/traffic-webhook.conf"
    cp /etc/nginx/fastcgi_params "$run/"
    local user=""
    [ "$(id -u)" -eq 0 ] && user="user root root;"
    cat >"$run/nginx.conf" <<CONF
$user
worker_processes 1;
pid $run/nginx.pid;
error_log $run/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    # bench/run's latencies as nginx saw them: from the request's first
    # byte to its answer's last, wrk's own client and scheduling left out
    log_format bench '\$msec \$status \$request_time';
    client_body_temp_path $run/nginx-tmp/body;
    fastcgi_temp_path $run/nginx-tmp/fastcgi;
    proxy_temp_path $run/nginx-tmp/proxy;
    uwsgi_temp_path $run/nginx-tmp/uwsgi;
    scgi_temp_path $run/nginx-tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        access_log $run/access.log bench;
        include $run/traffic-webhook.conf;
        ${1:-}
    }
    server {
        listen 127.0.0.1:$tgport;
        access_log $run/telegram.log;
        location / {
            default_type application/json;
            return 200 '{"ok":true,"result":{"message_id":1}}';
        }
    }
}
CONF
    nginx -p "$run" -c "$run/nginx.conf"
}

# bench_env [KEY=VALUE...]: the env file, exported as TRAFFIC_ENV_FILE, and
# the migrations applied.
bench_env() {
    {
        cat <<ENV
DATABASE_URL=$url
SPOOL_DIR=$run/spool
TELEGRAM_BOT_TOKEN=123456:BENCH
TELEGRAM_CHAT_IDS=-1001
TELEGRAM_API_BASE=http://127.0.0.1:$tgport
TELEGRAM_CHAT_INTERVAL_MS=0
TELEGRAM_GROUP_PER_MINUTE=0
ENV
        printf '%s\n' "$@"
    } >"$run/traffic.env"
    export TRAFFIC_ENV_FILE=$run/traffic.env TRAFFIC_SQL_DIR=$src/sql
    build-bench/src/traffic-ctl migrate >/dev/null
}

# spawn SOCKET PROGRAM [ARGS...]: spawn-fcgi hands the socket to PROGRAM
# (traffic-webhook --workers N: the supervisor of the pool).
spawn() {
    local sock=$1
    shift
    setsid spawn-fcgi -n -s "$sock" -M 0660 -- "$@" \
        </dev/null >/dev/null 2>>"$run/pool.log" &
    pids+=($!)
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
}

# bench_fill ROWS SALES [REPEAT]: ROWS webhook_logs rows (each body REPEAT
# times a lead's id field, default 12: about 500 bytes) and SALES sales
# (their dashboard copies and sent outbox rows), spread over the last 365
# days in the order a live table is written; then VACUUM ANALYZE.
bench_fill() {
    "${psql[@]}" -d traffic -v ON_ERROR_STOP=1 <<SQL
INSERT INTO webhook_logs (received_at, source, event_type, lead_id,
    request_id, routing_decision, processing_status, targetologist,
    skip_reason, error_message, raw_body)
SELECT now() - ($1 - i) * interval '365 days' / $1,
    CASE WHEN i % 5 = 0 THEN 'amocrm' ELSE 'amocrm_traffic' END,
    'leads.status', 30000000 + i % 400000, md5(i::text),
    CASE WHEN i % 3 = 0 THEN 'traffic' END,
    CASE WHEN i % 200 = 0 THEN 'error' WHEN i % 33 = 0 THEN 'success'
         WHEN i % 97 = 0 THEN 'duplicate' ELSE 'skipped' END,
    CASE WHEN i % 33 = 0 THEN 'Kenesary' END,
    CASE WHEN i % 33 <> 0 THEN 'status 143 is not a sale' END,
    CASE WHEN i % 200 = 0 THEN 'bad body' END,
    repeat('leads%5Bstatus%5D%5B0%5D%5Bid%5D=' || i || '&', ${3:-12})
FROM generate_series(1, $1) i;
WITH s AS (
    SELECT i, 90000000 + i AS lead_id,
        now() - random() * interval '365 days' AS at,
        (ARRAY['Kenesary', 'Arystan', 'Muha', 'Traf4', 'Unknown'])[1 + i % 5]
            AS who,
        (1000 + i % 50 * 1000)::numeric AS price
    FROM generate_series(1, $2) i
), n AS (
    INSERT INTO sales_notifications (lead_id, lead_name, sale_amount,
        targetologist, targetologist_emoji, pipeline_id, status_id, sale_date,
        notification_status, notified_at)
    SELECT lead_id, 'Сделка ' || i, price, who, '*', 10418746, 142, at,
        CASE WHEN i % 500 = 0 THEN 'failed' ELSE 'sent' END, at
    FROM s RETURNING id, lead_id, sale_date, notification_status
), o AS (
    INSERT INTO notification_outbox (sale_id, lead_id, chat_id, status,
        attempts, last_error, created_at, sent_at)
    SELECT id, lead_id, '-1001', notification_status, 1,
        CASE WHEN notification_status = 'failed'
             THEN 'Bad Request: chat not found' END, sale_date, sale_date
    FROM n
)
INSERT INTO all_sales_tracking (lead_id, lead_name, sale_amount,
    targetologist, pipeline_id, status_id, sale_date, webhook_received_at)
SELECT lead_id, 'Сделка ' || i, price, who, 10418746, 142, at, at FROM s;
VACUUM ANALYZE;
CHECKPOINT;
SQL
    "${psql[@]}" -d traffic -tAc "SELECT 'tables: webhook_logs ' ||
        pg_size_pretty(pg_total_relation_size('webhook_logs')) || ', sales ' ||
        pg_size_pretty(pg_total_relation_size('sales_notifications') +
        pg_total_relation_size('all_sales_tracking') +
        pg_total_relation_size('notification_outbox'))"
}
