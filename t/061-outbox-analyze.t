# A burst leaves the outbox far larger than the plans the sessions keep were
# made for: once its pending messages reach 500 and four times what they
# were at the last look, the deliver sidecar refreshes the outbox's
# statistics (sql/012's traffic_outbox_analyze), so every session plans
# again; once per burst, not every round.  The burst here: 520 sales to a
# chat paced at one message a second, one message a sale.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my $env = write_env(TELEGRAM_BOT_TOKEN => '6100:AN-token',
    TELEGRAM_API_BASE => $api, TELEGRAM_CHAT_IDS => '6100000001',
    TELEGRAM_CHAT_INTERVAL_MS => 1000, TELEGRAM_BATCH_AFTER => 0,
    ALERT_CHECK_S => 3600, RECONCILE_INTERVAL_S => 0);
start_pool(workers => 2, env_file => $env, sidecar => 0);
start_nginx();
sub analyses { psql("SELECT analyze_count FROM pg_stat_user_tables WHERE"
    . " relname = 'notification_outbox'") }
my $before = analyses();
my $bad = 0;
for my $round (0 .. 25) {
    $bad += in_parallel(20, sub {
        post_sale(61000000 + $round * 20 + $_[0])->{status} == 200 ? 0 : 1 });
}
is($bad, 0, '520 sales answered 200');
is(psql("SELECT count(*) FROM notification_outbox WHERE status = 'pending'"),
    520, 'their messages pending');
start_deliver(env_file => $env);
ok(wait_for('the sidecar analyzes', sub {
    deliver_log() =~ /deliver: \d+ messages pending: the outbox analyzed/ }, 20),
    'the sidecar says it analyzed the outbox');
wait_for('the statistics', sub { analyses() > $before }, 10);
cmp_ok(analyses(), '>', $before, 'and PostgreSQL counts the ANALYZE');
# a few more rounds (a message a second goes out, each a round): no more
wait_for('three more messages', sub { psql("SELECT count(*) FROM"
    . " notification_outbox WHERE status = 'sent'") >= 4 }, 20);
is(scalar(() = deliver_log() =~ /the outbox analyzed/g), 1,
    'once for the burst, not every round');
done_testing();
