# The peers of ../shared/peers: the PHP-FPM script and the Node.js/Express
# service a user would deploy instead, behind the same nginx, the same
# PostgreSQL (their schema in a database "peers") and the same fake
# Telegram as the service, for bench/run.  Sourced after lib.sh; needs $src,
# $run, psql and pids.  Every process it starts is stopped by pid on exit.
peers_src=${PEERS_DIR:-$src/../shared/peers}

# peers_prepare: the packages, a copy of the peers with its node_modules,
# the database; sets peers_nginx (the locations to give bench_nginx) and
# nodeport.
peers_prepare() {
    scripts/deps peers
    rm -rf "$run/peers"
    cp -r "$peers_src" "$run/peers"
    chmod -R u+w,a+rX "$run/peers"
    (cd "$run/peers/node-express" &&
        npm ci --no-audit --no-fund --loglevel=error >"$run/npm.log" 2>&1) ||
        { cat "$run/npm.log" >&2; exit 1; }
    "${psql[@]}" -d postgres -c "CREATE DATABASE peers"
    "${psql[@]}" -d peers -v ON_ERROR_STOP=1 -f "$run/peers/schema.sql" >/dev/null
    nodeport=$((40000 + RANDOM % 20000))
    # as reference-up.sh: /php/... to php-fpm with the path in REQUEST_URI,
    # /node/... to node over a keepalive upstream
    peers_nginx="
        location ~ ^/php(?<php_uri>/.*)\$ {
            fastcgi_pass unix:$run/php.sock;
            fastcgi_param SCRIPT_FILENAME $run/peers/php-fpm/traffic.php;
            fastcgi_param SCRIPT_NAME /traffic.php;
            fastcgi_param REQUEST_URI \$php_uri\$is_args\$args;
            fastcgi_param DOCUMENT_URI \$php_uri;
            fastcgi_param QUERY_STRING \$query_string;
            fastcgi_param REQUEST_METHOD \$request_method;
            fastcgi_param CONTENT_TYPE \$content_type;
            fastcgi_param CONTENT_LENGTH \$content_length;
            fastcgi_param SERVER_PROTOCOL \$server_protocol;
            fastcgi_param GATEWAY_INTERFACE CGI/1.1;
            fastcgi_param REMOTE_ADDR \$remote_addr;
            fastcgi_param SERVER_NAME \$server_name;
            fastcgi_param REDIRECT_STATUS 200;
        }
        location /node/ {
            proxy_pass http://127.0.0.1:$nodeport/;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }"
}

# peers_start CHILDREN: php-fpm with a static pool of CHILDREN (as many as
# our workers), node (pg's default pool of 10); both send to the fake
# Telegram at $tgport with a token of their own (their requests counted
# apart).
peers_start() {
    local children=$1 user="" flag=()
    if [ "$(id -u)" -eq 0 ]; then
        user="user = nobody
group = nogroup"
        flag=(-R)
    fi
    cat >"$run/php-fpm.conf" <<CONF
[global]
pid = $run/php-fpm.pid
error_log = $run/php-fpm.log
daemonize = no
[peer]
$user
listen = $run/php.sock
listen.mode = 0666
listen.backlog = 511
pm = static
pm.max_children = $children
pm.max_requests = 0
clear_env = yes
env[PGHOST] = $run/pg
env[PGPORT] = 5432
env[PGUSER] = traffic
env[PGDATABASE] = peers
env[TELEGRAM_API_BASE] = http://127.0.0.1:$tgport
env[TELEGRAM_BOT_TOKEN] = 123456:PHP
env[TELEGRAM_CHAT_ID] = -1001
CONF
    setsid php-fpm8.2 "${flag[@]}" -F --fpm-config "$run/php-fpm.conf" \
        </dev/null >>"$run/php-fpm.log" 2>&1 &
    pids+=($!)
    (cd "$run/peers/node-express" && exec env NODE_ENV=production \
        LISTEN_HOST=127.0.0.1 LISTEN_PORT="$nodeport" PGHOST="$run/pg" \
        PGPORT=5432 PGUSER=traffic PGDATABASE=peers \
        TELEGRAM_API_BASE="http://127.0.0.1:$tgport" \
        TELEGRAM_BOT_TOKEN=123456:NODE TELEGRAM_CHAT_ID=-1001 \
        setsid node server.js </dev/null >>"$run/node.log" 2>&1) &
    pids+=($!)
    local t
    for t in php node; do
        for _ in $(seq 100); do
            curl -fsS -o /dev/null "http://127.0.0.1:$port/$t/webhook/amocrm/traffic/test" \
                2>/dev/null && break
            sleep 0.1
        done
    done
}
