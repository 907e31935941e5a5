# The sidecar's plans follow the outbox's growth.  A session keeps the
# plans it made while the outbox was small (a new install, the start of a
# burst), and a claim then scans the whole table for the rows it takes;
# once the outbox has grown (here from 8 rows to 20,000, autovacuum off so
# that no ANALYZE makes them again) the sidecar has its plans made again,
# and its claims take their rows through the index.  auto_explain logs the
# plan of every statement; the claims are those of claim.sql.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TrafficTest;

start_pg(settings => ["session_preload_libraries = 'auto_explain'",
    'auto_explain.log_min_duration = 0', 'autovacuum = off']);
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my $envfile = write_env(TELEGRAM_BOT_TOKEN => '6100:PLANS-token',
    TELEGRAM_API_BASE => $api, TELEGRAM_CHAT_IDS => '-1006100000001',
    TELEGRAM_CHAT_INTERVAL_MS => 0, TELEGRAM_GROUP_PER_MINUTE => 0,
    ALERT_CHECK_S => 3600, RECONCILE_INTERVAL_S => 0);
start_pool(workers => 1, env_file => $envfile, sidecar => 0);
start_nginx();
start_deliver(env_file => $envfile);

# one sale at a time, each sent before the next: one claim each
my $n = 0;
sub sales {
    my ($count) = @_;
    for (1 .. $count) {
        $n++;
        my $r = post_form('/webhook/amocrm/traffic', lead_form(
            id => 61000000 + $n, status_id => 142, pipeline_id => 10418746,
            price => 1000, utm_campaign => 'tripwire'));
        is($r->{status}, 200, "sale $n answered 200");
        wait_for("sale $n sent", sub { sent_messages() == $n });
    }
}

# the claims' plans in the server log, from the marker on (or all)
sub claims {
    my ($from) = @_;
    my $log = pg_log();
    $log = substr($log, index($log, $from)) if defined $from;
    return grep { /Query Text: WITH chat AS/ }
        split /\n(?=\d{4}-\d\d-\d\d \d)/, $log;
}
my $seq = qr/Seq Scan on notification_outbox/;

sales(8);
my @small = claims();
cmp_ok(scalar @small, '>=', 8, 'the small outbox: a claim per sale');
ok((grep { /$seq/ } @small[-3 .. -1]) == 3,
    'the small outbox: the session keeps a plan that scans the table');

# $rows more sent messages (with their sales), then a marker in the log
my $grown = 0;
sub grow {
    my ($rows) = @_;
    psql(<<"SQL");
WITH s AS (
    INSERT INTO sales_notifications (lead_id, sale_amount, targetologist,
        pipeline_id, status_id, sale_date, notification_status, notified_at)
    SELECT 62000000 + $grown + i, 1000, 'Kenesary', 10418746, 142, now(),
        'sent', now()
    FROM generate_series(1, $rows) i RETURNING id, lead_id
)
INSERT INTO notification_outbox (sale_id, lead_id, chat_id, status, attempts,
    sent_at)
SELECT id, lead_id, '-1006100000001', 'sent', 1, now() FROM s
SQL
    $grown += $rows;
    psql("SELECT 'plans: the outbox has grown to $grown'");
    return "plans: the outbox has grown to $grown";
}

# past TR_NOTIFY_REPLAN_MIN: plans made again at about 1,100 rows, a size
# at which a claim still scans the table; then the outbox twenty times that
grow(1100);
sales(6);
my $marker = grow(20000);
sales(6);
my @grown = claims($marker);
cmp_ok(scalar @grown, '>=', 6, 'the grown outbox: a claim per sale');
is((grep { /$seq/ } @grown[-3 .. -1]), 0,
    'the grown outbox: the claims no longer scan the table');
like(deliver_log(), qr/outbox: past id \d+, plans made again/,
    'the sidecar says it had its plans made again');

# After a burst has drained, the last VACUUM or ANALYZE finds the pending
# index empty (density 0) and the index keeps its pages: in the next burst
# the planner counts on no pending row, and walks the whole index for any
# pending row asked for by id (outbox_release.sql here).  The sidecar sees
# the backlog and has the outbox ANALYZEd.
my $release = slurp('src/libtraffic/statements/outbox_release.sql');
sub release_plan {
    return psql("PREPARE rel AS $release; EXPLAIN EXECUTE rel('{1,2}')");
}
sub pending_rows {
    my ($rows, $status) = @_;
    psql(<<"SQL");
WITH s AS (
    INSERT INTO sales_notifications (lead_id, sale_amount, targetologist,
        pipeline_id, status_id, sale_date, notification_status)
    SELECT 63000000 + $grown + i, 1000, 'Kenesary', 10418746, 142, now(),
        'pending'
    FROM generate_series(1, $rows) i RETURNING id, lead_id
)
INSERT INTO notification_outbox (sale_id, lead_id, chat_id, status,
    next_attempt_at)
SELECT id, lead_id, '-1006100000001', '$status', 'infinity' FROM s
SQL
    $grown += $rows;
}
stop_deliver();
pending_rows(2000, 'pending');
psql("UPDATE notification_outbox SET status = 'sent' WHERE status = 'pending'");
psql('VACUUM ANALYZE notification_outbox');
my ($pages, $tuples) = split /\|/, psql("SELECT relpages, reltuples FROM"
    . " pg_class WHERE relname = 'notification_outbox_chat_order_idx'");
ok($pages > 1 && $tuples == 0, "drained: the pending index's $pages pages"
    . ' hold no row as PostgreSQL counts them');
pending_rows(3000, 'pending');     # held: due at 'infinity', never sent
like(release_plan(), qr/notification_outbox_chat_order_idx/,
    'the next burst: a pending row by id is planned along the pending index');
start_deliver(env_file => $envfile);
wait_for('the sidecar has the outbox analyzed', sub { deliver_log() =~
    /3000 messages pending where PostgreSQL's plans count on 0: ANALYZE notification_outbox took \d+ ms, now (\d+)/
    && $1 > 1000 });
cmp_ok(psql("SELECT reltuples FROM pg_class"
    . " WHERE relname = 'notification_outbox_chat_order_idx'"), '>', 1000,
    'the pending index counted again');
like(release_plan(), qr/Index Scan using notification_outbox_pkey/,
    'a pending row by id is planned along the primary key again');
unlike(deliver_log(), qr/error/i, 'the sidecar logged no error');

stop_deliver();
done_testing();
