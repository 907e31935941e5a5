# Telegram and the AmoCRM API unreachable for the whole burst, then back:
# every sale is completed and its message sent exactly once (counted at the
# fake server), none lost, none doubled.  Bounded: ten sales, 60 s at most.
use strict;
use warnings;
use utf8;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api(fixtures => srcdir() . '/t/fixtures/amocrm');
my $env = write_env(AMOCRM_ACCESS_TOKEN => 'amo-down-0123456789abcdef',
    AMOCRM_API_BASE => $api, TELEGRAM_BOT_TOKEN => '888:DOWN-tg',
    TELEGRAM_CHAT_IDS => '-1001', TELEGRAM_API_BASE => $api,
    TELEGRAM_CHAT_INTERVAL_MS => 0, TELEGRAM_RETRY_BASE_MS => 500,
    AMOCRM_MAX_WAIT_S => 120,
    RECONCILE_INTERVAL_S => 0);     # enrichment alone (t/053 reconciles)
start_pool(workers => 2, env_file => $env);
start_nginx();
start_deliver(env_file => $env);

# Both APIs down: AmoCRM answers 503, Telegram drops the connection.
fake_default('/api/v4/', { status => 503, body => 'maintenance' });
fake_default('sendMessage', { close => JSON::PP::true });
for my $i (1 .. 10) {
    my $b = example('01-status-142-full.txt');
    my $id = 44000000 + $i;
    $b =~ s/25123456/$id/g;
    my $r = http('POST', '/webhook/amocrm/traffic', $b,
        'Content-Type' => 'application/x-www-form-urlencoded');
    is($r->{status}, 200, "sale $id answered while both APIs are down");
}
wait_for('each sale asked AmoCRM once', sub { psql("SELECT count(*) FROM"
    . " sales_notifications WHERE enrich_attempts >= 1") == 10 }, 30);
is(psql("SELECT count(*) FROM sales_notifications WHERE enrich_status ="
    . " 'pending'"), 10, 'all ten still waiting for AmoCRM');
is(psql("SELECT count(*) FROM notification_outbox WHERE status = 'sent'"), 0,
    'nothing sent yet');

# AmoCRM back (the leads it does not know are unconfirmed: serve each as
# the seed's deal, under its own id, before the 503s stop), then Telegram.
my $seed = JSON::PP::decode_json(slurp(srcdir()
    . '/t/fixtures/amocrm/leads/25123456.json'));
fake_amocrm(leads => { map { (44000000 + $_ => { %$seed,
    id => 44000000 + $_ }) } 1 .. 10 });
fake_default('/api/v4/', undef);
wait_for('all enriched', sub { psql("SELECT count(*) FROM sales_notifications"
    . " WHERE enrich_status = 'done'") == 10 }, 60);
# Telegram still dropping the connection: a send tried and failed
wait_for('a send tried while Telegram is down', sub { psql("SELECT count(*)"
    . " FROM notification_outbox WHERE last_error IS NOT NULL") > 0 }, 30);
my $up = time;      # before: a send may come at once
fake_default('sendMessage', undef);
wait_for('all sent', sub { psql("SELECT count(*) FROM notification_outbox"
    . " WHERE status = 'sent'") == 10 }, 60);
# (a row is 'sent' after its request reached the fake, and is final)
my @after = grep { $_->{time} >= $up } sent_messages();
my @before = grep { $_->{time} < $up } sent_messages();
diag(sprintf('%d failed sendMessage attempts while down, %d after', 
    scalar @before, scalar @after));
# waiting sales that are due together are combined (t/059): count sales
my $carried = 0;
$carried += $_->{text} =~ /НОВЫЕ ПРОДАЖИ: (\d+)/ ? $1 : 1 for @after;
is($carried, 10, 'the ten sales in the messages once Telegram is back');
cmp_ok(scalar @after, '<=', 10, 'in at most ten messages');
is(psql("SELECT count(*) FROM notification_outbox WHERE status = 'sent'"
    . " AND telegram_message_id IS NOT NULL"), 10, 'each recorded once');
is(psql("SELECT count(DISTINCT lead_id) FROM sales_notifications WHERE"
    . " contact_name IS NOT NULL"), 10, 'each with its client');
done_testing();
