# Poison deliveries: a delivery the database refuses for a reason that will
# not go away (here a CHECK constraint added on purpose) is answered 422
# with its error row, and never "queued" into a spool that could only fail;
# one spooled while the database was away and refused on replay moves to
# SPOOL_DIR/corrupt with NAME.why, and traffic-ctl check and /metrics count
# it.
use strict;
use warnings;
use JSON::PP;
use Test::More;
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $dir = tmpdir();
my $spool = "$dir/spool";
my $admin = 'poison-admin-token-0123456789abcdef';
my $env = write_env(ADMIN_TOKEN => $admin);
start_pool(workers => 1, env_file => $env, sidecar => 0);
start_nginx();
psql("ALTER TABLE sales_notifications ADD CONSTRAINT poison"
    . " CHECK (lead_id NOT IN (47000001, 47000002))");

my $r = post_sale(47000001);
is($r->{status}, 422, 'a delivery the database refuses: 422');
like($r->{content}, qr/"success":false.*refuses this delivery/,
    'saying so') or diag($r->{content});
is(scalar(() = glob("$spool/*.req")), 0, 'nothing spooled');
like(psql("SELECT processing_status || '|' || error_message FROM webhook_logs"
    . " WHERE event_type = 'delivery'"), qr/^error\|.*check constraint "poison"/,
    'its error row says why');
is(psql("SELECT count(*) FROM sales_notifications"), 0, 'no sale');
like(pool_log(), qr/422/, 'the pool logged the answer');
is(post_sale(47000003)->{status}, 200, 'the next sale is stored');
is(psql("SELECT count(*) FROM sales_notifications WHERE lead_id = 47000003"),
    1, 'and it is there');

# Spooled while the database was away, refused when it is back.
stop_pg('fast');
$r = post_sale(47000002);
like($r->{content}, qr/"queued":true/, 'the database away: queued');
start_pg_again();
($rc, $out) = ctl(['spool', 'drain'], TRAFFIC_ENV_FILE => $env);
like($out, qr/check constraint "poison"/, 'the drain says why') or diag($out);
is(scalar(() = glob("$spool/*.req")), 0, 'the spool is empty');
my @aside = glob("$spool/corrupt/*.req");
is(scalar @aside, 1, 'the entry set aside in corrupt/');
like(@aside ? slurp("$aside[0].why") : '', qr/check constraint "poison"/,
    'with its reason beside it');
($rc, $out) = ctl(['spool', 'drain'], TRAFFIC_ENV_FILE => $env);
unlike($out, qr/47000002|poison/, 'never tried again');
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $env);
is($rc, 1, 'check: a problem') or diag($out);
like($out, qr/problem: 1 spooled request set aside in \S+\/corrupt, never stored/,
    'naming it');
$r = http('GET', '/metrics', undef, Authorization => "Bearer $admin");
like($r->{content}, qr/^traffic_webhook_spool_set_aside 1$/m,
    '/metrics counts it');
like($r->{content}, qr/^traffic_webhook_requests_total\{endpoint="traffic",status="422"\} 1$/m,
    'and the 422');
done_testing();
