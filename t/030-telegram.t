# Telegram delivery, the good path: after answering AmoCRM the worker sends
# the sale's message (exactly the seed's layout, HTML-escaped CRM strings,
# link previews off) to every configured chat and forum topic, records the
# message_id, sends nothing for a duplicate, and never makes AmoCRM's answer
# wait for Telegram.  Without a token nothing is sent and the message is
# logged instead.  The token never appears in a log.
use strict;
use warnings;
use utf8;
use Encode qw(decode);
use lib 't/lib';
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use TrafficTest;

my $token = '123456:TEST-tok3n_never-logged';
start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my $env = write_env(TELEGRAM_BOT_TOKEN => $token,
    TELEGRAM_CHAT_IDS => '-1001111111111, -1002222222222:7',
    TELEGRAM_API_BASE => $api, TELEGRAM_TIMEOUT_MS => 1500);
start_pool(workers => 2, env_file => $env);
start_nginx();
# the sidecar sends what pacing (one message a second per chat) held back
start_deliver(env_file => $env);

sub post {
    my ($body) = @_;
    my $t0 = time;
    my $r = http('POST', '/webhook/amocrm/traffic', $body,
        'Content-Type' => 'application/x-www-form-urlencoded');
    $r->{seconds} = time - $t0;
    return $r;
}

sub sale_body {
    my ($id, $campaign) = @_;
    my $b = example('01-status-142-full.txt');
    $b =~ s/25123456/$id/g;
    if (defined $campaign) {
        (my $enc = $campaign) =~ s/([^A-Za-z0-9_.-])/sprintf('%%%02X', ord $1)/ge;
        $b =~ s/tripwire_dec20/$enc/;
    }
    return $b;
}

# The seed's test deal.
my $r = post(example('01-status-142-full.txt'));
is($r->{status}, 200, 'test deal answered 200');
wait_for('two messages', sub { sent_messages() >= 2 });
my @m = sort { $a->{chat_id} <=> $b->{chat_id} } sent_messages();
is(scalar @m, 2, 'one message per chat');
my $seed = "\x{1F389} НОВАЯ ПРОДАЖА!\n\x{1F451} Таргетолог: Kenesary\n"
    . "\x{1F464} Клиент: Без имени\n\x{1F4B0} Сумма: 100,000 \x{20B8}\n"
    . "\x{1F4E6} Продукт: Main Product (VAMUS RM)\n"
    . "\x{1F3F7}\x{FE0F} Кампания: tripwire_dec20";
is($m[0]{text}, $seed, 'the exact seed message (no client without the API)');
is($m[0]{parse_mode}, 'HTML', 'HTML parse mode');
is_deeply($m[0]{link_preview_options}, { is_disabled => JSON::PP::true },
    'link previews off');
my ($raw) = map { $_->{body} } grep { $_->{path} =~ m{/sendMessage$}
    && ($_->{json}{chat_id} // '') eq '-1002222222222' } fake_requests();
like($raw // '', qr/"chat_id"\s*:\s*-1002222222222\s*[,}]/,
    'chat id sent as a JSON number, not a string');
is($m[0]{message_thread_id}, 7, 'the forum topic gets message_thread_id');
is($m[1]{chat_id}, -1001111111111, 'the other chat got it too');
ok(!exists $m[1]{message_thread_id}, 'no topic for a plain chat');
like($m[0]{path}, qr{^/bot\Q$token\E/sendMessage$}, 'token in the path');
wait_for('recorded', sub { psql("SELECT notification_status FROM"
    . " sales_notifications WHERE lead_id = 25123456") eq 'sent' });
is(psql("SELECT count(*), count(telegram_message_id), bool_and(status ="
    . " 'sent'), bool_and(sent_at IS NOT NULL) FROM notification_outbox"
    . " WHERE lead_id = 25123456"), '2|2|t|t',
    'both outbox rows sent with their message_id');
is(psql("SELECT notified_at IS NOT NULL FROM sales_notifications"
    . " WHERE lead_id = 25123456"), 't', 'notified_at set');

# A duplicate delivery sends nothing more.
$r = post(example('01-status-142-full.txt'));
like($r->{content}, qr/"duplicates":1/, 'duplicate answered');
# committed before its answer: no new outbox row, so nothing can ever go
is(psql("SELECT count(*) || '|' || count(*) FILTER (WHERE status = 'sent')"
    . " FROM notification_outbox WHERE lead_id = 25123456"), '2|2',
    'a duplicate adds no message to the outbox');
is(scalar(sent_messages()), 2, 'and sends nothing');

# CRM strings arrive intact and escaped.
$r = post(sale_body(30000001, '<b>Ivan & "Co"</b>_*'));
wait_for('escaped message', sub { sent_messages() >= 4 });
my ($esc) = grep { $_->{text} =~ /Ivan/ } sent_messages();
like($esc->{text}, qr/\QКампания: &lt;b&gt;Ivan &amp; &quot;Co&quot;&lt;\/b&gt;_*\E$/,
    'HTML special characters escaped, _ and * kept');
is(psql("SELECT utm_campaign FROM sales_notifications WHERE lead_id ="
    . " 30000001"), '<b>Ivan & "Co"</b>_*', 'stored as received');

# Telegram hangs: AmoCRM's answer does not wait.
fake_default('sendMessage', { delay => 4, status => 200,
    body => { ok => JSON::PP::true, result => { message_id => 1 } } });
my @times;
for my $i (1 .. 3) {
    $r = post(sale_body(30000100 + $i));
    is($r->{status}, 200, "sale $i answered while Telegram hangs");
    push @times, $r->{seconds};
}
my ($max) = sort { $b <=> $a } @times;
diag(sprintf('answer times with Telegram hanging: %s s',
    join(', ', map { sprintf '%.3f', $_ } @times)));
cmp_ok($max, '<', 0.5, 'every answer well under AmoCRM\'s 2 s');
wait_for('the timeouts recorded', sub { psql("SELECT count(*) FROM"
    . " notification_outbox WHERE lead_id > 30000100 AND attempts > 0"
    . " AND lease_until IS NULL") >= 2 }, 20);
like(psql("SELECT string_agg(DISTINCT last_error, ',') FROM notification_outbox"
    . " WHERE lead_id > 30000100 AND last_error IS NOT NULL"),
    qr/timed out/i, 'a timeout is recorded as the reason');
fake_default('sendMessage', undef);

# No token: nothing is sent, the message is logged.
stop_pool();
my $off = write_env(TELEGRAM_CHAT_IDS => '-1001111111111',
    TELEGRAM_API_BASE => $api);
start_pool(workers => 1, env_file => $off);
my $before = scalar(sent_messages());
$r = post(sale_body(30000200));
is($r->{status}, 200, 'sale without a token: 200');
wait_for('the logged message', sub { pool_log() =~ /lead 30000200 message/ });
like(decode('UTF-8', pool_log()), qr/telegram disabled .*lead 30000200 message: \x{1F389} НОВАЯ ПРОДАЖА!\|/,
    'the rendered message is in the log');
like(decode('UTF-8', pool_log()), qr/lead 30000200 message: .*\|\x{1F464} Клиент: \(hidden\)\|/,
    'without the client, personal data (TRAFFIC_DEBUG=1 shows it)');
is(psql("SELECT notification_status FROM sales_notifications WHERE lead_id"
    . " = 30000200"), 'disabled', 'the sale says disabled');
is(psql("SELECT count(*) FROM notification_outbox WHERE lead_id = 30000200"),
    0, 'no outbox rows');
is(scalar(sent_messages()), $before, 'nothing sent');

unlike(pool_log(), qr/\Q$token\E|TEST-tok3n/, 'the token is in no log line');
unlike(psql("SELECT string_agg(coalesce(last_error, ''), ' ') FROM"
    . " notification_outbox"), qr/TEST-tok3n/, 'nor in the outbox');
unlike(nginx_error_log(), qr/\[(alert|emerg|crit)\]/, 'no alert in nginx log');
done_testing();
