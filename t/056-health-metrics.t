# The health check and the metrics through nginx and the real pool.  The
# test endpoint keeps the seed's JSON and says what it checked at the
# request (a database without the schema, a database stopped: each worker's
# first answer already says so); .../health answers 503 only when neither
# the database nor the spool can take a sale.  GET /metrics, behind
# ADMIN_TOKEN or an allow-listed location, is parsed by Prometheus' own
# parser after a small load on two workers: its counters are the pool's
# sums.
use strict;
use warnings;
use JSON::PP;
use Test::More;
use lib 't/lib';
use TrafficTest;

my $admin = 'metrics-admin-0123456789abcdef';
start_pg();
my $api = start_fake_api();
my %env = (ADMIN_TOKEN => $admin, TELEGRAM_BOT_TOKEN => '5600:MET-token',
    TELEGRAM_API_BASE => $api, TELEGRAM_CHAT_IDS => '-1005600000001',
    TELEGRAM_CHAT_INTERVAL_MS => 0, TELEGRAM_GROUP_PER_MINUTE => 0);
my $envfile = write_env(%env);
start_pool(workers => 2, env_file => $envfile, sidecar => 0);
start_nginx();
sub get_json {
    my ($path) = @_;
    my $r = http('GET', $path);
    return ($r->{status}, eval { decode_json($r->{content}) } || {});
}

# Before the migrations: the database answers, the schema is not there.
my ($st, $j) = get_json('/webhook/amocrm/traffic/test');
is($st, 200, 'test endpoint: 200');
is_deeply([@$j{qw(success message endpoint version pipeline)}],
    [JSON::PP::true, 'Traffic Dashboard webhook endpoint is active',
     '/webhook/amocrm/traffic', changelog_version(), 10418746], 'the seed\'s JSON');
is_deeply($j->{targetologists}, [qw(Kenesary Arystan Muha Traf4)],
    'with the targetologists');
is($j->{database}, 'connected', 'the database answers');
is($j->{migrations}, 'not applied', 'but has no schema');
is($j->{spool}, 'writable', 'the spool takes a file');
($st, $j) = get_json('/webhook/amocrm/traffic/health');
is($st, 200, 'health: 200, the spool can take a sale');

my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
start_deliver(env_file => $envfile);
($st, $j) = get_json('/webhook/amocrm/traffic/health');
is("$st|$j->{database}|$j->{migrations}|$j->{spool}",
    '200|connected|current|writable', 'health after migrating');

# The build needs the newest migration of sql/: without it, health says so
# (its statements would fail on the older schema).
my $newest = (sort map { m{/(\d{3})_[^/]*\.sql$} ? $1 : () }
    glob(srcdir() . '/sql/*.sql'))[-1];
psql("UPDATE schema_migrations SET version = '.$newest' WHERE version ="
    . " '$newest'");
sleep 1.1;
($st, $j) = get_json('/webhook/amocrm/traffic/health');
is($j->{migrations}, sprintf('pending: %03d of %s applied', $newest - 1,
    $newest), "without $newest: pending") or diag(explain($j));
psql("UPDATE schema_migrations SET version = '$newest' WHERE version ="
    . " '.$newest'");
sleep 1.1;
($st, $j) = get_json('/webhook/amocrm/traffic/health');
is("$st|$j->{migrations}", '200|current', "with $newest again: current");

# A small load: sales to Kenesary, skipped leads, a bad body.
for my $i (1 .. 6) {
    post_form('/webhook/amocrm/traffic', lead_form(id => 56000000 + $i,
        status_id => 142, pipeline_id => 10418746, price => 1000 * $i,
        utm_campaign => 'tripwire_m'));
}
post_form('/webhook/amocrm/traffic', lead_form(id => 56000100 + $_,
    status_id => 143, pipeline_id => 10418746)) for 1 .. 3;
post_form('/webhook/amocrm', lead_form(id => 56000200, status_id => 142,
    pipeline_id => 10418746, price => 500, utm_campaign => 'arystan_m'));
post_form('/webhook/amocrm/traffic', 'a=%ZZ');
wait_for('the messages', sub { psql("SELECT count(*) FROM notification_outbox"
    . " WHERE status = 'sent'") == 7 });

# /metrics: who may read it.
my $r = http('GET', '/metrics');
is($r->{status}, 401, 'metrics without the token: 401');
$r = http('GET', '/metrics', undef, Authorization => 'Bearer wrong');
is($r->{status}, 403, 'with a wrong one: 403');
$r = http('GET', '/metrics', undef, Authorization => "Bearer $admin");
is($r->{status}, 200, 'with ADMIN_TOKEN: 200');
like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
    'in the text format');
my ($prc, $parsed) = run_cmd(['/usr/bin/python3', srcdir() . '/t/lib/promparse.py'],
    stdin => $r->{content});
is($prc, 0, 'Prometheus\' parser takes it') or diag($parsed);
my $m = eval { decode_json($parsed) } || {};
sub sample {
    my ($name, %labels) = @_;
    my $family = $name;
    $family =~ s/_(bucket|sum|count)$// unless exists $m->{$family};
    $family =~ s/_total$// unless exists $m->{$family};
    for my $s (@{ $m->{$family}{samples} || [] }) {
        next unless $s->[0] eq $name;
        next if grep { ($s->[1]{$_} // '') ne $labels{$_} } keys %labels;
        return $s->[2];
    }
    return undef;
}
is(sample('traffic_webhook_leads_total', endpoint => 'traffic',
    outcome => 'success'), 6, 'leads: 6 sales on the traffic endpoint, both'
    . ' workers summed');
is(sample('traffic_webhook_leads_total', endpoint => 'traffic',
    outcome => 'skipped'), 3, 'leads: 3 skipped');
is(sample('traffic_webhook_leads_total', endpoint => 'unified',
    outcome => 'success'), 1, 'leads: 1 on the unified endpoint');
is(sample('traffic_webhook_sales_total', targetologist => 'Kenesary'), 6,
    'sales by targetologist: Kenesary 6');
is(sample('traffic_webhook_sales_amount_total', targetologist => 'Kenesary'),
    21000, 'and their amount');
is(sample('traffic_webhook_sales_total', targetologist => 'Arystan'), 1,
    'Arystan 1');
is(sample('traffic_webhook_sales_total', targetologist => 'Unknown'), 0,
    'Unknown 0, listed');
is(sample('traffic_webhook_requests_total', endpoint => 'traffic',
    status => '200'), 9, 'requests: 9 answered 200 on the traffic endpoint');
is(sample('traffic_webhook_requests_total', endpoint => 'traffic',
    status => '400'), 1, 'and the bad body 400');
is($m->{traffic_webhook_request_duration_seconds}{type}, 'histogram',
    'a duration histogram');
is(sample('traffic_webhook_request_duration_seconds_count'), 11,
    'of every webhook request');
is(sample('traffic_webhook_request_duration_seconds_bucket', le => '+Inf'),
    11, 'its +Inf bucket counts them all');
my $calls = scalar(sent_messages());    # a burst may share a message
is(sample('traffic_webhook_telegram_calls_total', result => 'sent'), $calls,
    "Telegram calls: $calls sent, as the fake saw them");
is(sample('traffic_webhook_outbox_messages', status => 'pending'), 0,
    'outbox: none pending');
is(sample('traffic_webhook_spool_depth'), 0, 'spool depth 0');
is(sample('traffic_webhook_database_up'), 1, 'the database is up');
cmp_ok(sample('traffic_webhook_last_webhook_age_seconds'), '<', 60,
    'the last webhook was just now');
cmp_ok(sample('traffic_webhook_last_sale_age_seconds'), '>=', 0,
    'and the last sale');
ok(defined sample('traffic_webhook_sale_statement_generic_plan',
    statement => 'sale'), 'the sale statement\'s plan is reported');
is(sample('traffic_webhook_amocrm_hook_ok'), -1, 'the hook: unknown yet');
is(sample('traffic_webhook_alert_active', alert => 'spool'), 0,
    'the alerts: the spool one is quiet');
psql("UPDATE traffic_alerts SET active = true WHERE alert = 'telegram_chat'");
$r = http('GET', '/metrics', undef, Authorization => "Bearer $admin");
like($r->{content}, qr/^traffic_webhook_alert_active\{alert="telegram_chat"\} 1$/m,
    'an active one says 1');
psql("UPDATE traffic_alerts SET active = false");

# A worker measures again within a second of its last "all is well": the
# spool gone (a file where its directory was) shows on the test endpoint.
my $spool = tmpdir() . '/spool';
get_json('/webhook/amocrm/traffic/test') for 1 .. 4;
rename($spool, "$spool.away") or die "rename: $!";
open(my $fh, '>', $spool) or die "$spool: $!";
close($fh);
ok(wait_for('the spool seen gone', sub {
    my @j = map { (get_json('/webhook/amocrm/traffic/test'))[1] } 1 .. 4;
    4 == grep { ($_->{spool} // '') =~ /failed/ } @j }, 3),
    'the spool gone: every worker says so within its second');
unlink($spool);
rename("$spool.away", $spool) or die "rename back: $!";
ok(wait_for('the spool back', sub {
    my @j = map { (get_json('/webhook/amocrm/traffic/test'))[1] } 1 .. 4;
    4 == grep { ($_->{spool} // '') eq 'writable' } @j }, 3),
    'and back at the next request');

# The database stopped: the test endpoint says so from the first request
# on, each worker; health stays 200 while the spool takes sales.
stop_pg('fast');
my @answers = map { [get_json('/webhook/amocrm/traffic/test')] } 1 .. 4;
is_deeply([map { $_->[1]{database} } @answers], [('unavailable') x 4],
    'database unavailable in every answer, the first ones too');
($st, $j) = get_json('/webhook/amocrm/traffic/health');
is("$st|$j->{spool}", '200|writable', 'health 200: the spool takes sales');
$r = post_form('/webhook/amocrm/traffic', lead_form(id => 56000300,
    status_id => 142, pipeline_id => 10418746, price => 10));
is($r->{status}, 200, 'a sale meanwhile: spooled');
$r = http('GET', '/metrics', undef, Authorization => "Bearer $admin");
($prc, $parsed) = run_cmd(['/usr/bin/python3', srcdir() . '/t/lib/promparse.py'],
    stdin => $r->{content});
$m = eval { decode_json($parsed) } || {};
is(sample('traffic_webhook_database_up'), 0, 'metrics: database_up 0');
is(sample('traffic_webhook_spooled_total'), 1, 'one delivery spooled');
is(sample('traffic_webhook_database_errors_total'), 1, 'one database error');
is(sample('traffic_webhook_spool_depth'), 1, 'spool depth 1');

# Neither the database nor the spool: 503.
stop_pool();
start_pool(workers => 2, env_file => write_env(%env,
    SPOOL_DIR => '/dev/null/spool', METRICS_FILE => tmpdir() . '/m2'));
($st, $j) = get_json('/webhook/amocrm/traffic/health');
is($st, 503, 'no database and no spool: health 503');
is($j->{success}, JSON::PP::false, 'success false');
like($j->{spool}, qr/mkdir "\/dev\/null\/spool" failed/, 'saying why');
($st, $j) = get_json('/webhook/amocrm/traffic/test');
is($st, 200, 'the seed\'s test endpoint still answers 200');
start_pg_again();
# each worker reconnects at its next request past its backoff: health says
# 200 on both soon after, four answers in a row
my $row = 0;
ok(eval { wait_for('health 200 four times in a row', sub {
    $row = (get_json('/webhook/amocrm/traffic/health'))[0] == 200 ? $row + 1
        : 0;
    $row >= 4 }) }, 'the database back: health 200');

# Without ADMIN_TOKEN: no metrics, unless nginx lets the client in.
stop_pool();
start_pool(workers => 1, env_file => write_env(%env, ADMIN_TOKEN => undef));
$r = http('GET', '/metrics');
is($r->{status}, 404, 'no ADMIN_TOKEN: /metrics is off');
$r = http('GET', '/metrics', undef, 'Traffic-Admin-Trusted' => 1);
is($r->{status}, 404, 'and no request header can say it is trusted');

# The snippet's allow-list, uncommented: nginx vouches for the client.
sub allow_list {
    my ($net) = @_;
    return sub {
        my ($s) = @_;
        $s =~ s{#allow 192\.0\.2\.0/24;}{allow $net;}g;
        $s =~ s{#deny all;}{deny all;}g;
        $s =~ s{#fastcgi_param TRAFFIC_ADMIN_TRUSTED 1;}
               {fastcgi_param TRAFFIC_ADMIN_TRUSTED 1;}g;
        return $s;
    };
}
start_nginx(edit => allow_list('127.0.0.0/8'));
$r = http('GET', '/metrics');
is($r->{status}, 200, 'allow-listed: /metrics without a token');
like($r->{content}, qr/^traffic_webhook_up 1$/m, 'the metrics');
$r = http('GET', '/admin/');
is($r->{status}, 200, 'and the status page');
start_nginx(edit => allow_list('192.0.2.0/24'));
$r = http('GET', '/metrics');
is($r->{status}, 403, 'from outside the allow-list: nginx says 403');
done_testing();
