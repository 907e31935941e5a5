# The AmoCRM API completes and confirms a sale before its message goes out
# (a fake API on loopback serves t/fixtures/amocrm and is told to fail):
# the seed's deal gets its client and the exact seed message; the short
# format becomes a complete sale; a forged sale the API denies sends
# nothing; API down then up; a refused token still lets the message out,
# unenriched, after AMOCRM_MAX_WAIT_S; a burst of 30 sales never makes more
# than 7 API requests in any second; no contact renders "Без имени".
use strict;
use warnings;
use utf8;
use Encode qw(decode);
binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output);
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;

my $token = 'amo-token-SECRET-0123456789';
start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api(fixtures => srcdir() . '/t/fixtures/amocrm');
my %env = (AMOCRM_ACCESS_TOKEN => $token, AMOCRM_API_BASE => $api,
    AMOCRM_DOMAIN => 'onaiagencykz',
    TELEGRAM_BOT_TOKEN => '777:AMO-tg', TELEGRAM_CHAT_IDS => '-1001',
    TELEGRAM_API_BASE => $api, TELEGRAM_CHAT_INTERVAL_MS => 0,
    RECONCILE_INTERVAL_S => 0);     # enrichment alone (t/053 reconciles)
my $env = write_env(%env);
start_pool(workers => 2, env_file => $env);
start_nginx();
start_deliver(env_file => $env);

sub post {
    my ($body, $id) = @_;
    $body =~ s/2512345[67]/$id/g if defined $id;
    my $r = http('POST', '/webhook/amocrm/traffic', $body,
        'Content-Type' => 'application/x-www-form-urlencoded');
    is($r->{status}, 200, 'answered 200');
}
sub sale { decode('UTF-8',
    psql("SELECT $_[1] FROM sales_notifications WHERE lead_id = $_[0]")) }
sub messages_for {
    my ($re) = @_;
    return grep { ($_->{text} // '') =~ $re } sent_messages();
}
# (the sidecar's alert watch asks for /api/v4/webhooks too: not counted)
sub api_requests { grep { $_->{path} =~ m{^/api/v4/(?:leads|contacts)} }
    fake_requests() }

# The seed's deal: the full webhook plus the API's client.
post(example('01-status-142-full.txt'));
wait_for('enriched', sub { sale(25123456, 'enrich_status') eq 'done' });
wait_for('the message', sub { sent_messages() >= 1 });
my ($m) = sent_messages();
is($m->{text}, "\x{1F389} НОВАЯ ПРОДАЖА!\n\x{1F451} Таргетолог: Kenesary\n"
    . "\x{1F464} Клиент: Тест Клиент\n\x{1F4B0} Сумма: 100,000 \x{20B8}\n"
    . "\x{1F4E6} Продукт: Main Product (VAMUS RM)\n"
    . "\x{1F3F7}\x{FE0F} Кампания: tripwire_dec20", 'exactly the seed\'s message');
is(sale(25123456, 'contact_name || \'|\' || contact_phone || \'|\' ||'
    . ' contact_email || \'|\' || enriched'),
    'Тест Клиент|+77010000001|client@example.com|true',
    'the main contact stored (not the first one)');
is(decode('UTF-8', psql("SELECT contact_name FROM all_sales_tracking WHERE"
    . " lead_id = 25123456")),
    'Тест Клиент', 'in the dashboard\'s table too');
my @r = api_requests();
is_deeply([map { $_->{path} } @r], ['/api/v4/leads/25123456?with=contacts',
    '/api/v4/contacts/900001'], 'the lead with contacts, then its main contact');
is($r[0]{headers}{authorization}, "Bearer $token", 'with the Bearer token');
is(sale(25123456, 'amocrm_base'), 'https://onaiagencykz.amocrm.ru',
    'the account\'s own API host is kept from account[_links][self]');
# (and AMOCRM_API_BASE, when set, wins: the requests above went to the fake)

# The short format, with the API down (500, then a broken answer) first.
fake_queue('/api/v4/leads/25123457', { status => 500, body => 'oops' },
    { status => 200, body => '{"id": 25123457, "name": ' });
post(example('02-status-142-short.txt'));
wait_for('the short sale enriched', sub {
    sale(25123457, 'enrich_status') eq 'done' }, 20);
is(sale(25123457, "lead_name || '|' || sale_amount || '|' || utm_campaign"
    . " || '|' || targetologist || '|' || targetologist_emoji"),
    "TEST - Traffic Webhook (short)|100000.00|tripwire_dec20|Kenesary|\x{1F451}",
    'price, name, UTM and the targetologist from the API');
is(sale(25123457, 'enrich_attempts'), 3, 'after a 500 and a broken answer');
is(psql("SELECT targetologist || '|' || sale_amount FROM all_sales_tracking"
    . " WHERE lead_id = 25123457"), 'Kenesary|100000.00', 'both tables');
wait_for('its message', sub { messages_for(qr/Клиент: Тест Клиент/) >= 2 });

# A forged sale: the API has the lead lost, in status 143.
post(example('01-status-142-full.txt'), 25123458);
wait_for('unconfirmed', sub { sale(25123458, 'enrich_status') eq 'unconfirmed' });
is(sale(25123458, 'notification_status'), 'unconfirmed', 'the sale says so');
like(sale(25123458, 'enrich_error'),
    qr/the API has lead 25123458 in pipeline 10418746 status 143, not 10418746\/142/,
    'with the reason');
is(psql("SELECT status FROM notification_outbox WHERE lead_id = 25123458"),
    'disabled', 'its message will never go');
is(scalar(messages_for(qr/./)), 2, 'nothing sent for it');
like(pool_log() . deliver_log(), qr/lead 25123458 not confirmed, no message/,
    'the log says why');

# No contact: "Без имени"; UTM only in the API: Arystan.
post(example('02-status-142-short.txt'), 33000001);
wait_for('its message', sub { messages_for(qr/Arystan/) >= 1 });
my ($ary) = messages_for(qr/Arystan/);
like($ary->{text}, qr/Клиент: Без имени\n.*Сумма: 7,500 /s, 'Без имени, the API\'s price');

# A burst of 30 sales the API does not show (204: deleted, or hidden from
# the token's user, alike): never more than 7 requests in any second, and
# none of them unconfirmed, absence being no evidence (they are tried again,
# and at worst go out with the webhook's data).
my $t0 = time;
my @kids;
for my $k (0 .. 2) {
    my $pid = fork // die;
    if (!$pid) {
        for my $i (1 .. 10) {
            my $b = example('02-status-142-short.txt');
            my $id = 34000000 + $k * 100 + $i;
            $b =~ s/25123457/$id/g;
            http('POST', '/webhook/amocrm/traffic', $b,
                'Content-Type' => 'application/x-www-form-urlencoded');
        }
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
waitpid($_, 0) for @kids;
wait_for('30 sales checked', sub { psql("SELECT count(*) FROM"
    . " sales_notifications WHERE lead_id >= 34000000 AND enrich_attempts"
    . " >= 1") == 30 && grep({ $_->{time} >= $t0 } api_requests()) >= 30 },
    40);
is(psql("SELECT count(*) FROM sales_notifications WHERE lead_id >= 34000000"
    . " AND enrich_status = 'unconfirmed'"), 0, 'a 204 unconfirms none');
like(sale(34000001, 'enrich_error'), qr/does not show lead 34000001 \(HTTP 204\)/,
    'the reason of the next try');
my @t = sort { $a <=> $b } map { $_->{time} } grep { $_->{time} >= $t0 }
    api_requests();
my $most = 0;
for my $i (0 .. $#t) {
    my $n = grep { $_ >= $t[$i] && $_ < $t[$i] + 1 } @t;
    $most = $n if $n > $most;
}
diag(sprintf('%d API requests over %.1f s, at most %d in a second',
    scalar @t, $t[-1] - $t[0], $most));
cmp_ok(scalar @t, '>=', 30, 'one request (at least) per sale');
cmp_ok($most, '<=', 7, 'never more than 7 requests in any second');

# A lead the API sends without its status and pipeline is no evidence
# either: tried again, not unconfirmed.
fake_queue('/api/v4/leads/33000009', { status => 200, body => { id =>
    33000009, name => 'no status', price => 100 } });
post(example('01-status-142-full.txt'), 33000009);
wait_for('its first try', sub { sale(33000009, 'enrich_attempts') >= 1 &&
    sale(33000009, 'enrich_error') ne '' });
like(sale(33000009, 'enrich_error'), qr/lead 33000009 has no status/,
    'a lead without status: tried again');
isnt(sale(33000009, 'enrich_status'), 'unconfirmed', 'not unconfirmed');

# While sales waited for the API (their messages due at 'infinity'), the
# sidecar's every round went through.
unlike(deliver_log(), qr/deliver: .*(?:statement failed|ERROR)/,
    'no sidecar round failed while messages waited for enrichment');

# A refused token: the message still goes out, unenriched, after the wait.
stop_deliver();
stop_pool();
my $env2 = write_env(%env, AMOCRM_MAX_WAIT_S => 3);
start_pool(workers => 2, env_file => $env2);
start_deliver(env_file => $env2);
fake_default('/api/v4/', { status => 401, body => { title => 'Unauthorized',
    status => 401 } });
my $t1 = time;
post(example('01-status-142-full.txt'), 33000002);
wait_for('the unenriched message', sub { sale(33000002, 'enrich_status') eq
    'failed' && sale(33000002, 'notification_status') eq 'sent' }, 20);
cmp_ok(time - $t1, '>=', 2.9, 'after waiting AMOCRM_MAX_WAIT_S for the API');
is(sale(33000002, "enriched::text || '|' || coalesce(contact_name, 'NULL')"),
    'false|NULL', 'not enriched, no client');
like(sale(33000002, 'enrich_error'), qr/HTTP 401: AmoCRM refused AMOCRM_ACCESS_TOKEN/,
    'the reason is recorded');
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $env2);
is($rc, 1, 'traffic-ctl check fails');
like($out, qr/problem: \S+ refuses AMOCRM_ACCESS_TOKEN \(.*401\)/, 'and says why');
fake_default('/api/v4/', undef);
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $env2);
like($out, qr/amocrm: \S+ accepts the token/, 'a good token passes');

my $logs = pool_log() . deliver_log() . $out;
unlike($logs, qr/\Q$token\E/, 'the AmoCRM token is in no log');
done_testing();
