# What the alerts read from the database (alert_facts.sql), each figure
# against rows made here: the messages that failed for good in the last day
# (not older ones, not sent ones) and their commonest reason, posted by the
# sidecar; the last finished real reconciliation's error (not an older one,
# not a dry run's) and the last finished ad spend sync's, said by
# traffic-ctl check.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 't/lib';
use TrafficTest;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $alert_chat = -1007300000009;
start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my $envfile = write_env(TELEGRAM_BOT_TOKEN => '7300:FACTS-token',
    TELEGRAM_API_BASE => $api, TELEGRAM_CHAT_IDS => -1007300000001,
    ALERT_CHAT_IDS => $alert_chat, ALERT_CHECK_S => 1, ALERT_MIN_S => 0,
    RECONCILE_INTERVAL_S => 0, FACEBOOK_ADS_TOKEN => 'fb-facts-0123456789',
    FACEBOOK_API_BASE => $api, ADS_SYNC_INTERVAL_S => 0);

# Failed for good: three in the last day (two reasons, one twice), three
# older ones with a reason of their own, and sent ones beside them.
sub outbox {
    my ($status, $ago, $error, $n) = @_;
    psql("INSERT INTO notification_outbox (chat_id, kind, status, last_error,"
        . " created_at) SELECT '-1007300000001', 'digest', '$status', "
        . (defined $error ? "'$error'" : 'NULL')
        . ", now() - interval '$ago' FROM generate_series(1, $n)");
}
outbox('failed', '1 hour', 'Bad Request: chat not found', 2);
outbox('failed', '2 hours', 'Forbidden: bot was kicked', 1);
outbox('failed', '30 hours', 'Unauthorized', 3);
outbox('sent', '1 hour', undef, 4);

# Runs: an old failure, a success, then a dry run that failed (a dry run
# says nothing about the dashboard); an ad sync that failed, then one that
# did not, then one still running.
psql("INSERT INTO reconcile_runs (since, finished_at, dry_run, error) VALUES"
    . " (now() - interval '3 days', now(), false, 'AmoCRM answered 500'),"
    . " (now() - interval '3 days', now(), false, NULL),"
    . " (now() - interval '3 days', now(), true, 'AmoCRM answered 401')");
psql("INSERT INTO ads_sync_runs (since, until, finished_at, error) VALUES"
    . " (current_date, current_date, now(), 'Graph API answered 500'),"
    . " (current_date, current_date, now(), NULL),"
    . " (current_date, current_date, NULL, NULL)");

sub check_problems {
    my ($crc, $cout) = ctl(['check'], TRAFFIC_ENV_FILE => $envfile);
    return join "\n", grep { /^problem: the last (reconciliation|ad spend)/ }
        split /\n/, $cout;
}
is(check_problems(), '', 'check: the last real reconciliation and the last'
    . ' finished ad sync went well: no problem');
psql("INSERT INTO reconcile_runs (since, finished_at, error) VALUES"
    . " (now() - interval '3 days', now(), 'AmoCRM answered 502')");
psql("UPDATE ads_sync_runs SET finished_at = now(), error = 'Graph API"
    . " answered 503' WHERE finished_at IS NULL");
is(check_problems(), "problem: the last reconciliation failed: AmoCRM"
    . " answered 502\nproblem: the last ad spend sync failed: Graph API"
    . " answered 503", 'check: then each newest failure, itself');

start_deliver(env_file => $envfile);
my @alerts;
wait_for('the alert', sub {
    @alerts = grep { ($_->{chat_id} // 0) == $alert_chat
        && $_->{text} =~ /не доставлено/ } sent_messages() });
like($alerts[0]{text}, qr/Сообщений о продажах не доставлено за сутки: 3 \(Bad Request: chat not found\)\./,
    'the sidecar: the last day\'s failed messages, their commonest reason');
stop_deliver();
done_testing();
