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

# A failure that may be the entry's own (a function's raise, here) is
# tried TR_SPOOL_TRIES (5) times, the entries after it going on, then set
# aside; one that is the database's (a table gone) never counts.
stop_pg('fast');
like(post_sale(47000010)->{content}, qr/"queued":true/, 'spooled: the raiser');
like(post_sale(47000011)->{content}, qr/"queued":true/, 'and one after it');
start_pg_again();
psql("CREATE FUNCTION poison_raise() RETURNS trigger LANGUAGE plpgsql AS"
    . " \$\$BEGIN IF NEW.lead_id = 47000010 THEN RAISE EXCEPTION"
    . " 'poison raise'; END IF; RETURN NEW; END\$\$");
psql("CREATE TRIGGER poison_raise BEFORE INSERT ON sales_notifications"
    . " FOR EACH ROW EXECUTE FUNCTION poison_raise()");
my @tries;
for my $n (1 .. 4) {
    ($rc, $out) = ctl(['spool', 'drain'], TRAFFIC_ENV_FILE => $env);
    push @tries, $out =~ /try (\d) of 5 failed: .*poison raise/ ? $1 : "?";
}
is("@tries", '1 2 3 4', 'four tries, each counted') or diag($out);
is(psql("SELECT count(*) FROM sales_notifications WHERE lead_id = 47000011"),
    1, 'the entry after it replayed at the first');
is(scalar(() = glob("$spool/*.req")), 1, 'the raiser still waits');
($rc, $out) = ctl(['spool', 'drain'], TRAFFIC_ENV_FILE => $env);
is(scalar(() = glob("$spool/*.req")), 0, 'the fifth: gone from the spool');
@aside = glob("$spool/corrupt/*.req");
is(scalar @aside, 2, 'set aside in corrupt/');
like(slurp("$aside[-1].why"), qr/^failed 5 replays: .*poison raise/,
    'saying how often and why');
is(scalar(() = glob("$spool/.*.tries")), 0, 'its count of tries gone');

stop_pg('fast');
like(post_sale(47000012)->{content}, qr/"queued":true/, 'spooled again');
start_pg_again();
psql("ALTER TABLE webhook_logs RENAME TO webhook_logs_away");
ctl(['spool', 'drain'], TRAFFIC_ENV_FILE => $env) for 1 .. 6;
is(scalar(() = glob("$spool/*.req")), 1,
    'a table gone: six failed drains, and the entry still waits');
is(scalar(() = glob("$spool/.*.tries")), 0, 'never counted against it');
psql("ALTER TABLE webhook_logs_away RENAME TO webhook_logs");
($rc, $out) = ctl(['spool', 'drain'], TRAFFIC_ENV_FILE => $env);
is(psql("SELECT count(*) FROM sales_notifications WHERE lead_id = 47000012"),
    1, 'the table back: replayed') or diag($out);
done_testing();
