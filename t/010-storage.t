# PostgreSQL storage through the real handler (run as a CGI program, the
# operator's replay path): every example lands as expected, duplicates are
# decided by the UNIQUE constraint (also under 8 concurrent deliveries),
# outbox rows follow the chats, migrations are idempotent and safe to run
# twice at once.
use strict;
use warnings;
use lib 't/lib';
use JSON::PP;
use POSIX ();
use Test::More;
use TrafficTest;

start_pg(settings => ["wal_writer_delay = 10s"]);   # lazy commits stay unwritten

# Two operators migrating a fresh database at the same time.
my @kids;
for (1 .. 2) {
    my $pid = fork // die;
    if (!$pid) {
        my ($rc) = migrate();
        POSIX::_exit($rc);
    }
    push @kids, $pid;
}
my @rcs = map { waitpid($_, 0); $? >> 8 } @kids;
is_deeply(\@rcs, [0, 0], 'two concurrent migrates both succeed');
my ($rc, $out) = migrate();
is($rc, 0, 'migrate again: exit 0');
like($out, qr/schema is up to date/, 'nothing pending the second time');
is(psql("SELECT string_agg(version, ',' ORDER BY version) FROM"
    . " schema_migrations"), join(',', map { m{/(\d{3})_[^/]+\.sql$} }
    sort glob(srcdir() . '/sql/*.sql')), 'every migration recorded once');
($rc, $out) = run_cmd(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f',
    srcdir() . '/sql/001_schema.sql', pg_url()]);
is($rc, 0, 'the migration applies again with psql -f (idempotent)')
    or diag($out);

my $env = write_env();
sub deliver {
    my ($body, %extra) = @_;
    my $ans = cgi_run($body, TRAFFIC_ENV_FILE => $env, %extra);
    my $j = eval { decode_json($ans->{content}) } || {};
    return ($ans->{status}, $j->{results} || {}, $ans);
}

# 05: update and status for the same lead in one body: one sale.
my ($st, $res) = deliver(example('05-update-and-status-same-lead.txt'));
is($st, 200, '05: 200');
is_deeply([@$res{qw(processed duplicates)}], [1, 1],
    '05: one processed, one duplicate');
is(psql('SELECT count(*) FROM sales_notifications WHERE lead_id = 25123456'),
    1, '05: one sale');
is(psql("SELECT event_type || ':' || processing_status FROM webhook_logs"
    . ' WHERE lead_id = 25123456 ORDER BY id'),
    "leads.status:success\nleads.update:duplicate", '05: both logged');

# 01 again for the same lead: a repeat delivery.
($st, $res) = deliver(example('01-status-142-full.txt'));
is($st, 200, 'repeat delivery: still 200');
is($res->{duplicates}, 1, 'repeat delivery: duplicate');
is(psql('SELECT count(*) FROM all_sales_tracking WHERE lead_id = 25123456'),
    1, 'still one row for the dashboard');

# 02: the short shape: a sale whose price, name and UTM are unknown.
($st, $res) = deliver(example('02-status-142-short.txt'));
is($res->{processed}, 1, '02: short shape is a sale');
is(psql("SELECT coalesce(lead_name, 'NULL'), coalesce(sale_amount::text,"
    . " 'NULL'), targetologist FROM sales_notifications WHERE lead_id ="
    . ' 25123457'), 'NULL|NULL|Unknown',
    '02: unknown price is NULL, not 0; targetologist Unknown');

# 03: Cyrillic campaign, empty price, update event.
($st, $res) = deliver(example('03-update-142-cyrillic.txt'));
is($res->{processed}, 1, '03: a sale');
is(psql('SELECT targetologist, utm_campaign, coalesce(utm_medium, \'NULL\'),'
    . ' sale_amount::text || \' known \' || sale_amount_known FROM'
    . ' all_sales_tracking WHERE lead_id = 25123458'),
    "Muha|\x{d0}\x{97}\x{d0}\x{90}\x{d0}\x{9f}\x{d0}\x{a3}\x{d0}\x{a1}\x{d0}"
    . "\x{9a}_\x{d0}\x{94}\x{d0}\x{b5}\x{d0}\x{ba}\x{d0}\x{b0}\x{d0}\x{b1}"
    . "\x{d1}\x{80}\x{d1}\x{8c} & <b>||0.00 known false",
    '03: Muha, campaign stored as received, empty medium, unknown amount'
    . ' (0 for the dashboard\'s sums, and said so)');
is(psql("SELECT coalesce(sale_amount::text, 'NULL') FROM sales_notifications"
    . " WHERE lead_id = 25123458"), 'NULL', '03: the sale itself: unknown');

# 04: two non-sales.
($st, $res) = deliver(example('04-status-skipped.txt'));
is_deeply([@$res{qw(total skipped processed)}], [2, 2, 0], '04: two skipped');

# 06: a contacts event.
($st, $res) = deliver(example('06-contacts-update.txt'));
is_deeply([@$res{qw(total ignored)}], [1, 1], '06: ignored');
is(psql("SELECT event_type, processing_status, skip_reason FROM webhook_logs"
    . " WHERE event_type LIKE 'contacts%'"),
    'contacts.update|ignored|no leads in the body', '06: one ignored row');

is(psql('SELECT count(*) FROM sales_notifications'), 3,
    'three sales from the examples');
is(psql("SELECT count(*) FROM notification_outbox"), 0,
    'no Telegram configured: no outbox rows');
is(psql("SELECT DISTINCT notification_status FROM sales_notifications"),
    'disabled', 'and the sales say notifications are disabled');

# Telegram configured: one outbox row per chat for a new sale, none for a
# duplicate.
my $tg = write_env(TELEGRAM_BOT_TOKEN => '123456:TEST-token_abcdef',
    TELEGRAM_CHAT_IDS => '-1001111111111,-1002222222222:77');
my $sale = example('01-status-142-full.txt') =~ s/25123456/31000001/gr;
($st, $res) = deliver($sale, TRAFFIC_ENV_FILE => $tg);
is($res->{processed}, 1, 'a new sale with two chats');
is(psql('SELECT chat_id, coalesce(thread_id, 0), status FROM'
    . ' notification_outbox WHERE lead_id = 31000001 ORDER BY chat_id'),
    "-1001111111111|0|pending\n-1002222222222|77|pending",
    'two pending outbox rows, one for a forum topic');
is(psql('SELECT notification_status FROM sales_notifications WHERE lead_id ='
    . ' 31000001'), 'pending', 'the sale is pending');
deliver($sale, TRAFFIC_ENV_FILE => $tg);
is(psql('SELECT count(*) FROM notification_outbox WHERE lead_id = 31000001'),
    2, 'a duplicate adds no outbox rows');

# 8 concurrent deliveries of one new lead: one sale, 7 duplicates.
my $racy = example('01-status-142-full.txt') =~ s/25123456/32000001/gr;
@kids = ();
for (1 .. 8) {
    my $pid = fork // die;
    if (!$pid) {
        my ($s) = deliver($racy, TRAFFIC_ENV_FILE => $tg);
        POSIX::_exit($s == 200 ? 0 : 1);
    }
    push @kids, $pid;
}
@rcs = map { waitpid($_, 0); $? >> 8 } @kids;
is_deeply(\@rcs, [(0) x 8], '8 concurrent deliveries: all 200');
is(psql('SELECT processing_status, count(*) FROM webhook_logs WHERE lead_id ='
    . ' 32000001 GROUP BY 1 ORDER BY 1'), "duplicate|7\nsuccess|1",
    'one success and seven duplicates');
is(psql('SELECT (SELECT count(*) FROM sales_notifications WHERE lead_id ='
    . ' 32000001), (SELECT count(*) FROM all_sales_tracking WHERE lead_id ='
    . ' 32000001), (SELECT count(*) FROM notification_outbox WHERE lead_id ='
    . ' 32000001)'), '1|1|2', 'one sale in each table, one outbox row per chat');

# Amounts stay exact.
my $exact = example('01-status-142-full.txt') =~ s/25123456/33000001/gr
    =~ s/price%5D=100000/price%5D=1234567890123.45/r;
deliver($exact);
is(psql('SELECT sale_amount FROM sales_notifications WHERE lead_id = 33000001'),
    '1234567890123.45', 'a 13-digit price with kopecks is stored exactly');
my $huge = example('01-status-142-full.txt') =~ s/25123456/33000002/gr
    =~ s/price%5D=100000/price%5D=1000000000000000000000000000000/r;
($st, $res) = deliver($huge);
is($st, 200, 'a 10^30 price: 200 (the body is fine)');
is($res->{processed}, 1, 'and the won lead is still a sale');
is(psql("SELECT coalesce(sale_amount::text, 'NULL') FROM sales_notifications"
    . " WHERE lead_id = 33000002"), 'NULL', 'with its amount unknown');
is(psql("SELECT processing_status, detail FROM webhook_logs WHERE"
    . " lead_id = 33000002"), 'success|price out of range: the amount is unknown',
    'the log row says why');

# A body that cannot be parsed: 400, one error row with the body.
($st, $res, my $ans) = deliver('leads[status][0][id]=%ZZ');
is($st, 400, 'malformed body: 400');
like($ans->{content}, qr/"error":"pair 1: malformed percent-escape"/,
    'the error says what and where');
is(psql("SELECT processing_status, error_message, raw_body FROM webhook_logs"
    . " WHERE event_type = 'body'"),
    'error|pair 1: malformed percent-escape|leads[status][0][id]=%ZZ',
    'the error row keeps the raw body');

# Durability by kind: a sale's commit waits for the WAL flush (one WAL
# write each), a delivery that is one skipped lead's log row does not (the
# WAL writer writes them in passing).  Counted in pg_stat_wal, which each
# CGI run's backend reports as it exits.
psql("ALTER DATABASE traffic SET synchronous_commit = on");
sub wal_writes { psql("SELECT wal_write FROM pg_stat_wal") }
my $w0 = wal_writes();
for my $i (1 .. 20) {
    deliver(lead_form(id => 19000000 + $i, status_id => 143,
        pipeline_id => 10418746));
}
my $w1 = wal_writes();
for my $i (1 .. 20) {
    deliver(lead_form(id => 19000100 + $i, status_id => 142,
        pipeline_id => 10418746, price => 100));
}
my $w2 = wal_writes();
is(psql("SELECT count(*) FROM webhook_logs WHERE lead_id BETWEEN 19000001"
    . " AND 19000020 AND processing_status = 'skipped'"), 20,
    'twenty skipped leads logged');
cmp_ok($w2 - $w1, '>=', 20, 'twenty sales: a WAL write each, before the 200'
    . ' (' . ($w2 - $w1) . ')');
cmp_ok($w1 - $w0, '<', 10, 'twenty skipped leads: their rows did not wait'
    . ' for one (' . ($w1 - $w0) . ')');
done_testing();
